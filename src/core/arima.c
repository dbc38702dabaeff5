/*
 * arima.c — ARIMA(p,d,q): exact Gaussian likelihood by Kalman filter,
 * CSS-ML fitting, forecasts.  See arima.h for the model and conventions.
 *
 * References:
 *   Gardner, Harvey & Phillips (1980), Algorithm AS 154, Appl. Statist. 29.
 *   Harvey (1989), Forecasting, structural time series models and the
 *     Kalman filter, sec. 3.4 (ARMA state-space form used here).
 *   Jones (1980), Maximum likelihood fitting of ARMA models to time series
 *     with missing observations, Technometrics 22 (PACF reparametrisation).
 *   Box, Jenkins & Reinsel, Time Series Analysis (CSS).
 */
#include "arima.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_poly.h>
#include <gsl/gsl_vector.h>
#include <gsl/gsl_cdf.h>

#define ARIMA_NPAR_MAX	(2 * ARIMA_MAX_PQ)
#define ARIMA_LYAP_MAX	(ARIMA_MAX_R * (ARIMA_MAX_R + 1) / 2)
#define ARIMA_BIG		1.0e10	/* objective value for invalid parameters */
#define LOG_2PI			1.8378770664093454836

/* ------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------ */

static void
set_err(char *errmsg, const char *fmt, const char *detail)
{
	if (errmsg)
		snprintf(errmsg, PZ_ERRMSG_LEN, fmt, detail);
}

/* w = (1-B)^d y; returns the new length n - d. */
static int
arima_difference(const double *y, int n, int d, double *w)
{
	int			len = n;

	memcpy(w, y, sizeof(double) * n);
	for (int k = 0; k < d; k++)
	{
		for (int t = 0; t < len - 1; t++)
			w[t] = w[t + 1] - w[t];
		len--;
	}
	return len;
}

/*
 * Jones (1980): map unconstrained u to a stationary AR polynomial by taking
 * tanh(u) as partial autocorrelations and running the Durbin-Levinson
 * recursion phi_k^(j) = phi_k^(j-1) - pacf_j phi_{j-k}^(j-1).
 */
static void
arima_partrans(int p, const double *u, double *phi)
{
	double		work[ARIMA_MAX_PQ];

	for (int j = 0; j < p; j++)
		phi[j] = tanh(u[j]);
	for (int j = 1; j < p; j++)
	{
		double		a = phi[j];

		for (int k = 0; k < j; k++)
			work[k] = phi[k] - a * phi[j - k - 1];
		memcpy(phi, work, sizeof(double) * j);
	}
}

/* Inverse of arima_partrans; returns 0 if phi is not stationary. */
static int
arima_invpartrans(int p, const double *phi, double *u)
{
	double		cur[ARIMA_MAX_PQ],
				work[ARIMA_MAX_PQ];

	memcpy(cur, phi, sizeof(double) * p);
	for (int j = p - 1; j >= 0; j--)
	{
		double		a = cur[j];
		double		den = 1.0 - a * a;

		if (!(fabs(a) < 1.0) || den <= 0.0)
			return 0;
		u[j] = atanh(a);
		for (int k = 0; k < j; k++)
			work[k] = (cur[k] + a * cur[j - k - 1]) / den;
		memcpy(cur, work, sizeof(double) * j);
	}
	return 1;
}

/*
 * Smallest modulus of the roots of 1 + sgn*(c_1 z + ... + c_k z^k)
 * (sgn = -1 for AR, +1 for MA).  Returns +Inf when the polynomial has
 * degree 0, -1 if the root finder fails.
 */
/*
 * Degree of 1 + c_1 z + ... + c_k z^k once negligible leading coefficients
 * are dropped, or -1 if a coefficient is not finite.  A leading coefficient
 * of (say) 1e-315 only adds roots near infinity, but GSL's companion-matrix
 * solver can balance such a subnormal forever: a fit that never returns and
 * never polls the cancel hook (seen on sparse weekly counts).  With
 * zero_tail the dropped coefficients are set to exactly 0.
 */
static int
arima_poly_degree(double *c, int k, int zero_tail)
{
	double		big = 1.0;
	int			deg = k;

	for (int i = 0; i < k; i++)
	{
		if (!isfinite(c[i]))
			return -1;
		if (fabs(c[i]) > big)
			big = fabs(c[i]);
	}
	while (deg > 0 && fabs(c[deg - 1]) <= 1e-12 * big)
	{
		if (zero_tail)
			c[deg - 1] = 0.0;
		deg--;
	}
	return deg;
}

static double
arima_min_root(const double *c, int k, double sgn)
{
	double		coef[ARIMA_MAX_PQ + 1];
	double		z[2 * ARIMA_MAX_PQ];
	double		minmod = INFINITY;
	double		cc[ARIMA_MAX_PQ];
	int			deg;
	gsl_poly_complex_workspace *ws;
	int			rc;

	memcpy(cc, c, sizeof(double) * k);
	deg = arima_poly_degree(cc, k, 0);
	if (deg < 0)
		return -1.0;
	if (deg == 0)
		return INFINITY;
	coef[0] = 1.0;
	for (int i = 1; i <= deg; i++)
		coef[i] = sgn * cc[i - 1];
	if (deg == 1)
		return fabs(1.0 / coef[1]);
	ws = gsl_poly_complex_workspace_alloc(deg + 1);
	if (ws == NULL)
		return -1.0;
	rc = gsl_poly_complex_solve(coef, deg + 1, ws, z);
	gsl_poly_complex_workspace_free(ws);
	if (rc != GSL_SUCCESS)
		return -1.0;
	for (int i = 0; i < deg; i++)
	{
		double		mod = hypot(z[2 * i], z[2 * i + 1]);

		if (mod < minmod)
			minmod = mod;
	}
	return minmod;
}

double
pz_arima_ar_min_root(const double *ar, int p)
{
	return arima_min_root(ar, p, -1.0);
}

double
pz_arima_ma_min_root(const double *ma, int q)
{
	return arima_min_root(ma, q, 1.0);
}

/*
 * Replace the roots of 1 + ma_1 z + ... + ma_q z^q inside the unit circle by
 * their reciprocals (the invertible twin, which has the same exact
 * likelihood).  Returns 1 if something changed, 0 if not, -1 on failure.
 */
