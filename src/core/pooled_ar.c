/*
 * pooled_ar.c — the pooled log-autoregression (see pooled_ar.h).
 */
#include "pooled_ar.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>

/*
 * The log score of week s of a row.  A week without a positive score after
 * the track's first one is read as the week's floor: half the smallest
 * positive score any track had that week.  In a full event log the floor
 * is a fraction of one play, so this is the plain log1p(max(y, 0)); in a
 * chart that lists only its top K tracks a missing week means "somewhere
 * below the cut", not "no listener", and a log-scale model that read it as
 * 0 would take every dip under the cut for a collapse (and learn wild
 * rebounds from re-entries).  Imputing censored values at a fraction of the
 * detection limit is the usual simple treatment (cf. Helsel, "Statistics
 * for censored environmental data", 2012).
 */
static inline double
log_score(const double *y, const double *week_floor, int s)
{
	return log1p(y[s] > 0.0 ? y[s] : week_floor[s]);
}

/*
 * Features of row y (length H) at origin t, first = index of its first
 * week.  Requires first <= t.
 */
static void
features(const double *y, const double *week_floor, int first, int t, double *x)
{
	int			age = t - first;
	double		l0 = log_score(y, week_floor, t);
	double		l1 = t - 1 >= first ? log_score(y, week_floor, t - 1) : 0.0;
	double		l2 = t - 2 >= first ? log_score(y, week_floor, t - 2) : 0.0;
	double		older = 0.0;
	int			n_older = 0;
	double		level = 0.0;
	double		peak = 0.0;
	int			from = first > t - (POOLED_AR_LEVEL_WEEKS - 1) ? first : t - (POOLED_AR_LEVEL_WEEKS - 1);
	int			year_ago = t - POOLED_AR_YEAR;

	for (int s = t - 7; s <= t - 3; s++)
		if (s >= first)
		{
			older += log_score(y, week_floor, s);
			n_older++;
		}
	for (int s = from; s <= t; s++)
	{
		double		l = log_score(y, week_floor, s);

		level += l;
		if (l > peak)
			peak = l;
	}
	level /= (t - from + 1);

	x[0] = 1.0;
	x[1] = l0;
	x[2] = l1;
	x[3] = l2;
	x[4] = n_older ? older / n_older : l0;
	x[5] = level;
	x[6] = peak;
	x[7] = age == 0;
	x[8] = age == 1;
	x[9] = age == 2;
	x[10] = age >= 3 && age <= 5;
	x[11] = (age == 0) * l0;
	x[12] = (age == 1) * l0;
	x[13] = (age == 2) * l0;
	/* momentum, and how a young track's momentum differs */
	x[14] = l0 - l1;
	x[15] = (age <= 3) * (l0 - l1);

	/*
	 * Annual recurrence: how the track moved from this week to the next a
	 * year ago (holiday songs climb every December), when the track was
	 * there a year ago; the indicator lets the model tell "no change" from
	 * "no history".
	 */
	if (year_ago >= first)
	{
		x[16] = log_score(y, week_floor, year_ago + 1) - log_score(y, week_floor, year_ago);
		x[17] = 1.0;
	}
	else
	{
		x[16] = 0.0;
		x[17] = 0.0;
	}
}

static int
first_index(const double *y, int upto)
{
	int			first = -1;

	for (int s = upto; s >= 0 && !isnan(y[s]); s--)
		first = s;
	return first;
}

