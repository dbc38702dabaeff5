/*
 * conformal.c — split-conformal intervals and rank-to-probability
 * calibration of the top list (see conformal.h).
 */
#include "conformal.h"

#include <math.h>
#include <stdlib.h>

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

pz_status
pz_conformal_interval(double *r, int m, double level, double *lo, double *hi)
{
	double		alpha;
	long		klo,
				khi;

	if (r == NULL || lo == NULL || hi == NULL || m < 1 ||
		!(level > 0.0 && level < 1.0))
		return PZ_EINVAL;
	for (int i = 0; i < m; i++)
		if (!isfinite(r[i]))
			return PZ_EINVAL;
	qsort(r, (size_t) m, sizeof(double), cmp_double);
	alpha = 1.0 - level;
	/* 1-based order statistics; small tolerance against (m+1)*q rounding */
	klo = (long) floor((m + 1) * (alpha / 2.0) + 1e-9);
	khi = (long) ceil((m + 1) * (1.0 - alpha / 2.0) - 1e-9);
	if (klo < 1)
		klo = 1;
	if (khi > m)
		khi = m;
	if (khi < klo)
		khi = klo;
	*lo = r[klo - 1];
	*hi = r[khi - 1];
	return PZ_OK;
}

pz_status
pz_rank_probability(const double *hits, const double *counts, int n,
					double prior_weight, double *p, double *work)
{
	double		total_h = 0.0,
				total_c = 0.0,
				overall;
	double	   *level,
			   *weight,
			   *size;
	int			blocks = 0;

	if (hits == NULL || counts == NULL || p == NULL || work == NULL || n < 1 ||
		!(prior_weight >= 0.0) || !isfinite(prior_weight))
		return PZ_EINVAL;
	for (int k = 0; k < n; k++)
	{
		if (!isfinite(hits[k]) || !isfinite(counts[k]) || hits[k] < 0.0 ||
			counts[k] < 0.0 || hits[k] > counts[k])
			return PZ_EINVAL;
		total_h += hits[k];
		total_c += counts[k];
	}
	if (total_c <= 0.0 && prior_weight <= 0.0)
		return PZ_EINVAL;
	overall = total_c > 0.0 ? total_h / total_c : 0.5;

	level = work;
	weight = work + n;
	size = work + 2 * n;
	/* shrunk rates, then pool adjacent violators of "non-increasing" */
	for (int k = 0; k < n; k++)
	{
		double		w = counts[k] + prior_weight;
		double		v = w > 0.0 ? (hits[k] + prior_weight * overall) / w : overall;

		if (w <= 0.0)
			w = 1e-9;			/* an unseen rank follows its neighbours */
		level[blocks] = v;
		weight[blocks] = w;
		size[blocks] = 1.0;
		blocks++;
		while (blocks > 1 && level[blocks - 2] < level[blocks - 1])
		{
			double		wsum = weight[blocks - 2] + weight[blocks - 1];

			level[blocks - 2] = (level[blocks - 2] * weight[blocks - 2] +
								 level[blocks - 1] * weight[blocks - 1]) / wsum;
			weight[blocks - 2] = wsum;
			size[blocks - 2] += size[blocks - 1];
			blocks--;
		}
	}
	for (int b = 0, k = 0; b < blocks; b++)
		for (int j = 0; j < (int) size[b]; j++)
			p[k++] = level[b] < 0.0 ? 0.0 : (level[b] > 1.0 ? 1.0 : level[b]);
	return PZ_OK;
}

double
pz_brier(const double *p, const double *y, int m)
{
	double		s = 0.0;

	if (p == NULL || y == NULL || m < 1)
		return NAN;
	for (int i = 0; i < m; i++)
		s += (p[i] - y[i]) * (p[i] - y[i]);
	return s / m;
}