static int
arima_ma_invert(double *ma, int q)
{
	double		coef[ARIMA_MAX_PQ + 1];
	double		z[2 * ARIMA_MAX_PQ];
	double		pr[ARIMA_MAX_PQ + 1],
				pi[ARIMA_MAX_PQ + 1];
	int			deg = q;
	int			any = 0;
	gsl_poly_complex_workspace *ws;
	int			rc;

	deg = arima_poly_degree(ma, q, 1);
	if (deg < 0)
		return -1;
	if (deg == 0)
		return 0;
	if (deg == 1)
	{
		if (fabs(ma[0]) > 1.0)
		{
			ma[0] = 1.0 / ma[0];
			return 1;
		}
		return 0;
	}
	coef[0] = 1.0;
	for (int i = 1; i <= deg; i++)
		coef[i] = ma[i - 1];
	ws = gsl_poly_complex_workspace_alloc(deg + 1);
	if (ws == NULL)
		return -1;
	rc = gsl_poly_complex_solve(coef, deg + 1, ws, z);
	gsl_poly_complex_workspace_free(ws);
	if (rc != GSL_SUCCESS)
		return -1;
	for (int i = 0; i < deg; i++)
	{
		double		re = z[2 * i],
					im = z[2 * i + 1];
		double		m2 = re * re + im * im;

		if (m2 < 1.0)
		{
			/* 1/z */
			z[2 * i] = re / m2;
			z[2 * i + 1] = -im / m2;
			any = 1;
		}
	}
	if (!any)
		return 0;
	/* rebuild prod_i (1 - x / z_i) in complex arithmetic */
	memset(pr, 0, sizeof(pr));
	memset(pi, 0, sizeof(pi));
	pr[0] = 1.0;
	for (int i = 0; i < deg; i++)
	{
		double		re = z[2 * i],
					im = z[2 * i + 1];
		double		m2 = re * re + im * im;
		double		wr = -re / m2,	/* -1/z */
					wi = im / m2;

		for (int k = i + 1; k >= 1; k--)
		{
			double		nr = pr[k] + pr[k - 1] * wr - pi[k - 1] * wi;
			double		ni = pi[k] + pr[k - 1] * wi + pi[k - 1] * wr;

			pr[k] = nr;
			pi[k] = ni;
		}
	}
	for (int i = 0; i < deg; i++)
		ma[i] = pr[i + 1];
	return 1;
}

/*
 * Move every root of 1 + ma_1 z + ... + ma_q z^q onto the unit circle
 * (keeping its argument).  Returns 1 on success, 0 if nothing to do or on
 * failure.
 */
static int
arima_ma_to_circle(double *ma, int q)
{
	double		coef[ARIMA_MAX_PQ + 1];
	double		z[2 * ARIMA_MAX_PQ];
	double		pr[ARIMA_MAX_PQ + 1],
				pi[ARIMA_MAX_PQ + 1];
	int			deg = q;
	gsl_poly_complex_workspace *ws;
	int			rc;

	deg = arima_poly_degree(ma, q, 1);
	if (deg < 2)
		return 0;
	coef[0] = 1.0;
	for (int i = 1; i <= deg; i++)
		coef[i] = ma[i - 1];
	ws = gsl_poly_complex_workspace_alloc(deg + 1);
	if (ws == NULL)
		return 0;
	rc = gsl_poly_complex_solve(coef, deg + 1, ws, z);
	gsl_poly_complex_workspace_free(ws);
	if (rc != GSL_SUCCESS)
		return 0;
	memset(pr, 0, sizeof(pr));
	memset(pi, 0, sizeof(pi));
	pr[0] = 1.0;
	for (int i = 0; i < deg; i++)
	{
		double		mod = hypot(z[2 * i], z[2 * i + 1]);
		double		wr,
					wi;

		if (!(mod > 0.0))
			return 0;
		/* -1/z with |z| = 1 is -conj(z)/|z| */
		wr = -z[2 * i] / mod;
		wi = z[2 * i + 1] / mod;
		for (int k = i + 1; k >= 1; k--)
		{
			double		nr = pr[k] + pr[k - 1] * wr - pi[k - 1] * wi;
			double		ni = pi[k] + pr[k - 1] * wi + pi[k - 1] * wr;

			pr[k] = nr;
			pi[k] = ni;
		}
	}
	for (int i = 0; i < deg; i++)
		ma[i] = pr[i + 1];
	return 1;
}

/* ------------------------------------------------------------------------
 * State-space form and Kalman filter
 * ------------------------------------------------------------------------ */

/*
 * Harvey's form for an ARMA(p,q), r = max(p, q+1):
 *   alpha_{t+1} = T alpha_t + R e_{t+1},  x_t = alpha_t[0]
 *   T = [phi | I_{r-1}; phi_r 0],  R = (1, theta_1, ..., theta_{r-1})'.
 * The stationary covariance solves P = T P T' + R R'.  We solve that
 * linear system in the r(r+1)/2 unknowns directly (Gaussian elimination
 * with partial pivoting), which gives the exact value that Gardner et al.
 * (1980) compute.  Returns 0 if the system is singular (non-stationary).
 */
static int
arima_lyapunov(int r, const double *phi, const double *rv, double *P)
{
	double		A[ARIMA_LYAP_MAX][ARIMA_LYAP_MAX + 1];
	int			idx[ARIMA_MAX_R + 1][ARIMA_MAX_R + 1];
	int			nu = 0;

	if (r == 1)
	{
		double		den = 1.0 - phi[0] * phi[0];

		if (!(den > 0.0))
			return 0;
		P[0] = rv[0] * rv[0] / den;
		return isfinite(P[0]);
	}
	for (int i = 0; i < r; i++)
		for (int j = i; j < r; j++)
		{
			idx[i][j] = idx[j][i] = nu;
			nu++;
		}
	for (int i = 0; i < nu; i++)
		for (int j = 0; j <= nu; j++)
			A[i][j] = 0.0;
	for (int i = 0; i < r; i++)
		for (int j = i; j < r; j++)
		{
			int			e = idx[i][j];

			/* P_ij - phi_i phi_j P_00 - phi_i P_0,j+1 - phi_j P_i+1,0 - P_i+1,j+1 */
			A[e][e] += 1.0;
			A[e][idx[0][0]] -= phi[i] * phi[j];
			if (j + 1 < r)
				A[e][idx[0][j + 1]] -= phi[i];
			if (i + 1 < r)
				A[e][idx[i + 1][0]] -= phi[j];
			if (i + 1 < r && j + 1 < r)
				A[e][idx[i + 1][j + 1]] -= 1.0;
			A[e][nu] = rv[i] * rv[j];
		}
	for (int c = 0; c < nu; c++)
	{
		int			piv = c;
		double		best = fabs(A[c][c]);

		for (int i = c + 1; i < nu; i++)
			if (fabs(A[i][c]) > best)
			{
				best = fabs(A[i][c]);
				piv = i;
			}
		if (!(best > 1e-300))
			return 0;
		if (piv != c)
			for (int j = c; j <= nu; j++)
			{
				double		tmp = A[c][j];

				A[c][j] = A[piv][j];
				A[piv][j] = tmp;
			}
		for (int i = c + 1; i < nu; i++)
		{
			double		f = A[i][c] / A[c][c];

			if (f != 0.0)
				for (int j = c; j <= nu; j++)
					A[i][j] -= f * A[c][j];
		}
	}
	for (int c = nu - 1; c >= 0; c--)
	{
		double		s = A[c][nu];

		for (int j = c + 1; j < nu; j++)
			s -= A[c][j] * A[j][nu];
		A[c][nu] = s / A[c][c];
	}
	for (int i = 0; i < r; i++)
		for (int j = 0; j < r; j++)
			P[i * r + j] = A[idx[i][j]][nu];
	for (int i = 0; i < r * r; i++)
		if (!isfinite(P[i]))
			return 0;
	return 1;
}

typedef struct kf_result
{
	double		ssq;			/* sum v^2/F of x - mu */
	double		sumlog;			/* sum log F */
	int			nu;				/* observations used */
	double		mu;				/* estimated or given mean */
} kf_result;

