/*
 * arima.c — SQL entry points of the ARIMA models (src/core/arima*.c does
 * the numerics): arima_forecast, arima_forecast_interval, arima_fit,
 * auto_arima.
 *
 * Orders: p and q are given together or both NULL (automatic stepwise
 * selection by AICc); d may be NULL in both cases (chosen by KPSS tests).
 * An explicit order gets a mean when d = 0 and no drift when d >= 1, as R's
 * arima() does by default; the automatic search also tries a drift for
 * d = 1.
 */
#include "pozytywka.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "arima.h"

PG_FUNCTION_INFO_V1(pz_arima_forecast);
PG_FUNCTION_INFO_V1(pz_arima_forecast_interval);
PG_FUNCTION_INFO_V1(pz_arima_fit);
PG_FUNCTION_INFO_V1(pz_auto_arima);

/* An optional order argument: -1 when NULL, else checked 0..maxval. */
static int
order_arg(FunctionCallInfo fcinfo, int argno, const char *name, int maxval)
{
	int			v;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return -1;
	v = PG_GETARG_INT32(argno);
	if (v < 0 || v > maxval)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ARIMA order %s must be between 0 and %d, not %d",
						name, maxval, v)));
	return v;
}

static int
horizon_arg(FunctionCallInfo fcinfo, int argno)
{
	int			h;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("horizon must not be NULL")));
	h = PG_GETARG_INT32(argno);
	if (h < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon must be at least 1, not %d", h)));
	if (h > ARIMA_MAX_H)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("horizon must be at most %d, not %d", ARIMA_MAX_H, h)));
	return h;
}

/*
 * Fit the model for y: explicit (p, q given) or automatic.  pa/da/qa are
 * the argument numbers of p, d, q (or -1 when the function has none).
 */
static void
arima_model_for(FunctionCallInfo fcinfo, const double *y, int n,
				int pa, int da, int qa, bool require_order, arima_model *m)
{
	int			p = pa >= 0 ? order_arg(fcinfo, pa, "p", ARIMA_MAX_PQ) : -1;
	int			d = da >= 0 ? order_arg(fcinfo, da, "d", ARIMA_MAX_D) : -1;
	int			q = qa >= 0 ? order_arg(fcinfo, qa, "q", ARIMA_MAX_PQ) : -1;
	char		err[PZ_ERRMSG_LEN];
	pz_status	st;

	if (require_order && (p < 0 || d < 0 || q < 0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("ARIMA orders p, d and q must not be NULL"),
				 errhint("Use auto_arima(series) for automatic order selection.")));
	if ((p < 0) != (q < 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ARIMA orders p and q must be given together"),
				 errhint("Leave both NULL for automatic order selection.")));
	err[0] = '\0';
	if (p < 0)
	{
		arima_auto_opts opts;

		pz_arima_auto_opts_default(&opts);
		opts.d = d;
		st = pz_arima_auto(y, n, &opts, &pz_pg_cancel, m, err);
	}
	else
	{
		if (d < 0)
			d = pz_arima_ndiffs(y, n, 0.05, ARIMA_MAX_D);
		st = pz_arima_fit_model(y, n, p, d, q, d == 0, &pz_pg_cancel, m, err);
	}
	pz_report(st, err);
}

