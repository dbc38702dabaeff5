/*
 * lstm_kern_impl.h — body of the LSTM kernels, included by lstm_kern.c once
 * per instruction-set variant.  Before including, define:
 *   KN(name)  the variant's name for a symbol (e.g. name##_avx2)
 *   KATTR     function attributes of the variant (target ISA), may be empty
 *   KVEC      doubles per SIMD vector (2 for SSE2, 4 for AVX2, 8 for AVX-512)
 *   KLANES    lanes per register tile (8 or 16), a divisor of PZ_LSTM_LANES
 * See lstm_kern.h for the data layout and the contract of each kernel.
 *
 * The code uses GCC/Clang vector extensions, so it is plain C that both
 * compilers turn into SIMD without -O3 or -ffast-math.  The matrix kernels
 * run over blocks of KLANES lanes = KLANES/KVEC vectors, spelled out with
 * REPV so that the accumulators live in registers.
 */

typedef double KN(vd) __attribute__((vector_size(KVEC * 8)));
typedef long long KN(vi) __attribute__((vector_size(KVEC * 8)));

#define VD KN(vd)
#define VI KN(vi)
#if KLANES / KVEC == 2
#define REPV(X) X(0) X(1)
#elif KLANES / KVEC == 4
#define REPV(X) X(0) X(1) X(2) X(3)
#else
#error "KLANES / KVEC must be 2 or 4"
#endif

KATTR static inline VD
KN(ld) (const double *p)
{
	VD			v;

	memcpy(&v, p, sizeof(v));
	return v;
}

KATTR static inline void
KN(st) (double *p, VD v)
{
	memcpy(p, &v, sizeof(v));
}

KATTR static inline VD
KN(splat) (double x)
{
	VD			v = {0};

	return v + x;
}

/*
 * exp(x) for a vector: Cody & Waite range reduction x = k ln2 + r with
 * |r| <= ln2/2, exp(r) by its Taylor polynomial of degree 12 (truncation
 * < 2.5e-16 relative), and 2^k assembled in the exponent field.  The
 * argument is first clamped to [-lim, lim] (lim <= 700, a constant after
 * inlining); NaN propagates.
 */
KATTR static inline VD
KN(vexp) (VD x, double lim)
{
	const VD	hi = KN(splat) (lim);
	const VD	lo = KN(splat) (-lim);
	const VD	shift = KN(splat) (0x1.8p52);	/* rounds to an integer */
	VI			m;
	VD			t,
				kd,
				r,
				p,
				r2,
				r4,
				r8,
				q0,
				q1,
				q2,
				q3,
				q4,
				q5;
	VI			ki;

	m = (VI) (x > hi);
	x = (VD) (((VI) x & ~m) | ((VI) hi & m));
	m = (VI) (x < lo);
	x = (VD) (((VI) x & ~m) | ((VI) lo & m));

	t = x * 1.4426950408889634074 + shift;
	kd = t - shift;
	r = x - kd * 6.93147180369123816490e-01;	/* ln2 high part, exact k*hi */
	r = r - kd * 1.90821492927058770002e-10;	/* ln2 low part */

	/*
	 * Estrin's scheme: the same polynomial as Horner's rule but with a
	 * dependency chain of 5 instead of 12 multiply-adds, which is what
	 * bounds the speed of the gate non-linearities.
	 */
	r2 = r * r;
	r4 = r2 * r2;
	r8 = r4 * r4;
	q0 = 1.0 + r;
	q1 = 0.5 + r * (1.0 / 6.0);
	q2 = 1.0 / 24.0 + r * (1.0 / 120.0);
	q3 = 1.0 / 720.0 + r * (1.0 / 5040.0);
	q4 = 1.0 / 40320.0 + r * (1.0 / 362880.0);
	q5 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0);
	q0 = q0 + r2 * q1;
	q2 = q2 + r2 * q3;
	q4 = q4 + r2 * q5 + r4 * (1.0 / 479001600.0);
	q0 = q0 + r4 * q2;
	p = q0 + r8 * q4;

	ki = (VI) t - (VI) shift;
	return p * (VD) ((ki + 1023) << 52);
}

KATTR static inline VD
KN(vsig1) (VD x)
{
	return 1.0 / (1.0 + KN(vexp) (-x, 700.0));
}