/*
 * Kalman filter for x_t - mu ~ ARMA(p,q), t = 0..m-1.
 * mu_mode: 0 = mu is zero, 1 = mu given, 2 = concentrate mu out by GLS.
 * The GLS step runs a second state vector for the constant series 1 with
 * the same gains: innovations of (x - mu) are v_x - mu v_1, so mu-hat =
 * sum(v_x v_1 / F) / sum(v_1^2 / F).
 * rcompat: skip terms with F >= 1e4 as R's ARIMA_Like does.
 * If a_end/P_end are non-NULL they receive the one-step-ahead predicted
 * state of x - mu and its covariance (in units of sigma2) after the data.
 * Returns 0 on numerical failure.
 */
static inline __attribute__((always_inline)) int
arima_kalman_impl(const double *x, int m, const double *phi, int p,
				  const double *theta, int q, int mu_mode, double mu_given,
				  int rcompat, kf_result *res, double *a_end, double *P_end,
				  const int r)
{
	double		ph[ARIMA_MAX_R],
				rv[ARIMA_MAX_R];
	double		P[ARIMA_MAX_R * ARIMA_MAX_R],
				TP[ARIMA_MAX_R * ARIMA_MAX_R];
	double		ax[ARIMA_MAX_R],
				a1[ARIMA_MAX_R];
	double		K[ARIMA_MAX_R],
				row0[ARIMA_MAX_R];
	double		sxx = 0.0,
				sx1 = 0.0,
				s11 = 0.0,
				sumlog = 0.0;
	int			nu = 0;
	int			steady = 0;
	double		F = 1.0,
				prodF = 1.0;
	double		Pprev[ARIMA_MAX_R * ARIMA_MAX_R];
	int			conc = (mu_mode == 2);
	double		mu0 = (mu_mode == 1) ? mu_given : 0.0;

	for (int i = 0; i < r; i++)
	{
		ph[i] = (i < p) ? phi[i] : 0.0;
		rv[i] = (i == 0) ? 1.0 : ((i <= q) ? theta[i - 1] : 0.0);
		ax[i] = 0.0;
		a1[i] = 0.0;
	}
	if (!arima_lyapunov(r, ph, rv, P))
		return 0;
	memcpy(Pprev, P, sizeof(double) * r * r);

	for (int t = 0; t < m; t++)
	{
		double		vx,
					v1;

		if (!steady)
			F = P[0];
		if (!(F > 0.0) || !isfinite(F))
			return 0;
		vx = x[t] - mu0 - ax[0];
		v1 = 1.0 - a1[0];
		if (!rcompat || F < 1e4)
		{
			sxx += vx * vx / F;
			if (conc)
			{
				sx1 += vx * v1 / F;
				s11 += v1 * v1 / F;
			}
			/* F >= 1 in this form (P >= R R'), so a running product is safe */
			prodF *= F;
			if (prodF > 1e250)
			{
				sumlog += log(prodF);
				prodF = 1.0;
			}
			nu++;
		}
		if (steady)
		{
			/* P, K fixed: only the state recursion remains */
			double		a0;

			for (int i = 0; i < r; i++)
				ax[i] += K[i] * vx;
			a0 = ax[0];
			for (int i = 0; i < r - 1; i++)
				ax[i] = ph[i] * a0 + ax[i + 1];
			ax[r - 1] = ph[r - 1] * a0;
			if (conc)
			{
				for (int i = 0; i < r; i++)
					a1[i] += K[i] * v1;
				a0 = a1[0];
				for (int i = 0; i < r - 1; i++)
					a1[i] = ph[i] * a0 + a1[i + 1];
				a1[r - 1] = ph[r - 1] * a0;
			}
			continue;
		}
		/* measurement update */
		for (int i = 0; i < r; i++)
		{
			row0[i] = P[i];		/* P[0][i] == P[i][0] */
			K[i] = P[i] / F;
		}
		for (int i = 0; i < r; i++)
			ax[i] += K[i] * vx;
		if (conc)
			for (int i = 0; i < r; i++)
				a1[i] += K[i] * v1;
		for (int i = 0; i < r; i++)
			for (int j = i; j < r; j++)
			{
				double		v = P[i * r + j] - K[i] * row0[j];

				P[i * r + j] = v;
				P[j * r + i] = v;
			}
		/* time update: a = T a, P = T P T' + R R' */
		{
			double		a0 = ax[0];

			for (int i = 0; i < r - 1; i++)
				ax[i] = ph[i] * a0 + ax[i + 1];
			ax[r - 1] = ph[r - 1] * a0;
			if (conc)
			{
				a0 = a1[0];
				for (int i = 0; i < r - 1; i++)
					a1[i] = ph[i] * a0 + a1[i + 1];
				a1[r - 1] = ph[r - 1] * a0;
			}
		}
		/* TP[i][j] = ph_i P[0][j] + P[i+1][j] */
		for (int i = 0; i < r; i++)
			for (int j = 0; j < r; j++)
				TP[i * r + j] = ph[i] * P[j] +
					((i + 1 < r) ? P[(i + 1) * r + j] : 0.0);
		/* (TP T')[i][j] = TP[i][0] ph_j + TP[i][j+1] */
		{
			double		dmax = 0.0;

			for (int i = 0; i < r; i++)
				for (int j = i; j < r; j++)
				{
					double		v = TP[i * r] * ph[j] +
						((j + 1 < r) ? TP[i * r + j + 1] : 0.0) + rv[i] * rv[j];
					double		dv = fabs(v - Pprev[i * r + j]);

					if (dv > dmax)
						dmax = dv;
					P[i * r + j] = v;
					P[j * r + i] = v;
				}

			/*
			 * Steady state: once the predicted covariance stops changing
			 * (to 1e-9 relative), gains and prediction variances are
			 * treated as constant from here on (exactly so for pure AR
			 * after p steps).  The effect on the log-likelihood is ~1e-8
			 * at most; the R-compatible evaluation never takes this path.
			 */
			if (dmax <= 1e-9 * P[0] && !rcompat)
			{
				steady = 1;
				F = P[0];
				for (int i = 0; i < r; i++)
					K[i] = P[i] / F;
			}
			memcpy(Pprev, P, sizeof(double) * r * r);
		}
	}
	if (prodF != 1.0)
		sumlog += log(prodF);

	res->nu = nu;
	res->sumlog = sumlog;
	if (conc)
	{
		double		muh = (s11 > 0.0) ? sx1 / s11 : 0.0;

		res->mu = muh;
		res->ssq = sxx - muh * sx1;
		if (res->ssq < 0.0)
			res->ssq = 0.0;
	}
	else
	{
		res->mu = mu0;
		res->ssq = sxx;
	}
	if (a_end)
		for (int i = 0; i < r; i++)
			a_end[i] = ax[i] - (conc ? res->mu * a1[i] : 0.0);
	if (P_end)
		memcpy(P_end, P, sizeof(double) * r * r);
	return isfinite(res->ssq) && isfinite(res->sumlog);
}

/*
 * One copy of the filter per state dimension, so that the compiler can
 * unroll the small r x r loops (r is a compile-time constant in each).
 */
