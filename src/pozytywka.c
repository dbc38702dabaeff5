/*
 * pozytywka.c — module initialisation and helpers shared by the glue.
 */
#include "pozytywka.h"

#include <math.h>

#include <gsl/gsl_errno.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * The core polls this between iterations.  It only reads the flags that
 * ProcessInterrupts() would act on for a cancel, statement_timeout or
 * termination; the glue calls CHECK_FOR_INTERRUPTS() once the core has
 * freed its memory and returned PZ_ECANCELLED.
 */
static int
pz_pg_cancel_pending(void *arg)
{
	return QueryCancelPending || ProcDiePending;
}

pz_cancel	pz_pg_cancel = {pz_pg_cancel_pending, NULL};

void
_PG_init(void)
{
	/*
	 * GSL's default error handler calls abort(), which would take the whole
	 * server down.  Every GSL return code is checked by the core instead.
	 */
	gsl_set_error_handler_off();
}

void
pz_report(pz_status status, const char *reason)
{
	const char *detail = (reason && reason[0]) ? reason : pz_status_name(status);

	switch (status)
	{
		case PZ_OK:
			return;
		case PZ_EINVAL:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s", detail)));
			break;
		case PZ_ENOMEM:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("%s", detail)));
			break;
		case PZ_ECANCELLED:
			CHECK_FOR_INTERRUPTS();
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("canceling statement due to user request")));
			break;
		case PZ_ECORRUPT:
		case PZ_EVERSION:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("%s", detail)));
			break;
		case PZ_ENOCONV:
		case PZ_ENUMERIC:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s", detail)));
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("unexpected status %d from the numerical core", (int) status)));
}

double *
pz_float8_array(ArrayType *arr, const char *what, int min_len, int max_len,
				int *len_out)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	double	   *out;

	if (ARR_ELEMTYPE(arr) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s must be a float8[] array", what)));
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array, not %d-dimensional",
						what, ARR_NDIM(arr))));
	n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if (n > max_len)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s has %d elements, more than the limit of %d",
						what, n, max_len)));
	if (n < min_len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s has %d elements, at least %d are needed",
						what, n, min_len)));

	deconstruct_array(arr, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	out = palloc(sizeof(double) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		double		v;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL elements (element %d is NULL)",
							what, i + 1)));
		v = DatumGetFloat8(elems[i]);
		if (!isfinite(v))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must contain only finite values (element %d is %s)",
							what, i + 1, isnan(v) ? "NaN" : "infinite")));
		out[i] = v;
	}
	pfree(elems);
	pfree(nulls);
	*len_out = n;
	return out;
}

double *
pz_series_arg(FunctionCallInfo fcinfo, int argno, int *len_out)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("series must not be NULL")));
	return pz_float8_array(PG_GETARG_ARRAYTYPE_P(argno), "series", 1,
						   PZ_MAX_SERIES_LEN, len_out);
}
