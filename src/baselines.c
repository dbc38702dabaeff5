/*
 * baselines.c — SQL entry points of the baseline forecasts
 * (src/core/baselines.c does the arithmetic).
 */
#include "pozytywka.h"

#include <math.h>

#include "fmgr.h"

#include "baselines.h"

PG_FUNCTION_INFO_V1(pz_series_mean);
PG_FUNCTION_INFO_V1(pz_series_ewma);
PG_FUNCTION_INFO_V1(pz_series_trend);

static int
window_arg(FunctionCallInfo fcinfo)
{
	int			k;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the number of weeks must not be NULL")));
	k = PG_GETARG_INT32(1);
	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the number of weeks must be at least 1, not %d", k)));
	return k;
}

Datum
pz_series_mean(PG_FUNCTION_ARGS)
{
	int			n;
	double	   *y = pz_series_arg(fcinfo, 0, &n);
	int			k = window_arg(fcinfo);

	PG_RETURN_FLOAT8(pz_baseline_mean_last(y, n, k));
}

Datum
pz_series_ewma(PG_FUNCTION_ARGS)
{
	int			n;
	double	   *y = pz_series_arg(fcinfo, 0, &n);
	double		alpha;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("alpha must not be NULL")));
	alpha = PG_GETARG_FLOAT8(1);
	if (!(alpha > 0.0 && alpha <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("alpha must be in (0, 1], not %g", alpha)));
	PG_RETURN_FLOAT8(pz_baseline_ewma(y, n, alpha));
}

Datum
pz_series_trend(PG_FUNCTION_ARGS)
{
	int			n;
	double	   *y = pz_series_arg(fcinfo, 0, &n);
	int			k = window_arg(fcinfo);

	PG_RETURN_FLOAT8(pz_baseline_trend(y, n, k));
}
