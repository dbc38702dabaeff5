/*
 * pz_rng.h — a small, seeded, portable pseudo-random number generator.
 *
 * xoshiro256** (Blackman & Vigna, "Scrambled linear pseudorandom number
 * generators", ACM TOMS 2021), seeded through splitmix64 so that any 64-bit
 * seed (including 0) gives a well-mixed state.  The stream depends only on
 * the seed: identical on every platform, so results that use it are
 * reproducible.  Not for cryptography.
 */
#ifndef PZ_RNG_H
#define PZ_RNG_H

#include <stdint.h>

typedef struct pz_rng
{
	uint64_t	s[4];
	int			have_spare;		/* a cached second normal deviate */
	double		spare;
} pz_rng;

void		pz_rng_seed(pz_rng *rng, uint64_t seed);
uint64_t	pz_rng_next(pz_rng *rng);

/* Uniform on [0, 1) with 53 random bits. */
double		pz_rng_uniform(pz_rng *rng);

/* Uniform on [lo, hi). */
double		pz_rng_uniform_range(pz_rng *rng, double lo, double hi);

/* Uniform integer in [0, n), unbiased (rejection); n must be > 0. */
uint64_t	pz_rng_below(pz_rng *rng, uint64_t n);

/* Standard normal deviate (Marsaglia's polar method). */
double		pz_rng_normal(pz_rng *rng);

/* splitmix64 step, exposed for deriving independent seeds. */
uint64_t	pz_rng_splitmix64(uint64_t *state);

#endif							/* PZ_RNG_H */
