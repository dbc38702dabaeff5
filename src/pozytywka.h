/*
 * pozytywka.h — shared declarations of the PostgreSQL glue.
 *
 * The glue is thin: it validates SQL arguments, converts them to plain C
 * arrays, calls the pure core in src/core/ and turns the core's status
 * codes into ereport(ERROR) with a proper SQLSTATE.
 */
#ifndef POZYTYWKA_H
#define POZYTYWKA_H

#include "postgres.h"
#include "fmgr.h"
#include "utils/array.h"

#include "pz_common.h"

/* Reports a pending query cancel or statement_timeout to the core. */
extern pz_cancel pz_pg_cancel;

/* Raise ERROR for a non-OK core status; returns only for PZ_OK. */
extern void pz_report(pz_status status, const char *reason);

/*
 * Copy a one-dimensional float8[] into a palloc'd C array, rejecting NULL
 * elements, NaN/Infinity, multi-dimensional arrays and arrays longer than
 * max_len.  'what' names the argument in error messages.
 */
extern double *pz_float8_array(ArrayType *arr, const char *what,
							   int min_len, int max_len, int *len_out);

/*
 * Argument argno as a non-NULL series of 1 .. PZ_MAX_SERIES_LEN finite
 * values (pz_float8_array's checks, plus "series must not be NULL").
 */
extern double *pz_series_arg(FunctionCallInfo fcinfo, int argno, int *len_out);

/* Longest series any function accepts (one value a week: ~190 years). */
#define PZ_MAX_SERIES_LEN 10000

#endif							/* POZYTYWKA_H */
