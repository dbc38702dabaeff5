/*
 * arima_auto.c — automatic ARIMA order selection after Hyndman & Khandakar
 * (2008), "Automatic time series forecasting: the forecast package for R",
 * J. Stat. Software 27(3), non-seasonal case:
 *
 *   1. d by repeated KPSS level-stationarity tests (Kwiatkowski et al. 1992)
 *      at level alpha, Bartlett window with lag trunc(3 sqrt(n) / 13), the
 *      p-value interpolated in the published critical values (0.347, 0.463,
 *      0.574, 0.739 for 10%, 5%, 2.5%, 1%), up to max_d differences;
 *   2. stepwise search from ARIMA(2,d,2), (0,d,0), (1,d,0), (0,d,1) (all with
 *      a constant when d <= 1) and (0,d,0) without, then moving p and q by
 *      +-1 (singly and together) and toggling the constant while the AICc
 *      improves; p, q <= min(5, floor(n/3));
 *   3. models with an AR or MA root of modulus < 1.01 are rejected.
 *
 * Fall-backs so that any finite series gets a forecast: a constant series
 * gets its mean (sigma2 = 0); a series whose differences are constant gets
 * a random walk with that drift; when no ARIMA model can be fitted, a mean
 * (d = 0) or random-walk (d >= 1) forecast with the sample variance.  These
 * are flagged in arima_model.method.
 */
#include "arima.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTO_MAX_MODELS 94

void
pz_arima_auto_opts_default(arima_auto_opts *opts)
{
	opts->max_p = 5;
	opts->max_q = 5;
	opts->max_d = 2;
	opts->max_order = 5;
	opts->stepwise = 1;
	opts->allow_const = 1;
	opts->d = -1;
	opts->kpss_alpha = 0.05;
}

static int
series_is_constant(const double *y, int n)
{
	for (int i = 1; i < n; i++)
		if (y[i] != y[0])
			return 0;
	return 1;
}

double
pz_arima_kpss_stat(const double *y, int n)
{
	double		mean = 0.0,
				s2 = 0.0,
				S = 0.0,
				num = 0.0,
				lrv;
	int			l = (int) trunc(3.0 * sqrt((double) n) / 13.0);
	double	   *e;

	if (n < 2)
		return 0.0;
	e = pz_malloc(sizeof(double) * n);
	if (e == NULL)
		return NAN;
	for (int t = 0; t < n; t++)
		mean += y[t];
	mean /= n;
	for (int t = 0; t < n; t++)
	{
		e[t] = y[t] - mean;
		S += e[t];
		num += S * S;
		s2 += e[t] * e[t];
	}
	lrv = s2 / n;
	for (int s = 1; s <= l && s < n; s++)
	{
		double		acc = 0.0;

		for (int t = s; t < n; t++)
			acc += e[t] * e[t - s];
		lrv += 2.0 / n * (1.0 - (double) s / (l + 1)) * acc;
	}
	pz_free(e);
	if (!(lrv > 0.0))
		return NAN;
	return num / ((double) n * n) / lrv;
}

/* KPSS p-value by linear interpolation in the table, clamped to [.01, .10] */
static double
kpss_pvalue(double stat)
{
	static const double cv[4] = {0.347, 0.463, 0.574, 0.739};
	static const double pv[4] = {0.10, 0.05, 0.025, 0.01};

	if (stat <= cv[0])
		return pv[0];
	if (stat >= cv[3])
		return pv[3];
	for (int i = 0; i < 3; i++)
		if (stat <= cv[i + 1])
			return pv[i] + (pv[i + 1] - pv[i]) * (stat - cv[i]) / (cv[i + 1] - cv[i]);
	return pv[3];
}

int
pz_arima_ndiffs(const double *y, int n, double alpha, int max_d)
{
	double	   *x;
	int			d = 0;
	int			len = n;
	double		st;

	if (n < 2 || series_is_constant(y, n))
		return 0;
	x = pz_malloc(sizeof(double) * n);
	if (x == NULL)
		return 0;
	memcpy(x, y, sizeof(double) * n);
	st = pz_arima_kpss_stat(x, len);
	while (isfinite(st) && kpss_pvalue(st) < alpha && d < max_d && len > 2)
	{
		d++;
		for (int t = 0; t < len - 1; t++)
			x[t] = x[t + 1] - x[t];
		len--;
		if (series_is_constant(x, len))
			break;
		st = pz_arima_kpss_stat(x, len);
	}
	pz_free(x);
	return d;
}

typedef struct auto_state
{
	const double *w;			/* differenced series */
	int			m;
	int			n;
	int			d;
	double		scale;
	double	   *work;
	const pz_cancel *cancel;
	int			use_aic;
	int			tried[AUTO_MAX_MODELS][3];
	int			ntried;
	arima_model best;
	double		best_ic;
	int			cancelled;
} auto_state;

static int
auto_seen(auto_state *s, int p, int q, int c)
{
	for (int i = 0; i < s->ntried; i++)
		if (s->tried[i][0] == p && s->tried[i][1] == q && s->tried[i][2] == c)
			return 1;
	return 0;
}

