/*
 * lstm_features.h — the scale-free inputs of the global popularity LSTM.
 *
 * A window is T weeks of raw counts of one track, per week (score, plays,
 * likes, skips), plus the track's age in weeks at the window's last week
 * (< 0 when the release date is unknown).  With
 *     ls_t  = log(1 + max(score_t, 0)),   level = mean_t ls_t
 * the features per week are
 *     0  ls_t - level                     (shape of the series, scale-free)
 *     1  min(likes_t / max(plays_t, 1), 2)  like rate
 *     2  min(skips_t / max(plays_t, 1), 2)  skip rate
 *     3  level                            (how big the track is)
 *     4  log(1 + age / 52), 0 if unknown  (age in years, log-scaled)
 * and the target is log(1 + max(next score, 0)) - level, so a prediction p
 * maps back to the score expm1(level + p).  The network sees features and
 * target standardised with the training set's mean and standard deviation
 * (stored with the model).
 */
#ifndef PZ_LSTM_FEATURES_H
#define PZ_LSTM_FEATURES_H

#include "pz_common.h"

#define PZ_LSTM_NRAW 4			/* score, plays, likes, skips */
#define PZ_LSTM_NFEAT 5
#define PZ_LSTM_FEATURE_VERSION 1

extern const char *const pz_lstm_feature_names[PZ_LSTM_NFEAT];

/* raw [n][T][4], age [n] -> x [n][T][5], level [n] (unstandardised) */
void		pz_lstm_features(int n, int T, const double *raw, const double *age,
							 double *x, double *level);

/* Target in feature space; and back to a score. */
double		pz_lstm_target(double next_score, double level);
double		pz_lstm_score(double pred, double level);

/* mean/std of every feature over x [n][T][F] (std 1 where it is ~0) */
void		pz_lstm_feature_stats(int n, int T, int F, const double *x,
								  double *mean, double *std);

/* x <- (x - mean) / std, per feature */
void		pz_lstm_standardise(int n, int T, int F, double *x,
								const double *mean, const double *std);

#endif							/* PZ_LSTM_FEATURES_H */
