/*
 * fuzz_arima.c — libFuzzer harness for the ARIMA core: arbitrary series
 * (raw doubles, including NaN/Inf/huge values, or small integers), orders,
 * horizons and modes.  Any status is fine; crashes, sanitizer reports,
 * leaks, non-finite forecasts with PZ_OK, and hangs are not.
 *
 * Build (from the repository root, with every core source file):
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/core \
 *     test/fuzz/fuzz_arima.c src/core/[all .c files] -lgsl -lgslcblas -lm
 */
#include "arima.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

/*
 * Built for speed: short series and capped orders (a fit of a long series
 * with high orders takes milliseconds, which left the fuzzer at a few
 * executions per second).  The weekly histories the models see are
 * 8..52 weeks; the code paths are the same (auto: p, q <= 1, d <= 2).
 */
#define FUZZ_MAXN 24

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	init = 0;
	double		y[FUZZ_MAXN];
	double		fc[16],
				se[16];
	int			n = 0;
	arima_model m;
	char		err[PZ_ERRMSG_LEN];
	pz_status	st;
	int			p,
				d,
				q,
				c,
				h,
				mode;

	if (!init)
	{
		gsl_set_error_handler_off();
		init = 1;
	}
	if (size < 4)
		return 0;
	/* header: orders may be out of range on purpose (-1 .. 2, d -1 .. 2) */
	p = (data[0] % 4) - 1;
	d = (data[1] % 4) - 1;
	q = (data[2] % 4) - 1;
	c = (data[3] >> 4) & 1;
	h = (data[3] & 15);			/* 0 is invalid on purpose */
	mode = data[3] >> 5;
	data += 4;
	size -= 4;
	if (mode & 1)
	{
		/* raw doubles */
		while (size >= 8 && n < FUZZ_MAXN)
		{
			memcpy(&y[n++], data, 8);
			data += 8;
			size -= 8;
		}
	}
	else
	{
		/* small counts, like weekly plays */
		while (size >= 1 && n < FUZZ_MAXN)
		{
			y[n++] = (double) data[0];
			data++;
			size--;
		}
	}

	if (mode & 2)
	{
		arima_auto_opts opts;

		pz_arima_auto_opts_default(&opts);
		opts.max_p = 1;
		opts.max_q = 1;
		opts.max_order = 2;
		opts.max_d = 1;
		st = pz_arima_auto(y, n, &opts, NULL, &m, err);
	}
	else
		st = pz_arima_fit_model(y, n, p, d, q, c, NULL, &m, err);
	if (st == PZ_OK)
	{
		double		ll,
					s2;

		st = pz_arima_forecast_model(&m, y, n, h, fc, se, err);
		if (st == PZ_OK)
			for (int i = 0; i < h; i++)
				if (!isfinite(fc[i]) || !isfinite(se[i]) || se[i] < 0.0)
					abort();
		if (m.method == ARIMA_METHOD_ML)
			(void) pz_arima_loglik(&m, y, n, (mode >> 2) & 1, &ll, &s2, err);
	}
	if (n > 0)
	{
		volatile double k = pz_arima_kpss_stat(y, n);
		volatile int nd = pz_arima_ndiffs(y, n, 0.05, 2);

		(void) k;
		(void) nd;
	}
	return 0;
}
