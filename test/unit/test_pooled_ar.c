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

/* weeks since track i's yearly bump began, at week t (0-2: in the bump) */
static int
bump_week(long i, int t)
{
	return ((t - (int) (i % 52)) % 52 + 52) % 52;
}

/*
 * m steady tracks over H weeks, each 5x as popular for 3 weeks every year,
 * at a week of its own (track i at week i mod 52); all asked for.
 */
static void
yearly_bumps(double *Y, unsigned char *predict, long m, int H)
{
	for (long i = 0; i < m; i++)
	{
		double		base = exp(5 + gauss());

		for (int t = 0; t < H; t++)
			Y[i * H + t] = base * (bump_week(i, t) < 3 ? 5 : 1) * exp(0.1 * gauss());
		predict[i] = 1;
	}
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
		st = pz_pooled_ar_fit_predict(Yh, m, H - 1, pred, &opts, NULL, out, &rep, err);
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

		st = pz_pooled_ar_fit_predict(y2, 2, 4, p2, &o2, NULL, o, &rep, err);
		tap_ok(st == PZ_OK && isnan(o[0]) && isnan(o[1]),
			   "no forecast for an absent track or an unasked row");
		p2[1] = 1;
		st = pz_pooled_ar_fit_predict(y2, 2, 4, p2, &o2, NULL, o, &rep, err);
		tap_ok(st == PZ_OK && rep.n_samples == 0 && o[1] == 4,
			   "too few samples to fit: persistence, and the report says so");
	}

	/*
	 * Scores near DBL_MAX (a direct pooled_ar_forecast call may pass any
	 * finite number): the weighted normal equations overflow; an error, not
	 * NaN forecasts with PZ_OK (found by test/fuzz/fuzz_pooled_ar.c)
	 */
	{
		enum
		{
			MB = 40, HB = 12
		};
		double		yb[MB * HB];
		unsigned char pb[MB];
		pooled_ar_opts ob = {8, 1e-3};
		double		o[MB];
		int			nan_ok = 0;

		for (int i = 0; i < MB; i++)
		{
			pb[i] = 1;
			for (int s = 0; s < HB; s++)
				yb[i * HB + s] = (i + s) % 3 == 0 ? 1e307 : 1e2 * (1 + (i + s) % 9);
		}
		st = pz_pooled_ar_fit_predict(yb, MB, HB, pb, &ob, NULL, o, &rep, err);
		for (int i = 0; i < MB; i++)
			nan_ok += st == PZ_OK && isnan(o[i]);
		tap_ok(st == PZ_ENUMERIC || (st == PZ_OK && nan_ok == 0),
			   "scores near DBL_MAX: an error or finite forecasts, never NaN with PZ_OK (%s)",
			   st == PZ_OK ? "ok" : err);
	}

	/*
	 * A truncated chart: 3000 tracks whose log levels are stationary AR(1)
	 * processes, of which only the top 300 of each week are published (the
	 * others have 0 that week).  Read as true zeros, the dips under the
	 * cut look like collapses and the re-entries like explosions; read as
	 * "below the week's floor", the model is no worse than persistence on
	 * the tracks at the top (read as zeros, its error was 20 times
	 * persistence's when this test was written).
	 */
	{
		const int	Hc = 30,
					K = 300;
		const long	mc = 3000;
		double	   *lat = malloc(sizeof(double) * mc * (Hc + 1));
		double	   *Yc = malloc(sizeof(double) * mc * Hc);
		double	   *oc = malloc(sizeof(double) * mc);
		unsigned char *pc = malloc(mc);
		double	   *col = malloc(sizeof(double) * mc);
		double		e_model = 0,
					e_naive = 0;
		int			n_top = 0;

		for (long i = 0; i < mc; i++)
		{
			double		mu = 6 + 1.0 * gauss(),
						l = mu + 0.5 * gauss();

			for (int t = 0; t <= Hc; t++)
			{
				l = mu + 0.8 * (l - mu) + 0.3 * gauss();
				lat[i * (Hc + 1) + t] = exp(l);
			}
			pc[i] = 1;
		}
		/* publish the top K of each week (cut = the K-th largest) */
		for (int t = 0; t < Hc; t++)
		{
			double		cut;

			for (long i = 0; i < mc; i++)
				col[i] = lat[i * (Hc + 1) + t];
			for (int k = 0; k < K; k++)	/* partial selection sort */
				for (long j = k + 1; j < mc; j++)
					if (col[j] > col[k])
					{
						double		tmp = col[k];

						col[k] = col[j];
						col[j] = tmp;
					}
			cut = col[K - 1];
			for (long i = 0; i < mc; i++)
				Yc[i * Hc + t] = lat[i * (Hc + 1) + t] >= cut ? lat[i * (Hc + 1) + t] : 0.0;
		}
		/* a track exists from its first published week */
		for (long i = 0; i < mc; i++)
			for (int t = 0; t < Hc && Yc[i * Hc + t] == 0.0; t++)
				Yc[i * Hc + t] = NAN;
		st = pz_pooled_ar_fit_predict(Yc, mc, Hc, pc, &opts, NULL, oc, &rep, err);
		for (long i = 0; i < mc; i++)
		{
			double		last = Yc[i * Hc + Hc - 1],
						next = log(lat[i * (Hc + 1) + Hc]);

			if (!(last > 0) || !isfinite(oc[i]))
				continue;
			/* the head of the chart: the tracks a top-50 list is made of */
			if (last < exp(6 + 1.5))
				continue;
			e_model += (log1p(oc[i]) - next) * (log1p(oc[i]) - next);
			e_naive += (log(last) - next) * (log(last) - next);
			n_top++;
		}
		tap_ok(st == PZ_OK && n_top > 50 && e_model < e_naive,
			   "a truncated chart: no worse than persistence at the top (%d tracks, MSE %.4f vs %.4f)",
			   n_top, n_top ? e_model / n_top : NAN, n_top ? e_naive / n_top : NAN);
		free(lat);
		free(Yc);
		free(oc);
		free(pc);
		free(col);
	}

	/*
	 * Annual recurrence: 2000 steady tracks, each 5x as popular for 3
	 * weeks every year (at a track-specific week).  With 70 weeks the
	 * model sees last year's bump and predicts this year's: the tracks
	 * whose bump starts next week are forecast far above persistence.
	 */
	{
		const int	Ha = 70;
		const long	ma = 2000;
		double	   *Ya = malloc(sizeof(double) * ma * Ha);
		double	   *oa = malloc(sizeof(double) * ma);
		unsigned char *pa = malloc(ma);
		pooled_ar_opts oo = {12, 1e-4};
		double		lift_bump = 0,
					lift_other = 0;
		int			n_bump = 0,
					n_other = 0;

		yearly_bumps(Ya, pa, ma, Ha);
		st = pz_pooled_ar_fit_predict(Ya, ma, Ha, pa, &oo, NULL, oa, &rep, err);
		for (long i = 0; i < ma; i++)
		{
			double		lift = log(oa[i] / Ya[i * Ha + Ha - 1]);

			if (bump_week(i, Ha) == 0)
			{
				lift_bump += lift;
				n_bump++;
			}
			else if (bump_week(i, Ha - 1) >= 3 && bump_week(i, Ha) >= 3)
			{
				lift_other += lift;
				n_other++;
			}
		}
		lift_bump /= n_bump;
		lift_other /= n_other;
		tap_ok(st == PZ_OK && lift_bump > log(3.0) && fabs(lift_other) < 0.2,
			   "annual recurrence: a bump that came a year ago is forecast (log lift %.2f; %.2f for steady weeks)",
			   lift_bump, lift_other);
		free(Ya);
		free(oa);
		free(pa);
	}

	/*
	 * Two years of the same tracks (the origins around the same week a
	 * year earlier train the model too): the tracks whose yearly bump
	 * ends next week are forecast to fall back.
	 */
	{
		const int	Hb = 120;
		const long	mb = 2000;
		double	   *Yb = malloc(sizeof(double) * mb * Hb);
		double	   *ob = malloc(sizeof(double) * mb);
		unsigned char *pb = malloc(mb);
		pooled_ar_opts oo = {12, 1e-4};
		double		lift_end = 0;
		int			n_end = 0;

		yearly_bumps(Yb, pb, mb, Hb);
		st = pz_pooled_ar_fit_predict(Yb, mb, Hb, pb, &oo, NULL, ob, &rep, err);
		for (long i = 0; i < mb; i++)
			/* the origin is the bump's last week */
			if (bump_week(i, Hb - 1) == 2)
			{
				lift_end += log(ob[i] / Yb[i * Hb + Hb - 1]);
				n_end++;
			}
		lift_end /= n_end;
		tap_ok(st == PZ_OK && lift_end < -log(3.0),
			   "annual recurrence over two years: the end of a yearly bump is forecast (log lift %.2f)",
			   lift_end);
		free(Yb);
		free(ob);
		free(pb);
	}

	/* input validation and cancellation */
	st = pz_pooled_ar_fit_predict(Y, m, 1, pred, &opts, NULL, out, &rep, err);
	tap_ok(st == PZ_EINVAL, "one week is refused: %s", err);
	st = pz_pooled_ar_fit_predict(Y, m, 100000, pred, &opts, NULL, out, &rep, err);
	tap_ok(st == PZ_EINVAL, "absurd number of weeks refused before any allocation");
	opts.train_weeks = H;
	st = pz_pooled_ar_fit_predict(Y, m, H, pred, &opts, NULL, out, &rep, err);
	tap_ok(st == PZ_EINVAL, "train_weeks >= weeks refused: %s", err);
	opts.train_weeks = 4;
	opts.ridge = NAN;
	st = pz_pooled_ar_fit_predict(Y, m, H, pred, &opts, NULL, out, &rep, err);
	tap_ok(st == PZ_EINVAL, "NaN ridge refused");
	opts.ridge = 0;
	Y[5] = INFINITY;
	st = pz_pooled_ar_fit_predict(Y, m, H, pred, &opts, NULL, out, &rep, err);
	tap_ok(st == PZ_EINVAL, "infinite score refused");
	Y[5] = 1;
	st = pz_pooled_ar_fit_predict(Y, m, H, pred, &opts, &cancel, out, &rep, err);
	tap_ok(st == PZ_ECANCELLED, "the cancel hook stops the fit");

	free(Y);
	free(out);
	free(pred);
	return tap_done();
}
