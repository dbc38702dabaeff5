/*
 * baselines.h — the simple one-step-ahead forecasts every model is judged
 * against: persistence, mean of the last k weeks, exponentially weighted
 * mean, and a short linear trend.  Plain C, no allocation.
 */
#ifndef PZ_BASELINES_H
#define PZ_BASELINES_H

/* Mean of the last min(k, n) values; n >= 1, k >= 1. */
extern double pz_baseline_mean_last(const double *y, int n, int k);

/*
 * Exponentially weighted mean, s_1 = y_1, s_t = alpha*y_t + (1-alpha)*s_{t-1};
 * the forecast is s_n.  0 < alpha <= 1.
 */
extern double pz_baseline_ewma(const double *y, int n, double alpha);

/*
 * Ordinary least-squares line through the last min(k, n) points, evaluated
 * one step past the end.  With a single point it is persistence.
 */
extern double pz_baseline_trend(const double *y, int n, int k);

#endif							/* PZ_BASELINES_H */
