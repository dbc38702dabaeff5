/*
 * test_lstm_fit.c — training from raw weekly windows (src/core/lstm_fit.c):
 * the time split, the normalisation, determinism, the validation metrics of
 * the new and the active model, cancellation and the scores of
 * pz_lstm_predict_scores.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lstm.h"
#include "lstm_features.h"
#include "lstm_fit.h"
#include "pz_common.h"
#include "tap.h"

static char errmsg[PZ_ERRMSG_LEN];

/* A deterministic history: tracks x weeks, windows of T weeks. */
typedef struct history
{
	int			n;
	int			T;
	double	   *raw;
	double	   *next;
	int		   *week;
	double	   *age;
} history;

static history
make_history(int tracks, int weeks, int T)
{
	history		h;
	int			k,
				w,
				t,
				i = 0;

	h.T = T;
	h.n = tracks * (weeks - T);
	h.raw = malloc(sizeof(double) * h.n * T * PZ_LSTM_NRAW);
	h.next = malloc(sizeof(double) * h.n);
	h.week = malloc(sizeof(int) * h.n);
	h.age = malloc(sizeof(double) * h.n);
	for (k = 1; k <= tracks; k++)
		for (w = T; w < weeks; w++)
		{
			for (t = 0; t < T; t++)
			{
				double	   *r = h.raw + ((size_t) i * T + t) * PZ_LSTM_NRAW;
				int			wk = w - T + t;
				double		plays = fmax(0.0, round((k % 17 + 3) * (1.5 + sin(wk * 0.4 + k))));

				r[1] = plays;
				r[2] = round((k % 7) * (1 + cos(wk * 0.3 + k)));
				r[3] = round((k % 3) * (1 + sin(wk * 0.2)));
				r[0] = plays + 2 * r[2] - r[3];
			}
			h.next[i] = fmax(0.0, round((k % 17 + 3) * (1.5 + sin(w * 0.4 + k))));
			h.week[i] = w;
			h.age[i] = w + k % 5;
			i++;
		}
	return h;
}

static void
free_history(history *h)
{
	free(h->raw);
	free(h->next);
	free(h->week);
	free(h->age);
}

static pz_lstm_fit_opts
small_opts(void)
{
	pz_lstm_fit_opts o;

	memset(&o, 0, sizeof(o));
	o.hidden = 6;
	o.layers = 1;
	o.epochs = 3;
	o.batch_size = 32;
	o.lr = 1e-2;
	o.patience = 5;
	o.validation_weeks = 2;
	o.seed = 11;
	o.weighted = 1;
	return o;
}

static int
count_epochs(void *arg, const pz_lstm_epoch_info *info)
{
	(*(int *) arg)++;
	return info->epoch < 0;		/* never asks to stop */
}

static int
cancel_now(void *arg)
{
	return arg == NULL;			/* always: the test passes NULL */
}

static pz_status
fit(const history *h, const pz_lstm_fit_opts *o, pz_lstm_fit_result *r)
{
	pz_lstm_fit_input in = {h->n, h->T, h->raw, h->next, h->week, h->age};
	double	   *buf = malloc(sizeof(double) * pz_lstm_fit_buffer_len(h->n, h->T));
	pz_status	st = pz_lstm_fit(&in, o, buf, r, errmsg);

	free(buf);
	return st;
}

static void
test_split_errors(void)
{
	history		h = make_history(5, 8, 4);	/* target weeks 4..7 */
	pz_lstm_fit_opts o = small_opts();
	pz_lstm_fit_result r;
	pz_status	st;

	o.validation_weeks = 5;
	st = fit(&h, &o, &r);
	tap_ok(st == PZ_EINVAL && strstr(errmsg, "4 week(s)") != NULL && r.model == NULL,
		   "more validation weeks than target weeks: EINVAL (%s)", errmsg);
	o.validation_weeks = 4;
	st = fit(&h, &o, &r);
	tap_ok(st == PZ_EINVAL && strstr(errmsg, "no training window") != NULL,
		   "validation takes every week: EINVAL (%s)", errmsg);
	o.validation_weeks = 3;
	st = fit(&h, &o, &r);
	tap_ok(st == PZ_OK && r.train_windows == 5 && r.validation_windows == 15,
		   "3 validation weeks of 4: 5 training, 15 validation windows (%d, %d)",
		   r.train_windows, r.validation_windows);
	pz_lstm_free(r.model);
	free_history(&h);
}

