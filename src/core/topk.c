/*
 * topk.c — overlap of two top-k lists.
 *
 * Each list is the k best items by score, ties broken by the lower index
 * (a total order, so the top k is unique): sort the indices once per list,
 * mark the first k of one, count the marked among the first k of the other.
 */
#include "topk.h"

#include <math.h>
#include <stdlib.h>

typedef struct ranked
{
	double		score;
	int			index;
} ranked;

static int
better_first(const void *x, const void *y)
{
	const ranked *a = x;
	const ranked *b = y;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return (a->index > b->index) - (a->index < b->index);
}

static pz_status
sort_ranked(const double *scores, int n, ranked *r)
{
	for (int i = 0; i < n; i++)
	{
		r[i].score = scores[i];
		r[i].index = i;
	}
	qsort(r, (size_t) n, sizeof(ranked), better_first);
	return PZ_OK;
}

pz_status
pz_topk_overlap(const double *a, const double *b, int n, int k, double *out)
{
	ranked	   *r;
	unsigned char *in_a;
	int			hits = 0;

	if (n < 0 || k < 1 || (n > 0 && (a == NULL || b == NULL)) || out == NULL)
		return PZ_EINVAL;
	if (n == 0)
	{
		*out = NAN;
		return PZ_OK;
	}
	if (k > n)
		k = n;
	r = pz_malloc(sizeof(ranked) * (size_t) n);
	in_a = pz_calloc((size_t) n, 1);
	if (r == NULL || in_a == NULL)
	{
		pz_free(r);
		pz_free(in_a);
		return PZ_ENOMEM;
	}
	sort_ranked(a, n, r);
	for (int i = 0; i < k; i++)
		in_a[r[i].index] = 1;
	sort_ranked(b, n, r);
	for (int i = 0; i < k; i++)
		hits += in_a[r[i].index];
	pz_free(r);
	pz_free(in_a);
	*out = (double) hits / k;
	return PZ_OK;
}
