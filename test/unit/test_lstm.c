/*
 * test_lstm.c — unit tests of the LSTM core: kernels against naive loops,
 * forward against a scalar reference, a central-difference check of the
 * gradient of every parameter, Adam, determinism, a small learning task,
 * early stopping, cancellation, argument checks and the weights format.
 * (Parity with PyTorch itself is test_lstm_torch.c.)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adam.h"
#include "lstm.h"
#include "lstm_features.h"
#include "lstm_kern.h"
#include "pz_common.h"
#include "pz_crc32.h"
#include "pz_rng.h"
#include "tap.h"

static char errmsg[PZ_ERRMSG_LEN];

/* ------------------------------------------------ scalar reference */

static double
sigm(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

/* Straight transcription of the PyTorch equations, one window at a time. */
static double
ref_forward(const pz_lstm *m, int T, const double *x, const double *mask)
{
	int			H = m->hidden_size,
				L = m->num_layers,
				F = m->input_size;
	double	   *h = calloc((size_t) L * H, sizeof(double));
	double	   *c = calloc((size_t) L * H, sizeof(double));
	double	   *in = malloc(sizeof(double) * (F > H ? F : H));
	double	   *g = malloc(sizeof(double) * 4 * H);
	double		y;
	int			t,
				l,
				j,
				k;

	for (t = 0; t < T; t++)
	{
		for (k = 0; k < F; k++)
			in[k] = x[t * F + k];
		for (l = 0; l < L; l++)
		{
			int			nin = pz_lstm_layer_input(m, l);
			const double *Wi = pz_lstm_w_ih(m, l),
					   *Wh = pz_lstm_w_hh(m, l),
					   *bi = pz_lstm_b_ih(m, l),
					   *bh = pz_lstm_b_hh(m, l);
			double	   *hl = h + l * H,
					   *cl = c + l * H;

			for (j = 0; j < 4 * H; j++)
			{
				double		s = bi[j] + bh[j];

				for (k = 0; k < nin; k++)
					s += Wi[j * nin + k] * in[k];
				for (k = 0; k < H; k++)
					s += Wh[j * H + k] * hl[k];
				g[j] = s;
			}
			for (j = 0; j < H; j++)
			{
				double		ig = sigm(g[j]),
							fg = sigm(g[H + j]),
							gg = tanh(g[2 * H + j]),
							og = sigm(g[3 * H + j]);

				cl[j] = fg * cl[j] + ig * gg;
				hl[j] = og * tanh(cl[j]);
			}
			for (j = 0; j < H; j++)
				in[j] = hl[j] * (mask && l < L - 1 ?
								 mask[((size_t) l * T + t) * H + j] : 1.0);
		}
	}
	y = *pz_lstm_b_lin(m);
	for (j = 0; j < H; j++)
		y += pz_lstm_w_lin(m)[j] * h[(L - 1) * H + j];
	free(h);
	free(c);
	free(in);
	free(g);
	return y;
}

static void
fill_normal(double *a, size_t n, double sd, pz_rng *rng)
{
	size_t		i;

	for (i = 0; i < n; i++)
		a[i] = sd * pz_rng_normal(rng);
}

/* ----------------------------------------------------------- tests */

static void
test_crc_rng(void)
{
	pz_rng		a,
				b;
	int			i,
				same = 1,
				inrange = 1;
	double		s = 0.0,
				s2 = 0.0;

	tap_ok(pz_crc32(0, "123456789", 9) == 0xCBF43926u,
		   "crc32 check value 0xCBF43926");
	tap_ok(pz_crc32(pz_crc32(0, "1234", 4), "56789", 5) == 0xCBF43926u,
		   "crc32 continues across buffers");
	pz_rng_seed(&a, 7);
	pz_rng_seed(&b, 7);
	for (i = 0; i < 1000; i++)
		same &= pz_rng_next(&a) == pz_rng_next(&b);
	tap_ok(same, "rng: same seed, same stream");
	pz_rng_seed(&b, 8);
	tap_ok(pz_rng_next(&a) != pz_rng_next(&b), "rng: other seed, other stream");
	for (i = 0; i < 100000; i++)
	{
		double		z = pz_rng_normal(&a);
		double		u = pz_rng_uniform(&a);

		s += z;
		s2 += z * z;
		inrange &= u >= 0.0 && u < 1.0 && pz_rng_below(&a, 10) < 10;
	}
	tap_ok(inrange, "rng: uniform in [0,1), below(n) < n");
	tap_ok(fabs(s / 100000) < 0.02 && fabs(s2 / 100000 - 1.0) < 0.02,
		   "rng: normal mean %.4f var %.4f", s / 100000, s2 / 100000);
}

static void
test_kernels(const pz_lstm_kern *K)
{
	pz_rng		rng;
	double		x[4096],
				o1[4096],
				o2[4096];
	double		emax_s = 0.0,
				emax_t = 0.0;
	int			i;
	int			M,
				Kd,
				Np;

	pz_rng_seed(&rng, 1);
	for (i = 0; i < 4096; i++)
		x[i] = (i < 4000) ? -40.0 + 80.0 * i / 4000.0 : 1e-9 * pz_rng_normal(&rng);
	x[4000] = 800.0;
	x[4001] = -800.0;
	x[4002] = 0.0;
	K->vsigmoid(4096, x, o1);
	K->vtanh(4096, x, o2);
	for (i = 0; i < 4096; i++)
	{
		double		es = fabs(o1[i] - sigm(x[i]));
		double		et = fabs(o2[i] - tanh(x[i]));

		if (es > emax_s)
			emax_s = es;
		if (et > emax_t)
			emax_t = et;
	}
	tap_ok(emax_s < 1e-15 && emax_t < 1e-15,
		   "%s: sigmoid/tanh max abs error %.2g / %.2g", K->name, emax_s, emax_t);

	/* matrix kernels against naive loops, awkward sizes */
	for (M = 1; M <= 9; M += 4)
		for (Kd = 1; Kd <= 7; Kd += 3)
			for (Np = 16; Np <= 32; Np += 16)
			{
				double	   *A = malloc(sizeof(double) * 16 * 16);
				double	   *B = malloc(sizeof(double) * 16 * 48);
				double	   *C = malloc(sizeof(double) * 16 * 32);
				double	   *R = malloc(sizeof(double) * 16 * 32);
				double		err = 0.0;
				int			r,
							k,
							n;

				fill_normal(A, 256, 1.0, &rng);
				fill_normal(B, 768, 1.0, &rng);
				fill_normal(C, 512, 1.0, &rng);
				/* nn with accumulate: A [M][lda=11], B [Kd][Np] */
				memcpy(R, C, sizeof(double) * 512);
				K->mm_nn(M, Kd, A, 11, B, Np, C, Np, Np, 1);
				for (r = 0; r < M; r++)
					for (n = 0; n < Np; n++)
					{
						double		s = R[r * Np + n];

						for (k = 0; k < Kd; k++)
							s += A[r * 11 + k] * B[k * Np + n];
						err = fmax(err, fabs(s - C[r * Np + n]));
					}
				/* tn without accumulate: A [Kd][lda=13] */
				K->mm_tn(M, Kd, A, 13, B, Np, C, Np, Np, 0);
				for (r = 0; r < M; r++)
					for (n = 0; n < Np; n++)
					{
						double		s = 0.0;

						for (k = 0; k < Kd; k++)
							s += A[k * 13 + r] * B[k * Np + n];
						err = fmax(err, fabs(s - C[r * Np + n]));
					}
				/* nt: C[M][Kd] += A[M][Np] B[Kd][Np]^T, A,B rows of Np */
				memcpy(R, C, sizeof(double) * 512);
				K->mm_nt_acc(M, Kd, B, Np, B + 8, Np, C, 7, Np);
				for (r = 0; r < M; r++)
					for (k = 0; k < Kd; k++)
					{
						double		s = R[r * 7 + k];

						for (n = 0; n < Np; n++)
							s += B[r * Np + n] * B[8 + k * Np + n];
						err = fmax(err, fabs(s - C[r * 7 + k]));
					}
				if (err > 1e-12)
					tap_diag("M %d K %d Np %d err %g", M, Kd, Np, err);
				emax_s = fmax(emax_s, err);
				free(A);
				free(B);
				free(C);
				free(R);
			}
	tap_ok(emax_s < 1e-12, "%s: mm_nn / mm_tn / mm_nt_acc match naive loops",
		   K->name);

	/* gates kernel and the cell against the portable set */
	{
		const pz_lstm_kern *G0 = pz_lstm_kern_generic();
		int			H = 5,
					K1 = 3,
					N = 32;
		double	   *A1 = malloc(sizeof(double) * 4 * H * K1),
				   *A2 = malloc(sizeof(double) * 4 * H * H),
				   *B1 = malloc(sizeof(double) * K1 * N),
				   *B2 = malloc(sizeof(double) * H * N),
				   *bias = malloc(sizeof(double) * 4 * H),
				   *g1 = malloc(sizeof(double) * 4 * H * N),
				   *g2 = malloc(sizeof(double) * 4 * H * N),
				   *cp = malloc(sizeof(double) * H * N),
				   *st1 = malloc(sizeof(double) * 9 * H * N),
				   *st2 = malloc(sizeof(double) * 9 * H * N);
		double		err = 0.0;
		int			r,
					k,
					n;

		fill_normal(A1, 4 * H * K1, 1.0, &rng);
		fill_normal(A2, 4 * H * H, 1.0, &rng);
		fill_normal(B1, K1 * N, 1.0, &rng);
		fill_normal(B2, H * N, 1.0, &rng);
		fill_normal(bias, 4 * H, 1.0, &rng);
		fill_normal(cp, H * N, 1.0, &rng);
		K->mm_gates(4 * H, K1, A1, B1, H, A2, B2, bias, g1, N);
		for (r = 0; r < 4 * H; r++)
			for (n = 0; n < N; n++)
			{
				double		s = bias[r];

				for (k = 0; k < K1; k++)
					s += A1[r * K1 + k] * B1[k * N + n];
				for (k = 0; k < H; k++)
					s += A2[r * H + k] * B2[k * N + n];
				err = fmax(err, fabs(s - g1[r * N + n]));
			}
		tap_ok(err < 1e-12, "%s: mm_gates matches naive loops", K->name);
		/* forward cell: c, tc, h into st[0..3H) */
		memcpy(g2, g1, sizeof(double) * 4 * H * N);
		K->cell_fwd(H, N, g1, cp, st1, st1 + H * N, st1 + 2 * H * N, 1);
		G0->cell_fwd(H, N, g2, cp, st2, st2 + H * N, st2 + 2 * H * N, 1);
		err = 0.0;
		for (k = 0; k < 4 * H * N; k++)
			err = fmax(err, fabs(g1[k] - g2[k]));
		for (k = 0; k < 3 * H * N; k++)
			err = fmax(err, fabs(st1[k] - st2[k]));
		/* backward cell: dh in st[3H..4H), dc in st[4H..5H), dG after */
		fill_normal(st1 + 3 * H * N, 2 * H * N, 1.0, &rng);
		memcpy(st2 + 3 * H * N, st1 + 3 * H * N, sizeof(double) * 2 * H * N);
		K->cell_bwd(H, N, g1, cp, st1 + H * N, st1 + 3 * H * N, NULL,
					st1 + 4 * H * N, st1 + 5 * H * N);
		G0->cell_bwd(H, N, g2, cp, st2 + H * N, st2 + 3 * H * N, NULL,
					 st2 + 4 * H * N, st2 + 5 * H * N);
		for (k = 4 * H * N; k < 9 * H * N; k++)
			err = fmax(err, fabs(st1[k] - st2[k]));
		tap_ok(err < 1e-14, "%s: cell forward/backward agree with generic (%.2g)",
			   K->name, err);
		free(A1);
		free(A2);
		free(B1);
		free(B2);
		free(bias);
		free(g1);
		free(g2);
		free(cp);
		free(st1);
		free(st2);
	}
}

static pz_lstm *
make_model(int F, int H, int L, uint64_t seed)
{
	pz_lstm    *m = NULL;

	if (pz_lstm_create(F, H, L, &m, errmsg) != PZ_OK)
	{
		tap_diag("create: %s", errmsg);
		exit(2);
	}
	pz_lstm_init(m, seed);
	return m;
}

static void
test_forward(void)
{
	static const int shapes[][4] = {{1, 4, 1, 6}, {3, 5, 2, 4}, {2, 8, 3, 1}, {4, 3, 1, 9}};
	int			s;

	for (s = 0; s < 4; s++)
	{
		int			F = shapes[s][0],
					H = shapes[s][1],
					L = shapes[s][2],
					T = shapes[s][3];
		int			n = 300;		/* > one prediction chunk, not a multiple of 8 */
		pz_lstm    *m = make_model(F, H, L, 100 + s);
		double	   *x = malloc(sizeof(double) * n * T * F);
		double	   *y = malloc(sizeof(double) * n);
		pz_lstm_data d = {n, T, F, x, NULL, NULL};
		pz_rng		rng;
		double		err = 0.0;
		int			b;

		pz_rng_seed(&rng, 5);
		fill_normal(x, (size_t) n * T * F, 1.5, &rng);
		tap_ok(pz_lstm_predict(m, &d, y, NULL, errmsg) == PZ_OK, "predict ok");
		for (b = 0; b < n; b++)
			err = fmax(err, fabs(y[b] - ref_forward(m, T, x + (size_t) b * T * F, NULL)));
		tap_ok(err < 1e-13, "forward F=%d H=%d L=%d T=%d matches scalar reference (max err %.2g)",
			   F, H, L, T, err);
		free(x);
		free(y);
		pz_lstm_free(m);
	}
}

/*
 * Central differences (step 1e-5) of the loss against the analytic
 * gradient, for every parameter.  Error measure: |a - n| / max(|a|+|n|, 1e-4).
 */
static void
gradcheck(int F, int H, int L, int T, int n, int weighted, double dropout)
{
	pz_lstm    *m = make_model(F, H, L, 11);
	double	   *x = malloc(sizeof(double) * n * T * F);
	double	   *y = malloc(sizeof(double) * n);
	double	   *w = malloc(sizeof(double) * n);
	double	   *g = malloc(sizeof(double) * m->n_params);
	double	   *g2 = malloc(sizeof(double) * m->n_params);
	pz_lstm_data d = {n, T, F, x, y, weighted ? w : NULL};
	pz_rng		rng;
	double		loss,
				lp,
				lm,
				worst = 0.0;
	size_t		i,
				worst_i = 0;
	int			b;
	pz_status	st;
	const double eps = 1e-5;

	pz_rng_seed(&rng, 99);
	fill_normal(x, (size_t) n * T * F, 1.0, &rng);
	fill_normal(y, n, 1.0, &rng);
	for (b = 0; b < n; b++)
		w[b] = fabs(y[b]) + 0.1;	/* like the prototype: weight ~ true value */
	/* larger weights than the default init so the gates leave the linear zone */
	for (i = 0; i < m->n_params; i++)
		m->params[i] *= 2.0;
	st = pz_lstm_loss_grad(m, &d, dropout, 1234, &loss, g, errmsg);
	tap_ok(st == PZ_OK, "loss_grad ok");
	for (i = 0; i < m->n_params; i++)
	{
		double		p = m->params[i],
					num,
					err;

		m->params[i] = p + eps;
		pz_lstm_loss_grad(m, &d, dropout, 1234, &lp, g2, errmsg);
		m->params[i] = p - eps;
		pz_lstm_loss_grad(m, &d, dropout, 1234, &lm, g2, errmsg);
		m->params[i] = p;
		num = (lp - lm) / (2 * eps);
		err = fabs(g[i] - num) / fmax(fabs(g[i]) + fabs(num), 1e-4);
		if (err > worst)
		{
			worst = err;
			worst_i = i;
		}
	}
	tap_ok(worst < 1e-5,
		   "gradient check F=%d H=%d L=%d T=%d n=%d %s%s: %zu params, worst rel err %.2g (param %zu)",
		   F, H, L, T, n, weighted ? "weighted" : "mse",
		   dropout > 0 ? " dropout" : "", m->n_params, worst, worst_i);
	free(x);
	free(y);
	free(w);
	free(g);
	free(g2);
	pz_lstm_free(m);
}

static void
test_adam(void)
{
	/* minimise sum (p - 3)^2 from 0 */
	pz_adam    *a = NULL;
	double		p[3] = {0, 0, 0},
				g[3];
	int			k,
				i;
	pz_status	st = pz_adam_create(3, 0.1, 0.9, 0.999, 1e-8, 0.0, &a, errmsg);

	tap_ok(st == PZ_OK, "adam create");
	/* first step of Adam moves every coordinate by exactly lr */
	for (i = 0; i < 3; i++)
		g[i] = 2 * (p[i] - 3) * (i + 1);
	pz_adam_step(a, p, g);
	tap_close(p[0], 0.1, 1e-9, 0, "adam first step = lr * sign(g)");
	tap_close(p[2], 0.1, 1e-9, 0, "adam first step independent of scale");
	for (k = 0; k < 2000; k++)
	{
		for (i = 0; i < 3; i++)
			g[i] = 2 * (p[i] - 3) * (i + 1);
		pz_adam_step(a, p, g);
	}
	tap_close(p[1], 3.0, 1e-3, 0, "adam converges on a quadratic");
	pz_adam_free(a);
	tap_ok(pz_adam_create(3, NAN, 0.9, 0.999, 1e-8, 0, &a, errmsg) == PZ_EINVAL && a == NULL,
		   "adam rejects NaN learning rate (%s)", errmsg);
	tap_ok(pz_adam_create(3, 1e-3, 1.0, 0.999, 1e-8, 0, &a, errmsg) == PZ_EINVAL,
		   "adam rejects beta1 = 1");
	tap_ok(pz_adam_create(0, 1e-3, 0.9, 0.999, 1e-8, 0, &a, errmsg) == PZ_EINVAL,
		   "adam rejects zero parameters");
}

/* A learnable toy: y = mean of the window's first feature + 0.5 * last. */
static void
toy_data(int n, int T, int F, double *x, double *y, uint64_t seed)
{
	pz_rng		rng;
	int			b,
				t;

	pz_rng_seed(&rng, seed);
	fill_normal(x, (size_t) n * T * F, 1.0, &rng);
	for (b = 0; b < n; b++)
	{
		double		s = 0.0;

		for (t = 0; t < T; t++)
			s += x[((size_t) b * T + t) * F];
		y[b] = s / T + 0.5 * x[((size_t) b * T + T - 1) * F];
	}
}

typedef struct cb_state
{
	int			calls;
	double		first,
				last;
	int			stop_at;
} cb_state;

static int
on_epoch(void *arg, const pz_lstm_epoch_info *info)
{
	cb_state   *s = arg;

	if (s->calls++ == 0)
		s->first = info->train_loss;
	s->last = info->train_loss;
	return s->stop_at > 0 && info->epoch >= s->stop_at;
}

static int
cancel_after(void *arg)
{
	int		   *n = arg;

	return --(*n) < 0;
}

static void
test_training(void)
{
	int			n = 240,
				T = 6,
				F = 2;
	double	   *x = malloc(sizeof(double) * n * T * F);
	double	   *y = malloc(sizeof(double) * n);
	double	   *xv = malloc(sizeof(double) * 200 * T * F);
	double	   *yv = malloc(sizeof(double) * 200);
	pz_lstm_data d = {n, T, F, x, y, NULL};
	pz_lstm_data dv = {200, T, F, xv, yv, NULL};
	pz_lstm_train_opts o;
	pz_lstm_train_result r1,
				r2;
	pz_lstm    *m1 = make_model(F, 8, 2, 3),
			   *m2 = make_model(F, 8, 2, 3);
	cb_state	cs = {0, 0, 0, 0};
	double		l0,
				l1;
	pz_status	st;
	int			budget;
	pz_cancel	cancel = {cancel_after, &budget};

	toy_data(n, T, F, x, y, 1);
	toy_data(200, T, F, xv, yv, 2);
	pz_lstm_train_opts_default(&o);
	o.epochs = 12;
	o.batch_size = 32;
	o.lr = 1e-2;
	o.dropout = 0.1;
	o.on_epoch = on_epoch;
	o.on_epoch_arg = &cs;
	pz_lstm_evaluate(m1, &dv, &l0, NULL, errmsg);
	st = pz_lstm_train(m1, &d, &dv, &o, &r1, errmsg);
	tap_ok(st == PZ_OK, "train ok (%s)", st == PZ_OK ? "" : errmsg);
	pz_lstm_evaluate(m1, &dv, &l1, NULL, errmsg);
	tap_ok(cs.calls == 12 && r1.epochs_run == 12, "callback once per epoch");
	tap_ok(l1 < 0.1 * l0, "toy task learnt: validation MSE %.4f -> %.4f", l0, l1);
	tap_close(l1, r1.best_val_loss, 1e-12, 0, "best epoch's weights restored");

	o.on_epoch = NULL;
	st = pz_lstm_train(m2, &d, &dv, &o, &r2, errmsg);
	tap_ok(st == PZ_OK && memcmp(m1->params, m2->params,
								 m1->n_params * sizeof(double)) == 0,
		   "same seed, bit-identical weights after training");
	pz_lstm_init(m2, 3);
	o.seed = 43;
	o.epochs = 2;
	pz_lstm_train(m2, &d, &dv, &o, &r2, errmsg);
	pz_lstm_init(m1, 3);
	o.seed = 42;
	pz_lstm_train(m1, &d, &dv, &o, &r1, errmsg);
	tap_ok(memcmp(m1->params, m2->params, m1->n_params * sizeof(double)) != 0,
		   "other seed, other weights");

	/* early stopping: validation on pure noise targets cannot improve long */
	{
		double	   *noise = malloc(sizeof(double) * 200);
		pz_rng		rng;
		pz_lstm_data dn = dv;

		pz_rng_seed(&rng, 77);
		fill_normal(noise, 200, 1.0, &rng);
		dn.y = noise;
		o.epochs = 200;
		o.patience = 3;
		st = pz_lstm_train(m1, &d, &dn, &o, &r1, errmsg);
		tap_ok(st == PZ_OK && r1.stopped_early && r1.epochs_run < 200 &&
			   r1.epochs_run == r1.best_epoch + 3,
			   "early stopping after patience 3 (ran %d, best %d)",
			   r1.epochs_run, r1.best_epoch);
		free(noise);
	}

	/* callback can stop */
	cs.calls = 0;
	cs.stop_at = 2;
	o.on_epoch = on_epoch;
	o.patience = 0;
	o.epochs = 10;
	st = pz_lstm_train(m1, &d, NULL, &o, &r1, errmsg);
	tap_ok(st == PZ_OK && r1.epochs_run == 2 && r1.stopped_early,
		   "callback stops training");

	/* cancel in the middle of an epoch */
	budget = 10;
	o.cancel = &cancel;
	o.on_epoch = NULL;
	st = pz_lstm_train(m1, &d, &dv, &o, &r1, errmsg);
	tap_ok(st == PZ_ECANCELLED, "cancel hook stops training (%s)", errmsg);
	budget = 0;
	{
		double		out[200];

		tap_ok(pz_lstm_predict(m1, &dv, out, &cancel, errmsg) == PZ_ECANCELLED,
			   "cancel hook stops prediction");
	}
	o.cancel = NULL;

	/* bad arguments */
	o.epochs = -1;
	tap_ok(pz_lstm_train(m1, &d, NULL, &o, &r1, errmsg) == PZ_EINVAL,
		   "epochs < 0 rejected (%s)", errmsg);
	o.epochs = 1;
	o.lr = NAN;
	tap_ok(pz_lstm_train(m1, &d, NULL, &o, &r1, errmsg) == PZ_EINVAL,
		   "NaN learning rate rejected (%s)", errmsg);
	o.lr = 1e-3;
	o.batch_size = 0;
	tap_ok(pz_lstm_train(m1, &d, NULL, &o, &r1, errmsg) == PZ_EINVAL,
		   "batch 0 rejected (%s)", errmsg);
	o.batch_size = 32;
	o.dropout = 1.0;
	tap_ok(pz_lstm_train(m1, &d, NULL, &o, &r1, errmsg) == PZ_EINVAL,
		   "dropout 1 rejected (%s)", errmsg);
	o.dropout = 0.0;
	y[5] = NAN;
	tap_ok(pz_lstm_train(m1, &d, NULL, &o, &r1, errmsg) == PZ_EINVAL,
		   "NaN target rejected (%s)", errmsg);
	y[5] = 0.0;
	x[17] = INFINITY;
	tap_ok(pz_lstm_train(m1, &d, NULL, &o, &r1, errmsg) == PZ_EINVAL,
		   "infinite input rejected (%s)", errmsg);
	x[17] = 0.0;
	d.F = 3;
	tap_ok(pz_lstm_train(m1, &d, NULL, &o, &r1, errmsg) == PZ_EINVAL,
		   "feature count mismatch rejected (%s)", errmsg);
	d.F = F;
	d.T = 0;
	tap_ok(pz_lstm_train(m1, &d, NULL, &o, &r1, errmsg) == PZ_EINVAL,
		   "window 0 rejected (%s)", errmsg);
	d.T = T;
	o.epochs = 0;
	tap_ok(pz_lstm_train(m1, &d, NULL, &o, &r1, errmsg) == PZ_OK && r1.epochs_run == 0,
		   "epochs = 0 is a no-op");
	o.epochs = 3;
	o.lr = 1e6;
	st = pz_lstm_train(m1, &d, NULL, &o, &r1, errmsg);
	tap_ok(st == PZ_OK || st == PZ_ENUMERIC, "huge learning rate: ok or clean divergence error");

	{
		pz_lstm    *bad = NULL;

		tap_ok(pz_lstm_create(1, 0, 1, &bad, errmsg) == PZ_EINVAL && bad == NULL,
			   "hidden 0 rejected (%s)", errmsg);
		tap_ok(pz_lstm_create(1, 1000000, 1, &bad, errmsg) == PZ_EINVAL,
			   "hidden 1e6 rejected (%s)", errmsg);
		tap_ok(pz_lstm_create(1, 4096, 2, &bad, errmsg) == PZ_EINVAL,
			   "too many parameters rejected (%s)", errmsg);
		tap_ok(pz_lstm_create(1, 8, 0, &bad, errmsg) == PZ_EINVAL,
			   "0 layers rejected (%s)", errmsg);
	}
	free(x);
	free(y);
	free(xv);
	free(yv);
	pz_lstm_free(m1);
	pz_lstm_free(m2);
}

/* Rewrite the CRC of a blob after tampering with it on purpose. */
static void
recrc(unsigned char *buf, size_t len)
{
	uint32_t	c = pz_crc32(0, buf, len - 4);

	buf[len - 4] = (unsigned char) c;
	buf[len - 3] = (unsigned char) (c >> 8);
	buf[len - 2] = (unsigned char) (c >> 16);
	buf[len - 1] = (unsigned char) (c >> 24);
}

static void
test_serialization(void)
{
	pz_lstm    *m = make_model(2, 3, 2, 21),
			   *r = NULL;
	size_t		len = pz_lstm_serialized_size(m),
				k;
	unsigned char *buf = malloc(len),
			   *cpy = malloc(len);
	int			all = 1,
				bit;
	pz_status	st;

	m->window = 8;
	pz_lstm_serialize(m, buf);
	st = pz_lstm_deserialize(buf, len, &r, errmsg);
	tap_ok(st == PZ_OK && r != NULL && r->n_params == m->n_params &&
		   r->window == 8 && r->num_layers == 2 && r->input_size == 2 &&
		   memcmp(r->params, m->params, m->n_params * sizeof(double)) == 0,
		   "serialise / deserialise round trip is exact");
	pz_lstm_free(r);

	/* every truncation */
	for (k = 0; k < len; k++)
	{
		st = pz_lstm_deserialize(buf, k, &r, errmsg);
		all &= st == PZ_ECORRUPT && r == NULL;
	}
	tap_ok(all, "every truncation rejected as corrupt");
	/* trailing garbage */
	{
		unsigned char *big = malloc(len + 8);

		memcpy(big, buf, len);
		memset(big + len, 0, 8);
		tap_ok(pz_lstm_deserialize(big, len + 8, &r, errmsg) == PZ_ECORRUPT,
			   "trailing bytes rejected (%s)", errmsg);
		free(big);
	}
	/* every single-bit flip of every byte */
	all = 1;
	for (k = 0; k < len; k++)
		for (bit = 0; bit < 8; bit++)
		{
			memcpy(cpy, buf, len);
			cpy[k] ^= (unsigned char) (1 << bit);
			st = pz_lstm_deserialize(cpy, len, &r, errmsg);
			all &= st == PZ_ECORRUPT && r == NULL;
		}
	tap_ok(all, "every flipped bit rejected as corrupt (%zu bytes)", len);

	memcpy(cpy, buf, len);
	cpy[8] = 2;
	recrc(cpy, len);
	st = pz_lstm_deserialize(cpy, len, &r, errmsg);
	tap_ok(st == PZ_EVERSION, "intact blob of version 2 -> PZ_EVERSION (%s)", errmsg);

	memcpy(cpy, buf, len);
	cpy[16] = 0;				/* hidden 3 -> 0 */
	recrc(cpy, len);
	tap_ok(pz_lstm_deserialize(cpy, len, &r, errmsg) == PZ_ECORRUPT,
		   "hidden size 0 with a valid CRC rejected (%s)", errmsg);
	memcpy(cpy, buf, len);
	cpy[19] = 0x7f;				/* hidden ~2^31 */
	recrc(cpy, len);
	tap_ok(pz_lstm_deserialize(cpy, len, &r, errmsg) == PZ_ECORRUPT,
		   "absurd hidden size rejected (%s)", errmsg);
	memcpy(cpy, buf, len);
	cpy[12] = 3;				/* input 2 -> 3: n_params no longer matches */
	recrc(cpy, len);
	tap_ok(pz_lstm_deserialize(cpy, len, &r, errmsg) == PZ_ECORRUPT,
		   "inconsistent parameter count rejected (%s)", errmsg);
	memcpy(cpy, buf, len);
	{
		double		nan = NAN;
		uint64_t	bits;
		int			b;

		memcpy(&bits, &nan, 8);
		for (b = 0; b < 8; b++)
			cpy[PZ_LSTM_HEADER_BYTES + 16 + b] = (unsigned char) (bits >> (8 * b));
	}
	recrc(cpy, len);
	tap_ok(pz_lstm_deserialize(cpy, len, &r, errmsg) == PZ_ECORRUPT,
		   "NaN weight rejected (%s)", errmsg);
	tap_ok(pz_lstm_deserialize(NULL, 0, &r, errmsg) == PZ_ECORRUPT,
		   "NULL buffer rejected");
	/* the byte layout is fixed: check a few bytes of the header */
	tap_ok(buf[0] == 'P' && buf[5] == 'M' && buf[8] == 1 && buf[12] == 2 &&
		   buf[16] == 3 && buf[20] == 2 && buf[24] == 8 &&
		   buf[32] == (unsigned char) m->n_params,
		   "header layout as documented");
	free(buf);
	free(cpy);
	pz_lstm_free(m);
}

static void
test_features(void)
{
	/* one window of 3 weeks: (score, plays, likes, skips) */
	double		raw[12] = {9, 10, 2, 1, 0, 0, 0, 0, 99, 100, 300, 50};
	double		age[1] = {52.0};
	double		x[15],
				level,
				lv;
	double		mean[5],
				std[5];

	pz_lstm_features(1, 3, raw, age, x, &level);
	lv = (log(10.0) + 0.0 + log(100.0)) / 3;
	tap_close(level, lv, 1e-15, 0, "features: level = mean log1p(score)");
	tap_close(x[0], log(10.0) - lv, 1e-15, 0, "features: log score relative to the level");
	tap_close(x[1], 0.2, 1e-15, 0, "features: like rate");
	tap_close(x[2], 0.1, 1e-15, 0, "features: skip rate");
	tap_close(x[5 + 1], 0.0, 1e-15, 0, "features: no plays, rate 0");
	tap_close(x[10 + 1], 2.0, 1e-15, 0, "features: rates capped at 2");
	tap_close(x[3], lv, 1e-15, 0, "features: level as an input");
	tap_close(x[4], log(2.0), 1e-15, 0, "features: log1p(age in years)");
	age[0] = -1;
	pz_lstm_features(1, 3, raw, age, x, &level);
	tap_close(x[14], 0.0, 0, 0, "features: unknown age is 0");
	tap_close(pz_lstm_score(pz_lstm_target(42.0, lv), lv), 42.0, 1e-12, 0,
			  "target and score are inverse");
	tap_close(pz_lstm_score(-100.0, 0.0), 0.0, 0, 0, "scores are never negative");
	pz_lstm_feature_stats(1, 3, 5, x, mean, std);
	pz_lstm_standardise(1, 3, 5, x, mean, std);
	tap_close(x[3], 0.0, 1e-15, 0, "standardise: constant feature -> 0 (std 1)");
	tap_close(x[1] + x[6] + x[11], 0.0, 1e-12, 0, "standardise: zero mean");
}

/* pz_lstm_kern_set_cap() bounds the kernel set pz_lstm_kern_get() picks. */
static void
test_kernel_cap(void)
{
	const pz_lstm_kern *best = pz_lstm_kern_get();
	const pz_lstm_kern *k;
	int			i,
				has_avx2 = 0;

	for (i = 0; (k = pz_lstm_kern_available(i)) != NULL; i++)
		if (strcmp(k->name, "avx2+fma") == 0)
			has_avx2 = 1;
	tap_ok(pz_lstm_kern_get_cap() == PZ_LSTM_KERN_AUTO, "kernel cap: AUTO by default");
	pz_lstm_kern_set_cap(PZ_LSTM_KERN_GENERIC);
	tap_ok(pz_lstm_kern_get() == pz_lstm_kern_generic(), "kernel cap GENERIC: %s",
		   pz_lstm_kern_get()->name);
	pz_lstm_kern_set_cap(PZ_LSTM_KERN_AVX2);
	tap_ok(strcmp(pz_lstm_kern_get()->name, has_avx2 ? "avx2+fma" : "generic") == 0,
		   "kernel cap AVX2: %s", pz_lstm_kern_get()->name);
	pz_lstm_kern_set_cap(PZ_LSTM_KERN_AVX512);
	tap_ok(pz_lstm_kern_get() == best, "kernel cap AVX512: the widest (%s)",
		   pz_lstm_kern_get()->name);
	pz_lstm_kern_set_cap(PZ_LSTM_KERN_AUTO);
	tap_ok(pz_lstm_kern_get() == best, "kernel cap AUTO again: %s", best->name);
}

int
main(void)
{
	const pz_lstm_kern *best = pz_lstm_kern_get();

	tap_diag("kernels in use: %s", best->name);
	test_crc_rng();
	test_kernel_cap();
	{
		int			i;

		for (i = 0; pz_lstm_kern_available(i) != NULL; i++)
			test_kernels(pz_lstm_kern_available(i));
	}
	test_forward();
	gradcheck(3, 4, 2, 5, 7, 0, 0.0);
	gradcheck(3, 4, 2, 5, 7, 1, 0.0);
	gradcheck(1, 5, 1, 8, 10, 1, 0.0);
	gradcheck(2, 3, 3, 4, 9, 1, 0.3);
	test_adam();
	test_training();
	test_serialization();
	test_features();
	return tap_done();
}
