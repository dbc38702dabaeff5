/*
 * lstm_kern.h — internal compute kernels of the LSTM core (not a public API).
 *
 * Layout: every activation matrix is "feature-major, batch-minor": row r of
 * a [rows][Np] array holds one feature for all Np windows of the batch, so
 * the batch is the contiguous inner dimension and every kernel streams whole
 * rows with SIMD.  Np is the batch padded up to a multiple of
 * PZ_LSTM_LANES; padded lanes hold zeros and carry zero loss gradient.
 *
 * Several builds of the same kernel source exist (lstm_kern_impl.h): a
 * baseline one (x86-64/SSE2 or any other architecture) and, on x86-64,
 * AVX2+FMA and AVX-512F ones, the widest the CPU has chosen at run time.
 * Results differ between them by rounding only (FMA, order of partial
 * sums); on one machine they are deterministic.
 *
 * The glue includes this header only to set the cap (pozytywka.lstm_kernel).
 */
#ifndef PZ_LSTM_KERN_H
#define PZ_LSTM_KERN_H

#define PZ_LSTM_LANES 16

typedef struct pz_lstm_kern
{
	const char *name;

	/* C[i][:] = (acc ? C[i][:] : 0) + sum_k A[i*lda + k] * B[k*ldb + :] */
	void		(*mm_nn) (int M, int K, const double *A, int lda,
						  const double *B, int ldb, double *C, int ldc,
						  int Np, int acc);
	/*
	 * C[i][:] = bias[i] + sum_k A1[i*K1 + k] B1[k][:] + sum_k A2[i*K2 + k]
	 * B2[k][:], A2 may be NULL; M a multiple of 4; rows Np apart.
	 */
	void		(*mm_gates) (int M, int K1, const double *A1, const double *B1,
							 int K2, const double *A2, const double *B2,
							 const double *bias, double *C, int Np);
	/* C[i][:] = (acc ? C[i][:] : 0) + sum_k A[k*lda + i] * B[k*ldb + :] */
	void		(*mm_tn) (int M, int K, const double *A, int lda,
						  const double *B, int ldb, double *C, int ldc,
						  int Np, int acc);
	/* C[i*ldc + j] += sum_n A[i*lda + n] * B[j*ldb + n], n < Np */
	void		(*mm_nt_acc) (int M, int N, const double *A, int lda,
							  const double *B, int ldb, double *C, int ldc,
							  int Np);

	/*
	 * LSTM cell, forward.  G [4H][Np] holds the gate pre-activations in
	 * PyTorch order i, f, g, o and is overwritten by the activations.
	 * cprev may be NULL (zero state).  Writes c and h = o*tanh(c), and
	 * when keep is set (training) the activations into G and tanh(c) into
	 * tc; otherwise G and tc are left undefined.
	 */
	void		(*cell_fwd) (int H, int Np, double *G, const double *cprev,
							 double *c, double *tc, double *h, int keep);

	/*
	 * LSTM cell, backward.  A: activations from cell_fwd; dh = dh1 (+ dh2
	 * when not NULL) is dLoss/dh_t; dc holds dLoss/dc_t coming from step
	 * t+1 on input and dLoss/dc_{t-1} on output.  Writes dG [4H][Np],
	 * the gradient w.r.t. the gate pre-activations.
	 */
	void		(*cell_bwd) (int H, int Np, const double *A,
							 const double *cprev, const double *tc,
							 const double *dh1, const double *dh2,
							 double *dc, double *dG);

	/* out[i] = sigmoid(x[i]) / tanh(x[i]), n a multiple of PZ_LSTM_LANES */
	void		(*vsigmoid) (int n, const double *x, double *out);
	void		(*vtanh) (int n, const double *x, double *out);
} pz_lstm_kern;

/*
 * The widest kernel set pz_lstm_kern_get() may choose, in increasing order;
 * AUTO (the default) takes the widest the CPU runs.  A cap above what the
 * CPU has picks the widest it has.
 */
typedef enum pz_lstm_kern_cap
{
	PZ_LSTM_KERN_AUTO = 0,
	PZ_LSTM_KERN_GENERIC,
	PZ_LSTM_KERN_AVX2,
	PZ_LSTM_KERN_AVX512
} pz_lstm_kern_cap;

/* Sets the cap for the following calls (the glue's pozytywka.lstm_kernel). */
void		pz_lstm_kern_set_cap(pz_lstm_kern_cap cap);
pz_lstm_kern_cap pz_lstm_kern_get_cap(void);

/* The widest kernel set this CPU runs within the cap. */
const pz_lstm_kern *pz_lstm_kern_get(void);

/* The portable kernel set. */
const pz_lstm_kern *pz_lstm_kern_generic(void);

/* Kernel sets this CPU can run, i = 0, 1, ... until NULL (for tests). */
const pz_lstm_kern *pz_lstm_kern_available(int i);

#endif							/* PZ_LSTM_KERN_H */
