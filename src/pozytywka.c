/*
 * pozytywka.c — module initialisation and helpers shared by the glue.
 */
#include "pozytywka.h"

#include <limits.h>
#include <math.h>

#include <gsl/gsl_errno.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "lstm_kern.h"

PG_MODULE_MAGIC;

extern PGDLLEXPORT void _PG_init(void);

/*
 * The core polls this between iterations.  It only reads the flags that
 * ProcessInterrupts() would act on for a cancel, statement_timeout or
 * termination; the glue calls CHECK_FOR_INTERRUPTS() once the core has
 * freed its memory and returned PZ_ECANCELLED.
 */
static int
pz_pg_cancel_pending(void *arg)
{
	return QueryCancelPending || ProcDiePending;
}

pz_cancel	pz_pg_cancel = {pz_pg_cancel_pending, NULL};

/*
 * The core's memory (src/core/pz_alloc.h): palloc'd in the glue's current
 * memory context, so an ERROR frees it with that context, and counted, so
 * that no call of the core holds more than pozytywka.core_memory_limit
 * (default: maintenance_work_mem).  Each chunk carries its size.  The count
 * starts again at every transaction end: no core object outlives one glue
 * call, and memory an ERROR left to its context is gone by then.
 */
static int	pz_core_memory_limit_kb = -1;
static Size pz_core_memory_used;
static bool pz_core_memory_refused;

typedef union pz_chunk_header
{
	Size		size;
	max_align_t align;
} pz_chunk_header;

static Size
pz_core_memory_limit(void)
{
	int			kb = pz_core_memory_limit_kb >= 0 ? pz_core_memory_limit_kb : maintenance_work_mem;

	return (Size) kb * 1024;
}

static void *
pz_pg_alloc(size_t size)
{
	pz_chunk_header *h;

	if (size > MaxAllocHugeSize - sizeof(pz_chunk_header) ||
		pz_core_memory_used + size > pz_core_memory_limit())
	{
		pz_core_memory_refused = true;
		return NULL;
	}
	h = MemoryContextAllocExtended(CurrentMemoryContext, sizeof(pz_chunk_header) + size,
								   MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	if (h == NULL)
		return NULL;
	h->size = size;
	pz_core_memory_used += size;
	return h + 1;
}

static void
pz_pg_free(void *ptr)
{
	pz_chunk_header *h = (pz_chunk_header *) ptr - 1;

	pz_core_memory_used -= Min(h->size, pz_core_memory_used);
	pfree(h);
}

static void *
pz_pg_realloc(void *ptr, size_t size)
{
	pz_chunk_header *h = (pz_chunk_header *) ptr - 1;
	void	   *fresh = pz_pg_alloc(size);

	if (fresh == NULL)
		return NULL;
	memcpy(fresh, ptr, Min(h->size, size));
	pz_pg_free(ptr);
	return fresh;
}

static const pz_allocator pz_pg_allocator = {pz_pg_alloc, pz_pg_realloc, pz_pg_free};

static void
pz_core_memory_xact_end(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		pz_core_memory_used = 0;
		pz_core_memory_refused = false;
	}
}

/*
 * pozytywka.lstm_kernel: the widest SIMD kernels LSTM training and
 * prediction may use (src/core/lstm_kern.h).  Results differ between kernel
 * sets by rounding only; a narrower set reproduces a model trained on a
 * machine without AVX2 or AVX-512, or times the portable code.
 */
static int	pz_lstm_kernel = PZ_LSTM_KERN_AUTO;

static const struct config_enum_entry pz_lstm_kernel_options[] = {
	{"auto", PZ_LSTM_KERN_AUTO, false},
	{"generic", PZ_LSTM_KERN_GENERIC, false},
	{"avx2", PZ_LSTM_KERN_AVX2, false},
	{"avx512", PZ_LSTM_KERN_AVX512, false},
	{NULL, 0, false}
};

static void
pz_lstm_kernel_assign(int newval, void *extra)
{
	pz_lstm_kern_set_cap((pz_lstm_kern_cap) newval);
}

void
_PG_init(void)
{
	/*
	 * GSL's default error handler calls abort(), which would take the whole
	 * server down.  Every GSL return code is checked by the core instead.
	 */
	gsl_set_error_handler_off();

	DefineCustomIntVariable("pozytywka.core_memory_limit",
							"Most memory one call of pozytywka's numerical core (training, fits) may hold.",
							"-1 uses maintenance_work_mem.",
							&pz_core_memory_limit_kb,
							-1, -1, MAX_KILOBYTES,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomEnumVariable("pozytywka.lstm_kernel",
							 "Widest SIMD kernels the LSTM may use: auto, generic, avx2 or avx512.",
							 "auto takes the widest the CPU runs; a wider choice than the CPU has takes the widest it has.  Results differ between kernels by rounding only.",
							 &pz_lstm_kernel,
							 PZ_LSTM_KERN_AUTO, pz_lstm_kernel_options,
							 PGC_USERSET, 0,
							 NULL, pz_lstm_kernel_assign, NULL);
	MarkGUCPrefixReserved("pozytywka");
	pz_set_allocator(&pz_pg_allocator);
	RegisterXactCallback(pz_core_memory_xact_end, NULL);
}

void
pz_report(pz_status status, const char *reason)
{
	const char *detail = (reason && reason[0]) ? reason : pz_status_name(status);

	switch (status)
	{
		case PZ_OK:
			return;
		case PZ_EINVAL:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s", detail)));
			break;
		case PZ_ENOMEM:
			if (pz_core_memory_refused)
			{
				pz_core_memory_refused = false;
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("the computation needs more memory than pozytywka.core_memory_limit allows (%zu kB)",
								pz_core_memory_limit() / 1024),
						 errdetail("%s", detail),
						 errhint("Raise pozytywka.core_memory_limit (default: maintenance_work_mem) for this session, or ask for less (fewer windows, a smaller network).")));
			}
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("%s", detail)));
			break;
		case PZ_ECANCELLED:
			CHECK_FOR_INTERRUPTS();
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("canceling statement due to user request")));
			break;
		case PZ_ECORRUPT:
		case PZ_EVERSION:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("%s", detail)));
			break;
		case PZ_ENOCONV:
		case PZ_ENUMERIC:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s", detail)));
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("unexpected status %d from the numerical core", (int) status)));
}

double *
pz_float8_array(ArrayType *arr, const char *what, int min_len, int max_len,
				int *len_out)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	double	   *out;

	if (ARR_ELEMTYPE(arr) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s must be a float8[] array", what)));
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array, not %d-dimensional",
						what, ARR_NDIM(arr))));
	n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if (n > max_len)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s has %d elements, more than the limit of %d",
						what, n, max_len)));
	if (n < min_len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s has %d elements, at least %d are needed",
						what, n, min_len)));

	deconstruct_array(arr, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	out = palloc(sizeof(double) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		double		v;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL elements (element %d is NULL)",
							what, i + 1)));
		v = DatumGetFloat8(elems[i]);
		if (!isfinite(v))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must contain only finite values (element %d is %s)",
							what, i + 1, isnan(v) ? "NaN" : "infinite")));
		out[i] = v;
	}
	pfree(elems);
	pfree(nulls);
	*len_out = n;
	return out;
}

double *
pz_series_arg(FunctionCallInfo fcinfo, int argno, int *len_out)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("series must not be NULL")));
	return pz_float8_array(PG_GETARG_ARRAYTYPE_P(argno), "series", 1,
						   PZ_MAX_SERIES_LEN, len_out);
}
