/*
 * lstm.c — SQL entry points of the LSTM (src/core/lstm*.c does the work).
 *
 * These are the internal building blocks of src/sql/4[0-3]_lstm_*.sql, which
 * keeps the model registry pozytywka.models and exposes lstm_import,
 * lstm_export, lstm_forward, lstm_train and lstm_predict:
 *
 *   lstm_weights_from_json(jsonb) -> bytea   PyTorch state_dict -> blob
 *   lstm_weights_to_json(bytea)   -> jsonb   blob -> state_dict
 *   lstm_weights_info(bytea)      -> jsonb   shape of a blob (validates it)
 *   lstm_weights_forward(bytea, float8[]) -> float8   raw network, 1 window
 *   lstm_fit(...)                 -> (weights, normalisation, metrics)
 *   lstm_apply(...)               -> float8[] predicted scores
 *
 * Core objects are malloc'd; they are freed before any ereport(ERROR), so
 * an error never leaks them.
 */
#include "pozytywka.h"

#include <math.h>
#include <stdlib.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "lstm.h"
#include "lstm_features.h"
#include "lstm_fit.h"

PG_FUNCTION_INFO_V1(pz_lstm_fn_from_json);
PG_FUNCTION_INFO_V1(pz_lstm_fn_to_json);
PG_FUNCTION_INFO_V1(pz_lstm_fn_info);
PG_FUNCTION_INFO_V1(pz_lstm_fn_forward);
PG_FUNCTION_INFO_V1(pz_lstm_fn_fit);
PG_FUNCTION_INFO_V1(pz_lstm_fn_apply);

/* ------------------------------------------------------------ helpers */

static void
need_arg(FunctionCallInfo fcinfo, int i, const char *what)
{
	if (PG_ARGISNULL(i))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
}

/* Deserialise a weights blob; ERROR (22P03 / XX001 via pz_report) if bad. */
static pz_lstm *
blob_model(bytea *b)
{
	char		reason[PZ_ERRMSG_LEN];
	pz_lstm    *m = NULL;
	pz_status	st;

	reason[0] = '\0';
	st = pz_lstm_deserialize((const unsigned char *) VARDATA_ANY(b),
							 VARSIZE_ANY_EXHDR(b), &m, reason);
	if (st != PZ_OK)
		pz_report(st, reason);
	return m;
}

static bytea *
model_blob(const pz_lstm *m)
{
	size_t		len = pz_lstm_serialized_size(m);
	bytea	   *b;

	if (len > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("LSTM weights of %zu bytes are too large", len)));
	b = palloc(len + VARHDRSZ);
	SET_VARSIZE(b, len + VARHDRSZ);
	pz_lstm_serialize(m, (unsigned char *) VARDATA(b));
	return b;
}

/* model_blob, then free the (malloc'd) model even if palloc fails */
static bytea *
model_blob_and_free(pz_lstm *m)
{
	bytea	   *volatile out = NULL;

	PG_TRY();
	{
		out = model_blob(m);
	}
	PG_CATCH();
	{
		pz_lstm_free(m);
		PG_RE_THROW();
	}
	PG_END_TRY();
	pz_lstm_free(m);
	return out;
}

/*
 * A float8 array of exactly ndim dimensions (dims[] filled), no NULLs, all
 * finite, at most max_items elements.
 */
