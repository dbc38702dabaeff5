/*
 * lstm_fit.c — training an LSTM forecaster from raw weekly windows
 * (lstm_fit.h): split, normalisation, training, validation metrics.
 */
#include "lstm_fit.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "topk.h"

/* The windows prepared for training, in the caller's buffer. */
typedef struct fit_windows
{
	int			ntr;			/* training windows */
	int			nva;			/* validation windows */
	double	   *xtr;			/* [ntr][T][F] standardised */
	double	   *xva;			/* [nva][T][F] standardised */
	double	   *xs;				/* [nva][T][F] validation, unstandardised */
	double	   *level;			/* [n] in input order */
	double	   *ytr;			/* [ntr] standardised targets */
	double	   *yva;			/* [nva] */
	double	   *wtr;			/* [ntr] weights, mean 1 over training */
	double	   *wva;			/* [nva] */
	int		   *va_idx;			/* [nva] input index of each validation
								 * window (pz_malloc) */
} fit_windows;

size_t
pz_lstm_fit_buffer_len(int n, int T)
{
	return 2 * (size_t) n * T * PZ_LSTM_NFEAT + 3 * (size_t) n;
}

/*
 * The first target week of validation: the last val_weeks distinct target
 * weeks validate (INT_MAX without validation).
 */
static pz_status
split_week_of(int n, const int *week, int val_weeks, int *split_week,
			  char *errmsg)
{
	int			found = 0,
				cur = INT_MAX,
				i;

	while (found < val_weeks)
	{
		int			best = INT_MIN;

		for (i = 0; i < n; i++)
			if (week[i] < cur && week[i] > best)
				best = week[i];
		if (best == INT_MIN)
			break;
		cur = best;
		found++;
	}
	if (found < val_weeks)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "not enough history: %d week(s) with training windows, "
				 "validation_weeks = %d leaves none to train on", found, val_weeks);
		return PZ_EINVAL;
	}
	*split_week = cur;
	return PZ_OK;
}

/*
 * Features, targets and weights of every window, split by target week into
 * the training and the validation part, standardised with the training
 * part's mean and std (res->mean, res->std, res->target_mean/std).
 */
static pz_status
prepare_windows(const pz_lstm_fit_input *in, const pz_lstm_fit_opts *opts,
				double *buf, fit_windows *fw, pz_lstm_fit_result *res,
				char *errmsg)
{
	int			n = in->n,
				T = in->T,
				split_week = INT_MAX,
				i,
				a = 0,
				c = 0;
	size_t		ws = (size_t) T * PZ_LSTM_NFEAT;
	double		wsum = 0;
	pz_status	st;

	if (opts->validation_weeks > 0)
	{
		st = split_week_of(n, in->week, opts->validation_weeks, &split_week, errmsg);
		if (st != PZ_OK)
			return st;
	}
	fw->ntr = fw->nva = 0;
	for (i = 0; i < n; i++)
	{
		if (in->week[i] < split_week)
			fw->ntr++;
		else
			fw->nva++;
	}
	if (fw->ntr < 1)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "not enough history: no training window before the validation weeks");
		return PZ_EINVAL;
	}
	fw->va_idx = pz_malloc(sizeof(int) * (fw->nva > 0 ? fw->nva : 1));
	if (fw->va_idx == NULL)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "out of memory for %d validation windows", fw->nva);
		return PZ_ENOMEM;
	}
	fw->xtr = buf;
	fw->xva = buf + fw->ntr * ws;
	fw->xs = buf + n * ws;
	fw->level = fw->xs + (size_t) fw->nva * ws;
	fw->ytr = fw->level + n;
	fw->yva = fw->ytr + fw->ntr;
	fw->wtr = fw->ytr + n;
	fw->wva = fw->wtr + fw->ntr;

	/* each window's features straight into its part (windows are independent) */
	for (i = 0; i < n; i++)
	{
		int			train = in->week[i] < split_week;
		double	   *x = train ? fw->xtr + a * ws : fw->xva + c * ws;
		double		next = in->next[i];
		double		y,
					w;

		pz_lstm_features(1, T, in->raw + i * (size_t) T * PZ_LSTM_NRAW, in->age + i,
						 x, fw->level + i);
		y = pz_lstm_target(next, fw->level[i]);
		/* hits count more, as in the prototype; log-damped, mean 1 below */
		w = opts->weighted ? 1.0 + log1p(next > 0.0 ? next : 0.0) : 1.0;
		if (train)
		{
			fw->ytr[a] = y;
			fw->wtr[a] = w;
			wsum += w;
			a++;
		}
		else
		{
			fw->yva[c] = y;
			fw->wva[c] = w;
			fw->va_idx[c] = i;
			c++;
		}
	}

	/* normalisation from the training part only */
	pz_lstm_feature_stats(fw->ntr, T, PZ_LSTM_NFEAT, fw->xtr, res->mean, res->std);
	pz_lstm_feature_stats(fw->ntr, 1, 1, fw->ytr, &res->target_mean, &res->target_std);
	memcpy(fw->xs, fw->xva, sizeof(double) * (size_t) fw->nva * ws);
	pz_lstm_standardise(fw->ntr, T, PZ_LSTM_NFEAT, fw->xtr, res->mean, res->std);
	pz_lstm_standardise(fw->nva, T, PZ_LSTM_NFEAT, fw->xva, res->mean, res->std);
	for (i = 0; i < fw->ntr; i++)
	{
		fw->ytr[i] = (fw->ytr[i] - res->target_mean) / res->target_std;
		fw->wtr[i] *= fw->ntr / wsum;
	}
	for (i = 0; i < fw->nva; i++)
	{
		fw->yva[i] = (fw->yva[i] - res->target_mean) / res->target_std;
		fw->wva[i] *= fw->ntr / wsum;
	}
	return PZ_OK;
}