/* Fit one candidate; returns its information criterion (Inf if rejected). */
static double
auto_try(auto_state *s, int p, int q, int c, int *improved)
{
	arima_model mm;
	char		err[PZ_ERRMSG_LEN];
	pz_status	st;
	double		ic;

	*improved = 0;
	if (s->ntried >= AUTO_MAX_MODELS || auto_seen(s, p, q, c))
		return INFINITY;
	s->tried[s->ntried][0] = p;
	s->tried[s->ntried][1] = q;
	s->tried[s->ntried][2] = c;
	s->ntried++;
	if (s->m - (p + q + c) < 2)
		return INFINITY;
	st = pz_arima_fit_diffed(s->w, s->m, p, s->d, q, c, s->scale, 0, s->cancel,
							 s->work, &mm, err);
	if (st == PZ_ECANCELLED)
	{
		s->cancelled = 1;
		return INFINITY;
	}
	if (st != PZ_OK)
		return INFINITY;
	ic = s->use_aic ? mm.aic : mm.aicc;
	if (!isfinite(ic))
		return INFINITY;
	/* reject near-unit roots as forecast::auto.arima does */
	if (p > 0)
	{
		double		r = pz_arima_ar_min_root(mm.ar, p);

		if (r < 0.0 || r < 1.01)
			return INFINITY;
	}
	if (q > 0)
	{
		double		r = pz_arima_ma_min_root(mm.ma, q);

		if (r < 0.0 || r < 1.01)
			return INFINITY;
	}
	if (ic < s->best_ic)
	{
		s->best_ic = ic;
		s->best = mm;
		*improved = 1;
	}
	return ic;
}

/* mean / random-walk fall-back (flagged) */
static void
auto_fallback(const double *y, int n, int d, int drift_from_diff,
			  arima_model *out)
{
	double		mean = 0.0,
				ss = 0.0;

	memset(out, 0, sizeof(*out));
	out->loglik = out->aic = out->aicc = out->bic = NAN;
	out->converged = 0;
	if (d == 0 || n < 2)
	{
		for (int t = 0; t < n; t++)
			mean += y[t];
		mean /= n;
		for (int t = 0; t < n; t++)
			ss += (y[t] - mean) * (y[t] - mean);
		out->method = ARIMA_METHOD_FALLBACK_MEAN;
		out->d = 0;
		out->has_const = 1;
		out->mu = mean;
		out->sigma2 = (n > 1) ? ss / (n - 1) : 0.0;
		out->nobs = n;
	}
	else
	{
		/* random walk, with the mean first difference as drift if asked */
		int			m = n - 1;

		for (int t = 1; t < n; t++)
			mean += y[t] - y[t - 1];
		mean /= m;
		for (int t = 1; t < n; t++)
		{
			double		e = y[t] - y[t - 1] - (drift_from_diff ? mean : 0.0);

			ss += e * e;
		}
		out->method = ARIMA_METHOD_FALLBACK_NAIVE;
		out->d = 1;
		out->has_const = drift_from_diff;
		out->mu = drift_from_diff ? mean : 0.0;
		out->sigma2 = ss / m;
		out->nobs = m;
	}
	out->npar = out->has_const + 1;
}

