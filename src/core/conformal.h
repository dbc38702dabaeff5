/*
 * conformal.h — the uncertainty of a top list: split-conformal prediction
 * intervals from backtest residuals, and the probability that a track at
 * a given predicted rank makes the real top n, learned from the backtest
 * by a monotone (isotonic) fit.  Plain C, no allocation.
 */
#ifndef PZ_CONFORMAL_H
#define PZ_CONFORMAL_H

#include "pz_common.h"

/*
 * Split-conformal interval of central coverage `level` (0 < level < 1)
 * from m >= 1 calibration residuals r (actual - predicted, on whatever
 * scale the caller uses).  r is sorted in place.  With alpha = 1 - level,
 * lo is the floor((m + 1) * alpha / 2)-th smallest residual and hi the
 * ceil((m + 1) * (1 - alpha / 2))-th (1-based; clamped to the smallest and
 * largest residual when m is too small for that coverage), so that a new
 * exchangeable residual falls in [lo, hi] with probability >= level
 * (Vovk et al.; Lei et al. 2018) whenever m is large enough.
 * PZ_EINVAL for m < 1, a level outside (0, 1) or a non-finite residual.
 */
extern pz_status pz_conformal_interval(double *r, int m, double level,
									   double *lo, double *hi);

/*
 * Probability of making the real top n by predicted rank.  hits[k] and
 * counts[k] (k = 0 .. n-1: rank k + 1) are how many of the counts[k]
 * backtest lists' tracks at that rank were in the week's real top n.
 * Each rank's rate is shrunk toward the overall rate with prior_weight
 * pseudo-observations (so a rank seen a few times does not get 0 or 1),
 * then fitted non-increasing in rank by weighted pool-adjacent-violators
 * (the least-squares monotone fit, weights counts[k] + prior_weight).
 * p[k] receives the probability of rank k + 1; work needs 3 * n doubles.
 * A rank with counts[k] = 0 takes the overall rate before the fit.
 * PZ_EINVAL for n < 1, negative or non-finite counts, hits > counts,
 * prior_weight < 0, or no observation at all with prior_weight = 0.
 */
extern pz_status pz_rank_probability(const double *hits, const double *counts, int n,
									 double prior_weight, double *p, double *work);

/*
 * Brier score of probabilities p[i] for outcomes y[i] (0 or 1), i < m:
 * mean (p - y)^2; NAN when m < 1.
 */
extern double pz_brier(const double *p, const double *y, int m);

#endif							/* PZ_CONFORMAL_H */