static const double *
float8_nd(ArrayType *arr, const char *what, int ndim, int *dims, long max_items)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;
	double	   *out;

	if (ARR_ELEMTYPE(arr) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s must be a float8 array", what)));
	if (ARR_NDIM(arr) != ndim)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a %d-dimensional array, not %d-dimensional",
						what, ndim, ARR_NDIM(arr))));
	n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if (n > max_items)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s has %d elements, more than the limit of %ld",
						what, n, max_items)));
	for (i = 0; i < ndim; i++)
		dims[i] = ARR_DIMS(arr)[i];
	if (!ARR_HASNULL(arr))
	{
		/*
		 * The common case, read in place: a float8 array without NULLs
		 * stores a plain aligned C array of doubles (the windows of a top
		 * list are megabytes; a copy costs more than the network).
		 */
		const double *data = (const double *) ((const char *) arr +
											   ARR_OVERHEAD_NONULLS(ARR_NDIM(arr)));

		for (i = 0; i < n; i++)
			if (!isfinite(data[i]))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s must contain only finite values (element %d is %s)",
								what, i + 1, isnan(data[i]) ? "NaN" : "infinite")));
		return data;
	}
	out = palloc(sizeof(double) * Max(n, 1));
	deconstruct_array(arr, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	for (i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL elements (element %d is NULL)",
							what, i + 1)));
		out[i] = DatumGetFloat8(elems[i]);
		if (!isfinite(out[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must contain only finite values (element %d is %s)",
							what, i + 1, isnan(out[i]) ? "NaN" : "infinite")));
	}
	pfree(elems);
	pfree(nulls);
	return out;
}

static void
append_doubles(StringInfo s, const double *v, int n)
{
	int			i;

	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];

	/* shortest decimal that reads back to the same double (Ryu) */
	appendStringInfoChar(s, '[');
	for (i = 0; i < n; i++)
	{
		double_to_shortest_decimal_buf(v[i], buf);
		if (i)
			appendStringInfoChar(s, ',');
		appendStringInfoString(s, buf);
	}
	appendStringInfoChar(s, ']');
}

static Datum
jsonb_from_text(StringInfo s)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(s->data));
}

/* -------------------------------------------------- JSON state_dict in */

static JsonbValue *
json_key(Jsonb *jb, const char *key)
{
	return getKeyJsonValueFromContainer(&jb->root, key, strlen(key), NULL);
}

/* Number of elements of a JSON array value, -1 if it is not an array. */
static int
json_array_len(JsonbValue *v)
{
	if (v == NULL || v->type != jbvBinary ||
		!JsonContainerIsArray(v->val.binary.data) ||
		JsonContainerIsScalar(v->val.binary.data))
		return -1;
	return (int) JsonContainerSize(v->val.binary.data);
}

static double
json_number(JsonbValue *e, const char *key, int i, int j)
{
	double		d;

	if (e == NULL || e->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" must hold only numbers (element [%d]%s is not a number)",
						key, i, j >= 0 ? psprintf("[%d]", j) : "")));
	{
		/* via text: out-of-range values become +-inf instead of a raw error */
		char	   *txt = DatumGetCString(DirectFunctionCall1(numeric_out,
															  NumericGetDatum(e->val.numeric)));

		d = strtod(txt, NULL);
		pfree(txt);
	}
	if (!isfinite(d))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" must hold numbers within the range of float8 (element [%d]%s is out of range)",
						key, i, j >= 0 ? psprintf("[%d]", j) : "")));
	return d;
}

/*
 * Shape of state_dict[key]: a rows x cols matrix (cols > 0) or a vector of
 * rows numbers (cols == 0); copy it into out (row-major).
 */
static void
json_fill(Jsonb *jb, const char *key, int rows, int cols, double *out)
{
	JsonbValue *v = json_key(jb, key);
	int			i,
				j;

	if (v == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("LSTM state_dict lacks the key \"%s\"", key)));
	if (json_array_len(v) != rows)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" must be an array of %d %s",
						key, rows, cols > 0 ? psprintf("rows of %d numbers", cols) : "numbers")));
	for (i = 0; i < rows; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(v->val.binary.data, i);

		if (cols == 0)
			out[i] = json_number(e, key, i, -1);
		else
		{
			if (json_array_len(e) != cols)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("\"%s\" must be an array of %d rows of %d numbers (row %d differs)",
								key, rows, cols, i)));
			for (j = 0; j < cols; j++)
				out[(size_t) i * cols + j] =
					json_number(getIthJsonbValueFromContainer(e->val.binary.data, j),
								key, i, j);
		}
	}
}