pz_status
pz_arima_auto(const double *y, int n, const arima_auto_opts *opts,
			  const pz_cancel *cancel, arima_model *out, char *errmsg)
{
	arima_auto_opts o;
	auto_state	s;
	double	   *buf;
	int			d,
				max_p,
				max_q,
				p,
				q,
				c;
	int			allow_const;
	int			imp;
	int			startk;

	if (errmsg)
		errmsg[0] = '\0';
	if (opts)
		o = *opts;
	else
		pz_arima_auto_opts_default(&o);
	if (y == NULL || n < 1)
	{
		if (errmsg)
			snprintf(errmsg, PZ_ERRMSG_LEN, "empty series");
		return PZ_EINVAL;
	}
	if (n > ARIMA_MAX_N)
	{
		if (errmsg)
			snprintf(errmsg, PZ_ERRMSG_LEN, "series too long (limit %d observations)", ARIMA_MAX_N);
		return PZ_ENOMEM;
	}
	for (int i = 0; i < n; i++)
		if (!isfinite(y[i]))
		{
			if (errmsg)
				snprintf(errmsg, PZ_ERRMSG_LEN, "series contains a non-finite value");
			return PZ_EINVAL;
		}
	if (o.max_p < 0 || o.max_p > ARIMA_MAX_PQ || o.max_q < 0 ||
		o.max_q > ARIMA_MAX_PQ || o.max_d < 0 || o.max_d > ARIMA_MAX_D ||
		o.d > ARIMA_MAX_D || !(o.kpss_alpha > 0.0 && o.kpss_alpha < 1.0))
	{
		if (errmsg)
			snprintf(errmsg, PZ_ERRMSG_LEN, "invalid automatic ARIMA options");
		return PZ_EINVAL;
	}

	/* constant series: its value, no uncertainty (as auto.arima) */
	if (series_is_constant(y, n))
	{
		auto_fallback(y, n, 0, 0, out);
		out->sigma2 = 0.0;
		return PZ_OK;
	}
	if (n < 3)
	{
		auto_fallback(y, n, 0, 0, out);
		return PZ_OK;
	}

	d = (o.d >= 0) ? o.d : pz_arima_ndiffs(y, n, o.kpss_alpha, o.max_d);
	while (d > 0 && n - d < 3)
		d--;

	buf = pz_malloc(sizeof(double) * 6 * (size_t) n);
	if (buf == NULL)
	{
		if (errmsg)
			snprintf(errmsg, PZ_ERRMSG_LEN, "out of memory");
		return PZ_ENOMEM;
	}
	memcpy(buf, y, sizeof(double) * n);
	for (int k = 0; k < d; k++)
		for (int t = 0; t < n - k - 1; t++)
			buf[t] = buf[t + 1] - buf[t];

	memset(&s, 0, sizeof(s));
	s.w = buf;
	s.m = n - d;
	s.n = n;
	s.d = d;
	s.work = buf + n;
	s.cancel = cancel;
	s.use_aic = (n <= 3);
	s.best_ic = INFINITY;

	if (series_is_constant(buf, s.m))
	{
		/* differences constant: random walk with that drift (flagged) */
		double		dr = buf[0];

		auto_fallback(y, n, 1, 1, out);
		if (d == 1)
		{
			out->mu = dr;
			out->sigma2 = 0.0;
		}
		pz_free(buf);
		return PZ_OK;
	}
	s.scale = pz_arima_scale(buf, s.m);

	max_p = o.max_p < n / 3 ? o.max_p : n / 3;
	max_q = o.max_q < n / 3 ? o.max_q : n / 3;
	allow_const = o.allow_const && d <= 1;
	c = allow_const;

	p = 2 < max_p ? 2 : max_p;
	q = 2 < max_q ? 2 : max_q;
	if (n < 10)
	{
		p = p < 1 ? p : 1;
		q = q < 1 ? q : 1;
	}

	/* starting models */
	auto_try(&s, p, q, c, &imp);
	auto_try(&s, 0, 0, c, &imp);
	if (imp)
		p = q = 0;
	if (max_p > 0)
	{
		auto_try(&s, 1, 0, c, &imp);
		if (imp)
		{
			p = 1;
			q = 0;
		}
	}
	if (max_q > 0)
	{
		auto_try(&s, 0, 1, c, &imp);
		if (imp)
		{
			p = 0;
			q = 1;
		}
	}
	if (c)
	{
		auto_try(&s, 0, 0, 0, &imp);
		if (imp)
			p = q = 0;
	}
	/*
	 * As forecast::auto.arima: the search continues from (p, q) set above
	 * and keeps the constant flag even when the null model without constant
	 * won; only the toggle step below changes it.
	 */

	startk = -1;
	while (startk < s.ntried && s.ntried < AUTO_MAX_MODELS && !s.cancelled)
	{
		static const int moves[8][2] = {
			{-1, 0}, {0, -1}, {1, 0}, {0, 1},
			{-1, -1}, {-1, 1}, {1, -1}, {1, 1}
		};
		int			moved = 0;

		startk = s.ntried;
		for (int k = 0; k < 8 && !moved; k++)
		{
			int			np = p + moves[k][0],
						nq = q + moves[k][1];

			if (np < 0 || nq < 0 || np > max_p || nq > max_q)
				continue;
			if (auto_seen(&s, np, nq, c))
				continue;
			auto_try(&s, np, nq, c, &imp);
			if (imp)
			{
				p = np;
				q = nq;
				moved = 1;
			}
		}
		if (!moved && allow_const && !auto_seen(&s, p, q, !c))
		{
			auto_try(&s, p, q, !c, &imp);
			if (imp)
				c = !c;
		}
		if (pz_cancelled(cancel))
			s.cancelled = 1;
	}
	if (s.cancelled)
	{
		pz_free(buf);
		if (errmsg)
			snprintf(errmsg, PZ_ERRMSG_LEN, "automatic ARIMA selection cancelled");
		return PZ_ECANCELLED;
	}
	if (!isfinite(s.best_ic))
	{
		/* nothing acceptable: flagged mean / random-walk forecast */
		auto_fallback(y, n, d, d == 1 && allow_const, out);
		pz_free(buf);
		return PZ_OK;
	}
	/* polish the chosen model with the tight tolerance */
	{
		arima_model pm;
		char		err[PZ_ERRMSG_LEN];
		pz_status	st;

		st = pz_arima_fit_diffed(s.w, s.m, s.best.p, d, s.best.q,
								 s.best.has_const, s.scale, 2, cancel, s.work,
								 &pm, err);
		if (st == PZ_ECANCELLED)
		{
			pz_free(buf);
			if (errmsg)
				snprintf(errmsg, PZ_ERRMSG_LEN, "automatic ARIMA selection cancelled");
			return PZ_ECANCELLED;
		}
		if (st == PZ_OK && pm.loglik >= s.best.loglik - 1e-9)
			s.best = pm;
	}
	*out = s.best;
	pz_free(buf);
	return PZ_OK;
}
