/*
 * lstm_features.c — inputs of the global popularity LSTM; see
 * lstm_features.h.
 */
#include "lstm_features.h"

#include <math.h>

const char *const pz_lstm_feature_names[PZ_LSTM_NFEAT] = {
	"log1p_score_minus_level", "like_rate", "skip_rate", "level", "log1p_age_years"
};

static double
rate(double num, double plays)
{
	double		r = (num > 0.0 ? num : 0.0) / (plays > 1.0 ? plays : 1.0);

	return r < 2.0 ? r : 2.0;
}

void
pz_lstm_features(int n, int T, const double *raw, const double *age,
				 double *x, double *level)
{
	int			b,
				t;

	for (b = 0; b < n; b++)
	{
		const double *r = raw + (size_t) b * T * PZ_LSTM_NRAW;
		double	   *xb = x + (size_t) b * T * PZ_LSTM_NFEAT;
		double		lv = 0.0,
					a = age[b] >= 0.0 ? log1p(age[b] / 52.0) : 0.0;

		for (t = 0; t < T; t++)
			lv += log1p(fmax(r[t * PZ_LSTM_NRAW], 0.0));
		lv /= T;
		for (t = 0; t < T; t++)
		{
			const double *rt = r + t * PZ_LSTM_NRAW;
			double	   *xt = xb + t * PZ_LSTM_NFEAT;

			xt[0] = log1p(fmax(rt[0], 0.0)) - lv;
			xt[1] = rate(rt[2], rt[1]);
			xt[2] = rate(rt[3], rt[1]);
			xt[3] = lv;
			xt[4] = a;
		}
		level[b] = lv;
	}
}

double
pz_lstm_target(double next_score, double level)
{
	return log1p(fmax(next_score, 0.0)) - level;
}

double
pz_lstm_score(double pred, double level)
{
	double		s = expm1(fmin(level + pred, 700.0));

	return s > 0.0 ? s : 0.0;
}

void
pz_lstm_feature_stats(int n, int T, int F, const double *x, double *mean,
					  double *std)
{
	size_t		rows = (size_t) n * T,
				k;
	int			f;

	for (f = 0; f < F; f++)
	{
		double		s = 0.0,
					s2 = 0.0,
					m;

		for (k = 0; k < rows; k++)
			s += x[k * F + f];
		m = rows ? s / rows : 0.0;
		for (k = 0; k < rows; k++)
			s2 += (x[k * F + f] - m) * (x[k * F + f] - m);
		mean[f] = m;
		std[f] = rows > 1 ? sqrt(s2 / (rows - 1)) : 1.0;
		if (!(std[f] > 1e-9))
			std[f] = 1.0;
	}
}

void
pz_lstm_standardise(int n, int T, int F, double *x, const double *mean,
					const double *std)
{
	size_t		rows = (size_t) n * T,
				k;
	int			f;

	for (k = 0; k < rows; k++)
		for (f = 0; f < F; f++)
			x[k * F + f] = (x[k * F + f] - mean[f]) / std[f];
}