Datum
pz_lstm_fn_from_json(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb;
	JsonbValue *w0;
	int			rows,
				F,
				H,
				L,
				k,
				expected_keys;
	size_t		np;
	pz_lstm    *m;
	double	   *params,
			   *p;
	char		key[64];
	char		reason[PZ_ERRMSG_LEN];
	pz_status	st;
	bytea	   *out;

	need_arg(fcinfo, 0, "model");
	jb = PG_GETARG_JSONB_P(0);
	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an LSTM model must be a JSON object (a PyTorch state_dict)")));
	w0 = json_key(jb, "lstm.weight_ih_l0");
	rows = json_array_len(w0);
	if (rows < 4 || rows % 4 != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"lstm.weight_ih_l0\" must be an array of 4*hidden_size rows"),
				 errhint("Expected {k: v.tolist() for k, v in model.state_dict().items()} of a module with an nn.LSTM named lstm and an nn.Linear named linear.")));
	H = rows / 4;
	F = json_array_len(getIthJsonbValueFromContainer(w0->val.binary.data, 0));
	if (F < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"lstm.weight_ih_l0\" must be an array of rows of input_size numbers")));
	for (L = 0; L < PZ_LSTM_MAX_LAYERS + 1; L++)
	{
		snprintf(key, sizeof(key), "lstm.weight_ih_l%d", L);
		if (json_key(jb, key) == NULL)
			break;
	}
	if (H > PZ_LSTM_MAX_HIDDEN || F > PZ_LSTM_MAX_INPUT || L > PZ_LSTM_MAX_LAYERS ||
		(np = pz_lstm_param_count(F, H, L)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("LSTM of input size %d, hidden size %d, %d layers is too large", F, H, L),
				 errdetail("Limits: input size %d, hidden size %d, %d layers, %zu parameters.",
						   PZ_LSTM_MAX_INPUT, PZ_LSTM_MAX_HIDDEN, PZ_LSTM_MAX_LAYERS,
						   (size_t) PZ_LSTM_MAX_PARAMS)));
	expected_keys = 4 * L + 2 + (json_key(jb, "metadata") != NULL ? 1 : 0);
	if ((int) JsonContainerSize(&jb->root) != expected_keys)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("LSTM state_dict has %d keys, expected %d for %d layer(s)",
						(int) JsonContainerSize(&jb->root), expected_keys, L),
				 errdetail("Allowed keys: lstm.weight_ih_l{k}, lstm.weight_hh_l{k}, lstm.bias_ih_l{k}, lstm.bias_hh_l{k}, linear.weight, linear.bias and metadata; bidirectional LSTMs and proj_size are not supported.")));

	/* parse into a palloc'd vector first, so an ERROR leaks no malloc */
	params = palloc(np * sizeof(double));
	p = params;
	for (k = 0; k < L; k++)
	{
		int			in = k == 0 ? F : H;

		snprintf(key, sizeof(key), "lstm.weight_ih_l%d", k);
		json_fill(jb, key, 4 * H, in, p);
		p += (size_t) 4 * H * in;
		snprintf(key, sizeof(key), "lstm.weight_hh_l%d", k);
		json_fill(jb, key, 4 * H, H, p);
		p += (size_t) 4 * H * H;
		snprintf(key, sizeof(key), "lstm.bias_ih_l%d", k);
		json_fill(jb, key, 4 * H, 0, p);
		p += 4 * H;
		snprintf(key, sizeof(key), "lstm.bias_hh_l%d", k);
		json_fill(jb, key, 4 * H, 0, p);
		p += 4 * H;
	}
	json_fill(jb, "linear.weight", 1, H, p);
	p += H;
	json_fill(jb, "linear.bias", 1, 0, p);

	st = pz_lstm_create(F, H, L, &m, reason);
	if (st != PZ_OK)
		pz_report(st, reason);
	memcpy(m->params, params, np * sizeof(double));
	{
		JsonbValue *md = json_key(jb, "metadata");
		JsonbValue *wv = NULL;

		if (md != NULL && md->type == jbvBinary && JsonContainerIsObject(md->val.binary.data))
			wv = getKeyJsonValueFromContainer(md->val.binary.data, "window", 6, NULL);
		if (wv != NULL && wv->type == jbvNumeric)
		{
			double		w = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
															   NumericGetDatum(wv->val.numeric)));

			if (w >= 1 && w <= PZ_LSTM_MAX_WINDOW && w == floor(w))
				m->window = (int) w;
		}
	}
	out = model_blob_and_free(m);
	pfree(params);
	PG_RETURN_BYTEA_P(out);
}