pz_status
pz_lstm_predict_scores(const pz_lstm *m, int n, int T, double *x_raw,
					   int scratch, const double *level, const double *mean,
					   const double *std, double target_mean, double target_std,
					   double *out, const pz_cancel *cancel, char *errmsg)
{
	size_t		len = (size_t) n * T * PZ_LSTM_NFEAT;
	double	   *x = x_raw;
	pz_lstm_data d;
	pz_status	st;
	int			b;

	if (!scratch)
	{
		x = pz_malloc(sizeof(double) * (len > 0 ? len : 1));
		if (x == NULL)
		{
			snprintf(errmsg, PZ_ERRMSG_LEN, "out of memory for %d input windows", n);
			return PZ_ENOMEM;
		}
		memcpy(x, x_raw, sizeof(double) * len);
	}
	pz_lstm_standardise(n, T, PZ_LSTM_NFEAT, x, mean, std);
	d.n = n;
	d.T = T;
	d.F = PZ_LSTM_NFEAT;
	d.x = x;
	d.y = NULL;
	d.w = NULL;
	st = pz_lstm_predict(m, &d, out, cancel, errmsg);
	if (st == PZ_OK)
		for (b = 0; b < n; b++)
			out[b] = pz_lstm_score(out[b] * target_std + target_mean, level[b]);
	if (!scratch)
		pz_free(x);
	return st;
}

/* Scratch arrays of the validation metrics, nva each. */
typedef struct val_scratch
{
	double	   *pred;			/* predicted scores */
	double	   *lv;				/* levels */
	double	   *pl;				/* predictions of the last week */
	double	   *al;				/* actual scores of the last week */
	int			maxw;			/* the last validation week */
} val_scratch;

/*
 * Mean squared log1p error of scores predicted by m over the validation
 * windows, and the top-50 overlap in the last validation week.
 */
static pz_status
val_metrics(const pz_lstm *m, const pz_lstm_fit_input *in, const fit_windows *fw,
			val_scratch *vs, const double *mean, const double *std,
			double target_mean, double target_std, const pz_cancel *cancel,
			double *mse_log, double *overlap, int *last_week_n, char *errmsg)
{
	int			nva = fw->nva,
				i;
	double		s = 0;
	pz_status	st;

	st = pz_lstm_predict_scores(m, nva, in->T, fw->xs, 0, vs->lv, mean, std,
								target_mean, target_std, vs->pred, cancel, errmsg);
	if (st != PZ_OK)
		return st;
	for (i = 0; i < nva; i++)
	{
		double		actual = in->next[fw->va_idx[i]];
		double		e = log1p(vs->pred[i]) - log1p(actual > 0.0 ? actual : 0.0);

		s += e * e;
	}
	*mse_log = s / nva;
	*last_week_n = 0;
	for (i = 0; i < nva; i++)
		if (in->week[fw->va_idx[i]] == vs->maxw)
		{
			vs->pl[*last_week_n] = vs->pred[i];
			vs->al[*last_week_n] = in->next[fw->va_idx[i]];
			(*last_week_n)++;
		}
	st = pz_topk_overlap(vs->pl, vs->al, *last_week_n, 50, overlap);
	if (st != PZ_OK)
		snprintf(errmsg, PZ_ERRMSG_LEN, "top-k overlap");
	return st;
}

/*
 * The active model on the same windows, for the activation rule.  One that
 * cannot be read or does not fit the windows is skipped, and so are its
 * errors but a cancel.
 */
