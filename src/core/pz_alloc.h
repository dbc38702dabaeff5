/*
 * pz_alloc.h — the core's memory, through handlers the host sets.
 *
 * The core never calls malloc directly: pz_malloc and friends go through
 * handlers (liblwgeom's lwalloc pattern).  The unit tests, fuzzers and
 * benchmarks keep the default (the C library); the PostgreSQL glue installs
 * handlers that allocate in a memory context, so that PostgreSQL sees and
 * bounds the core's memory and an ERROR frees all of it.  A handler returns
 * NULL when it cannot or may not allocate; the core then frees what it holds
 * and returns PZ_ENOMEM.  (GSL's own workspaces still come from malloc: the
 * core frees them on every path.)
 */
#ifndef PZ_ALLOC_H
#define PZ_ALLOC_H

#include <stddef.h>

typedef struct pz_allocator
{
	void	   *(*alloc) (size_t size);
	void	   *(*realloc) (void *ptr, size_t size);
	void		(*free) (void *ptr);
} pz_allocator;

/* Install handlers for this process (NULL: back to the C library). */
void		pz_set_allocator(const pz_allocator *allocator);

void	   *pz_malloc(size_t size);
void	   *pz_calloc(size_t n, size_t size);	/* zeroed; NULL on overflow */
void	   *pz_realloc(void *ptr, size_t size);
void		pz_free(void *ptr);		/* NULL is fine */

#endif							/* PZ_ALLOC_H */
