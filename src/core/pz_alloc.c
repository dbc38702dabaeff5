/*
 * pz_alloc.c — the core's allocation handlers (see pz_alloc.h).
 */
#include "pz_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *
libc_alloc(size_t size)
{
	return malloc(size ? size : 1);
}

static void *
libc_realloc(void *ptr, size_t size)
{
	return realloc(ptr, size ? size : 1);
}

static const pz_allocator libc_allocator = {libc_alloc, libc_realloc, free};
static pz_allocator current = {libc_alloc, libc_realloc, free};

void
pz_set_allocator(const pz_allocator *allocator)
{
	current = allocator ? *allocator : libc_allocator;
}

void *
pz_malloc(size_t size)
{
	return current.alloc(size);
}

void *
pz_calloc(size_t n, size_t size)
{
	void	   *p;

	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	p = current.alloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void *
pz_realloc(void *ptr, size_t size)
{
	if (ptr == NULL)
		return current.alloc(size);
	return current.realloc(ptr, size);
}

void
pz_free(void *ptr)
{
	if (ptr)
		current.free(ptr);
}
