/*
 * pooled_ar.h — a global ("pooled") autoregression on log scores.
 *
 * One weighted ridge regression shared by every track, refitted at each
 * forecast origin on the track-weeks just before it: the next week's
 * log1p(score) from the last weeks' log scores, the track's long-run level
 * and peak, its momentum, its age (weeks since it first appeared, with
 * interactions for the first weeks), and — with more than a year of
 * history — how it moved over the same week a year ago.  Rows are weighted by the track's
 * current score, since the top of the chart is what the list is judged on.  Pooling lets thousands of short, noisy series teach
 * one model what a debut's second week, a viral spike or a slow decline
 * look like — the regularities a per-track model cannot learn from one
 * track's few weeks (cf. global forecasting models, Montero-Manso &
 * Hyndman 2021, "Principles and algorithms for forecasting groups of time
 * series: locality and globality").
 */
#ifndef PZ_POOLED_AR_H
#define PZ_POOLED_AR_H

#include "pz_common.h"

/* Limits checked before any allocation. */
#define POOLED_AR_MAX_WEEKS 520
#define POOLED_AR_MAX_TRACKS 10000000

/* Number of regression features (including the intercept). */
#define POOLED_AR_NFEAT 18

/* Weeks behind a track's level and peak features. */
#define POOLED_AR_LEVEL_WEEKS 26

/* Weeks in a year, for the annual-recurrence feature. */
#define POOLED_AR_YEAR 52

/* Weeks on each side of the same week a year earlier whose origins also
 * train the model, when two years of history exist. */
#define POOLED_AR_SEASON 6

typedef struct pooled_ar_opts
{
	int			train_weeks;	/* origins used for fitting, >= 1 */
	double		ridge;			/* L2 penalty (not on the intercept), >= 0 */
} pooled_ar_opts;

typedef struct pooled_ar_report
{
	long		n_samples;		/* training rows used */
	double		coef[POOLED_AR_NFEAT];
} pooled_ar_report;

/*
 * Y: m rows of H weekly scores, row-major, oldest week first, the last
 * column the origin week; NaN marks weeks before the track appeared (a
 * track's values are contiguous up to the origin).  predict[i] != 0 asks
 * for row i's forecast.  out[i] receives the forecast score of the week
 * after the origin (expm1 of the predicted log1p score), NaN for rows not
 * asked for.  When too few samples exist to fit (fewer than 4 per
 * feature), the forecast falls back to persistence and n_samples is 0.
 */
extern pz_status pz_pooled_ar_fit_predict(const double *Y, long m, int H,
										  const unsigned char *predict,
										  const pooled_ar_opts *opts,
										  const pz_cancel *cancel,
										  double *out, pooled_ar_report *report,
										  char *errmsg);

#endif							/* PZ_POOLED_AR_H */