pz_status
pz_pooled_ar_fit_predict(const double *Y, long m, int H,
						 const unsigned char *predict,
						 const pooled_ar_opts *opts, const pz_cancel *cancel,
						 double *out, pooled_ar_report *report, char *errmsg)
{
	enum
	{
		K = POOLED_AR_NFEAT
	};
	double		xtx[K * K];
	double		xty[K];
	double		x[K];
	double		week_floor[POOLED_AR_MAX_WEEKS];
	long		n = 0;
	int			season_lo,
				season_hi;
	int			use_model;

	errmsg[0] = '\0';
	if (m < 0 || m > POOLED_AR_MAX_TRACKS || H < 2 || H > POOLED_AR_MAX_WEEKS)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "pooled_ar needs 1..%d tracks and 2..%d weeks, got %ld tracks and %d weeks",
				 POOLED_AR_MAX_TRACKS, POOLED_AR_MAX_WEEKS, m, H);
		return PZ_EINVAL;
	}
	if (opts->train_weeks < 1 || opts->train_weeks >= H ||
		!(opts->ridge >= 0.0) || !isfinite(opts->ridge))
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "train_weeks must be in 1..%d and ridge a finite number >= 0",
				 H - 1);
		return PZ_EINVAL;
	}
	for (long i = 0; i < m * (long) H; i++)
		if (isinf(Y[i]))
		{
			snprintf(errmsg, PZ_ERRMSG_LEN, "scores must be finite");
			return PZ_EINVAL;
		}

	/* each week's week_floor (see log_score) */
	for (int s = 0; s < H; s++)
	{
		double		smallest = INFINITY;

		for (long i = 0; i < m; i++)
		{
			double		v = Y[i * H + s];

			if (v > 0.0 && v < smallest)
				smallest = v;
		}
		week_floor[s] = isfinite(smallest) ? 0.5 * smallest : 0.0;
	}

	/*
	 * With two years of history, the origins around the same week a year
	 * earlier train the model too: it sees how last season went (a
	 * December climb followed by the new-year fall), with the annual
	 * feature of that time to tell it the same thing happened the year
	 * before.
	 */
	season_lo = H - 1 - opts->train_weeks;
	season_hi = -1;
	if (H - 1 - POOLED_AR_YEAR - POOLED_AR_SEASON - POOLED_AR_YEAR >= 0)
	{
		season_lo = H - 1 - POOLED_AR_YEAR - POOLED_AR_SEASON;
		season_hi = H - 1 - POOLED_AR_YEAR + POOLED_AR_SEASON;
	}

	/* normal equations of the weighted least squares over all origins */
	memset(xtx, 0, sizeof(xtx));
	memset(xty, 0, sizeof(xty));
	for (long i = 0; i < m; i++)
	{
		const double *y = Y + i * H;

		if ((i & 1023) == 0 && pz_cancelled(cancel))
			return PZ_ECANCELLED;
		for (int t = season_lo; t < H - 1; t++)
		{
			int			first;
			double		w;
			double		target;

			if (t < 0 || isnan(y[t]) || isnan(y[t + 1]))
				continue;
			/* between last year's season and the recent origins: skip */
			if (t > season_hi && t < H - 1 - opts->train_weeks)
				continue;
			first = first_index(y, t);
			features(y, week_floor, first, t, x);
			target = log_score(y, week_floor, t + 1);

			/*
			 * Weight by the track's current size: the top of the chart is
			 * what the list is judged on, and big tracks' log changes are
			 * less noisy than those of tracks with a play or two.
			 */
			w = 1.0 + (y[t] > 0.0 ? y[t] : 0.0);
			for (int a = 0; a < K; a++)
			{
				double		wa = w * x[a];

				xty[a] += wa * target;
				for (int b = 0; b <= a; b++)
					xtx[a * K + b] += wa * x[b];
			}
			n++;
		}
	}

	use_model = n >= 4 * K;
	if (use_model)
	{
		gsl_matrix_view A = gsl_matrix_view_array(xtx, K, K);
		gsl_vector_view bv = gsl_vector_view_array(xty, K);
		gsl_vector *beta = gsl_vector_alloc(K);
		double		scale = 0.0;
		int			rc;

		if (beta == NULL)
			return PZ_ENOMEM;
		for (int a = 0; a < K; a++)
		{
			for (int b = 0; b < a; b++)
				xtx[b * K + a] = xtx[a * K + b];
			scale += xtx[a * K + a];
		}
		/* ridge relative to the mean diagonal; a tiny week_floor keeps
		 * features that never vary (e.g. no debuts) solvable */
		scale /= K;
		for (int a = 1; a < K; a++)
			xtx[a * K + a] += (opts->ridge + 1e-9) * scale;
		rc = gsl_linalg_cholesky_decomp1(&A.matrix);
		if (rc == GSL_SUCCESS)
			rc = gsl_linalg_cholesky_solve(&A.matrix, &bv.vector, beta);
		if (rc != GSL_SUCCESS)
		{
			gsl_vector_free(beta);
			snprintf(errmsg, PZ_ERRMSG_LEN,
					 "pooled_ar: the normal equations are singular (%s)",
					 gsl_strerror(rc));
			return PZ_ENUMERIC;
		}
		for (int a = 0; a < K; a++)
			report->coef[a] = gsl_vector_get(beta, a);
		gsl_vector_free(beta);

		/*
		 * Scores near DBL_MAX overflow the weighted sums (the weight is
		 * the score itself) and the solve then "succeeds" with NaN
		 * coefficients: say so rather than forecast NaN (found by
		 * test/fuzz/fuzz_pooled_ar.c).
		 */
		for (int a = 0; a < K; a++)
			if (!isfinite(report->coef[a]))
			{
				snprintf(errmsg, PZ_ERRMSG_LEN,
						 "pooled_ar: the fit overflowed (scores too large for the regression)");
				return PZ_ENUMERIC;
			}
	}
	else
		memset(report->coef, 0, sizeof(report->coef));
	report->n_samples = use_model ? n : 0;

	for (long i = 0; i < m; i++)
	{
		const double *y = Y + i * H;
		double		pred;

		out[i] = NAN;
		if (!predict[i] || isnan(y[H - 1]))
			continue;
		if (!use_model)
		{
			out[i] = y[H - 1];
			continue;
		}
		features(y, week_floor, first_index(y, H - 1), H - 1, x);
		pred = 0.0;
		for (int a = 0; a < K; a++)
			pred += report->coef[a] * x[a];
		/* keep exp() finite whatever the data */
		if (isnan(pred))
		{
			snprintf(errmsg, PZ_ERRMSG_LEN,
					 "pooled_ar: the forecast overflowed (scores too large for the regression)");
			return PZ_ENUMERIC;
		}
		if (pred > 700.0)
			pred = 700.0;
		out[i] = expm1(pred);
	}
	return PZ_OK;
}
