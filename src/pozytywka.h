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

/*
 * The module is built with -fvisibility=hidden and -DPGDLLEXPORT=default
 * visibility (Makefile), so that it exports only what PostgreSQL looks up:
 * Pg_magic_func, _PG_init and the SQL entry points with their pg_finfo_*.
 * PostgreSQL 16 declares both the entry point and its info function
 * PGDLLEXPORT in PG_FUNCTION_INFO_V1; 15 declares only the info function,
 * so redefine the macro as 16 has it.
 */
#if PG_VERSION_NUM < 160000
#undef PG_FUNCTION_INFO_V1
#define PG_FUNCTION_INFO_V1(funcname) \
extern PGDLLEXPORT Datum funcname(PG_FUNCTION_ARGS); \
extern PGDLLEXPORT const Pg_finfo_record * CppConcat(pg_finfo_,funcname)(void); \
const Pg_finfo_record * \
CppConcat(pg_finfo_,funcname) (void) \
{ \
	static const Pg_finfo_record my_finfo = { 1 }; \
	return &my_finfo; \
} \
extern int no_such_variable
#endif

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