/* ------------------------------------------------- JSON state_dict out */

static void
append_matrix(StringInfo s, const char *key, const double *v, int rows, int cols)
{
	int			i;

	appendStringInfo(s, "\"%s\":", key);
	if (cols == 0)
	{
		append_doubles(s, v, rows);
		return;
	}
	appendStringInfoChar(s, '[');
	for (i = 0; i < rows; i++)
	{
		if (i)
			appendStringInfoChar(s, ',');
		append_doubles(s, v + (size_t) i * cols, cols);
	}
	appendStringInfoChar(s, ']');
}

Datum
pz_lstm_fn_to_json(PG_FUNCTION_ARGS)
{
	pz_lstm    *mm;
	pz_lstm		copy;
	const pz_lstm *m = &copy;
	StringInfoData s;
	int			k,
				H;
	char		key[64];

	need_arg(fcinfo, 0, "weights");
	mm = blob_model(PG_GETARG_BYTEA_PP(0));
	/* work on a palloc'd copy, so that an ERROR below leaks no malloc */
	copy = *mm;
	copy.params = palloc(mm->n_params * sizeof(double));
	memcpy(copy.params, mm->params, mm->n_params * sizeof(double));
	pz_lstm_free(mm);
	H = m->hidden_size;
	initStringInfo(&s);
	appendStringInfoChar(&s, '{');
	for (k = 0; k < m->num_layers; k++)
	{
		snprintf(key, sizeof(key), "lstm.weight_ih_l%d", k);
		append_matrix(&s, key, pz_lstm_w_ih(m, k), 4 * H, pz_lstm_layer_input(m, k));
		appendStringInfoChar(&s, ',');
		snprintf(key, sizeof(key), "lstm.weight_hh_l%d", k);
		append_matrix(&s, key, pz_lstm_w_hh(m, k), 4 * H, H);
		appendStringInfoChar(&s, ',');
		snprintf(key, sizeof(key), "lstm.bias_ih_l%d", k);
		append_matrix(&s, key, pz_lstm_b_ih(m, k), 4 * H, 0);
		appendStringInfoChar(&s, ',');
		snprintf(key, sizeof(key), "lstm.bias_hh_l%d", k);
		append_matrix(&s, key, pz_lstm_b_hh(m, k), 4 * H, 0);
		appendStringInfoChar(&s, ',');
	}
	append_matrix(&s, "linear.weight", pz_lstm_w_lin(m), 1, H);
	appendStringInfoChar(&s, ',');
	append_matrix(&s, "linear.bias", pz_lstm_b_lin(m), 1, 0);
	appendStringInfoChar(&s, '}');
	pfree(copy.params);
	PG_RETURN_DATUM(jsonb_from_text(&s));
}

Datum
pz_lstm_fn_info(PG_FUNCTION_ARGS)
{
	pz_lstm    *m;
	StringInfoData s;

	need_arg(fcinfo, 0, "weights");
	m = blob_model(PG_GETARG_BYTEA_PP(0));
	initStringInfo(&s);
	appendStringInfo(&s, "{\"input_size\": %d, \"hidden_size\": %d, \"num_layers\": %d, "
					 "\"window\": %d, \"n_params\": %zu, \"format_version\": %d}",
					 m->input_size, m->hidden_size, m->num_layers,
					 m->window, m->n_params, PZ_LSTM_FORMAT_VERSION);
	pz_lstm_free(m);
	PG_RETURN_DATUM(jsonb_from_text(&s));
}

