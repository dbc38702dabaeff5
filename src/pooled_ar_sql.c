/*
 * pooled_ar_sql.c — SQL entry points of the pooled log-autoregression
 * (src/core/pooled_ar.c) and the padding helper that shapes its input.
 */
#include "pozytywka.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"

#include "pooled_ar.h"

PG_FUNCTION_INFO_V1(pz_left_pad);
PG_FUNCTION_INFO_V1(pz_pooled_ar_forecast);

/* left_pad(series, len): NULLs in front so that every series has len weeks */
Datum
pz_left_pad(PG_FUNCTION_ARGS)
{
	int			n;
	double	   *y;
	int			len;
	Datum	   *elems;
	bool	   *nulls;
	int			dims[1];
	int			lbs[1] = {1};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("left_pad needs a series and a length")));
	len = PG_GETARG_INT32(1);
	if (len < 1 || len > PZ_MAX_SERIES_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("length must be between 1 and %d, not %d",
						PZ_MAX_SERIES_LEN, len)));
	y = pz_float8_array(PG_GETARG_ARRAYTYPE_P(0), "series", 0, len, &n);
	elems = palloc(sizeof(Datum) * len);
	nulls = palloc(sizeof(bool) * len);
	for (int i = 0; i < len; i++)
	{
		int			src = i - (len - n);

		nulls[i] = src < 0;
		elems[i] = src < 0 ? (Datum) 0 : Float8GetDatum(y[src]);
	}
	dims[0] = len;
	PG_RETURN_ARRAYTYPE_P(construct_md_array(elems, nulls, 1, dims, lbs, FLOAT8OID,
											 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * pooled_ar_forecast(matrix float8[][], predict bool[], train_weeks, ridge)
 * -> float8[]: one forecast per row (NULL where not asked or not possible).
 * NULLs in the matrix mark weeks before a track appeared.
 */
Datum
pz_pooled_ar_forecast(PG_FUNCTION_ARGS)
{
	ArrayType  *mat;
	ArrayType  *mask;
	Datum	   *elems;
	bool	   *nulls;
	int			n_elems;
	int			m,
				H;
	double	   *Y;
	double	   *out;
	unsigned char *predict;
	Datum	   *mask_elems;
	bool	   *mask_nulls;
	int			n_mask;
	pooled_ar_opts opts;
	pooled_ar_report report;
	char		reason[PZ_ERRMSG_LEN];
	pz_status	st;
	Datum	   *res;
	bool	   *res_nulls;
	int			dims[1];
	int			lbs[1] = {1};

	for (int a = 0; a < 4; a++)
		if (PG_ARGISNULL(a))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("pooled_ar_forecast: argument %d must not be NULL", a + 1)));
	mat = PG_GETARG_ARRAYTYPE_P(0);
	mask = PG_GETARG_ARRAYTYPE_P(1);
	opts.train_weeks = PG_GETARG_INT32(2);
	opts.ridge = PG_GETARG_FLOAT8(3);

	if (ARR_NDIM(mat) != 2)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("the series matrix must be two-dimensional (tracks x weeks)")));
	m = ARR_DIMS(mat)[0];
	H = ARR_DIMS(mat)[1];
	if (m > POOLED_AR_MAX_TRACKS || H > POOLED_AR_MAX_WEEKS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("at most %d tracks and %d weeks", POOLED_AR_MAX_TRACKS,
						POOLED_AR_MAX_WEEKS)));
	if (ARR_NDIM(mask) != 1 || ARR_DIMS(mask)[0] != m)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("predict must be a one-dimensional array with one flag per track")));

	deconstruct_array(mat, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n_elems);
	deconstruct_array(mask, BOOLOID, 1, true, TYPALIGN_CHAR,
					  &mask_elems, &mask_nulls, &n_mask);
	Y = palloc(sizeof(double) * Max(n_elems, 1));
	for (int i = 0; i < n_elems; i++)
	{
		Y[i] = nulls[i] ? NAN : DatumGetFloat8(elems[i]);
		if (!nulls[i] && !isfinite(Y[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the series matrix must contain only finite values or NULL")));
	}
	predict = palloc(Max(m, 1));
	for (int i = 0; i < m; i++)
		predict[i] = !mask_nulls[i] && DatumGetBool(mask_elems[i]);
	out = palloc(sizeof(double) * Max(m, 1));

	st = pz_pooled_ar_fit_predict(Y, m, H, predict, &opts, &pz_pg_cancel, out,
								  &report, reason);
	pz_report(st, reason);

	res = palloc(sizeof(Datum) * Max(m, 1));
	res_nulls = palloc(sizeof(bool) * Max(m, 1));
	for (int i = 0; i < m; i++)
	{
		res_nulls[i] = isnan(out[i]);
		res[i] = res_nulls[i] ? (Datum) 0 : Float8GetDatum(out[i]);
	}
	dims[0] = m;
	PG_RETURN_ARRAYTYPE_P(construct_md_array(res, res_nulls, 1, dims, lbs, FLOAT8OID,
											 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