#define ARIMA_KALMAN_R(R) \
static int \
arima_kalman_r##R(const double *x, int m, const double *phi, int p, \
				  const double *theta, int q, int mu_mode, double mu_given, \
				  int rcompat, kf_result *res, double *a_end, double *P_end) \
{ \
	return arima_kalman_impl(x, m, phi, p, theta, q, mu_mode, mu_given, \
							 rcompat, res, a_end, P_end, R); \
}
ARIMA_KALMAN_R(1)
ARIMA_KALMAN_R(2)
ARIMA_KALMAN_R(3)
ARIMA_KALMAN_R(4)
ARIMA_KALMAN_R(5)
ARIMA_KALMAN_R(6)

static int
arima_kalman(const double *x, int m, const double *phi, int p,
			 const double *theta, int q, int mu_mode, double mu_given,
			 int rcompat, kf_result *res, double *a_end, double *P_end)
{
	int			r = (p > q + 1) ? p : q + 1;

	switch (r)
	{
		case 1:
			return arima_kalman_r1(x, m, phi, p, theta, q, mu_mode, mu_given, rcompat, res, a_end, P_end);
		case 2:
			return arima_kalman_r2(x, m, phi, p, theta, q, mu_mode, mu_given, rcompat, res, a_end, P_end);
		case 3:
			return arima_kalman_r3(x, m, phi, p, theta, q, mu_mode, mu_given, rcompat, res, a_end, P_end);
		case 4:
			return arima_kalman_r4(x, m, phi, p, theta, q, mu_mode, mu_given, rcompat, res, a_end, P_end);
		case 5:
			return arima_kalman_r5(x, m, phi, p, theta, q, mu_mode, mu_given, rcompat, res, a_end, P_end);
		case 6:
			return arima_kalman_r6(x, m, phi, p, theta, q, mu_mode, mu_given, rcompat, res, a_end, P_end);
	}
	return 0;
}

/*
 * Conditional sum of squares (residuals before the first p set to zero),
 * as R's ARIMA_CSS: returns 0.5*log(ssq/nu); mu concentrated when conc.
 */
static double
arima_css(const double *x, int m, const double *phi, int p,
		  const double *theta, int q, int conc, double *ex, double *e1,
		  double *mu_out)
{
	double		sxx = 0.0,
				sx1 = 0.0,
				s11 = 0.0;
	int			nu = 0;
	double		ssq,
				mu = 0.0;

	for (int t = 0; t < p && t < m; t++)
	{
		ex[t] = 0.0;
		e1[t] = 0.0;
	}
	for (int t = p; t < m; t++)
	{
		double		vx = x[t],
					v1 = 1.0;
		int			jmax = t - p < q ? t - p : q;

		for (int i = 0; i < p; i++)
		{
			vx -= phi[i] * x[t - i - 1];
			v1 -= phi[i];
		}
		for (int j = 0; j < jmax; j++)
		{
			vx -= theta[j] * ex[t - j - 1];
			v1 -= theta[j] * e1[t - j - 1];
		}
		ex[t] = vx;
		e1[t] = v1;
		sxx += vx * vx;
		sx1 += vx * v1;
		s11 += v1 * v1;
		nu++;
	}
	if (nu == 0)
		return ARIMA_BIG;
	if (conc && s11 > 0.0)
		mu = sx1 / s11;
	ssq = conc ? sxx - mu * sx1 : sxx;
	if (mu_out)
		*mu_out = mu;
	if (!isfinite(ssq) || ssq <= 0.0)
		return ARIMA_BIG;
	return 0.5 * log(ssq / nu);
}

/* ------------------------------------------------------------------------
 * Optimisation (GSL BFGS2 with central-difference gradient)
 * ------------------------------------------------------------------------ */

#ifdef ARIMA_COUNT
long		arima_count_css = 0,
			arima_count_ml = 0;
#endif

typedef struct arima_ctx
{
	const double *x;
	const double *xc;			/* x minus its mean if conc, for CSS */
	int			m;
	int			p,
				q;
	int			conc;
	int			css;			/* 1: CSS on raw parameters; 0: ML, AR transformed */
	double	   *ex,
			   *e1;
	const pz_cancel *cancel;
	int			cancelled;
	long		nevals;
	long		maxevals;		/* budget for one fit (bounds the worst case) */
	double		reltol;			/* convergence: relative decrease of f */
} arima_ctx;

static void
arima_unpack(const arima_ctx *c, const double *par, double *phi, double *theta)
{
	if (c->css)
		memcpy(phi, par, sizeof(double) * c->p);
	else
		arima_partrans(c->p, par, phi);
	memcpy(theta, par + c->p, sizeof(double) * c->q);
}

static double
arima_objective(const arima_ctx *c, const double *par)
{
	double		phi[ARIMA_MAX_PQ],
				theta[ARIMA_MAX_PQ];
	kf_result	kr;
	double		val;

	((arima_ctx *) c)->nevals++;
#ifdef ARIMA_COUNT
	if (c->css)
		arima_count_css++;
	else
		arima_count_ml++;
#endif
	for (int i = 0; i < c->p + c->q; i++)
		if (!isfinite(par[i]))
			return ARIMA_BIG;
	arima_unpack(c, par, phi, theta);
	if (c->css)
		return arima_css(c->xc, c->m, phi, c->p, theta, c->q, 0,
						 c->ex, c->e1, NULL);
	if (!arima_kalman(c->x, c->m, phi, c->p, theta, c->q,
					  c->conc ? 2 : 0, 0.0, 0, &kr, NULL, NULL))
		return ARIMA_BIG;
	if (kr.ssq <= 0.0 || kr.nu == 0)
		return ARIMA_BIG;
	val = 0.5 * (log(kr.ssq / kr.nu) + kr.sumlog / kr.nu);
	return isfinite(val) ? val : ARIMA_BIG;
}

static double
gsl_f(const gsl_vector *v, void *params)
{
	arima_ctx  *c = params;

	return arima_objective(c, v->data);
}

/*
 * Finite-difference gradient: forward differences (k evaluations) with
 * h = 1e-6 scale, which is accurate to ~1e-6 here (f is O(1) and smooth)
 * and half the cost of central differences; f0 is f at x.
 */
static void
arima_gradient(arima_ctx *c, double *x, double f0, double *g)
{
	int			k = c->p + c->q;

	for (int i = 0; i < k; i++)
	{
		double		h = 1e-6 * (fabs(x[i]) > 1.0 ? fabs(x[i]) : 1.0);
		double		xi = x[i];
		double		fp;

		x[i] = xi + h;
		h = x[i] - xi;			/* exactly representable step */
		fp = arima_objective(c, x);
		x[i] = xi;
		g[i] = (fp - f0) / h;
	}
}

/*
 * Minimise from par (in place) by a variable-metric (BFGS) method with an
 * Armijo backtracking line search, after Nash (1990), Compact Numerical
 * Methods, Algorithm 21 (the method behind R's optim "BFGS"): the gradient
 * is only evaluated at accepted points, which keeps the number of
 * likelihood evaluations low.  Stops when the relative decrease of f is
 * below reltol.  Returns 1 if converged; *fval gets the final value.
 */
