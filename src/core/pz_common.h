/*
 * pz_common.h — definitions shared by the pure-C numerical core.
 *
 * Nothing under src/core/ may include postgres.h: the core is plain C + GSL,
 * built into the extension and, unchanged, into the standalone unit tests,
 * fuzzers and benchmarks.  The PostgreSQL glue in src/ translates these
 * status codes into ereport(ERROR) with a proper SQLSTATE.
 */
#ifndef PZ_COMMON_H
#define PZ_COMMON_H

#include <stddef.h>

#include "pz_alloc.h"

typedef enum pz_status
{
	PZ_OK = 0,
	PZ_EINVAL,					/* bad argument (caller's fault) */
	PZ_ENOMEM,					/* allocation failed or size limit exceeded */
	PZ_ENOCONV,					/* optimiser did not converge / no usable fit */
	PZ_ENUMERIC,				/* numerical failure (singular matrix, NaN) */
	PZ_ECANCELLED,				/* the cancel hook asked us to stop */
	PZ_ECORRUPT,				/* serialized data is corrupt or truncated */
	PZ_EVERSION					/* serialized data from another format version */
} pz_status;

/*
 * Cooperative cancellation.  Long loops in the core call the hook; when it
 * returns non-zero the core frees what it allocated and returns
 * PZ_ECANCELLED.  The glue's hook only *reads* PostgreSQL's pending-cancel
 * flags; the glue then calls CHECK_FOR_INTERRUPTS() after the core has
 * unwound, so no malloc'd or GSL memory is leaked by a longjmp.
 */
typedef int (*pz_cancel_fn) (void *arg);

typedef struct pz_cancel
{
	pz_cancel_fn fn;
	void	   *arg;
} pz_cancel;

static inline int
pz_cancelled(const pz_cancel *c)
{
	return c != NULL && c->fn != NULL && c->fn(c->arg);
}

/* Room for a human-readable error detail written by the core. */
#define PZ_ERRMSG_LEN 256

const char *pz_status_name(pz_status status);

#endif							/* PZ_COMMON_H */
