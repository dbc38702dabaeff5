/*
 * adam.h — the Adam optimiser (Kingma & Ba, "Adam: A Method for Stochastic
 * Optimization", ICLR 2015, Algorithm 1) over a flat parameter vector.
 *
 * The update is written the way torch.optim.Adam (amsgrad=False,
 * maximize=False) computes it, so one step agrees with PyTorch to rounding:
 *
 *     g  <- g + weight_decay * p                 (classic L2, not AdamW)
 *     m  <- beta1 m + (1 - beta1) g
 *     v  <- beta2 v + (1 - beta2) g^2
 *     p  <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 */
#ifndef PZ_ADAM_H
#define PZ_ADAM_H

#include <stddef.h>

#include "pz_common.h"

/* Refuse parameter vectors longer than this (2^27 doubles = 1 GiB). */
#define PZ_ADAM_MAX_PARAMS ((size_t) 1 << 27)

typedef struct pz_adam
{
	size_t		n;
	double		lr;
	double		beta1;
	double		beta2;
	double		eps;
	double		weight_decay;
	long		t;				/* steps taken */
	double	   *m;				/* first moment */
	double	   *v;				/* second moment */
} pz_adam;

/*
 * Allocates the moment vectors (zeroed).  Checks 0 < lr, 0 <= beta < 1,
 * eps > 0, weight_decay >= 0, all finite.  On error *out is NULL.
 */
pz_status	pz_adam_create(size_t n, double lr, double beta1, double beta2,
						   double eps, double weight_decay, pz_adam **out,
						   char *errmsg);
void		pz_adam_free(pz_adam *a);

/* Forget the moments and the step count. */
void		pz_adam_reset(pz_adam *a);

/* One update of params (length a->n) with the gradient grad. */
void		pz_adam_step(pz_adam *a, double *params, const double *grad);

#endif							/* PZ_ADAM_H */