/* ------------------------------------------------------------ forward */

Datum
pz_lstm_fn_forward(PG_FUNCTION_ARGS)
{
	ArrayType  *arr;
	int			dims[2],
				T,
				F;
	const double *x;
	double		y;
	pz_lstm    *m;
	pz_lstm_data d;
	char		reason[PZ_ERRMSG_LEN];
	pz_status	st;

	need_arg(fcinfo, 0, "weights");
	need_arg(fcinfo, 1, "input");
	arr = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_NDIM(arr) == 1)
	{
		/* a plain series: one feature per time step */
		x = float8_nd(arr, "input", 1, dims, (long) PZ_LSTM_MAX_WINDOW);
		T = dims[0];
		F = 1;
	}
	else
	{
		x = float8_nd(arr, "input", 2, dims, (long) PZ_LSTM_MAX_WINDOW * PZ_LSTM_MAX_INPUT);
		T = dims[0];
		F = dims[1];
	}
	if (T < 1 || T > PZ_LSTM_MAX_WINDOW)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("input must have 1 to %d rows (time steps), not %d",
						PZ_LSTM_MAX_WINDOW, T)));
	m = blob_model(PG_GETARG_BYTEA_PP(0));
	if (F != m->input_size)
	{
		int			want = m->input_size;

		pz_lstm_free(m);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("input has %d columns (features), the model takes %d", F, want),
				 errhint("Rows are time steps, columns are features: float8[T][F].")));
	}
	d.n = 1;
	d.T = T;
	d.F = F;
	d.x = x;
	d.y = NULL;
	d.w = NULL;
	reason[0] = '\0';
	st = pz_lstm_predict(m, &d, &y, &pz_pg_cancel, reason);
	pz_lstm_free(m);
	if (st != PZ_OK)
		pz_report(st, reason);
	if (!isfinite(y))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the network's output is not finite (weights too large?)")));
	PG_RETURN_FLOAT8(y);
}

/* --------------------------------------------------------- training */

static int
fit_on_epoch(void *arg, const pz_lstm_epoch_info *info)
{
	ereport(NOTICE,
			(errmsg("lstm_train: epoch %d/%d, training loss %.6f, validation loss %.6f%s",
					info->epoch, info->epochs, info->train_loss, info->val_loss,
					info->improved ? " (best so far)" : "")));
	return 0;
}

static int
int_arg(FunctionCallInfo fcinfo, int i, const char *what, int lo, int hi)
{
	int			v;

	need_arg(fcinfo, i, what);
	v = PG_GETARG_INT32(i);
	if (v < lo || v > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between %d and %d, not %d", what, lo, hi, v)));
	return v;
}

static double
real_arg(FunctionCallInfo fcinfo, int i, const char *what, double lo, double hi,
		 bool lo_open)
{
	double		v;

	need_arg(fcinfo, i, what);
	v = PG_GETARG_FLOAT8(i);
	if (!isfinite(v) || v < lo || v > hi || (lo_open && v == lo))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number in %s%g, %g], not %g",
						what, lo_open ? "(" : "[", lo, hi, v)));
	return v;
}

/* Argument argno as an int[] of n non-NULL target weeks, palloc'd. */
static int *
target_weeks_arg(FunctionCallInfo fcinfo, int argno, int n)
{
	ArrayType  *wa = PG_GETARG_ARRAYTYPE_P(argno);
	Datum	   *el;
	bool	   *nu;
	int			nw,
				i;
	int		   *week;

	if (ARR_ELEMTYPE(wa) != INT4OID || ARR_NDIM(wa) != 1)
		ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
						errmsg("target weeks must be a one-dimensional int[]")));
	deconstruct_array(wa, INT4OID, 4, true, TYPALIGN_INT, &el, &nu, &nw);
	if (nw != n)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("one target week per window is needed")));
	week = palloc(sizeof(int) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		if (nu[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							errmsg("target weeks must not contain NULL")));
		week[i] = DatumGetInt32(el[i]);
	}
	return week;
}