static void
test_fit(void)
{
	history		h = make_history(40, 20, 6);
	pz_lstm_fit_opts o = small_opts();
	pz_lstm_fit_result r1,
				r2,
				r3;
	pz_lstm_fit_active act;
	int			epochs_seen = 0,
				i,
				finite = 1;
	unsigned char *blob;
	size_t		len;

	o.on_epoch = count_epochs;
	o.on_epoch_arg = &epochs_seen;
	tap_ok(fit(&h, &o, &r1) == PZ_OK, "fit: OK (%s)", errmsg);
	tap_ok(r1.train_windows == 40 * 12 && r1.validation_windows == 40 * 2,
		   "fit: the last 2 target weeks validate (%d + %d windows)",
		   r1.train_windows, r1.validation_windows);
	tap_ok(epochs_seen == 3 && r1.train.epochs_run == 3, "fit: on_epoch called every epoch");
	tap_ok(r1.model->window == 6 && r1.model->input_size == PZ_LSTM_NFEAT,
		   "fit: the model records its window and takes the features");
	for (i = 0; i < PZ_LSTM_NFEAT; i++)
		finite &= isfinite(r1.mean[i]) && r1.std[i] > 0;
	tap_ok(finite && r1.target_std > 0, "fit: normalisation finite, std > 0");
	tap_ok(isfinite(r1.val_mse_log1p) && r1.val_mse_log1p >= 0,
		   "fit: validation MSE of log1p scores %g", r1.val_mse_log1p);
	tap_ok(r1.val_overlap_at_50 >= 0 && r1.val_overlap_at_50 <= 1 && r1.val_last_week_tracks == 40,
		   "fit: top-50 overlap %g over the 40 tracks of the last week",
		   r1.val_overlap_at_50);
	tap_ok(isnan(r1.active_val_mse_log1p) && isnan(r1.active_val_overlap_at_50),
		   "fit: no active model, no active metrics");

	/* the same seed trains the same network, bit for bit */
	o.on_epoch = NULL;
	tap_ok(fit(&h, &o, &r2) == PZ_OK &&
		   memcmp(r1.model->params, r2.model->params, sizeof(double) * r1.model->n_params) == 0,
		   "fit: the same seed gives the same weights");

	/* the new model as the active one scores exactly as itself */
	len = pz_lstm_serialized_size(r1.model);
	blob = malloc(len);
	pz_lstm_serialize(r1.model, blob);
	act.blob = blob;
	act.blob_len = len;
	act.mean = r1.mean;
	act.mean_len = PZ_LSTM_NFEAT;
	act.std = r1.std;
	act.std_len = PZ_LSTM_NFEAT;
	act.target_mean = r1.target_mean;
	act.target_std = r1.target_std;
	o.active = &act;
	tap_ok(fit(&h, &o, &r3) == PZ_OK, "fit with an active model: OK");
	tap_ok(r3.active_val_mse_log1p == r1.val_mse_log1p &&
		   r3.active_val_overlap_at_50 == r1.val_overlap_at_50,
		   "fit: the active model (the first fit) has the first fit's metrics");
	pz_lstm_free(r3.model);

	/* an active model that does not take these features is not compared */
	act.mean_len = 3;
	tap_ok(fit(&h, &o, &r3) == PZ_OK && isnan(r3.active_val_mse_log1p),
		   "fit: an active model with another normalisation is skipped");
	pz_lstm_free(r3.model);
	act.mean_len = PZ_LSTM_NFEAT;
	blob[0] ^= 0xff;
	tap_ok(fit(&h, &o, &r3) == PZ_OK && isnan(r3.active_val_mse_log1p),
		   "fit: an unreadable active model is skipped");
	pz_lstm_free(r3.model);
	free(blob);

	/* without validation weeks: no validation metrics */
	o.active = NULL;
	o.validation_weeks = 0;
	tap_ok(fit(&h, &o, &r3) == PZ_OK && r3.validation_windows == 0 &&
		   r3.train_windows == h.n && isnan(r3.val_mse_log1p) && isnan(r3.train.best_val_loss),
		   "fit without validation: every window trains, no validation metrics");
	pz_lstm_free(r3.model);

	pz_lstm_free(r1.model);
	pz_lstm_free(r2.model);
	free_history(&h);
}

static void
test_cancel(void)
{
	history		h = make_history(20, 12, 4);
	pz_lstm_fit_opts o = small_opts();
	pz_lstm_fit_result r;
	pz_cancel	cancel = {cancel_now, NULL};
	pz_status	st;

	o.cancel = &cancel;
	st = fit(&h, &o, &r);
	tap_ok(st == PZ_ECANCELLED && r.model == NULL,
		   "fit cancelled: PZ_ECANCELLED, no model (and nothing leaked)");
	free_history(&h);
}

static void
test_predict_scores(void)
{
	history		h = make_history(10, 10, 4);
	pz_lstm_fit_opts o = small_opts();
	pz_lstm_fit_result r;
	size_t		len = (size_t) h.n * h.T * PZ_LSTM_NFEAT;
	double	   *x = malloc(sizeof(double) * len);
	double	   *x0 = malloc(sizeof(double) * len);
	double	   *level = malloc(sizeof(double) * h.n);
	double	   *a = malloc(sizeof(double) * h.n);
	double	   *b = malloc(sizeof(double) * h.n);
	int			i,
				ok = 1;

	fit(&h, &o, &r);
	pz_lstm_features(h.n, h.T, h.raw, h.age, x, level);
	memcpy(x0, x, sizeof(double) * len);
	tap_ok(pz_lstm_predict_scores(r.model, h.n, h.T, x, 0, level, r.mean, r.std,
								  r.target_mean, r.target_std, a, NULL, errmsg) == PZ_OK &&
		   memcmp(x, x0, sizeof(double) * len) == 0,
		   "predict_scores without scratch leaves the features as they are");
	tap_ok(pz_lstm_predict_scores(r.model, h.n, h.T, x, 1, level, r.mean, r.std,
								  r.target_mean, r.target_std, b, NULL, errmsg) == PZ_OK &&
		   memcmp(a, b, sizeof(double) * h.n) == 0,
		   "predict_scores with scratch: the same scores");
	for (i = 0; i < h.n; i++)
		ok &= isfinite(a[i]) && a[i] >= 0;
	tap_ok(ok, "predict_scores: scores finite and >= 0");
	pz_lstm_free(r.model);
	free(x);
	free(x0);
	free(level);
	free(a);
	free(b);
	free_history(&h);
}

int
main(void)
{
	test_split_errors();
	test_fit();
	test_cancel();
	test_predict_scores();
	return tap_done();
}
