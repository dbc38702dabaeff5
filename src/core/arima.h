/*
 * arima.h — non-seasonal ARIMA(p,d,q): exact maximum likelihood through a
 * Kalman filter, forecasts with standard errors, and automatic order
 * selection after Hyndman & Khandakar (2008).
 *
 * Model (Box-Jenkins, R's sign conventions):
 *     w_t = (1-B)^d y_t
 *     (1 - ar_1 B - ... - ar_p B^p)(w_t - mu) = (1 + ma_1 B + ... + ma_q B^q) e_t
 * with e_t ~ N(0, sigma2).  mu is the mean for d = 0 and the drift for d = 1
 * (R: include.mean / forecast::Arima(include.drift = TRUE)); it is 0 when
 * has_const is false, and never allowed for d = 2.
 *
 * Likelihood.  The ARMA part of the differenced series is put in Harvey's
 * state-space form (state dimension r = max(p, q+1)); the initial state
 * covariance is the exact stationary solution of P = T P T' + R R' (the
 * quantity that Gardner, Harvey & Phillips (1980) compute; we solve the
 * Lyapunov equation directly).  sigma2 and mu are concentrated out: mu by
 * generalised least squares using a second filter pass on a constant
 * series with the same gains, sigma2 = (sum of squared standardised
 * innovations) / nobs.  nobs = n - d, as in R.
 *
 * Difference from R, by design: R's ARIMA_Like silently skips every
 * observation whose one-step prediction variance exceeds 1e4*sigma2, which
 * for d = 0 creates spurious optima with an AR root near 1.  Our fit uses
 * the exact likelihood of all n - d differenced observations.  The
 * likelihood function can reproduce R's rule (flag ARIMA_LL_RCOMPAT) so that
 * the fixture tests can check our filter against R at R's own parameters.
 * For d > 0, R approximates a diffuse prior with variance 1e6 and drops the
 * first d observations through the same rule; the exact likelihood of the
 * differenced series is the limit of that, so the two agree to ~1e-6.
 *
 * Limits (checked before allocating): p, q <= ARIMA_MAX_PQ, d <= ARIMA_MAX_D,
 * n <= ARIMA_MAX_N, forecast horizon h <= ARIMA_MAX_H.
 */
#ifndef PZ_ARIMA_H
#define PZ_ARIMA_H

#include "pz_common.h"

#define ARIMA_MAX_PQ	5
#define ARIMA_MAX_D		2
#define ARIMA_MAX_R		(ARIMA_MAX_PQ + 1)
#define ARIMA_MAX_N		10000000
#define ARIMA_MAX_H		10000

/* How a model was obtained (arima_model.method). */
typedef enum arima_method
{
	ARIMA_METHOD_ML = 0,		/* exact ML (CSS starting values) */
	ARIMA_METHOD_FALLBACK_MEAN, /* auto mode: constant/too short: mean forecast */
	ARIMA_METHOD_FALLBACK_NAIVE /* auto mode: no ARIMA fitted: random walk */
} arima_method;

typedef struct arima_model
{
	int			p,
				d,
				q;
	int			has_const;		/* mu estimated (mean if d = 0, drift if d = 1) */
	double		ar[ARIMA_MAX_PQ];
	double		ma[ARIMA_MAX_PQ];
	double		mu;				/* mean (d = 0) or drift (d = 1); 0 otherwise */
	double		sigma2;
	double		loglik;
	double		aic,
				aicc,
				bic;			/* as R's forecast package; Inf if undefined */
	int			nobs;			/* n - d */
	int			npar;			/* p + q + has_const + 1 (sigma2) */
	int			converged;		/* optimiser met its tolerance */
	arima_method method;
} arima_model;

/* Flags for pz_arima_loglik */
#define ARIMA_LL_RCOMPAT	1	/* skip obs with prediction variance >= 1e4 as R */

/*
 * Exact Gaussian log-likelihood of the model's parameters (ar, ma, mu,
 * p, d, q, has_const taken from *m; mu is used as given, not estimated) on y.
 * Returns the loglik and sigma2 as R would report them for these values.
 */
pz_status	pz_arima_loglik(const arima_model *m, const double *y, int n, int flags,
							double *loglik, double *sigma2, char *errmsg);

/*
 * Fit ARIMA(p,d,q) by exact ML with CSS starting values (R's "CSS-ML").
 * include_const: mean for d = 0, drift for d = 1 (must be 0 for d = 2).
 * Returns PZ_EINVAL for bad orders / too short series, PZ_ENOCONV or
 * PZ_ENUMERIC when no usable fit is found.
 */
pz_status	pz_arima_fit_model(const double *y, int n, int p, int d, int q,
							   int include_const, const pz_cancel *cancel,
							   arima_model *out, char *errmsg);

/*
 * h-step forecasts of y beyond its end: mean[h] and standard errors se[h]
 * (se may be NULL).  Uses the Kalman filter's final state, as R's
 * predict.Arima does.
 */
pz_status	pz_arima_forecast_model(const arima_model *m, const double *y, int n, int h,
									double *mean, double *se, char *errmsg);

/* Prediction interval half-width multiplier for a two-sided level in (0,1). */
double		pz_arima_normal_quantile(double level);

/* Options for automatic selection (pz_arima_auto_opts_default fills defaults). */
typedef struct arima_auto_opts
{
	int			max_p;			/* 5 */
	int			max_q;			/* 5 */
	int			max_d;			/* 2 */
	int			max_order;		/* p + q <= 5 */
	int			stepwise;		/* 1 */
	int			allow_const;	/* 1: mean for d = 0, drift for d = 1 */
	int			d;				/* -1: choose by KPSS; else fixed */
	double		kpss_alpha;		/* 0.05 */
} arima_auto_opts;

void		pz_arima_auto_opts_default(arima_auto_opts *opts);

/*
 * Automatic order selection (Hyndman & Khandakar 2008, stepwise, AICc).
 * Always returns a model for any finite series with n >= 1 (fall-backs are
 * flagged in out->method), except on bad arguments or cancellation.
 */
pz_status	pz_arima_auto(const double *y, int n, const arima_auto_opts *opts,
						  const pz_cancel *cancel, arima_model *out, char *errmsg);

/* Number of differences suggested by repeated KPSS level tests. */
int			pz_arima_ndiffs(const double *y, int n, double alpha, int max_d);

/* KPSS level-stationarity statistic with Bartlett lag trunc(3*sqrt(n)/13). */
double		pz_arima_kpss_stat(const double *y, int n);

/* Fill aic/aicc/bic/npar/nobs from loglik as forecast::Arima does. */
void		pz_arima_set_ic(arima_model *m);

/* Smallest root modulus of the AR / MA polynomial (+Inf if degree 0). */
double		pz_arima_ar_min_root(const double *ar, int p);
double		pz_arima_ma_min_root(const double *ma, int q);

/*
 * Internal (used by arima_auto.c): fit on an already differenced series w
 * of length m, scaling it by 'scale' for the optimiser.  work must hold
 * 5*m doubles.  thorough: 1 = all restarts (explicit orders); 0 = a
 * candidate of the automatic search (looser tolerance, restarts only when
 * the first optimum looks doubtful); 2 = as 0 with the tight tolerance.
 */
pz_status	pz_arima_fit_diffed(const double *w, int m, int p, int d, int q,
								int include_const, double scale, int thorough,
								const pz_cancel *cancel, double *work,
								arima_model *out, char *errmsg);
double		pz_arima_scale(const double *w, int m);

#endif							/* PZ_ARIMA_H */