Datum
pz_arima_forecast(PG_FUNCTION_ARGS)
{
	int			n,
				h;
	double	   *y = pz_series_arg(fcinfo, 0, &n);
	double	   *fc;
	Datum	   *elems;
	arima_model m;
	char		err[PZ_ERRMSG_LEN];

	h = horizon_arg(fcinfo, 1);
	arima_model_for(fcinfo, y, n, 2, 3, 4, false, &m);
	fc = palloc(sizeof(double) * h);
	err[0] = '\0';
	pz_report(pz_arima_forecast_model(&m, y, n, h, fc, NULL, err), err);
	elems = palloc(sizeof(Datum) * h);
	for (int i = 0; i < h; i++)
		elems[i] = Float8GetDatum(fc[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, h, FLOAT8OID, 8,
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

Datum
pz_arima_forecast_interval(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			n,
				h;
	double	   *y = pz_series_arg(fcinfo, 0, &n);
	double	   *fc,
			   *se;
	double		level,
				z;
	arima_model m;
	char		err[PZ_ERRMSG_LEN];

	h = horizon_arg(fcinfo, 1);
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("level must not be NULL")));
	level = PG_GETARG_FLOAT8(2);
	if (!(level > 0.0 && level < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("level must be strictly between 0 and 1, not %g", level)));
	arima_model_for(fcinfo, y, n, 3, 4, 5, false, &m);
	fc = palloc(sizeof(double) * h);
	se = palloc(sizeof(double) * h);
	err[0] = '\0';
	pz_report(pz_arima_forecast_model(&m, y, n, h, fc, se, err), err);
	z = pz_arima_normal_quantile(level);

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < h; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = Int32GetDatum(i + 1);
		values[1] = Float8GetDatum(fc[i]);
		values[2] = Float8GetDatum(fc[i] - z * se[i]);
		values[3] = Float8GetDatum(fc[i] + z * se[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

static Datum
float8_array_datum(const double *v, int k)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(k, 1));

	for (int i = 0; i < k; i++)
		elems[i] = Float8GetDatum(v[i]);
	return PointerGetDatum(construct_array(elems, k, FLOAT8OID, 8,
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* NaN/Inf (fall-back models, undefined AICc) are shown as NULL */
static void
set_float(Datum *values, bool *nulls, int i, double v)
{
	if (isfinite(v))
		values[i] = Float8GetDatum(v);
	else
		nulls[i] = true;
}

/*
 * arima_model: (p, d, q, ar, ma, intercept, drift, sigma2, loglik, aic,
 * aicc, bic, nobs, method)
 */
static Datum
model_datum(FunctionCallInfo fcinfo, const arima_model *m)
{
	TupleDesc	tupdesc;
	Datum		values[14];
	bool		nulls[14];

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning a record called in a context that cannot accept it")));
	tupdesc = BlessTupleDesc(tupdesc);
	if (tupdesc->natts != 14)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("arima_model has %d attributes, expected 14", tupdesc->natts)));
	memset(nulls, 0, sizeof(nulls));
	values[0] = Int32GetDatum(m->p);
	values[1] = Int32GetDatum(m->d);
	values[2] = Int32GetDatum(m->q);
	values[3] = float8_array_datum(m->ar, m->method == ARIMA_METHOD_ML ? m->p : 0);
	values[4] = float8_array_datum(m->ma, m->method == ARIMA_METHOD_ML ? m->q : 0);
	/* the constant is a mean (d = 0) or a drift (d = 1) */
	if (m->has_const && m->d == 0)
		values[5] = Float8GetDatum(m->mu);
	else
		nulls[5] = true;
	if (m->has_const && m->d == 1)
		values[6] = Float8GetDatum(m->mu);
	else
		nulls[6] = true;
	set_float(values, nulls, 7, m->sigma2);
	set_float(values, nulls, 8, m->loglik);
	set_float(values, nulls, 9, m->aic);
	set_float(values, nulls, 10, m->aicc);
	set_float(values, nulls, 11, m->bic);
	values[12] = Int32GetDatum(m->nobs);
	switch (m->method)
	{
		case ARIMA_METHOD_ML:
			values[13] = CStringGetTextDatum(m->converged ? "ML" : "ML (not converged)");
			break;
		case ARIMA_METHOD_FALLBACK_MEAN:
			values[13] = CStringGetTextDatum("fallback: mean");
			break;
		case ARIMA_METHOD_FALLBACK_NAIVE:
			values[13] = CStringGetTextDatum("fallback: random walk");
			break;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

Datum
pz_arima_fit(PG_FUNCTION_ARGS)
{
	int			n;
	double	   *y = pz_series_arg(fcinfo, 0, &n);
	arima_model m;

	arima_model_for(fcinfo, y, n, 1, 2, 3, true, &m);
	return model_datum(fcinfo, &m);
}

Datum
pz_auto_arima(PG_FUNCTION_ARGS)
{
	int			n;
	double	   *y = pz_series_arg(fcinfo, 0, &n);
	arima_model m;

	arima_model_for(fcinfo, y, n, -1, -1, -1, false, &m);
	return model_datum(fcinfo, &m);
}
