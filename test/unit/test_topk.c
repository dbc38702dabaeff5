/*
 * test_topk.c — the top-k overlap against the quadratic definition.
 */
#include <math.h>
#include <stdlib.h>

#include "pz_rng.h"
#include "tap.h"
#include "topk.h"

/* the definition, as the LSTM glue computed it before: rank by counting */
static double
naive_overlap(const double *a, const double *b, int n, int k)
{
	int			hit = 0;

	if (k > n)
		k = n;
	for (int i = 0; i < n; i++)
	{
		int			ra = 0,
					rb = 0;

		for (int j = 0; j < n; j++)
		{
			ra += a[j] > a[i] || (a[j] == a[i] && j < i);
			rb += b[j] > b[i] || (b[j] == b[i] && j < i);
		}
		hit += ra < k && rb < k;
	}
	return (double) hit / k;
}

int
main(void)
{
	const double a[] = {5, 4, 3, 2, 1};
	const double rev[] = {1, 2, 3, 4, 5};
	const double flat[] = {7, 7, 7, 7, 7};
	double		out = 0;
	int			agree = 0;
	pz_rng		rng;

	tap_ok(pz_topk_overlap(a, a, 5, 2, &out) == PZ_OK && out == 1.0, "a list overlaps itself fully");
	tap_ok(pz_topk_overlap(a, rev, 5, 2, &out) == PZ_OK && out == 0.0, "reversed lists do not overlap");
	tap_ok(pz_topk_overlap(a, rev, 5, 3, &out) == PZ_OK && fabs(out - 1.0 / 3) < 1e-15,
		   "top 3 of 5 and its reverse share the middle item");
	tap_ok(pz_topk_overlap(flat, a, 5, 2, &out) == PZ_OK && out == 1.0,
		   "ties go to the lower index (items 0 and 1)");
	tap_ok(pz_topk_overlap(a, rev, 5, 50, &out) == PZ_OK && out == 1.0, "k > n compares all n");
	tap_ok(pz_topk_overlap(a, a, 0, 5, &out) == PZ_OK && isnan(out), "no items: NaN");
	tap_ok(pz_topk_overlap(a, a, 5, 0, &out) == PZ_EINVAL, "k = 0 is invalid");
	tap_ok(pz_topk_overlap(a, a, -1, 5, &out) == PZ_EINVAL, "n < 0 is invalid");

	/* random lists with many ties against the definition */
	pz_rng_seed(&rng, 7);
	for (int t = 0; t < 200; t++)
	{
		int			n = 1 + (int) (pz_rng_uniform(&rng) * 300);
		int			k = 1 + (int) (pz_rng_uniform(&rng) * 60);
		double	   *x = malloc(sizeof(double) * n);
		double	   *y = malloc(sizeof(double) * n);

		for (int i = 0; i < n; i++)
		{
			x[i] = floor(pz_rng_uniform(&rng) * 20);
			y[i] = floor(pz_rng_uniform(&rng) * 20);
		}
		agree += pz_topk_overlap(x, y, n, k, &out) == PZ_OK && out == naive_overlap(x, y, n, k);
		free(x);
		free(y);
	}
	tap_ok(agree == 200, "200 random tied lists: equal to the quadratic definition");
	return tap_done();
}
