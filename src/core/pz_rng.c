/*
 * pz_rng.c — xoshiro256** seeded by splitmix64; see pz_rng.h.
 */
#include "pz_rng.h"

#include <math.h>

uint64_t
pz_rng_splitmix64(uint64_t *state)
{
	uint64_t	z = (*state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

void
pz_rng_seed(pz_rng *rng, uint64_t seed)
{
	uint64_t	st = seed;
	int			i;

	for (i = 0; i < 4; i++)
		rng->s[i] = pz_rng_splitmix64(&st);
	rng->have_spare = 0;
	rng->spare = 0.0;
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
pz_rng_next(pz_rng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double
pz_rng_uniform(pz_rng *rng)
{
	/* top 53 bits scaled by 2^-53 */
	return (double) (pz_rng_next(rng) >> 11) * 0x1.0p-53;
}

double
pz_rng_uniform_range(pz_rng *rng, double lo, double hi)
{
	return lo + (hi - lo) * pz_rng_uniform(rng);
}

uint64_t
pz_rng_below(pz_rng *rng, uint64_t n)
{
	/* reject the top partial block of 2^64 so every residue is equally likely */
	uint64_t	limit;
	uint64_t	r;

	if (n <= 1)
		return 0;
	limit = UINT64_MAX - (UINT64_MAX % n + 1) % n;
	do
		r = pz_rng_next(rng);
	while (r > limit);
	return r % n;
}

double
pz_rng_normal(pz_rng *rng)
{
	double		u,
				v,
				s,
				f;

	if (rng->have_spare)
	{
		rng->have_spare = 0;
		return rng->spare;
	}
	do
	{
		u = 2.0 * pz_rng_uniform(rng) - 1.0;
		v = 2.0 * pz_rng_uniform(rng) - 1.0;
		s = u * u + v * v;
	} while (s >= 1.0 || s == 0.0);
	f = sqrt(-2.0 * log(s) / s);
	rng->spare = v * f;
	rng->have_spare = 1;
	return u * f;
}