/* tanh x = 1 - 2 / (exp(2x) + 1): absolute error ~1e-16 near 0 */
KATTR static inline VD
KN(vtanh1) (VD x)
{
	return 1.0 - 2.0 / (KN(vexp) (x + x, 700.0) + 1.0);
}

KATTR static void
KN(mm_nn) (int M, int K, const double *A, int lda, const double *B, int ldb,
		   double *C, int ldc, int Np, int acc)
{
	int			n0,
				i,
				k;
	const VD	zero = KN(splat) (0.0);

	for (n0 = 0; n0 < Np; n0 += KLANES)
	{
		for (i = 0; i + 4 <= M; i += 4)
		{
			VD			c0[KLANES / KVEC],
						c1[KLANES / KVEC],
						c2[KLANES / KVEC],
						c3[KLANES / KVEC];
			const double *a0 = A + (size_t) i * lda;
			const double *a1 = a0 + lda;
			const double *a2 = a1 + lda;
			const double *a3 = a2 + lda;
			double	   *cr = C + (size_t) i * ldc + n0;

#define INIT(v) \
			c0[v] = acc ? KN(ld) (cr + v * KVEC) : zero; \
			c1[v] = acc ? KN(ld) (cr + ldc + v * KVEC) : zero; \
			c2[v] = acc ? KN(ld) (cr + 2 * ldc + v * KVEC) : zero; \
			c3[v] = acc ? KN(ld) (cr + 3 * ldc + v * KVEC) : zero;
			REPV(INIT)
#undef INIT
			for (k = 0; k < K; k++)
			{
				const double *b = B + (size_t) k * ldb + n0;
				double		w0 = a0[k],
							w1 = a1[k],
							w2 = a2[k],
							w3 = a3[k];

#define STEP(v) \
				{ \
					VD bv = KN(ld) (b + v * KVEC); \
					c0[v] += w0 * bv; \
					c1[v] += w1 * bv; \
					c2[v] += w2 * bv; \
					c3[v] += w3 * bv; \
				}
				REPV(STEP)
#undef STEP
			}
#define STORE(v) \
			KN(st) (cr + v * KVEC, c0[v]); \
			KN(st) (cr + ldc + v * KVEC, c1[v]); \
			KN(st) (cr + 2 * ldc + v * KVEC, c2[v]); \
			KN(st) (cr + 3 * ldc + v * KVEC, c3[v]);
			REPV(STORE)
#undef STORE
		}
		for (; i < M; i++)
		{
			VD			c0[KLANES / KVEC];
			const double *a0 = A + (size_t) i * lda;
			double	   *cr = C + (size_t) i * ldc + n0;

#define INIT(v) c0[v] = acc ? KN(ld) (cr + v * KVEC) : zero;
			REPV(INIT)
#undef INIT
			for (k = 0; k < K; k++)
			{
				const double *b = B + (size_t) k * ldb + n0;
				double		w0 = a0[k];

#define STEP(v) c0[v] += w0 * KN(ld) (b + v * KVEC);
				REPV(STEP)
#undef STEP
			}
#define STORE(v) KN(st) (cr + v * KVEC, c0[v]);
			REPV(STORE)
#undef STORE
		}
	}
}

/*
 * Gate pre-activations of one layer and step in one pass over C:
 * C[i][:] = bias[i] + sum_k A1[i*K1 + k] B1[k][:] + sum_k A2[i*K2 + k] B2[k][:]
 * (A2 may be NULL), rows of B1, B2, C Np apart.
 */
