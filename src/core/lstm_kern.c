/*
 * lstm_kern.c — instantiates the LSTM kernels (lstm_kern_impl.h) for the
 * baseline ISA and, on x86-64 with GCC or Clang, for AVX2+FMA and AVX-512F,
 * and picks the widest the CPU supports, or narrower when the caller caps
 * the choice with pz_lstm_kern_set_cap() (the glue's GUC
 * pozytywka.lstm_kernel, the benchmarks, the unit tests).
 */
#include "lstm_kern.h"

#include <stddef.h>
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

/* The cap set by pz_lstm_kern_set_cap(); the process is single-threaded. */
static pz_lstm_kern_cap kern_cap = PZ_LSTM_KERN_AUTO;

void
pz_lstm_kern_set_cap(pz_lstm_kern_cap cap)
{
	kern_cap = cap;
}

pz_lstm_kern_cap
pz_lstm_kern_get_cap(void)
{
	return kern_cap;
}

/* The cap a kernel set needs at least: its rank among the ISAs. */
static pz_lstm_kern_cap
kern_rank(const pz_lstm_kern *k)
{
#ifdef PZ_LSTM_HAVE_X86
	if (k == &kern_avx512)
		return PZ_LSTM_KERN_AVX512;
	if (k == &kern_avx2)
		return PZ_LSTM_KERN_AVX2;
#endif
	return PZ_LSTM_KERN_GENERIC;
}

const pz_lstm_kern *
pz_lstm_kern_get(void)
{
	const pz_lstm_kern *chosen = &kern_generic;
	const pz_lstm_kern *k;
	int			i;

	/* the widest kernel set this CPU runs that the cap allows */
	for (i = 1; (k = pz_lstm_kern_available(i)) != NULL; i++)
		if (kern_cap == PZ_LSTM_KERN_AUTO || kern_rank(k) <= kern_cap)
			chosen = k;
	return chosen;
}