static int
arima_minimise_tol(arima_ctx *c, double *par, double *fval, double reltol,
				   int maxit)
{
	int			k = c->p + c->q;
	double		B[ARIMA_NPAR_MAX][ARIMA_NPAR_MAX];
	double		g[ARIMA_NPAR_MAX],
				gn[ARIMA_NPAR_MAX],
				d[ARIMA_NPAR_MAX],
				xn[ARIMA_NPAR_MAX],
				sv[ARIMA_NPAR_MAX],
				yv[ARIMA_NPAR_MAX],
				By[ARIMA_NPAR_MAX];
	double		f = arima_objective(c, par);
	int			fresh = 1;
	int			converged = 0;
	const double acctol = 1e-4,
				stepredn = 0.2;

	*fval = f;
	if (k == 0)
		return 1;
	if (!(f < ARIMA_BIG))
		return 0;
	arima_gradient(c, par, f, g);
	for (int i = 0; i < k; i++)
		for (int j = 0; j < k; j++)
			B[i][j] = (i == j) ? 1.0 : 0.0;
	for (int iter = 0; iter < maxit; iter++)
	{
		double		gd = 0.0,
					step = 1.0,
					fn = f;
		int			accepted = 0;

		if (pz_cancelled(c->cancel))
		{
			c->cancelled = 1;
			break;
		}
		if (c->nevals > c->maxevals)
			break;				/* evaluation budget spent: not converged */
		for (int i = 0; i < k; i++)
		{
			double		acc = 0.0;

			for (int j = 0; j < k; j++)
				acc -= B[i][j] * g[j];
			d[i] = acc;
			gd += g[i] * acc;
		}
		if (!(gd < 0.0))
		{
			if (fresh)
			{
				converged = 1;	/* no descent direction: stationary */
				break;
			}
			goto reset;
		}
		for (;;)
		{
			int			changed = 0;

			for (int i = 0; i < k; i++)
			{
				xn[i] = par[i] + step * d[i];
				if (xn[i] != par[i])
					changed = 1;
			}
			if (!changed)
				break;
			fn = arima_objective(c, xn);
			if (fn <= f + acctol * step * gd)
			{
				accepted = 1;
				break;
			}
			step *= stepredn;
		}
		if (!accepted)
		{
			if (fresh)
			{
				converged = 1;	/* cannot improve along steepest descent */
				break;
			}
			goto reset;
		}
		{
			double		df = f - fn;

			for (int i = 0; i < k; i++)
			{
				sv[i] = xn[i] - par[i];
				par[i] = xn[i];
			}
			f = fn;
			if (df <= reltol * (fabs(f) + reltol))
			{
				converged = 1;
				break;
			}
		}
		arima_gradient(c, par, f, gn);
		{
			double		sy = 0.0,
						yBy = 0.0;

			for (int i = 0; i < k; i++)
			{
				yv[i] = gn[i] - g[i];
				sy += sv[i] * yv[i];
				g[i] = gn[i];
			}
			if (sy > 0.0)
			{
				for (int i = 0; i < k; i++)
				{
					double		acc = 0.0;

					for (int j = 0; j < k; j++)
						acc += B[i][j] * yv[j];
					By[i] = acc;
					yBy += yv[i] * acc;
				}
				for (int i = 0; i < k; i++)
					for (int j = 0; j < k; j++)
						B[i][j] += ((1.0 + yBy / sy) * sv[i] * sv[j] -
									By[i] * sv[j] - sv[i] * By[j]) / sy;
				fresh = 0;
				continue;
			}
		}
reset:
		for (int i = 0; i < k; i++)
			for (int j = 0; j < k; j++)
				B[i][j] = (i == j) ? 1.0 : 0.0;
		fresh = 1;
	}
	*fval = f;
	return converged;
}

static int
arima_minimise(arima_ctx *c, double *par, double *fval)
{
	return arima_minimise_tol(c, par, fval, c->reltol, 100);
}

/* Nelder-Mead polish/fallback. */
static int
arima_minimise_nm(arima_ctx *c, double *par, double *fval)
{
	int			k = c->p + c->q;
	gsl_multimin_fminimizer *s;
	gsl_multimin_function fn;
	gsl_vector_view xv = gsl_vector_view_array(par, k);
	gsl_vector *step;
	int			converged = 0;

	fn.n = k;
	fn.f = gsl_f;
	fn.params = c;
	s = gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, k);
	step = gsl_vector_alloc(k);
	if (s == NULL || step == NULL)
	{
		if (s)
			gsl_multimin_fminimizer_free(s);
		if (step)
			gsl_vector_free(step);
		return 0;
	}
	gsl_vector_set_all(step, 0.1);
	if (gsl_multimin_fminimizer_set(s, &fn, &xv.vector, step) == GSL_SUCCESS)
	{
		for (int iter = 0; iter < 500; iter++)
		{
			if (pz_cancelled(c->cancel))
			{
				c->cancelled = 1;
				break;
			}
			if (c->nevals > c->maxevals ||
				gsl_multimin_fminimizer_iterate(s) != GSL_SUCCESS)
				break;
			if (gsl_multimin_fminimizer_size(s) < 1e-7)
			{
				converged = 1;
				break;
			}
		}
		if (isfinite(s->fval) && s->fval < *fval)
		{
			memcpy(par, s->x->data, sizeof(double) * k);
			*fval = s->fval;
		}
	}
	gsl_vector_free(step);
	gsl_multimin_fminimizer_free(s);
	return converged;
}

/* ------------------------------------------------------------------------
 * Public API
 * ------------------------------------------------------------------------ */

void
pz_arima_set_ic(arima_model *m)
{
	int			npar = m->p + m->q + (m->has_const ? 1 : 0) + 1;
	double		nst = m->nobs;

	m->npar = npar;
	m->aic = -2.0 * m->loglik + 2.0 * npar;
	if (nst - npar - 1 > 0)
		m->aicc = m->aic + 2.0 * npar * (npar + 1) / (nst - npar - 1);
	else
		m->aicc = INFINITY;
	m->bic = m->aic + npar * (log(nst) - 2.0);
}

static pz_status
check_series(const double *y, int n, char *errmsg)
{
	if (y == NULL || n < 1)
	{
		set_err(errmsg, "empty series%s", "");
		return PZ_EINVAL;
	}
	if (n > ARIMA_MAX_N)
	{
		set_err(errmsg, "series too long (limit %s observations)", "10000000");
		return PZ_ENOMEM;
	}
	for (int i = 0; i < n; i++)
		if (!isfinite(y[i]))
		{
			set_err(errmsg, "series contains a non-finite value%s", "");
			return PZ_EINVAL;
		}
	return PZ_OK;
}

static pz_status
check_order(int p, int d, int q, int has_const, char *errmsg)
{
	if (p < 0 || q < 0 || d < 0)
	{
		set_err(errmsg, "ARIMA orders must be non-negative%s", "");
		return PZ_EINVAL;
	}
	if (p > ARIMA_MAX_PQ || q > ARIMA_MAX_PQ)
	{
		set_err(errmsg, "ARIMA orders p and q must be at most %s", "5");
		return PZ_EINVAL;
	}
	if (d > ARIMA_MAX_D)
	{
		set_err(errmsg, "ARIMA differencing order d must be at most %s", "2");
		return PZ_EINVAL;
	}
	if (has_const && d > 1)
	{
		set_err(errmsg, "a constant (mean or drift) is only allowed for d <= 1%s", "");
		return PZ_EINVAL;
	}
	return PZ_OK;
}