/*
 * The windows of lstm_fit (arguments 0-3): raw float8[n][window][4],
 * next_score float8[n], target_week int[n], age float8[n].
 */
static void
fit_input_args(FunctionCallInfo fcinfo, pz_lstm_fit_input *in)
{
	int			dims[3],
				d1[1];

	in->raw = float8_nd(PG_GETARG_ARRAYTYPE_P(0), "training windows", 3, dims,
						(long) PZ_LSTM_MAX_SAMPLES);
	in->n = dims[0];
	in->T = dims[1];
	if (dims[2] != PZ_LSTM_NRAW || in->T < 1 || in->T > PZ_LSTM_MAX_WINDOW)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("training windows must be float8[n][window][4] (score, plays, likes, skips)")));
	in->next = float8_nd(PG_GETARG_ARRAYTYPE_P(1), "targets", 1, d1, in->n);
	if (d1[0] != in->n)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("one target per window is needed")));
	in->age = float8_nd(PG_GETARG_ARRAYTYPE_P(3), "track ages", 1, d1, in->n);
	if (d1[0] != in->n)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("one track age per window is needed")));
	in->week = target_weeks_arg(fcinfo, 2, in->n);
}

/* The hyper-parameters of lstm_fit (arguments 4-13). */
static void
fit_opts_args(FunctionCallInfo fcinfo, pz_lstm_fit_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->hidden = int_arg(fcinfo, 4, "hidden", 1, 1024);
	o->layers = int_arg(fcinfo, 5, "layers", 1, 8);
	o->epochs = int_arg(fcinfo, 6, "epochs", 0, 100000);
	o->batch_size = int_arg(fcinfo, 7, "batch_size", 1, PZ_LSTM_MAX_BATCH);
	o->lr = real_arg(fcinfo, 8, "learning_rate", 0.0, 10.0, true);
	o->dropout = real_arg(fcinfo, 9, "dropout", 0.0, 0.95, false);
	o->patience = int_arg(fcinfo, 10, "patience", 0, 100000);
	o->validation_weeks = int_arg(fcinfo, 11, "validation_weeks", 0, 1000);
	need_arg(fcinfo, 12, "seed");
	o->seed = (uint64_t) PG_GETARG_INT64(12);
	need_arg(fcinfo, 13, "weighted");
	o->weighted = PG_GETARG_BOOL(13);
	o->on_epoch = fit_on_epoch;
	o->cancel = &pz_pg_cancel;
}

/*
 * The active model of lstm_fit (arguments 14-18: weights, mean, std, target
 * mean and std), when all are given; o->active stays NULL otherwise.
 */
static void
fit_active_args(FunctionCallInfo fcinfo, pz_lstm_fit_opts *o, pz_lstm_fit_active *act)
{
	if (!PG_ARGISNULL(14) && !PG_ARGISNULL(15) && !PG_ARGISNULL(16) &&
		!PG_ARGISNULL(17) && !PG_ARGISNULL(18))
	{
		bytea	   *ab = PG_GETARG_BYTEA_PP(14);

		act->blob = (const unsigned char *) VARDATA_ANY(ab);
		act->blob_len = VARSIZE_ANY_EXHDR(ab);
		act->mean = float8_nd(PG_GETARG_ARRAYTYPE_P(15), "active mean", 1, &act->mean_len, 64);
		act->std = float8_nd(PG_GETARG_ARRAYTYPE_P(16), "active std", 1, &act->std_len, 64);
		act->target_mean = PG_GETARG_FLOAT8(17);
		act->target_std = PG_GETARG_FLOAT8(18);
		o->active = act;
	}
}

