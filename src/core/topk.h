/*
 * topk.h — overlap of two top-k lists, the business metric.
 */
#ifndef PZ_TOPK_H
#define PZ_TOPK_H

#include "pz_common.h"

/*
 * |top_k(a) ∩ top_k(b)| / min(k, n) for two score vectors over the same n
 * items; ties go to the lower index.  O(n log n).  *out is NaN when n is 0.
 * PZ_EINVAL for n < 0 or k < 1, PZ_ENOMEM when the workspace is refused.
 */
pz_status	pz_topk_overlap(const double *a, const double *b, int n, int k, double *out);

#endif							/* PZ_TOPK_H */
