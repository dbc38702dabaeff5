/*
 * demo_data_core.c — speed of the generator's C core alone (no database):
 * building the world and expanding every week into events.
 *
 *   bench/demo_data_bench.sh builds and runs it (gcc -O2 with every
 *   src/core .c file, like the unit tests).
 */
#include <stdio.h>
#include <time.h>

#include "demogen.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
run(const char *label, demogen_params p)
{
	demogen_world *w;
	char		err[PZ_ERRMSG_LEN];
	double		t0 = now(),
				t1,
				t2;
	long long	n = 0;

	if (pz_demogen_world_create(&p, &w, NULL, err) != PZ_OK)
	{
		printf("%s: %s\n", label, err);
		return;
	}
	t1 = now();
	for (int k = 0; k < pz_demogen_n_weeks(w); k++)
	{
		demogen_events e;

		if (pz_demogen_week_events(w, k, &e, NULL, err) != PZ_OK)
		{
			printf("%s: %s\n", label, err);
			break;
		}
		n += (long long) e.n;
		pz_demogen_events_free(&e);
	}
	t2 = now();
	printf("| %-24s | %11lld | %9.3f | %12.3f | %10.2f |\n",
		   label, n, t1 - t0, (t2 - t1) / pz_demogen_n_weeks(w), n / (t2 - t1) / 1e6);
	pz_demogen_world_free(w);
}

int
main(void)
{
	demogen_params def = {52, 2, 150000, 5000, 800, 10000, 42, 9193};
	demogen_params big = {52, 2, 1000000, 20000, 3000, 100000, 7, 9193};

	printf("| %-24s | %11s | %9s | %12s | %10s |\n",
		   "run", "events", "world s", "s per week", "M events/s");
	printf("|--------------------------|-------------|-----------|--------------|------------|\n");
	run("default (52 w x ~150k)", def);
	run("52 w x 1M, 20k tracks", big);
	return 0;
}
