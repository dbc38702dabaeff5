/*
 * conformal.c — SQL entry points of the list's uncertainty
 * (src/core/conformal.c does the arithmetic).
 */
#include "pozytywka.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/lsyscache.h"

#include "conformal.h"

PG_FUNCTION_INFO_V1(pz_conformal_interval_sql);
PG_FUNCTION_INFO_V1(pz_rank_probability_sql);

/* Most residuals / ranks accepted (a list of up to 100000 over 520 weeks). */
#define PZ_MAX_CALIBRATION 60000000

static ArrayType *
float8_result(const double *x, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * n);

	for (int i = 0; i < n; i++)
		elems[i] = Float8GetDatum(x[i]);
	return construct_array(elems, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

/* conformal_interval(residuals float8[], level float8) -> {lower, upper} */
Datum
pz_conformal_interval_sql(PG_FUNCTION_ARGS)
{
	int			m;
	double	   *r;
	double		level,
				lo,
				hi,
				out[2];

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("residuals and level must not be NULL")));
	r = pz_float8_array(PG_GETARG_ARRAYTYPE_P(0), "residuals", 1, PZ_MAX_CALIBRATION, &m);
	level = PG_GETARG_FLOAT8(1);
	if (!(level > 0.0 && level < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("level must be between 0 and 1 (exclusive), not %g", level)));
	CHECK_FOR_INTERRUPTS();
	pz_report(pz_conformal_interval(r, m, level, &lo, &hi), "cannot compute the interval");
	out[0] = lo;
	out[1] = hi;
	PG_RETURN_ARRAYTYPE_P(float8_result(out, 2));
}

/*
 * rank_probability(hits float8[], counts float8[], prior_weight float8)
 * -> float8[]: probability of the real top n by predicted rank.
 */
Datum
pz_rank_probability_sql(PG_FUNCTION_ARGS)
{
	int			n,
				nc;
	double	   *hits,
			   *counts,
			   *p,
			   *work;
	double		prior;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("hits, counts and prior_weight must not be NULL")));
	hits = pz_float8_array(PG_GETARG_ARRAYTYPE_P(0), "hits", 1, 100000, &n);
	counts = pz_float8_array(PG_GETARG_ARRAYTYPE_P(1), "counts", 1, 100000, &nc);
	if (n != nc)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hits and counts must have the same length (%d and %d)", n, nc)));
	prior = PG_GETARG_FLOAT8(2);
	p = palloc(sizeof(double) * n);
	work = palloc(sizeof(double) * 3 * n);
	pz_report(pz_rank_probability(hits, counts, n, prior, p, work),
			  "hits and counts must be finite with 0 <= hits <= counts, prior_weight >= 0, and something observed");
	PG_RETURN_ARRAYTYPE_P(float8_result(p, n));
}
