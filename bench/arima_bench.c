/*
 * arima_bench.c — timings of the ARIMA core on the benchmark series
 * (bench/arima_series.R).  Usage: arima_bench SERIES_FILE [REPEATS]
 * Prints "c_arima111 wall_ms cpu_ms failures" and "c_auto wall_ms cpu_ms
 * failures fallbacks" (per series), the format of the R, Python and SQL
 * scripts; CPU time is what to compare when the machine is busy.
 */
#include "arima.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_errno.h>

#define MAXS 2000
#define MAXN 1000

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double
cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	static double y[MAXS][MAXN];
	static int	len[MAXS];
	int			ns = 0;
	int			reps = argc > 2 ? atoi(argv[2]) : 3;
	FILE	   *f;
	char	   *line = malloc(1 << 20);
	double		t0,
				t1,
				c0,
				c1;
	int			fail = 0,
				fb = 0;
	arima_model m;
	char		err[PZ_ERRMSG_LEN];
	double		fc,
				se;
	int			orders[6] = {0};

	gsl_set_error_handler_off();
	if (argc < 2 || (f = fopen(argv[1], "r")) == NULL)
	{
		fprintf(stderr, "usage: arima_bench SERIES_FILE [REPEATS]\n");
		return 2;
	}
	while (ns < MAXS && fgets(line, 1 << 20, f))
	{
		char	   *tok = strtok(line, " \n");

		len[ns] = 0;
		while (tok && len[ns] < MAXN)
		{
			y[ns][len[ns]++] = strtod(tok, NULL);
			tok = strtok(NULL, " \n");
		}
		if (len[ns] > 0)
			ns++;
	}
	fclose(f);
	free(line);

	t0 = now_ms();
	c0 = cpu_ms();
	for (int r = 0; r < reps; r++)
		for (int i = 0; i < ns; i++)
		{
			pz_status	st = pz_arima_fit_model(y[i], len[i], 1, 1, 1, 0, NULL, &m, err);

			if (st == PZ_OK)
				st = pz_arima_forecast_model(&m, y[i], len[i], 1, &fc, &se, err);
			if (st != PZ_OK && r == 0)
				fail++;
		}
	t1 = now_ms();
	c1 = cpu_ms();
	printf("c_arima111 %.4f %.4f %d\n", (t1 - t0) / (reps * ns),
		   (c1 - c0) / (reps * ns), fail);

	fail = 0;
	t0 = now_ms();
	c0 = cpu_ms();
	for (int r = 0; r < reps; r++)
		for (int i = 0; i < ns; i++)
		{
			pz_status	st = pz_arima_auto(y[i], len[i], NULL, NULL, &m, err);

			if (st == PZ_OK)
				st = pz_arima_forecast_model(&m, y[i], len[i], 1, &fc, &se, err);
			if (r == 0)
			{
				if (st != PZ_OK)
					fail++;
				else if (m.method != ARIMA_METHOD_ML)
					fb++;
				else if (m.d < 3)
					orders[m.d]++;
			}
		}
	t1 = now_ms();
	c1 = cpu_ms();
	printf("c_auto %.4f %.4f %d %d\n", (t1 - t0) / (reps * ns),
		   (c1 - c0) / (reps * ns), fail, fb);
	fprintf(stderr, "auto chose d=0: %d, d=1: %d, d=2: %d, fall-backs: %d\n",
			orders[0], orders[1], orders[2], fb);
	return 0;
}
