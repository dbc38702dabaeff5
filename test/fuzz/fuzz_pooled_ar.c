/*
 * fuzz_pooled_ar.c — libFuzzer harness for the pooled autoregression
 * (src/core/pooled_ar.c): matrices of up to 24 tracks x 40 weeks, built
 * for speed.
 *
 *   make fuzz-bins && test/fuzz/bin/fuzz_pooled_ar -max_total_time=60 \
 *       test/fuzz/corpus/pooled_ar
 *
 * Input: a 6-byte header, then the scores.
 *   [0] weeks H = 1 + b % 40 (1 is invalid on purpose)
 *   [1] tracks m = b % 25 (0 allowed)
 *   [2] train_weeks = b % 45 (0 and >= H invalid on purpose)
 *   [3] ridge: one of 0, 1e-3, 1, 1e6, -1 (invalid), NaN (invalid)
 *   [4] mode: bit 0 raw doubles (NaN, Inf, huge) else small counts; bit 1
 *       NaN anywhere (not only before a track's first week); bit 2 cancel
 *       after [5] polls
 *   [5] cancel budget
 * then per track one byte: its first week (the weeks before it are NaN),
 * and one byte: predict or not; then its scores.
 * Any status is fine; crashes, sanitizer reports, leaks and hangs are not,
 * and with PZ_OK: rows not asked for are NaN, rows asked for whose origin
 * week is a number get a number that is not NaN or +Inf (when NaN marks
 * only the weeks before a track's first, as the contract says).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "pooled_ar.h"

#define FUZZ_MAXH 40
#define FUZZ_MAXM 24

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
cancel_after(void *arg)
{
	int		   *left = arg;

	return (*left)-- <= 0;
}

static double
next_value(const uint8_t **data, size_t *size, int raw)
{
	double		v = 0.0;

	if (raw && *size >= 8)
	{
		memcpy(&v, *data, 8);
		*data += 8;
		*size -= 8;
	}
	else if (*size >= 1)
	{
		v = (double) (*data)[0];
		*data += 1;
		*size -= 1;
	}
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const double ridges[] = {0.0, 1e-3, 1.0, 1e6, -1.0, NAN};
	static int	init = 0;
	double		Y[FUZZ_MAXM * FUZZ_MAXH];
	unsigned char predict[FUZZ_MAXM];
	double		out[FUZZ_MAXM];
	pooled_ar_opts opts;
	pooled_ar_report rep;
	pz_cancel	cancel;
	int			budget;
	char		err[PZ_ERRMSG_LEN];
	pz_status	st;
	int			H,
				m,
				mode;

	if (!init)
	{
		gsl_set_error_handler_off();	/* as the extension does */
		init = 1;
	}
	if (size < 6)
		return 0;
	H = 1 + data[0] % FUZZ_MAXH;
	m = data[1] % (FUZZ_MAXM + 1);
	opts.train_weeks = data[2] % 45;
	opts.ridge = ridges[data[3] % 6];
	mode = data[4];
	budget = data[5];
	data += 6;
	size -= 6;

	for (int i = 0; i < m; i++)
	{
		int			first = 0;

		if (size >= 2)
		{
			first = data[0] % (H + 1);	/* H: the track has no week at all */
			predict[i] = data[1] & 1;
			data += 2;
			size -= 2;
		}
		else
			predict[i] = 1;
		for (int s = 0; s < H; s++)
		{
			if (s < first)
				Y[i * H + s] = NAN;
			else
			{
				double		v = next_value(&data, &size, mode & 1);

				if ((mode & 2) && v == 7.0)
					v = NAN;
				Y[i * H + s] = v;
			}
		}
	}

	cancel.fn = cancel_after;
	cancel.arg = &budget;
	st = pz_pooled_ar_fit_predict(Y, m, H, predict, &opts,
								  (mode & 4) ? &cancel : NULL, out, &rep, err);
	/* NaN inside a track's weeks is outside the contract: no check then */
	if (st == PZ_OK && !(mode & 2))
	{
		for (int i = 0; i < m; i++)
		{
			double		origin = Y[i * H + H - 1];

			if (!predict[i] && !isnan(out[i]))
				abort();
			if (predict[i] && !isnan(origin) && (isnan(out[i]) || out[i] == INFINITY))
				abort();
		}
	}
	return 0;
}
