/*
 * lstm_kern.c — instantiates the LSTM kernels (lstm_kern_impl.h) for the
 * baseline ISA and, on x86-64 with GCC or Clang, for AVX2+FMA, and picks one
 * at run time.  Setting the environment variable PZ_LSTM_KERNEL=generic
 * forces the portable set (for tests and benchmarks).
 */
#include "lstm_kern.h"

#include <stdlib.h>
#include <string.h>

#define KN(name) name##_generic
#define KATTR
#define KVEC 2
static const char name_str_generic[] = "generic";
#include "lstm_kern_impl.h"
#undef KN
#undef KATTR
#undef KVEC

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PZ_LSTM_HAVE_AVX2 1
#define KN(name) name##_avx2
#define KATTR __attribute__((target("avx2,fma")))
#define KVEC 4
static const char name_str_avx2[] = "avx2+fma";
#include "lstm_kern_impl.h"
#undef KN
#undef KATTR
#undef KVEC
#endif

const pz_lstm_kern *
pz_lstm_kern_generic(void)
{
	return &kern_generic;
}

const pz_lstm_kern *
pz_lstm_kern_get(void)
{
	static const pz_lstm_kern *chosen = NULL;

	if (chosen == NULL)
	{
		const char *force = getenv("PZ_LSTM_KERNEL");
		const pz_lstm_kern *k = &kern_generic;

#ifdef PZ_LSTM_HAVE_AVX2
		__builtin_cpu_init();
		if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
			!(force != NULL && strcmp(force, "generic") == 0))
			k = &kern_avx2;
#else
		(void) force;
#endif
		chosen = k;
	}
	return chosen;
}
