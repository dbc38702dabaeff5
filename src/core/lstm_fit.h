/*
 * lstm_fit.h — training an LSTM forecaster from raw weekly windows, pure C.
 *
 * The numerics behind SQL lstm_fit (src/lstm.c): features and targets from
 * the raw windows (lstm_features.h), a time split that keeps the last
 * validation_weeks distinct target weeks for validation, normalisation from
 * the training part only, training (lstm.h), and validation metrics in the
 * original scale, for the new network and, when given, the active one.
 *
 * The features of the windows live in a buffer the caller gives; the rest
 * comes from pz_alloc.h and everything but the trained model is freed before
 * returning, on every path.
 */
#ifndef PZ_LSTM_FIT_H
#define PZ_LSTM_FIT_H

#include <stddef.h>
#include <stdint.h>

#include "lstm.h"
#include "lstm_features.h"
#include "pz_common.h"

/* n windows of raw weekly rows and what followed each. */
typedef struct pz_lstm_fit_input
{
	int			n;				/* windows */
	int			T;				/* weeks per window */
	const double *raw;			/* [n][T][PZ_LSTM_NRAW] score, plays, likes,
								 * skips */
	const double *next;			/* [n] the score of the week after */
	const int  *week;			/* [n] the target week (any increasing code) */
	const double *age;			/* [n] the track's age */
} pz_lstm_fit_input;

/* The model in use, to compare with the new one on the validation windows. */
typedef struct pz_lstm_fit_active
{
	const unsigned char *blob;	/* pz_lstm_serialize()'d weights */
	size_t		blob_len;
	const double *mean;			/* its feature normalisation */
	int			mean_len;
	const double *std;
	int			std_len;
	double		target_mean;
	double		target_std;
} pz_lstm_fit_active;

typedef struct pz_lstm_fit_opts
{
	int			hidden;
	int			layers;
	int			epochs;
	int			batch_size;
	double		lr;
	double		dropout;
	int			patience;
	int			validation_weeks;	/* 0: no validation */
	uint64_t	seed;			/* initialisation, shuffling, dropout */
	int			weighted;		/* weigh windows by 1 + log1p(next score) */
	const pz_lstm_fit_active *active;	/* NULL: none */
	pz_lstm_epoch_fn on_epoch;	/* progress, may be NULL */
	void	   *on_epoch_arg;
	const pz_cancel *cancel;	/* polled between mini-batches */
} pz_lstm_fit_opts;

typedef struct pz_lstm_fit_result
{
	pz_lstm    *model;			/* the trained network (free it) */
	double		mean[PZ_LSTM_NFEAT];	/* feature normalisation */
	double		std[PZ_LSTM_NFEAT];
	double		target_mean;
	double		target_std;
	int			train_windows;
	int			validation_windows;
	pz_lstm_train_result train;
	/* on the validation windows, in the original scale; NaN without them */
	double		val_mse_log1p;	/* mean (log1p(pred) - log1p(actual))^2 */
	double		val_overlap_at_50;	/* top-50 overlap in the last week */
	int			val_last_week_tracks;
	/* the same for the active model; NaN without one or if unusable */
	double		active_val_mse_log1p;
	double		active_val_overlap_at_50;
} pz_lstm_fit_result;

/*
 * Doubles of the caller's buffer for pz_lstm_fit on n windows of T weeks:
 * the windows' features (twice: standardised and, for the validation
 * metrics, as they are), levels, targets and weights.  It comes from the
 * caller, as the input does, because it grows with the input: a host that
 * bounds the core's own memory (the glue's pozytywka.core_memory_limit)
 * bounds the workspace of the computation, not the size of the data set.
 */
size_t		pz_lstm_fit_buffer_len(int n, int T);

/*
 * Train a network on in with opts, using buf of pz_lstm_fit_buffer_len()
 * doubles (its contents on return are unspecified).  PZ_EINVAL (errmsg says why) when the
 * history is too short for the validation weeks; the statuses of
 * pz_lstm_create / pz_lstm_train / pz_lstm_predict otherwise.  An active
 * model that cannot be read or does not fit the windows is not compared
 * (its metrics stay NaN); a cancel while it runs is PZ_ECANCELLED.
 * On success res->model is the caller's.
 */
pz_status	pz_lstm_fit(const pz_lstm_fit_input *in, const pz_lstm_fit_opts *opts,
						double *buf, pz_lstm_fit_result *res, char *errmsg);

/*
 * Predicted scores of n windows of unstandardised features x_raw
 * [n][T][PZ_LSTM_NFEAT] with model m and its normalisation; out[n].  With
 * scratch, x_raw is standardised in place (saves a copy of megabytes when
 * the caller no longer needs it); otherwise it is left as it is.
 */
pz_status	pz_lstm_predict_scores(const pz_lstm *m, int n, int T, double *x_raw,
								   int scratch, const double *level,
								   const double *mean, const double *std,
								   double target_mean, double target_std,
								   double *out, const pz_cancel *cancel,
								   char *errmsg);

#endif							/* PZ_LSTM_FIT_H */
