/*
 * baselines.c — persistence, moving mean, EWMA and linear-trend forecasts.
 */
#include "baselines.h"

double
pz_baseline_mean_last(const double *y, int n, int k)
{
	int			m = k < n ? k : n;
	double		sum = 0.0;

	for (int i = n - m; i < n; i++)
		sum += y[i];
	return sum / m;
}

double
pz_baseline_ewma(const double *y, int n, double alpha)
{
	double		s = y[0];

	for (int i = 1; i < n; i++)
		s = alpha * y[i] + (1.0 - alpha) * s;
	return s;
}

double
pz_baseline_trend(const double *y, int n, int k)
{
	int			m = k < n ? k : n;
	const double *w = y + (n - m);
	double		tbar = (m - 1) / 2.0;
	double		ybar = 0.0;
	double		sxy = 0.0;
	double		sxx = 0.0;

	if (m < 2)
		return w[m - 1];
	for (int t = 0; t < m; t++)
		ybar += w[t];
	ybar /= m;
	for (int t = 0; t < m; t++)
	{
		sxy += (t - tbar) * (w[t] - ybar);
		sxx += (t - tbar) * (t - tbar);
	}
	/* the fitted line at t = m, one step past the window */
	return ybar + (sxy / sxx) * (m - tbar);
}