/* The normalisation of a fit as jsonb (what lstm_apply takes back). */
static Datum
fit_normalisation_jsonb(const pz_lstm_fit_result *r, int T)
{
	StringInfoData sn;
	int			i;

	initStringInfo(&sn);
	appendStringInfo(&sn, "{\"feature_version\": %d, \"window\": %d, \"features\": [",
					 PZ_LSTM_FEATURE_VERSION, T);
	for (i = 0; i < PZ_LSTM_NFEAT; i++)
		appendStringInfo(&sn, "%s\"%s\"", i ? ", " : "", pz_lstm_feature_names[i]);
	appendStringInfoString(&sn, "], \"mean\": ");
	append_doubles(&sn, r->mean, PZ_LSTM_NFEAT);
	appendStringInfoString(&sn, ", \"std\": ");
	append_doubles(&sn, r->std, PZ_LSTM_NFEAT);
	appendStringInfo(&sn, ", \"target_mean\": %.17g, \"target_std\": %.17g, "
					 "\"target\": \"log1p(next score) - level\"}",
					 r->target_mean, r->target_std);
	return jsonb_from_text(&sn);
}

/* The metrics of a fit as jsonb (models.metrics). */
static Datum
fit_metrics_jsonb(const pz_lstm_fit_result *r)
{
	StringInfoData sm;

	initStringInfo(&sm);
#define JNUM(v) (isfinite(v) ? psprintf("%.10g", (v)) : "null")
	appendStringInfo(&sm, "{\"train_windows\": %d, \"validation_windows\": %d, "
					 "\"epochs_run\": %d, \"best_epoch\": %d, \"stopped_early\": %s, "
					 "\"final_train_loss\": %s, \"best_val_loss\": %s, "
					 "\"val_mse_log1p\": %s, \"val_overlap_at_50\": %s, "
					 "\"val_last_week_tracks\": %d, \"active_val_mse_log1p\": %s, "
					 "\"active_val_overlap_at_50\": %s}",
					 r->train_windows, r->validation_windows, r->train.epochs_run,
					 r->train.best_epoch, r->train.stopped_early ? "true" : "false",
					 JNUM(r->train.final_train_loss), JNUM(r->train.best_val_loss),
					 JNUM(r->val_mse_log1p), JNUM(r->val_overlap_at_50),
					 r->val_last_week_tracks, JNUM(r->active_val_mse_log1p),
					 JNUM(r->active_val_overlap_at_50));
#undef JNUM
	return jsonb_from_text(&sm);
}

/*
 * lstm_fit(raw float8[][][], next_score float8[], target_week int[],
 *          age float8[], hidden, layers, epochs, batch_size, learning_rate,
 *          dropout, patience, validation_weeks, seed, weighted,
 *          active_weights bytea, active_mean float8[], active_std float8[],
 *          active_target_mean float8, active_target_std float8,
 *          OUT weights bytea, OUT normalisation jsonb, OUT metrics jsonb)
 *
 * The numerics are pz_lstm_fit (src/core/lstm_fit.c); its buffer for the
 * windows' features is palloc'd here, outside pozytywka.core_memory_limit,
 * as the input arrays are.
 */
Datum
pz_lstm_fn_fit(PG_FUNCTION_ARGS)
{
	pz_lstm_fit_input in;
	pz_lstm_fit_opts o;
	pz_lstm_fit_active act;
	pz_lstm_fit_result r;
	double	   *buf;
	char		reason[PZ_ERRMSG_LEN];
	pz_status	st;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "lstm_fit must return a composite");
	tupdesc = BlessTupleDesc(tupdesc);

	/* every argument is checked before the core allocates anything */
	need_arg(fcinfo, 0, "training windows");
	need_arg(fcinfo, 1, "targets");
	need_arg(fcinfo, 2, "target weeks");
	need_arg(fcinfo, 3, "track ages");
	fit_opts_args(fcinfo, &o);
	fit_input_args(fcinfo, &in);
	fit_active_args(fcinfo, &o, &act);
	buf = palloc_extended(sizeof(double) * Max(pz_lstm_fit_buffer_len(in.n, in.T), 1),
						  MCXT_ALLOC_HUGE);

	st = pz_lstm_fit(&in, &o, buf, &r, reason);
	if (st != PZ_OK)
		pz_report(st, reason);
	pfree(buf);

	values[0] = PointerGetDatum(model_blob_and_free(r.model));
	values[1] = fit_normalisation_jsonb(&r, in.T);
	values[2] = fit_metrics_jsonb(&r);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* windows whose features are built at once by lstm_apply (~320 kB) */