KATTR static void
KN(mm_gates) (int M, int K1, const double *A1, const double *B1, int K2,
			  const double *A2, const double *B2, const double *bias,
			  double *C, int Np)
{
	int			n0,
				i,
				k;

	for (n0 = 0; n0 < Np; n0 += KLANES)
	{
		for (i = 0; i + 4 <= M; i += 4)
		{
			VD			c0[KLANES / KVEC],
						c1[KLANES / KVEC],
						c2[KLANES / KVEC],
						c3[KLANES / KVEC];
			double	   *cr = C + (size_t) i * Np + n0;
			int			pass;

#define INIT(v) \
			c0[v] = KN(splat) (bias[i]); \
			c1[v] = KN(splat) (bias[i + 1]); \
			c2[v] = KN(splat) (bias[i + 2]); \
			c3[v] = KN(splat) (bias[i + 3]);
			REPV(INIT)
#undef INIT
			for (pass = 0; pass < 2; pass++)
			{
				int			K = pass ? K2 : K1;
				const double *a0;
				const double *B = pass ? B2 : B1;

				if (pass && A2 == NULL)
					break;
				a0 = (pass ? A2 : A1) + (size_t) i * K;
				for (k = 0; k < K; k++)
				{
					const double *b = B + (size_t) k * Np + n0;
					double		w0 = a0[k],
								w1 = a0[K + k],
								w2 = a0[2 * K + k],
								w3 = a0[3 * K + k];

#define STEP(v) \
					{ \
						VD bv = KN(ld) (b + v * KVEC); \
						c0[v] += w0 * bv; \
						c1[v] += w1 * bv; \
						c2[v] += w2 * bv; \
						c3[v] += w3 * bv; \
					}
					REPV(STEP)
#undef STEP
				}
			}
#define STORE(v) \
			KN(st) (cr + v * KVEC, c0[v]); \
			KN(st) (cr + Np + v * KVEC, c1[v]); \
			KN(st) (cr + 2 * Np + v * KVEC, c2[v]); \
			KN(st) (cr + 3 * Np + v * KVEC, c3[v]);
			REPV(STORE)
#undef STORE
		}
		/* M = 4H is a multiple of 4: no remainder rows */
	}
}

KATTR static void
KN(mm_tn) (int M, int K, const double *A, int lda, const double *B, int ldb,
		   double *C, int ldc, int Np, int acc)
{
	int			n0,
				i,
				k;
	const VD	zero = KN(splat) (0.0);

	for (n0 = 0; n0 < Np; n0 += KLANES)
	{
		for (i = 0; i + 4 <= M; i += 4)
		{
			VD			c0[KLANES / KVEC],
						c1[KLANES / KVEC],
						c2[KLANES / KVEC],
						c3[KLANES / KVEC];
			double	   *cr = C + (size_t) i * ldc + n0;

#define INIT(v) \
			c0[v] = acc ? KN(ld) (cr + v * KVEC) : zero; \
			c1[v] = acc ? KN(ld) (cr + ldc + v * KVEC) : zero; \
			c2[v] = acc ? KN(ld) (cr + 2 * ldc + v * KVEC) : zero; \
			c3[v] = acc ? KN(ld) (cr + 3 * ldc + v * KVEC) : zero;
			REPV(INIT)
#undef INIT
			for (k = 0; k < K; k++)
			{
				const double *b = B + (size_t) k * ldb + n0;
				const double *a = A + (size_t) k * lda + i;
				double		w0 = a[0],
							w1 = a[1],
							w2 = a[2],
							w3 = a[3];

#define STEP(v) \
				{ \
					VD bv = KN(ld) (b + v * KVEC); \
					c0[v] += w0 * bv; \
					c1[v] += w1 * bv; \
					c2[v] += w2 * bv; \
					c3[v] += w3 * bv; \
				}
				REPV(STEP)
#undef STEP
			}
#define STORE(v) \
			KN(st) (cr + v * KVEC, c0[v]); \
			KN(st) (cr + ldc + v * KVEC, c1[v]); \
			KN(st) (cr + 2 * ldc + v * KVEC, c2[v]); \
			KN(st) (cr + 3 * ldc + v * KVEC, c3[v]);
			REPV(STORE)
#undef STORE
		}
		for (; i < M; i++)
		{
			VD			c0[KLANES / KVEC];
			double	   *cr = C + (size_t) i * ldc + n0;

#define INIT(v) c0[v] = acc ? KN(ld) (cr + v * KVEC) : zero;
			REPV(INIT)
#undef INIT
			for (k = 0; k < K; k++)
			{
				const double *b = B + (size_t) k * ldb + n0;
				double		w0 = A[(size_t) k * lda + i];

#define STEP(v) c0[v] += w0 * KN(ld) (b + v * KVEC);
				REPV(STEP)
#undef STEP
			}
#define STORE(v) KN(st) (cr + v * KVEC, c0[v]);
			REPV(STORE)
#undef STORE
		}
	}
}

KATTR static inline double
KN(hsum) (VD v)
{
	double		s = 0.0;
	int			e;

	for (e = 0; e < KVEC; e++)
		s += v[e];
	return s;
}