pz_status
pz_arima_loglik(const arima_model *m, const double *y, int n, int flags,
				double *loglik, double *sigma2, char *errmsg)
{
	pz_status	st;
	double	   *w;
	int			len;
	kf_result	kr;
	int			ok;

	if ((st = check_series(y, n, errmsg)) != PZ_OK)
		return st;
	if ((st = check_order(m->p, m->d, m->q, m->has_const, errmsg)) != PZ_OK)
		return st;
	if (n - m->d < 1)
	{
		set_err(errmsg, "series too short%s", "");
		return PZ_EINVAL;
	}
	w = pz_malloc(sizeof(double) * n);
	if (w == NULL)
	{
		set_err(errmsg, "out of memory%s", "");
		return PZ_ENOMEM;
	}
	len = arima_difference(y, n, m->d, w);
	ok = arima_kalman(w, len, m->ar, m->p, m->ma, m->q,
					  m->has_const ? 1 : 0, m->mu,
					  (flags & ARIMA_LL_RCOMPAT) != 0, &kr, NULL, NULL);
	pz_free(w);
	if (!ok || kr.nu == 0)
	{
		set_err(errmsg, "likelihood cannot be evaluated (non-stationary AR part?)%s", "");
		return PZ_ENUMERIC;
	}
	/* R: sigma2 = ssq / n.used; value = 0.5*(log(ssq/nu) + sumlog/nu) */
	{
		double		s2 = kr.ssq / kr.nu;
		double		nused = len;

		*loglik = -0.5 * (nused * (log(s2) + kr.sumlog / kr.nu) +
						  nused * (1.0 + LOG_2PI));
		if (sigma2)
			*sigma2 = kr.ssq / nused;
	}
	return PZ_OK;
}

/*
 * Fit on the (already differenced and scaled) series x of length m;
 * work holds 4*m doubles.
 * On success fills ar, ma, mu (scaled), sigma2 (scaled), loglik (scaled),
 * converged.
 */
static pz_status
arima_fit_core(const double *x, int m, int p, int q, int conc, int thorough,
			   const pz_cancel *cancel, double *work, arima_model *out,
			   char *errmsg)
{
	arima_ctx	c;
	double		par[ARIMA_NPAR_MAX];
	double		css_par[ARIMA_NPAR_MAX];
	double		f,
				fcss;
	int			k = p + q;
	int			conv = 1;
	double		phi[ARIMA_MAX_PQ],
				theta[ARIMA_MAX_PQ];
	kf_result	kr;

	memset(&c, 0, sizeof(c));
	c.x = x;
	c.m = m;
	c.p = p;
	c.q = q;
	c.conc = conc;
	c.ex = work;
	c.e1 = work + m;
	c.cancel = cancel;
	/* ~100x a typical ARIMA(2,d,2) fit; reached only on pathological data */
	c.maxevals = 2000 + 400L * (p + q);

	/*
	 * Candidates of the automatic search (thorough = 0) are compared by
	 * AICc only, so a looser tolerance (log-likelihood to ~1e-4) is enough;
	 * the chosen model is polished afterwards (thorough = 2).
	 */
	c.reltol = (thorough == 0) ? 1e-6 : 1e-8;

	/*
	 * CSS with the mean fixed at the sample mean: concentrating mu out of
	 * the CSS objective creates spurious minima for non-invertible MA
	 * parameters (the exploding transient of the residual recursion can be
	 * cancelled by the choice of mu), so we only do that in the exact ML.
	 */
	if (conc)
	{
		double	   *xc = work + 3 * m;
		double		mean = 0.0;

		for (int t = 0; t < m; t++)
			mean += x[t];
		mean /= m;
		for (int t = 0; t < m; t++)
			xc[t] = x[t] - mean;
		c.xc = xc;
	}
	else
		c.xc = x;

	memset(par, 0, sizeof(par));
	if (k > 0)
	{
		/* 1. CSS for starting values (raw parameters) */
		c.css = 1;
		memset(css_par, 0, sizeof(css_par));
		if (m - p > k)
			arima_minimise_tol(&c, css_par, &fcss, 1e-5, 50);
		if (c.cancelled)
			goto cancelled;
		/* 2. ML over Jones-transformed AR, raw MA */
		c.css = 0;
		if (arima_invpartrans(p, css_par, par))
		{
			double		r = pz_arima_ma_min_root(css_par + p, q);

			memcpy(par + p, css_par + p, sizeof(double) * q);
			/* a wild CSS MA (far outside invertibility) is a poor start */
			if (!(r > 0.5))
				memset(par + p, 0, sizeof(double) * q);
			for (int i = 0; i < p; i++)
				if (fabs(par[i]) > 5.0)
					par[i] = copysign(5.0, par[i]);
		}
		else
			memset(par, 0, sizeof(par));	/* R stops here; we start at 0 */
#ifdef ARIMA_DEBUG
		fprintf(stderr, "css: %g %g %g | start %g %g %g f0=%g\n", css_par[0], css_par[1], css_par[2], par[0], par[1], par[2], arima_objective(&c, par));
#endif
		conv = arima_minimise(&c, par, &f);
#ifdef ARIMA_DEBUG
		fprintf(stderr, "ml: %g %g %g f=%g conv=%d evals=%ld\n", par[0], par[1], par[2], f, conv, c.nevals);
#endif
		if (c.cancelled)
			goto cancelled;

		/*
		 * Second start from zero (what R's method = "ML" does), unless the
		 * first one started there: the likelihood of ARMA models often has
		 * several local optima, and this is cheap insurance.
		 */
		{
			double		z[ARIMA_NPAR_MAX];
			double		fz;
			int			convz;
			int			nonzero = 0;
			int			suspicious = 0;

			for (int i = 0; i < k; i++)
				if (css_par[i] != 0.0)
					nonzero = 1;
			memset(z, 0, sizeof(z));

			/*
			 * Only when the first optimum looks doubtful: not converged, or
			 * on the stationarity / invertibility boundary, where most
			 * competing local optima are found.
			 */
			if (!conv || f >= ARIMA_BIG)
				suspicious = 1;
			else
			{
				double		ph2[ARIMA_MAX_PQ],
							th2[ARIMA_MAX_PQ];

				arima_unpack(&c, par, ph2, th2);
				if (pz_arima_ar_min_root(ph2, p) < 1.05)
					suspicious = 1;
				else if (q > 0)
				{
					double		mr = pz_arima_ma_min_root(th2, q);

					if (mr < 1.05 && mr > 1.0 / 1.05)
						suspicious = 1;
				}
			}
			if (nonzero && (thorough == 1 || suspicious))
			{
				/* a loose run first; polished below only if it wins */
				convz = arima_minimise_tol(&c, z, &fz, suspicious ? 1e-8 : 1e-4, 100);
				if (fz < f - 1e-9 && !suspicious)
					convz = arima_minimise(&c, z, &fz);
				if (c.cancelled)
					goto cancelled;
				if (fz < f - 1e-12 || (!conv && convz && fz <= f + 1e-9))
				{
					memcpy(par, z, sizeof(double) * k);
					f = fz;
					conv = convz;
				}
			}
		}

		/*
		 * The optimiser may have wandered into the non-invertible MA
		 * region, where the likelihood flattens out as the coefficients grow.
		 * Map to the invertible twin (same likelihood) and polish from there.
		 */
		if (q > 0)
		{
			double		tw[ARIMA_NPAR_MAX];
			double		ft;
			int			rc;

			memcpy(tw, par, sizeof(double) * k);
			rc = arima_ma_invert(tw + p, q);
			if (rc > 0)
			{
				int			convt;

				ft = arima_objective(&c, tw);
				convt = arima_minimise(&c, tw, &ft);
				if (c.cancelled)
					goto cancelled;
				if (ft <= f + 1e-9)
				{
					memcpy(par, tw, sizeof(double) * k);
					f = ft;
					conv = convt;
				}
			}
		}

		/*
		 * For q >= 2 the best optimum often lies on the invertibility
		 * boundary (roots on the unit circle, where the likelihood is
		 * symmetric under root flipping) while both starts stop at an
		 * interior local optimum: also try from the best point's MA roots
		 * projected onto the unit circle.
		 */
		if (q >= 2 && thorough == 1)
		{
			double		tw[ARIMA_NPAR_MAX];
			double		ft;

			memcpy(tw, par, sizeof(double) * k);
			if (arima_ma_to_circle(tw + p, q))
			{
				int			convt;

				ft = arima_objective(&c, tw);
				convt = arima_minimise(&c, tw, &ft);
				if (c.cancelled)
					goto cancelled;
				if (ft < f - 1e-12)
				{
					memcpy(par, tw, sizeof(double) * k);
					f = ft;
					conv = convt;
				}
			}
		}

		if (!conv || f >= ARIMA_BIG)
		{
			/* last resort: Nelder-Mead from the best point */
			int			convn = arima_minimise_nm(&c, par, &f);

			if (c.cancelled)
				goto cancelled;
			conv = convn;
		}
		if (!(f < ARIMA_BIG) || !isfinite(f))
		{
			set_err(errmsg, "likelihood optimisation failed%s", "");
			return PZ_ENOCONV;
		}
	}
	arima_unpack(&c, par, phi, theta);
	/* non-invertible MA -> invertible twin (same likelihood) */
	if (q > 0 && arima_ma_invert(theta, q) < 0)
	{
		set_err(errmsg, "MA root computation failed%s", "");
		return PZ_ENUMERIC;
	}
	if (!arima_kalman(x, m, phi, p, theta, q, conc ? 2 : 0, 0.0, 0, &kr,
					  NULL, NULL) || kr.nu == 0)
	{
		set_err(errmsg, "likelihood cannot be evaluated at the optimum%s", "");
		return PZ_ENUMERIC;
	}
	if (!(kr.ssq > 0.0))
	{
		set_err(errmsg, "zero residual variance: the series is perfectly predictable%s", "");
		return PZ_ENUMERIC;
	}
	memcpy(out->ar, phi, sizeof(double) * p);
	memcpy(out->ma, theta, sizeof(double) * q);
	out->mu = conc ? kr.mu : 0.0;
	out->sigma2 = kr.ssq / m;
	out->loglik = -0.5 * (m * log(kr.ssq / kr.nu) + kr.sumlog + m * (1.0 + LOG_2PI));
	out->converged = conv;
	return PZ_OK;

cancelled:
	set_err(errmsg, "ARIMA fit cancelled%s", "");
	return PZ_ECANCELLED;
}