#define PZ_APPLY_CHUNK 1024

/*
 * lstm_apply(weights bytea, mean float8[], std float8[], target_mean,
 *            target_std, raw float8[][][], age float8[]) -> float8[]
 */
Datum
pz_lstm_fn_apply(PG_FUNCTION_ARGS)
{
	int			dims[3],
				dm[1],
				ds[1],
				da[1],
				n,
				T,
				chunk,
				first,
				i;
	const double *mean,
			   *std,
			   *raw,
			   *age;
	double	   *x,
			   *level,
			   *out,
				tmean,
				tstd;
	pz_lstm    *m;
	char		reason[PZ_ERRMSG_LEN];
	pz_status	st;
	Datum	   *el;

	for (i = 0; i < 7; i++)
		need_arg(fcinfo, i, "lstm_apply argument");
	mean = float8_nd(PG_GETARG_ARRAYTYPE_P(1), "normalisation mean", 1, dm, 64);
	std = float8_nd(PG_GETARG_ARRAYTYPE_P(2), "normalisation std", 1, ds, 64);
	tmean = PG_GETARG_FLOAT8(3);
	tstd = PG_GETARG_FLOAT8(4);
	if (dm[0] != PZ_LSTM_NFEAT || ds[0] != PZ_LSTM_NFEAT || !isfinite(tmean) ||
		!(tstd > 0) || !isfinite(tstd))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the model's normalisation is malformed (expected %d feature means and standard deviations)",
						PZ_LSTM_NFEAT)));
	for (i = 0; i < PZ_LSTM_NFEAT; i++)
		if (!(std[i] > 0))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the model's normalisation has a non-positive standard deviation")));
	raw = float8_nd(PG_GETARG_ARRAYTYPE_P(5), "windows", 3, dims, (long) PZ_LSTM_MAX_SAMPLES);
	n = dims[0];
	T = dims[1];
	if (dims[2] != PZ_LSTM_NRAW)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("windows must be float8[n][window][4] (score, plays, likes, skips)")));
	age = float8_nd(PG_GETARG_ARRAYTYPE_P(6), "track ages", 1, da, n);
	if (da[0] != n)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("one track age per window is needed")));
	m = blob_model(PG_GETARG_BYTEA_PP(0));
	if (m->input_size != PZ_LSTM_NFEAT)
	{
		int			f = m->input_size;

		pz_lstm_free(m);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("this model takes %d features per week, lstm_predict needs a model trained by lstm_train (%d features)",
						f, PZ_LSTM_NFEAT),
				 errhint("Use lstm_forward to run an imported network on raw inputs.")));
	}
	/*
	 * Features are built a chunk of windows at a time: one small buffer
	 * reused instead of megabytes of fresh memory (whose page faults cost
	 * as much as the network on a whole catalogue).
	 */
	chunk = Min(n, PZ_APPLY_CHUNK);
	x = palloc(sizeof(double) * (size_t) chunk * T * PZ_LSTM_NFEAT);
	level = palloc(sizeof(double) * chunk);
	out = palloc(sizeof(double) * n);
	reason[0] = '\0';
	st = PZ_OK;
	for (first = 0; first < n && st == PZ_OK; first += chunk)
	{
		int			b = Min(chunk, n - first);

		pz_lstm_features(b, T, raw + (size_t) first * T * PZ_LSTM_NRAW, age + first, x, level);
		st = pz_lstm_predict_scores(m, b, T, x, 1, level, mean, std, tmean, tstd,
									out + first, &pz_pg_cancel, reason);
	}
	pz_lstm_free(m);
	if (st != PZ_OK)
		pz_report(st, reason);
	el = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
		el[i] = Float8GetDatum(out[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(el, n, FLOAT8OID, 8, FLOAT8PASSBYVAL,
										  TYPALIGN_DOUBLE));
}