KATTR static void
KN(mm_nt_acc) (int M, int N, const double *A, int lda, const double *B,
			   int ldb, double *C, int ldc, int Np)
{
	int			i,
				j,
				n;
	const VD	zero = KN(splat) (0.0);

	for (i = 0; i + 4 <= M; i += 4)
	{
		const double *a0 = A + (size_t) i * lda;
		const double *a1 = a0 + lda;
		const double *a2 = a1 + lda;
		const double *a3 = a2 + lda;

		for (j = 0; j + 2 <= N; j += 2)
		{
			const double *b0 = B + (size_t) j * ldb;
			const double *b1 = b0 + ldb;
			VD			s00 = zero,
						s01 = zero,
						s10 = zero,
						s11 = zero,
						s20 = zero,
						s21 = zero,
						s30 = zero,
						s31 = zero;

			for (n = 0; n < Np; n += KVEC)
			{
				VD			x0 = KN(ld) (b0 + n),
							x1 = KN(ld) (b1 + n),
							y;

				y = KN(ld) (a0 + n);
				s00 += y * x0;
				s01 += y * x1;
				y = KN(ld) (a1 + n);
				s10 += y * x0;
				s11 += y * x1;
				y = KN(ld) (a2 + n);
				s20 += y * x0;
				s21 += y * x1;
				y = KN(ld) (a3 + n);
				s30 += y * x0;
				s31 += y * x1;
			}
			C[(size_t) i * ldc + j] += KN(hsum) (s00);
			C[(size_t) i * ldc + j + 1] += KN(hsum) (s01);
			C[(size_t) (i + 1) * ldc + j] += KN(hsum) (s10);
			C[(size_t) (i + 1) * ldc + j + 1] += KN(hsum) (s11);
			C[(size_t) (i + 2) * ldc + j] += KN(hsum) (s20);
			C[(size_t) (i + 2) * ldc + j + 1] += KN(hsum) (s21);
			C[(size_t) (i + 3) * ldc + j] += KN(hsum) (s30);
			C[(size_t) (i + 3) * ldc + j + 1] += KN(hsum) (s31);
		}
		for (; j < N; j++)
		{
			const double *b0 = B + (size_t) j * ldb;
			VD			s0 = zero,
						s1 = zero,
						s2 = zero,
						s3 = zero;

			for (n = 0; n < Np; n += KVEC)
			{
				VD			x0 = KN(ld) (b0 + n);

				s0 += KN(ld) (a0 + n) * x0;
				s1 += KN(ld) (a1 + n) * x0;
				s2 += KN(ld) (a2 + n) * x0;
				s3 += KN(ld) (a3 + n) * x0;
			}
			C[(size_t) i * ldc + j] += KN(hsum) (s0);
			C[(size_t) (i + 1) * ldc + j] += KN(hsum) (s1);
			C[(size_t) (i + 2) * ldc + j] += KN(hsum) (s2);
			C[(size_t) (i + 3) * ldc + j] += KN(hsum) (s3);
		}
	}
	for (; i < M; i++)
	{
		const double *a0 = A + (size_t) i * lda;

		for (j = 0; j < N; j++)
		{
			const double *b0 = B + (size_t) j * ldb;
			VD			s0 = zero,
						s1 = zero;

			/* two accumulators: Np is a multiple of 8 >= 2 * KVEC */
			for (n = 0; n < Np; n += 2 * KVEC)
			{
				s0 += KN(ld) (a0 + n) * KN(ld) (b0 + n);
				s1 += KN(ld) (a0 + n + KVEC) * KN(ld) (b0 + n + KVEC);
			}
			C[(size_t) i * ldc + j] += KN(hsum) (s0 + s1);
		}
	}
}

/*
 * Divisions dominate the cost of the gate non-linearities, so the four
 * gates share one: with d_q = 1 + exp(-x_q) (sigmoid = 1/d) and
 * d_g = 1 + exp(2x) (tanh = 1 - 2/d), 1/(d1 d2 d3 d4) is computed once and
 * each 1/d_q recovered by multiplying with the other three factors.  The
 * exponents are clamped to +-40, where sigmoid and tanh are 1 or 0 to
 * within 5e-18, so the product stays below 1e70.
 */
