/*
 * test_pooled_ar.c — the pooled log-autoregression recovers a known
 * process, beats persistence where the process is learnable, validates its
 * inputs and stops on cancel.
 */
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_errno.h>

#include "pooled_ar.h"
#include "tap.h"

/* a small deterministic generator (splitmix64) for the test data */
static unsigned long long rng_state = 42;
static double
unif(void)
{
	unsigned long long z = (rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return (z >> 11) * (1.0 / 9007199254740992.0);
}

static double
gauss(void)
{
	double		u = unif() + 1e-12,
				v = unif();

	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static int
cancel_now(void *arg)
{
	(void) arg;
	return 1;
}

int
main(void)
{
	const int	H = 20;
	const long	m = 3000;
	double	   *Y = malloc(sizeof(double) * m * H);
	double	   *out = malloc(sizeof(double) * m);
	unsigned char *pred = malloc(m);
	pooled_ar_opts opts = {12, 1e-4};
	pooled_ar_report rep;
	char		err[PZ_ERRMSG_LEN];
	pz_status	st;
	double		err_model = 0,
				err_naive = 0;
	long		n_eval = 0;
	pz_cancel	cancel = {cancel_now, NULL};

	gsl_set_error_handler_off();

	/*
	 * Mean-reverting log process: l' = 0.5 l + 0.5 level + noise, so
	 * persistence is beaten by pulling toward the level.  Every third
	 * track debuts late, in week 15.
	 */
	for (long i = 0; i < m; i++)
	{
		double		level = 1 + 5 * unif();
		double		l = level + 0.35 * gauss();
		int			first = (i % 3 == 0) ? 15 : 0;

		for (int t = 0; t < H; t++)
		{
			if (t < first)
			{
				Y[i * H + t] = NAN;
				continue;
			}
			Y[i * H + t] = expm1(fmax(l, 0));
			l = 0.5 * l + 0.5 * level + 0.3 * gauss();
		}
		pred[i] = 1;
	}

	/* hold the last week out: forecast it from the week before */
	{
		double	   *Yh = malloc(sizeof(double) * m * (H - 1));

		for (long i = 0; i < m; i++)
			for (int t = 0; t < H - 1; t++)
				Yh[i * (H - 1) + t] = Y[i * H + t];
		st = pooled_ar_fit_predict(Yh, m, H - 1, pred, &opts, NULL, out, &rep, err);
		tap_ok(st == PZ_OK, "fit on 3000 tracks x 19 weeks succeeds (%s)", err);
		tap_ok(rep.n_samples > 20000, "uses every track-week of the 12 training origins (%ld)",
			   rep.n_samples);
		tap_ok(rep.coef[1] > 0.2 && rep.coef[1] < 0.8,
			   "coefficient of the last log score reflects the AR(1) of 0.5 (%.3f)", rep.coef[1]);
		for (long i = 0; i < m; i++)
		{
			double		truth = log1p(Y[i * H + H - 1]);

			if (isnan(out[i]))
				continue;
			err_model += pow(log1p(fmax(out[i], 0)) - truth, 2);
			err_naive += pow(log1p(fmax(Yh[i * (H - 1) + H - 2], 0)) - truth, 2);
			n_eval++;
		}
		tap_ok(n_eval == m, "every track that exists at the origin gets a forecast");
		tap_ok(err_model < 0.9 * err_naive,
			   "beats persistence on a mean-reverting process (MSE %.4f vs %.4f)",
			   err_model / n_eval, err_naive / n_eval);
		free(Yh);
	}

	/* a track that has not appeared gets no forecast; unasked rows neither */
	{
		double		y2[2 * 4] = {NAN, NAN, NAN, NAN, 1, 2, 3, 4};
		unsigned char p2[2] = {1, 0};
		pooled_ar_opts o2 = {2, 0};
		double		o[2];

		st = pooled_ar_fit_predict(y2, 2, 4, p2, &o2, NULL, o, &rep, err);
		tap_ok(st == PZ_OK && isnan(o[0]) && isnan(o[1]),
			   "no forecast for an absent track or an unasked row");
		p2[1] = 1;
		st = pooled_ar_fit_predict(y2, 2, 4, p2, &o2, NULL, o, &rep, err);
		tap_ok(st == PZ_OK && rep.n_samples == 0 && o[1] == 4,
			   "too few samples to fit: persistence, and the report says so");
	}

	/* input validation and cancellation */
	st = pooled_ar_fit_predict(Y, m, 1, pred, &opts, NULL, out, &rep, err);
	tap_ok(st == PZ_EINVAL, "one week is refused: %s", err);
	st = pooled_ar_fit_predict(Y, m, 100000, pred, &opts, NULL, out, &rep, err);
	tap_ok(st == PZ_EINVAL, "absurd number of weeks refused before any allocation");
	opts.train_weeks = H;
	st = pooled_ar_fit_predict(Y, m, H, pred, &opts, NULL, out, &rep, err);
	tap_ok(st == PZ_EINVAL, "train_weeks >= weeks refused: %s", err);
	opts.train_weeks = 4;
	opts.ridge = NAN;
	st = pooled_ar_fit_predict(Y, m, H, pred, &opts, NULL, out, &rep, err);
	tap_ok(st == PZ_EINVAL, "NaN ridge refused");
	opts.ridge = 0;
	Y[5] = INFINITY;
	st = pooled_ar_fit_predict(Y, m, H, pred, &opts, NULL, out, &rep, err);
	tap_ok(st == PZ_EINVAL, "infinite score refused");
	Y[5] = 1;
	st = pooled_ar_fit_predict(Y, m, H, pred, &opts, &cancel, out, &rep, err);
	tap_ok(st == PZ_ECANCELLED, "the cancel hook stops the fit");

	free(Y);
	free(out);
	free(pred);
	return tap_done();
}