/* internal entry used by pz_arima_auto: w is differenced, unscaled */
pz_status
pz_arima_fit_diffed(const double *w, int m, int p, int d, int q,
					int include_const, double scale, int thorough,
					const pz_cancel *cancel, double *work, arima_model *out,
					char *errmsg)
{
	double	   *xs = work + 4 * m;
	pz_status	st;
	arima_model mm;

	memset(&mm, 0, sizeof(mm));
	mm.p = p;
	mm.d = d;
	mm.q = q;
	mm.has_const = include_const ? 1 : 0;
	mm.nobs = m;
	for (int t = 0; t < m; t++)
		xs[t] = w[t] / scale;
	st = arima_fit_core(xs, m, p, q, mm.has_const, thorough, cancel, work,
						&mm, errmsg);
	if (st != PZ_OK)
		return st;
	/* undo the scaling: x = w / s */
	mm.mu *= scale;
	mm.sigma2 *= scale * scale;
	mm.loglik -= m * log(scale);
	mm.method = ARIMA_METHOD_ML;
	pz_arima_set_ic(&mm);
	*out = mm;
	return PZ_OK;
}

/* scale of the differenced series: RMS about the mean */

double
pz_arima_scale(const double *w, int m)
{
	double		mean = 0.0,
				ss = 0.0;

	for (int t = 0; t < m; t++)
		mean += w[t];
	mean /= m;
	for (int t = 0; t < m; t++)
		ss += (w[t] - mean) * (w[t] - mean);
	ss = sqrt(ss / m);
	if (!(ss > 0.0) || !isfinite(ss))
	{
		/* constant differenced series: scale by its level */
		ss = fabs(mean);
		if (!(ss > 0.0))
			ss = 1.0;
	}
	return ss;
}

pz_status
pz_arima_fit_model(const double *y, int n, int p, int d, int q, int include_const,
				   const pz_cancel *cancel, arima_model *out, char *errmsg)
{
	pz_status	st;
	double	   *buf;
	int			m;
	int			need;
	int			isconst = 1;

	if (errmsg)
		errmsg[0] = '\0';
	if ((st = check_series(y, n, errmsg)) != PZ_OK)
		return st;
	if ((st = check_order(p, d, q, include_const, errmsg)) != PZ_OK)
		return st;
	need = d + p + q + (include_const ? 1 : 0) + 2;
	if (n < need)
	{
		char		num[16];

		snprintf(num, sizeof(num), "%d", need);
		set_err(errmsg, "series too short for this ARIMA order: need at least %s observations", num);
		return PZ_EINVAL;
	}
	buf = pz_malloc(sizeof(double) * (6 * (size_t) n));
	if (buf == NULL)
	{
		set_err(errmsg, "out of memory%s", "");
		return PZ_ENOMEM;
	}
	m = arima_difference(y, n, d, buf);
	for (int t = 1; t < m; t++)
		if (buf[t] != buf[0])
			isconst = 0;
	if (isconst)
	{
		pz_free(buf);
		set_err(errmsg, "the (differenced) series is constant: ARIMA cannot be fitted%s", "");
		return PZ_EINVAL;
	}
	st = pz_arima_fit_diffed(buf, m, p, d, q, include_const, pz_arima_scale(buf, m),
							 1, cancel, buf + m, out, errmsg);
	pz_free(buf);
	return st;
}

double
pz_arima_normal_quantile(double level)
{
	return gsl_cdf_ugaussian_Pinv(0.5 + level / 2.0);
}

