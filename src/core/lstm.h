/*
 * lstm.h — a stacked LSTM with a dense head, pure C (no postgres.h).
 *
 * The network is exactly PyTorch's
 *
 *     class Net(nn.Module):
 *         lstm   = nn.LSTM(F, H, num_layers=L, batch_first=True, dropout=p)
 *         linear = nn.Linear(H, 1)
 *         forward(x) = linear(lstm(x)[0][:, -1, :])
 *
 * with gates in PyTorch's order i, f, g, o:
 *
 *     [i f g o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
 *     i, f, o = sigmoid(.),  g = tanh(.)
 *     c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t),   h_0 = c_0 = 0
 *
 * (Hochreiter & Schmidhuber 1997 with the forget gate of Gers et al. 2000.)
 * Dropout (inverted, as torch.nn.Dropout) applies during training to the
 * output sequence of every layer but the last, independently per element
 * and time step.
 *
 * Parameters live in one flat vector in PyTorch state_dict order:
 *   for k in 0..L-1: weight_ih_l{k} [4H x in_k] (in_0 = F, in_k = H),
 *                    weight_hh_l{k} [4H x H], bias_ih_l{k} [4H],
 *                    bias_hh_l{k} [4H]
 *   then linear.weight [1 x H], linear.bias [1]
 * all row-major, so a state_dict flattened in order is our vector.
 *
 * Keras's LSTM uses the same gate order i, f, c(=g), o but stores kernels
 * transposed ([in x 4H] and [H x 4H]) with one bias: W_ih = kernel^T,
 * W_hh = recurrent_kernel^T, b_ih = bias, b_hh = 0.
 *
 * Loss over a batch of B windows with targets y*_b and optional sample
 * weights w_b (w_b = 1 when none are given):
 *
 *     L = (1/B) sum_b w_b (y_b - y*_b)^2
 *
 * i.e. torch.mean(w * (y - t)**2); without weights it is nn.MSELoss().
 *
 * Inputs are row-major [n][T][F] arrays of doubles (the window of sample b
 * at time t, feature f is x[(b*T + t)*F + f]).
 *
 * Determinism: initialisation, shuffling and dropout draw from pz_rng seeded
 * by the caller, and all sums run in a fixed order, so a seed reproduces a
 * run exactly on a given machine.  (The AVX2+FMA kernels, used where the CPU
 * has them, round differently from the portable ones.)
 */
#ifndef PZ_LSTM_H
#define PZ_LSTM_H

#include <stddef.h>
#include <stdint.h>

#include "pz_common.h"

/* Size limits, checked before anything is allocated. */
#define PZ_LSTM_MAX_INPUT 4096		/* features per time step */
#define PZ_LSTM_MAX_HIDDEN 4096		/* hidden units per layer */
#define PZ_LSTM_MAX_LAYERS 16
#define PZ_LSTM_MAX_PARAMS ((size_t) 1 << 24)	/* 16.7M doubles, 128 MiB */
#define PZ_LSTM_MAX_WINDOW 4096		/* time steps per window */
#define PZ_LSTM_MAX_BATCH 65536
#define PZ_LSTM_MAX_SAMPLES 100000000
#define PZ_LSTM_MAX_WORKSPACE ((size_t) 1 << 31)	/* bytes, 2 GiB */

typedef struct pz_lstm
{
	int			input_size;		/* F */
	int			hidden_size;	/* H */
	int			num_layers;		/* L */
	int			window;			/* informational: training window, 0 = any */
	size_t		n_params;
	double	   *params;			/* flat, state_dict order (see above) */
} pz_lstm;

/* Number of parameters for a shape (0 if the shape is outside the limits). */
size_t		pz_lstm_param_count(int input_size, int hidden_size, int num_layers);

/* Allocate a model with zero weights.  *out is NULL on error. */
pz_status	pz_lstm_create(int input_size, int hidden_size, int num_layers,
						   pz_lstm **out, char *errmsg);
void		pz_lstm_free(pz_lstm *m);
pz_status	pz_lstm_copy(const pz_lstm *m, pz_lstm **out, char *errmsg);

/*
 * PyTorch's default initialisation: every LSTM and Linear parameter
 * U(-1/sqrt(H), 1/sqrt(H)) (nn.Linear's bound is 1/sqrt(fan_in), fan_in = H).
 */
void		pz_lstm_init(pz_lstm *m, uint64_t seed);

/* Views into params for layer k (0-based). */
double	   *pz_lstm_w_ih(const pz_lstm *m, int k);
double	   *pz_lstm_w_hh(const pz_lstm *m, int k);
double	   *pz_lstm_b_ih(const pz_lstm *m, int k);
double	   *pz_lstm_b_hh(const pz_lstm *m, int k);
double	   *pz_lstm_w_lin(const pz_lstm *m);
double	   *pz_lstm_b_lin(const pz_lstm *m);
int			pz_lstm_layer_input(const pz_lstm *m, int k);	/* in_k */

/* A set of windows (borrowed arrays). */
typedef struct pz_lstm_data
{
	int			n;				/* number of windows */
	int			T;				/* time steps per window */
	int			F;				/* features, must equal the model's */
	const double *x;			/* [n][T][F] */
	const double *y;			/* [n] targets (may be NULL for prediction) */
	const double *w;			/* [n] sample weights, NULL = all 1 */
} pz_lstm_data;