KATTR static void
KN(cell_fwd) (int H, int Np, double *G, const double *cprev, double *c,
			  double *tc, double *h, int keep)
{
	int			j,
				n;
	const VD	zero = KN(splat) (0.0);

	for (j = 0; j < H; j++)
	{
		double	   *gi = G + (size_t) j * Np;
		double	   *gf = G + (size_t) (H + j) * Np;
		double	   *gg = G + (size_t) (2 * H + j) * Np;
		double	   *go = G + (size_t) (3 * H + j) * Np;
		const double *cp = cprev ? cprev + (size_t) j * Np : NULL;
		double	   *cj = c + (size_t) j * Np;
		double	   *tj = tc + (size_t) j * Np;
		double	   *hj = h + (size_t) j * Np;

		for (n = 0; n < Np; n += KVEC)
		{
			VD			di = 1.0 + KN(vexp) (-KN(ld) (gi + n), 40.0);
			VD			df = 1.0 + KN(vexp) (-KN(ld) (gf + n), 40.0);
			VD			dg = 1.0 + KN(vexp) (2.0 * KN(ld) (gg + n), 40.0);
			VD			do_ = 1.0 + KN(vexp) (-KN(ld) (go + n), 40.0);
			VD			pif = di * df,
						pgo = dg * do_;
			VD			r = 1.0 / (pif * pgo);
			VD			rif = r * pgo,
						rgo = r * pif;
			VD			i_ = rif * df;
			VD			f_ = rif * di;
			VD			g_ = 1.0 - 2.0 * (rgo * do_);
			VD			o_ = rgo * dg;
			VD			cn = i_ * g_ + (cp ? f_ * KN(ld) (cp + n) : zero);
			VD			t_ = 1.0 - 2.0 / (1.0 + KN(vexp) (cn + cn, 40.0));

			if (keep)
			{
				KN(st) (gi + n, i_);
				KN(st) (gf + n, f_);
				KN(st) (gg + n, g_);
				KN(st) (go + n, o_);
				KN(st) (tj + n, t_);
			}
			KN(st) (cj + n, cn);
			KN(st) (hj + n, o_ * t_);
		}
	}
}

KATTR static void
KN(cell_bwd) (int H, int Np, const double *A, const double *cprev,
			  const double *tc, const double *dh1, const double *dh2,
			  double *dc, double *dG)
{
	int			j,
				n;
	const VD	zero = KN(splat) (0.0);

	for (j = 0; j < H; j++)
	{
		size_t		ri = (size_t) j * Np,
					rf = (size_t) (H + j) * Np,
					rg = (size_t) (2 * H + j) * Np,
					ro = (size_t) (3 * H + j) * Np,
					rh = (size_t) j * Np;

		for (n = 0; n < Np; n += KVEC)
		{
			VD			i_ = KN(ld) (A + ri + n);
			VD			f_ = KN(ld) (A + rf + n);
			VD			g_ = KN(ld) (A + rg + n);
			VD			o_ = KN(ld) (A + ro + n);
			VD			t_ = KN(ld) (tc + rh + n);
			VD			dh = KN(ld) (dh1 + rh + n);
			VD			cp = cprev ? KN(ld) (cprev + rh + n) : zero;
			VD			dct;

			if (dh2)
				dh += KN(ld) (dh2 + rh + n);
			/* h = o tanh(c), c = f c_prev + i g */
			dct = KN(ld) (dc + rh + n) + dh * o_ * (1.0 - t_ * t_);
			KN(st) (dG + ri + n, dct * g_ * i_ * (1.0 - i_));
			KN(st) (dG + rf + n, dct * cp * f_ * (1.0 - f_));
			KN(st) (dG + rg + n, dct * i_ * (1.0 - g_ * g_));
			KN(st) (dG + ro + n, dh * t_ * o_ * (1.0 - o_));
			KN(st) (dc + rh + n, dct * f_);
		}
	}
}

KATTR static void
KN(vsigmoid) (int n, const double *x, double *out)
{
	int			k;

	for (k = 0; k < n; k += KVEC)
		KN(st) (out + k, KN(vsig1) (KN(ld) (x + k)));
}

KATTR static void
KN(vtanh) (int n, const double *x, double *out)
{
	int			k;

	for (k = 0; k < n; k += KVEC)
		KN(st) (out + k, KN(vtanh1) (KN(ld) (x + k)));
}

static const pz_lstm_kern KN(kern) = {
	KN(name_str),
	KN(mm_nn),
	KN(mm_gates),
	KN(mm_tn),
	KN(mm_nt_acc),
	KN(cell_fwd),
	KN(cell_bwd),
	KN(vsigmoid),
	KN(vtanh)
};

#undef VD
#undef VI
#undef REPV
