/*
 * lstm_bench.c — speed of the LSTM core on the benchmark:
 * LSTM(1 -> 32) + Linear(32, 1), 20,000 windows of length 8, batch 256,
 * Adam(lr 1e-3), MSE.  Run through bench/lstm_bench.sh, which also runs
 * bench/lstm_bench_torch.py on the same data and prints both side by side.
 *
 *   lstm_bench [epochs [init_weights_out]]
 *
 * The data are a deterministic formula (see series() — the Python side
 * computes the same), the initial weights come from pz_lstm_init(seed 1)
 * and are written to init_weights_out (one number per line, state_dict
 * order) so that PyTorch starts from the very same network.
 * Prints one line: key=value pairs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lstm.h"
#include "lstm_kern.h"
#include "pz_common.h"

#define NWIN 20000
#define WIN 8

/* smooth seasonal signal plus a deterministic hash "noise" in [-0.1, 0.1) */
static double
series(long k)
{
	double		h = sin((double) k * 12.9898) * 43758.5453;

	h -= floor(h);
	return sin(0.05 * k) + 0.5 * sin(0.31 * k + 1.0) + 0.2 * (h - 0.5);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU time of the process: less disturbed than wall time on a busy machine */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct
{
	double		cpu_last;
	double		cpu_sum;
	double		t_last;
	double		sum;
	double		min;
	int			n;
	double		loss;
} timing;

static int
on_epoch(void *arg, const pz_lstm_epoch_info *info)
{
	timing	   *tm = arg;
	double		t = now();
	double		dt = t - tm->t_last;

	tm->sum += dt;
	if (tm->n == 0 || dt < tm->min)
		tm->min = dt;
	tm->n++;
	tm->t_last = t;
	tm->cpu_sum += cpu_now() - tm->cpu_last;
	tm->cpu_last = cpu_now();
	tm->loss = info->train_loss;
	return 0;
}

int
main(int argc, char **argv)
{
	int			epochs = argc > 1 ? atoi(argv[1]) : 5;
	const char *init_out = argc > 2 ? argv[2] : NULL;
	double	   *x = malloc(sizeof(double) * NWIN * WIN);
	double	   *y = malloc(sizeof(double) * NWIN);
	double	   *pred = malloc(sizeof(double) * NWIN);
	char		errmsg[PZ_ERRMSG_LEN];
	pz_lstm    *m = NULL;
	pz_lstm_data d = {NWIN, WIN, 1, x, y, NULL};
	pz_lstm_train_opts o;
	pz_lstm_train_result r;
	timing		tm;
	double		best_pred = 1e30,
				best_pred_cpu = 1e30,
				mse;
	long		i;
	int			t,
				rep;
	const char *kernel = getenv("PZ_LSTM_KERNEL");

	/* PZ_LSTM_KERNEL=generic|avx2|avx512 caps the kernels, as the GUC does */
	if (kernel != NULL && strcmp(kernel, "generic") == 0)
		pz_lstm_kern_set_cap(PZ_LSTM_KERN_GENERIC);
	else if (kernel != NULL && strcmp(kernel, "avx2") == 0)
		pz_lstm_kern_set_cap(PZ_LSTM_KERN_AVX2);
	else if (kernel != NULL && strcmp(kernel, "avx512") == 0)
		pz_lstm_kern_set_cap(PZ_LSTM_KERN_AVX512);

	for (i = 0; i < NWIN; i++)
	{
		for (t = 0; t < WIN; t++)
			x[i * WIN + t] = series(i + t);
		y[i] = series(i + WIN);
	}
	if (pz_lstm_create(1, 32, 1, &m, errmsg) != PZ_OK)
	{
		fprintf(stderr, "%s\n", errmsg);
		return 1;
	}
	pz_lstm_init(m, 1);
	if (init_out)
	{
		FILE	   *f = fopen(init_out, "w");
		size_t		k;

		if (f == NULL)
		{
			perror(init_out);
			return 1;
		}
		for (k = 0; k < m->n_params; k++)
			fprintf(f, "%.17g\n", m->params[k]);
		fclose(f);
	}
	pz_lstm_evaluate(m, &d, &mse, NULL, errmsg);
	fprintf(stderr, "# C: kernels %s, initial MSE %.6f\n",
			pz_lstm_kern_get()->name, mse);

	pz_lstm_train_opts_default(&o);
	o.epochs = epochs;
	o.batch_size = 256;
	o.lr = 1e-3;
	o.seed = 7;
	o.on_epoch = on_epoch;
	o.on_epoch_arg = &tm;
	memset(&tm, 0, sizeof(tm));
	tm.t_last = now();
	tm.cpu_last = cpu_now();
	if (pz_lstm_train(m, &d, NULL, &o, &r, errmsg) != PZ_OK)
	{
		fprintf(stderr, "train: %s\n", errmsg);
		return 1;
	}
	pz_lstm_evaluate(m, &d, &mse, NULL, errmsg);
	for (rep = 0; rep < 5; rep++)
	{
		double		t0 = now(),
					c0 = cpu_now();

		pz_lstm_predict(m, &d, pred, NULL, errmsg);
		if (now() - t0 < best_pred)
			best_pred = now() - t0;
		if (cpu_now() - c0 < best_pred_cpu)
			best_pred_cpu = cpu_now() - c0;
	}
	printf("impl=pozytywka-C epochs=%d s_per_epoch_mean=%.4f s_per_epoch_min=%.4f "
		   "cpu_s_per_epoch=%.4f final_mse=%.8f predict_s=%.4f predict_cpu_s=%.4f\n",
		   tm.n, tm.sum / tm.n, tm.min, tm.cpu_sum / tm.n, mse, best_pred,
		   best_pred_cpu);
	free(x);
	free(y);
	free(pred);
	pz_lstm_free(m);
	return 0;
}