/* Raw network output for every window: out[n]. */
pz_status	pz_lstm_predict(const pz_lstm *m, const pz_lstm_data *d,
							double *out, const pz_cancel *cancel,
							char *errmsg);

/* Loss of the whole set, no dropout. */
pz_status	pz_lstm_evaluate(const pz_lstm *m, const pz_lstm_data *d,
							 double *loss, const pz_cancel *cancel,
							 char *errmsg);

/*
 * Loss and its gradient w.r.t. every parameter (grad has n_params entries,
 * overwritten), the whole set as one batch.  With dropout > 0 the masks are
 * drawn from a pz_rng seeded with dropout_seed, so repeated calls see the
 * same masks (useful for gradient checks).
 */
pz_status	pz_lstm_loss_grad(const pz_lstm *m, const pz_lstm_data *d,
							  double dropout, uint64_t dropout_seed,
							  double *loss, double *grad, char *errmsg);

/* Per-epoch report; return non-zero to stop training after this epoch. */
typedef struct pz_lstm_epoch_info
{
	int			epoch;			/* 1-based */
	int			epochs;			/* planned */
	double		train_loss;		/* mean training loss seen in the epoch */
	double		val_loss;		/* NaN without a validation set */
	double		best_val_loss;
	int			best_epoch;
	int			improved;		/* this epoch set a new best */
} pz_lstm_epoch_info;

typedef int (*pz_lstm_epoch_fn) (void *arg, const pz_lstm_epoch_info *info);

typedef struct pz_lstm_train_opts
{
	int			epochs;			/* >= 0 */
	int			batch_size;		/* 1..PZ_LSTM_MAX_BATCH */
	double		lr;				/* Adam */
	double		beta1;
	double		beta2;
	double		eps;
	double		weight_decay;
	double		clip_norm;		/* rescale the gradient to this L2 norm; 0 = off */
	double		dropout;		/* 0 <= p < 1, between layers */
	uint64_t	seed;			/* shuffling and dropout */
	int			shuffle;		/* reshuffle the training set every epoch */
	int			patience;		/* early stopping: epochs without validation
								 * improvement; 0 = never stop early */
	double		min_delta;		/* improvement must exceed this */
	int			restore_best;	/* with validation: end on the best epoch's
								 * weights */
	pz_lstm_epoch_fn on_epoch;
	void	   *on_epoch_arg;
	const pz_cancel *cancel;	/* checked between mini-batches */
} pz_lstm_train_opts;

/* Defaults: 10 epochs, batch 256, Adam(1e-3, 0.9, 0.999, 1e-8), no decay,
 * no clipping, no dropout, seed 42, shuffle, no early stopping,
 * restore_best on. */
void		pz_lstm_train_opts_default(pz_lstm_train_opts *o);

typedef struct pz_lstm_train_result
{
	int			epochs_run;
	int			best_epoch;		/* 0 without validation */
	double		final_train_loss;
	double		best_val_loss;	/* NaN without validation */
	int			stopped_early;	/* patience ran out or on_epoch asked */
} pz_lstm_train_result;

/*
 * Mini-batch training with Adam, starting from the model's current weights.
 * val may be NULL.  On PZ_ECANCELLED the model holds the weights of the
 * last finished step (or the best epoch when restore_best is set and a
 * validation epoch completed).
 */
pz_status	pz_lstm_train(pz_lstm *m, const pz_lstm_data *train,
						  const pz_lstm_data *val,
						  const pz_lstm_train_opts *opts,
						  pz_lstm_train_result *result, char *errmsg);

/*
 * Binary weights format (version 1), all integers and doubles little-endian:
 *
 *   offset  size  field
 *        0     8  magic "PZLSTM\0\1"
 *        8     4  format version (1)
 *       12     4  input_size
 *       16     4  hidden_size
 *       20     4  num_layers
 *       24     4  window (informational, 0 = any)
 *       28     4  reserved, 0
 *       32     8  n_params (must equal pz_lstm_param_count)
 *       40  8*n   params, IEEE-754 binary64, state_dict order
 *   40+8n      4  CRC-32 (IEEE, as zlib) of bytes [0, 40+8n)
 *
 * Every version keeps the magic first, the version at offset 8 and the CRC
 * in the last 4 bytes, so the reader checks length, magic and CRC before
 * looking at the version: a damaged blob is PZ_ECORRUPT, an intact blob of
 * another version PZ_EVERSION.
 */
#define PZ_LSTM_FORMAT_VERSION 1
#define PZ_LSTM_HEADER_BYTES 40

size_t		pz_lstm_serialized_size(const pz_lstm *m);

/* Writes exactly pz_lstm_serialized_size(m) bytes into buf. */
void		pz_lstm_serialize(const pz_lstm *m, unsigned char *buf);

/*
 * Reads a blob; never reads outside [buf, buf+len).  Rejects truncated,
 * corrupt, oversized, non-finite or other-version input with PZ_ECORRUPT /
 * PZ_EVERSION (PZ_ENOMEM only if a valid model cannot be allocated).
 */
pz_status	pz_lstm_deserialize(const unsigned char *buf, size_t len,
								pz_lstm **out, char *errmsg);

#endif							/* PZ_LSTM_H */
