/*
 * adam.c — Adam optimiser; see adam.h.
 */
#include "adam.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

pz_status
pz_adam_create(size_t n, double lr, double beta1, double beta2, double eps,
			   double weight_decay, pz_adam **out, char *errmsg)
{
	pz_adam    *a;

	*out = NULL;
	if (n == 0 || n > PZ_ADAM_MAX_PARAMS)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "Adam: parameter count %zu outside 1..%zu", n,
				 (size_t) PZ_ADAM_MAX_PARAMS);
		return PZ_EINVAL;
	}
	if (!isfinite(lr) || lr <= 0.0)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "Adam: learning rate must be finite and > 0, got %g", lr);
		return PZ_EINVAL;
	}
	if (!isfinite(beta1) || beta1 < 0.0 || beta1 >= 1.0 ||
		!isfinite(beta2) || beta2 < 0.0 || beta2 >= 1.0)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "Adam: betas must lie in [0, 1), got %g and %g",
				 beta1, beta2);
		return PZ_EINVAL;
	}
	if (!isfinite(eps) || eps <= 0.0)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "Adam: eps must be finite and > 0, got %g", eps);
		return PZ_EINVAL;
	}
	if (!isfinite(weight_decay) || weight_decay < 0.0)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "Adam: weight decay must be finite and >= 0, got %g",
				 weight_decay);
		return PZ_EINVAL;
	}
	a = pz_calloc(1, sizeof(*a));
	if (a == NULL)
		goto oom;
	a->m = pz_calloc(n, sizeof(double));
	a->v = pz_calloc(n, sizeof(double));
	if (a->m == NULL || a->v == NULL)
	{
		pz_adam_free(a);
		goto oom;
	}
	a->n = n;
	a->lr = lr;
	a->beta1 = beta1;
	a->beta2 = beta2;
	a->eps = eps;
	a->weight_decay = weight_decay;
	a->t = 0;
	*out = a;
	return PZ_OK;

oom:
	snprintf(errmsg, PZ_ERRMSG_LEN, "Adam: out of memory for %zu parameters",
			 n);
	return PZ_ENOMEM;
}

void
pz_adam_free(pz_adam *a)
{
	if (a == NULL)
		return;
	pz_free(a->m);
	pz_free(a->v);
	pz_free(a);
}

void
pz_adam_reset(pz_adam *a)
{
	size_t		i;

	for (i = 0; i < a->n; i++)
		a->m[i] = a->v[i] = 0.0;
	a->t = 0;
}

void
pz_adam_step(pz_adam *a, double *params, const double *grad)
{
	double		b1 = a->beta1,
				b2 = a->beta2;
	double		bc1,
				bc2_sqrt,
				step;
	size_t		i;

	a->t++;
	bc1 = 1.0 - pow(b1, (double) a->t);
	bc2_sqrt = sqrt(1.0 - pow(b2, (double) a->t));
	step = a->lr / bc1;
	for (i = 0; i < a->n; i++)
	{
		double		g = grad[i] + a->weight_decay * params[i];
		double		m = a->m[i] = b1 * a->m[i] + (1.0 - b1) * g;
		double		v = a->v[i] = b2 * a->v[i] + (1.0 - b2) * g * g;

		params[i] -= step * m / (sqrt(v) / bc2_sqrt + a->eps);
	}
}