static pz_status
active_metrics(const pz_lstm_fit_active *act, const pz_lstm_fit_input *in,
			   const fit_windows *fw, val_scratch *vs, const pz_cancel *cancel,
			   pz_lstm_fit_result *res, char *errmsg)
{
	pz_lstm    *a = NULL;
	pz_status	st;
	char		aerr[PZ_ERRMSG_LEN];
	int			last_week_n;

	st = pz_lstm_deserialize(act->blob, act->blob_len, &a, aerr);
	if (st == PZ_OK && a->input_size == PZ_LSTM_NFEAT &&
		act->mean_len == PZ_LSTM_NFEAT && act->std_len == PZ_LSTM_NFEAT &&
		(a->window == 0 || a->window == in->T))
	{
		double		mse_log,
					overlap;

		st = val_metrics(a, in, fw, vs, act->mean, act->std, act->target_mean,
						 act->target_std, cancel, &mse_log, &overlap, &last_week_n, aerr);
		if (st == PZ_OK)
		{
			res->active_val_mse_log1p = mse_log;
			res->active_val_overlap_at_50 = overlap;
		}
	}
	pz_lstm_free(a);
	if (st == PZ_ECANCELLED)
	{
		memcpy(errmsg, aerr, PZ_ERRMSG_LEN);
		return st;
	}
	return PZ_OK;
}

/* Validation metrics of the new model and, when given, the active one. */
static pz_status
validate(const pz_lstm_fit_input *in, const pz_lstm_fit_opts *opts,
		 const fit_windows *fw, pz_lstm_fit_result *res, char *errmsg)
{
	int			nva = fw->nva,
				i;
	val_scratch vs;
	pz_status	st;

	vs.pred = pz_malloc(sizeof(double) * nva);
	vs.lv = pz_malloc(sizeof(double) * nva);
	vs.pl = pz_malloc(sizeof(double) * nva);
	vs.al = pz_malloc(sizeof(double) * nva);
	if (vs.pred == NULL || vs.lv == NULL || vs.pl == NULL || vs.al == NULL)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "out of memory for %d validation windows", nva);
		st = PZ_ENOMEM;
		goto done;
	}
	vs.maxw = INT_MIN;
	for (i = 0; i < nva; i++)
	{
		vs.lv[i] = fw->level[fw->va_idx[i]];
		if (in->week[fw->va_idx[i]] > vs.maxw)
			vs.maxw = in->week[fw->va_idx[i]];
	}
	st = val_metrics(res->model, in, fw, &vs, res->mean, res->std, res->target_mean,
					 res->target_std, opts->cancel, &res->val_mse_log1p,
					 &res->val_overlap_at_50, &res->val_last_week_tracks, errmsg);
	if (st == PZ_OK && opts->active != NULL)
		st = active_metrics(opts->active, in, fw, &vs, opts->cancel, res, errmsg);
done:
	pz_free(vs.pred);
	pz_free(vs.lv);
	pz_free(vs.pl);
	pz_free(vs.al);
	return st;
}

pz_status
pz_lstm_fit(const pz_lstm_fit_input *in, const pz_lstm_fit_opts *opts,
			double *buf, pz_lstm_fit_result *res, char *errmsg)
{
	fit_windows fw;
	pz_lstm_train_opts o;
	pz_lstm_data dtr,
				dva;
	pz_status	st;

	memset(res, 0, sizeof(*res));
	res->val_mse_log1p = res->val_overlap_at_50 = NAN;
	res->active_val_mse_log1p = res->active_val_overlap_at_50 = NAN;
	memset(&fw, 0, sizeof(fw));
	errmsg[0] = '\0';
	st = prepare_windows(in, opts, buf, &fw, res, errmsg);
	if (st != PZ_OK)
		goto done;
	res->train_windows = fw.ntr;
	res->validation_windows = fw.nva;

	dtr.n = fw.ntr;
	dtr.T = in->T;
	dtr.F = PZ_LSTM_NFEAT;
	dtr.x = fw.xtr;
	dtr.y = fw.ytr;
	dtr.w = fw.wtr;
	dva = dtr;
	dva.n = fw.nva;
	dva.x = fw.xva;
	dva.y = fw.yva;
	dva.w = fw.wva;

	pz_lstm_train_opts_default(&o);
	o.epochs = opts->epochs;
	o.batch_size = opts->batch_size;
	o.lr = opts->lr;
	o.dropout = opts->dropout;
	o.patience = opts->patience;
	o.seed = opts->seed;
	o.clip_norm = 5.0;
	o.on_epoch = opts->on_epoch;
	o.on_epoch_arg = opts->on_epoch_arg;
	o.cancel = opts->cancel;
	st = pz_lstm_create(PZ_LSTM_NFEAT, opts->hidden, opts->layers, &res->model, errmsg);
	if (st != PZ_OK)
		goto done;
	res->model->window = in->T;
	pz_lstm_init(res->model, opts->seed);
	st = pz_lstm_train(res->model, &dtr, fw.nva > 0 ? &dva : NULL, &o, &res->train, errmsg);
	if (st == PZ_OK && fw.nva > 0)
		st = validate(in, opts, &fw, res, errmsg);
done:
	pz_free(fw.va_idx);
	if (st != PZ_OK)
	{
		pz_lstm_free(res->model);
		res->model = NULL;
	}
	return st;
}
