/*
 * tap.h — a minimal Test Anything Protocol emitter for the C unit tests.
 *
 * Each unit test is a standalone program: it prints "ok N - name" or
 * "not ok N - name" per assertion and exits non-zero if any failed.
 * test/run_tests.sh counts these lines into the overall summary.
 */
#ifndef PZ_TAP_H
#define PZ_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

static int	tap_count = 0;
static int	tap_failed = 0;

/* printf-checked, as PostgreSQL's -Wmissing-format-attribute asks */
static inline int tap_ok(int cond, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
static inline void tap_diag(const char *fmt,...)
			__attribute__((format(printf, 1, 2)));

static inline int
tap_ok(int cond, const char *fmt,...)
{
	va_list		ap;

	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

/* |got - want| <= abs_tol + rel_tol * |want|; NaN never passes. */
static inline int
tap_close(double got, double want, double abs_tol, double rel_tol,
		  const char *name)
{
	int			cond = isfinite(got) && isfinite(want) &&
		fabs(got - want) <= abs_tol + rel_tol * fabs(want);

	tap_ok(cond, "%s", name);
	if (!cond)
		printf("#   got %.12g, want %.12g (abs tol %g, rel tol %g)\n",
			   got, want, abs_tol, rel_tol);
	return cond;
}

static inline void
tap_diag(const char *fmt,...)
{
	va_list		ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Call last from main(): prints the plan and returns the exit status. */
static inline int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	if (tap_failed)
		printf("# %d of %d assertions failed\n", tap_failed, tap_count);
	return tap_failed ? 1 : 0;
}

#endif							/* PZ_TAP_H */
