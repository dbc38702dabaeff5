/*
 * test_conformal.c — unit tests of the conformal intervals and the
 * rank-to-probability calibration.
 */
#include <math.h>
#include <stdlib.h>

#include "conformal.h"
#include "pz_rng.h"
#include "tap.h"

int
main(void)
{
	double		lo,
				hi;
	double		r[19];
	double		p[6],
				work[18];

	/* 19 residuals 1..19 (shuffled), 80%: (m+1)*0.1 = 2 -> 2nd; ceil(20*0.9) = 18 -> 18th */
	for (int i = 0; i < 19; i++)
		r[i] = (double) ((i * 7) % 19 + 1);
	tap_ok(pz_conformal_interval(r, 19, 0.8, &lo, &hi) == PZ_OK, "interval of 19 residuals");
	tap_close(lo, 2, 0, 0, "80% lower bound is the 2nd smallest of 19");
	tap_close(hi, 18, 0, 0, "80% upper bound is the 18th smallest of 19");
	tap_ok(r[0] == 1 && r[18] == 19, "residuals are sorted in place");
	{
		double		two[2] = {3, -1};

		tap_ok(pz_conformal_interval(two, 2, 0.8, &lo, &hi) == PZ_OK && lo == -1 && hi == 3,
			   "too few residuals: clamped to the smallest and largest");
	}
	{
		double		bad[2] = {1, NAN};

		tap_ok(pz_conformal_interval(bad, 2, 0.8, &lo, &hi) == PZ_EINVAL, "NaN residual refused");
		tap_ok(pz_conformal_interval(r, 0, 0.8, &lo, &hi) == PZ_EINVAL, "no residual refused");
		tap_ok(pz_conformal_interval(r, 19, 1.0, &lo, &hi) == PZ_EINVAL, "level 1 refused");
		tap_ok(pz_conformal_interval(r, 19, NAN, &lo, &hi) == PZ_EINVAL, "level NaN refused");
	}

	/* coverage: calibrate on 999 normal draws, test on 100000 more */
	{
		pz_rng		rng;
		int			m = 999,
					inside = 0,
					t = 100000;
		double	   *cal = malloc(sizeof(double) * m);

		pz_rng_seed(&rng, 7);
		for (int i = 0; i < m; i++)
			cal[i] = pz_rng_normal(&rng);
		pz_conformal_interval(cal, m, 0.8, &lo, &hi);
		for (int i = 0; i < t; i++)
		{
			double		x = pz_rng_normal(&rng);

			inside += x >= lo && x <= hi;
		}
		tap_ok(fabs((double) inside / t - 0.8) < 0.02,
			   "coverage on fresh draws is 80%% +- 2%% (%.4f)", (double) inside / t);
		free(cal);
	}

	/* rank calibration: monotone data pass through (no prior) */
	{
		double		h[6] = {9, 8, 6, 5, 2, 1},
					c[6] = {10, 10, 10, 10, 10, 10};

		tap_ok(pz_rank_probability(h, c, 6, 0, p, work) == PZ_OK, "rank probability ok");
		tap_close(p[0], 0.9, 1e-12, 0, "monotone rates kept: rank 1");
		tap_close(p[5], 0.1, 1e-12, 0, "monotone rates kept: rank 6");
	}
	/* a violation is pooled: 0.5, 0.7 -> 0.6, 0.6 */
	{
		double		h[6] = {9, 5, 7, 4, 2, 1},
					c[6] = {10, 10, 10, 10, 10, 10};
		int			mono = 1;

		pz_rank_probability(h, c, 6, 0, p, work);
		tap_close(p[1], 0.6, 1e-12, 0, "violators pooled: rank 2");
		tap_close(p[2], 0.6, 1e-12, 0, "violators pooled: rank 3");
		pz_rank_probability(h, c, 6, 2, p, work);
		for (int k = 1; k < 6; k++)
			mono &= p[k] <= p[k - 1] + 1e-15;
		tap_ok(mono, "with a prior the fit is still non-increasing");
		tap_ok(p[0] < 0.9 && p[5] > 0.1, "the prior shrinks toward the overall rate");
		{
			double		sum_w = 0,
						sum_p = 0;

			/* PAV keeps the weighted mean of the (shrunk) rates */
			for (int k = 0; k < 6; k++)
			{
				sum_w += c[k] + 2;
				sum_p += p[k] * (c[k] + 2);
			}
			tap_close(sum_p / sum_w, 28.0 / 60.0, 1e-12, 0,
					  "the fit keeps the overall rate");
		}
	}
	/* unseen ranks, bad input */
	{
		double		h[3] = {3, 0, 0},
					c[3] = {4, 0, 0};

		tap_ok(pz_rank_probability(h, c, 3, 1, p, work) == PZ_OK &&
			   p[1] >= 0 && p[1] <= p[0] && p[2] <= p[1], "unseen ranks get a value in order");
		h[1] = 1;
		tap_ok(pz_rank_probability(h, c, 3, 1, p, work) == PZ_EINVAL, "hits > counts refused");
		tap_ok(pz_rank_probability(h, c, 0, 1, p, work) == PZ_EINVAL, "n = 0 refused");
		h[1] = 0;
		c[0] = 3;
		h[0] = 0;
		c[0] = 0;
		tap_ok(pz_rank_probability(h, c, 3, 0, p, work) == PZ_EINVAL,
			   "no observation and no prior refused");
	}
	{
		double		pp[4] = {1, 0, 0.5, 0.25},
					y[4] = {1, 0, 1, 0};

		tap_close(pz_brier(pp, y, 4), (0 + 0 + 0.25 + 0.0625) / 4, 1e-15, 0, "Brier score by hand");
		tap_ok(isnan(pz_brier(pp, y, 0)), "Brier of nothing is NaN");
	}
	return tap_done();
}
