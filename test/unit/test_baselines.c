/*
 * test_baselines.c — unit tests of the baseline forecasts.
 */
#include "baselines.h"
#include "tap.h"

int
main(void)
{
	const double y[] = {1, 2, 3, 4, 10};
	const double line[] = {5, 7, 9, 11};
	const double one[] = {42};

	tap_close(pz_baseline_mean_last(y, 5, 1), 10, 1e-12, 0, "mean of last 1 is persistence");
	tap_close(pz_baseline_mean_last(y, 5, 2), 7, 1e-12, 0, "mean of last 2");
	tap_close(pz_baseline_mean_last(y, 5, 8), 4, 1e-12, 0, "k > n uses all values");
	tap_close(pz_baseline_ewma(y, 5, 1.0), 10, 1e-12, 0, "ewma alpha 1 is persistence");
	/* s = 1, 1.5, 2.25, 3.125, 6.5625 */
	tap_close(pz_baseline_ewma(y, 5, 0.5), 6.5625, 1e-12, 0, "ewma alpha 0.5 by hand");
	tap_close(pz_baseline_trend(line, 4, 4), 13, 1e-12, 0, "trend extrapolates an exact line");
	tap_close(pz_baseline_trend(line, 4, 2), 13, 1e-12, 0, "trend over the last 2 points");
	tap_close(pz_baseline_trend(y, 5, 3), 12.6666666666667, 1e-9, 0,
			  "trend of (3,4,10): OLS slope 3.5 from mean 5.667 at t=1 -> t=3");
	tap_close(pz_baseline_trend(one, 1, 4), 42, 1e-12, 0, "trend of one point is persistence");
	return tap_done();
}
