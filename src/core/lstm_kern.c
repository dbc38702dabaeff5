/*
 * lstm_kern.c — instantiates the LSTM kernels (lstm_kern_impl.h) for the
 * baseline ISA and, on x86-64 with GCC or Clang, for AVX2+FMA and AVX-512F,
 * and picks the widest the CPU supports, once.  The environment variable
 * PZ_LSTM_KERNEL=generic|avx2 caps the choice (for tests and benchmarks).
 */
#include "lstm_kern.h"

#include <stdlib.h>
#include <string.h>

#define KN(name) name##_generic
#define KATTR
#define KVEC 2
#define KLANES 8
static const char name_str_generic[] = "generic";
#include "lstm_kern_impl.h"
#undef KN
#undef KATTR
#undef KVEC
#undef KLANES

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PZ_LSTM_HAVE_X86 1

#define KN(name) name##_avx2
#define KATTR __attribute__((target("avx2,fma")))
#define KVEC 4
#define KLANES 8
static const char name_str_avx2[] = "avx2+fma";
#include "lstm_kern_impl.h"
#undef KN
#undef KATTR
#undef KVEC
#undef KLANES

#define KN(name) name##_avx512
#define KATTR __attribute__((target("avx512f")))
#define KVEC 8
#define KLANES 16
static const char name_str_avx512[] = "avx512f";
#include "lstm_kern_impl.h"
#undef KN
#undef KATTR
#undef KVEC
#undef KLANES
#endif

const pz_lstm_kern *
pz_lstm_kern_generic(void)
{
	return &kern_generic;
}

const pz_lstm_kern *
pz_lstm_kern_available(int i)
{
	const pz_lstm_kern *list[3];
	int			n = 0;

	list[n++] = &kern_generic;
#ifdef PZ_LSTM_HAVE_X86
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		list[n++] = &kern_avx2;
	if (__builtin_cpu_supports("avx512f"))
		list[n++] = &kern_avx512;
#endif
	return i >= 0 && i < n ? list[i] : NULL;
}

const pz_lstm_kern *
pz_lstm_kern_get(void)
{
	static const pz_lstm_kern *chosen = NULL;

	if (chosen == NULL)
	{
		const char *cap = getenv("PZ_LSTM_KERNEL");
		const pz_lstm_kern *k = &kern_generic;
		int			i;

		for (i = 1; pz_lstm_kern_available(i) != NULL; i++)
		{
			if (cap != NULL && strcmp(cap, k->name) == 0)
				break;
			if (cap != NULL && strcmp(cap, "generic") == 0)
				break;
			k = pz_lstm_kern_available(i);
			if (cap != NULL && strncmp(cap, k->name, strlen(cap)) == 0)
				break;
		}
		chosen = k;
	}
	return chosen;
}