pz_status
pz_arima_forecast_model(const arima_model *m, const double *y, int n, int h,
						double *mean, double *se, char *errmsg)
{
	pz_status	st;
	double	   *w;
	int			len;
	int			p = m->p,
				q = m->q,
				d = m->d;
	int			r = (p > q + 1) ? p : q + 1;
	int			na;
	double		a[ARIMA_MAX_R],
				P[ARIMA_MAX_R * ARIMA_MAX_R];
	double		s[ARIMA_MAX_R + ARIMA_MAX_D];
	double		C[(ARIMA_MAX_R + ARIMA_MAX_D) * (ARIMA_MAX_R + ARIMA_MAX_D)];
	double		AC[(ARIMA_MAX_R + ARIMA_MAX_D) * (ARIMA_MAX_R + ARIMA_MAX_D)];
	double		A[(ARIMA_MAX_R + ARIMA_MAX_D) * (ARIMA_MAX_R + ARIMA_MAX_D)];
	double		delta[ARIMA_MAX_D];
	double		ph[ARIMA_MAX_R],
				rv[ARIMA_MAX_R];
	kf_result	kr;
	double		mu = m->has_const ? m->mu : 0.0;

	if (errmsg)
		errmsg[0] = '\0';
	if ((st = check_series(y, n, errmsg)) != PZ_OK)
		return st;
	if (h < 1 || h > ARIMA_MAX_H)
	{
		set_err(errmsg, "forecast horizon must be between 1 and %s", "10000");
		return PZ_EINVAL;
	}
	if ((st = check_order(p, d, q, m->has_const, errmsg)) != PZ_OK)
		return st;
	if (!(m->sigma2 >= 0.0) || !isfinite(m->mu))
	{
		set_err(errmsg, "invalid model%s", "");
		return PZ_EINVAL;
	}

	/* Fallback models are plain formulas. */
	if (m->method == ARIMA_METHOD_FALLBACK_MEAN ||
		m->method == ARIMA_METHOD_FALLBACK_NAIVE)
	{
		double		sd = sqrt(m->sigma2);

		for (int k = 0; k < h; k++)
		{
			if (m->method == ARIMA_METHOD_FALLBACK_MEAN)
			{
				mean[k] = m->mu;
				if (se)
					se[k] = sd;
			}
			else
			{
				mean[k] = y[n - 1] + (m->has_const ? m->mu * (k + 1) : 0.0);
				if (se)
					se[k] = sd * sqrt((double) (k + 1));
			}
		}

		/*
		 * As below for the fitted models: a finite series can still have
		 * an infinite variance (values near DBL_MAX; found by
		 * test/fuzz/fuzz_arima.c: 3.7e204 then 0 gave se = Inf, PZ_OK).
		 */
		for (int k = 0; k < h; k++)
			if (!isfinite(mean[k]) || (se && !isfinite(se[k])))
			{
				set_err(errmsg, "forecast is not finite (numerical overflow)%s", "");
				return PZ_ENUMERIC;
			}
		return PZ_OK;
	}

	if (n - d < 1)
	{
		set_err(errmsg, "series too short for the model's differencing%s", "");
		return PZ_EINVAL;
	}
	w = pz_malloc(sizeof(double) * n);
	if (w == NULL)
	{
		set_err(errmsg, "out of memory%s", "");
		return PZ_ENOMEM;
	}
	len = arima_difference(y, n, d, w);
	if (!arima_kalman(w, len, m->ar, p, m->ma, q, m->has_const ? 1 : 0, mu,
					  0, &kr, a, P))
	{
		pz_free(w);
		set_err(errmsg, "Kalman filter failed (non-stationary AR part?)%s", "");
		return PZ_ENUMERIC;
	}
	pz_free(w);

	/*
	 * Augmented state (alpha, L) with L = (y_{t-1}, ..., y_{t-d}):
	 *   y_t = alpha_t[0] + mu + delta' L,
	 *   alpha_{t+1} = T alpha_t + R e,  L' = (y_t, L[0..d-2]).
	 * (1-B)^d = 1 - delta_1 B - ... : d=1: (1); d=2: (2, -1).
	 */
	if (d == 1)
		delta[0] = 1.0;
	else if (d == 2)
	{
		delta[0] = 2.0;
		delta[1] = -1.0;
	}
	na = r + d;
	for (int i = 0; i < r; i++)
	{
		ph[i] = (i < p) ? m->ar[i] : 0.0;
		rv[i] = (i == 0) ? 1.0 : ((i <= q) ? m->ma[i - 1] : 0.0);
	}
	memset(C, 0, sizeof(C));
	for (int i = 0; i < r; i++)
	{
		s[i] = a[i];
		for (int j = 0; j < r; j++)
			C[i * na + j] = P[i * r + j];
	}
	for (int k = 0; k < d; k++)
		s[r + k] = y[n - 1 - k];
	/* transition matrix A */
	memset(A, 0, sizeof(A));
	for (int i = 0; i < r; i++)
	{
		A[i * na + 0] = ph[i];
		if (i + 1 < r)
			A[i * na + i + 1] = 1.0;
	}
	if (d > 0)
	{
		A[r * na + 0] = 1.0;
		for (int k = 0; k < d; k++)
			A[r * na + r + k] = delta[k];
		for (int k = 1; k < d; k++)
			A[(r + k) * na + r + k - 1] = 1.0;
	}
	for (int step = 0; step < h; step++)
	{
		double		ym = s[0] + mu;
		double		v = C[0];

		for (int k = 0; k < d; k++)
		{
			ym += delta[k] * s[r + k];
			v += 2.0 * delta[k] * C[r + k];
			for (int l = 0; l < d; l++)
				v += delta[k] * delta[l] * C[(r + k) * na + r + l];
		}
		mean[step] = ym;
		if (se)
			se[step] = sqrt((v > 0.0 ? v : 0.0) * m->sigma2);
		if (step == h - 1)
			break;
		/* s = A s (+ mu into the new lag), C = A C A' + RR' */
		{
			double		ns[ARIMA_MAX_R + ARIMA_MAX_D] = {0};

			for (int i = 0; i < na; i++)
			{
				double		acc = 0.0;

				for (int j = 0; j < na; j++)
					acc += A[i * na + j] * s[j];
				ns[i] = acc;
			}
			if (d > 0)
				ns[r] += mu;
			memcpy(s, ns, sizeof(double) * na);
		}
		for (int i = 0; i < na; i++)
			for (int j = 0; j < na; j++)
			{
				double		acc = 0.0;

				for (int k = 0; k < na; k++)
					acc += A[i * na + k] * C[k * na + j];
				AC[i * na + j] = acc;
			}
		for (int i = 0; i < na; i++)
			for (int j = 0; j < na; j++)
			{
				double		acc = 0.0;

				for (int k = 0; k < na; k++)
					acc += AC[i * na + k] * A[j * na + k];
				C[i * na + j] = acc + ((i < r && j < r) ? rv[i] * rv[j] : 0.0);
			}
	}
	for (int k = 0; k < h; k++)
		if (!isfinite(mean[k]) || (se && !isfinite(se[k])))
		{
			set_err(errmsg, "forecast is not finite (numerical overflow)%s", "");
			return PZ_ENUMERIC;
		}
	return PZ_OK;
}
