/*
 * test_lstm_torch.c — parity of the LSTM core with PyTorch.
 *
 * Reads test/fixtures/lstm/torch_parity.txt (made by
 * test/fixtures/make_lstm_fixtures.py with torch.nn.LSTM + nn.Linear in
 * float64) and checks, per case: the forward outputs, the weighted loss,
 * its gradient w.r.t. every parameter, and the parameters after one Adam
 * step, all against torch.  Run from the repository root.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adam.h"
#include "lstm.h"
#include "pz_common.h"
#include "tap.h"

#define FIXTURE "test/fixtures/lstm/torch_parity.txt"

static char errmsg[PZ_ERRMSG_LEN];

/* Reads "<key> <count> v1 .. vcount"; returns a malloc'd array or NULL. */
static double *
read_vec(FILE *f, const char *key, size_t want)
{
	char		tok[64];
	size_t		n,
				i;
	double	   *v;

	if (fscanf(f, "%63s %zu", tok, &n) != 2 || strcmp(tok, key) != 0 ||
		n != want)
	{
		tap_diag("fixture: expected '%s' with %zu values", key, want);
		return NULL;
	}
	v = malloc(sizeof(double) * (n ? n : 1));
	for (i = 0; i < n; i++)
		if (fscanf(f, "%lf", &v[i]) != 1)
		{
			free(v);
			return NULL;
		}
	return v;
}

static double
max_abs_diff(const double *a, const double *b, size_t n)
{
	double		m = 0.0;
	size_t		i;

	for (i = 0; i < n; i++)
		if (!(fabs(a[i] - b[i]) <= m))
			m = isnan(a[i] - b[i]) ? INFINITY : fabs(a[i] - b[i]);
	return m;
}

static int
run_case(FILE *f)
{
	char		tok[64],
				name[64];
	int			F,
				H,
				L,
				T,
				B;
	pz_lstm    *m = NULL;
	double	   *params,
			   *x,
			   *out,
			   *target,
			   *weight,
			   *loss,
			   *grad,
			   *adam_ref;
	double	   *y,
			   *g,
				myloss;
	pz_adam    *adam = NULL;
	pz_lstm_data d;
	size_t		np;

	if (fscanf(f, "%63s", tok) != 1)
		return 0;
	if (strcmp(tok, "case") != 0 ||
		fscanf(f, "%63s %d %d %d %d %d", name, &F, &H, &L, &T, &B) != 6)
	{
		tap_ok(0, "fixture format");
		return 0;
	}
	if (pz_lstm_create(F, H, L, &m, errmsg) != PZ_OK)
	{
		tap_ok(0, "%s: create (%s)", name, errmsg);
		return 0;
	}
	np = m->n_params;
	params = read_vec(f, "params", np);
	x = read_vec(f, "x", (size_t) B * T * F);
	out = read_vec(f, "out", B);
	target = read_vec(f, "target", B);
	weight = read_vec(f, "weight", B);
	loss = read_vec(f, "loss", 1);
	grad = read_vec(f, "grad", np);
	adam_ref = read_vec(f, "adam", np);
	if (!params || !x || !out || !target || !weight || !loss || !grad ||
		!adam_ref || fscanf(f, "%63s", tok) != 1 || strcmp(tok, "end") != 0)
	{
		tap_ok(0, "%s: fixture parse (parameter count %zu)", name, np);
		return 0;
	}
	memcpy(m->params, params, np * sizeof(double));
	d.n = B;
	d.T = T;
	d.F = F;
	d.x = x;
	d.y = target;
	d.w = weight;
	y = malloc(sizeof(double) * B);
	g = malloc(sizeof(double) * np);

	tap_ok(pz_lstm_predict(m, &d, y, NULL, errmsg) == PZ_OK, "%s: predict", name);
	tap_ok(max_abs_diff(y, out, B) < 1e-10,
		   "%s (F=%d H=%d L=%d T=%d): forward = torch (max abs diff %.2g, tolerance 1e-10)",
		   name, F, H, L, T, max_abs_diff(y, out, B));
	tap_ok(pz_lstm_loss_grad(m, &d, 0.0, 0, &myloss, g, errmsg) == PZ_OK,
		   "%s: loss_grad", name);
	tap_close(myloss, loss[0], 1e-12, 1e-10, "weighted loss = torch");
	tap_ok(max_abs_diff(g, grad, np) < 1e-10,
		   "%s: gradient of all %zu parameters = torch autograd (max abs diff %.2g)",
		   name, np, max_abs_diff(g, grad, np));
	pz_adam_create(np, 1e-2, 0.9, 0.999, 1e-8, 0.0, &adam, errmsg);
	pz_adam_step(adam, m->params, g);
	tap_ok(max_abs_diff(m->params, adam_ref, np) < 1e-10,
		   "%s: parameters after one Adam step = torch.optim.Adam (max abs diff %.2g)",
		   name, max_abs_diff(m->params, adam_ref, np));
	pz_adam_free(adam);
	free(params);
	free(x);
	free(out);
	free(target);
	free(weight);
	free(loss);
	free(grad);
	free(adam_ref);
	free(y);
	free(g);
	pz_lstm_free(m);
	return 1;
}

int
main(void)
{
	FILE	   *f = fopen(FIXTURE, "r");
	int			cases = 0;
	int			ch;

	if (f == NULL)
	{
		tap_ok(0, "open %s (run from the repository root)", FIXTURE);
		return tap_done();
	}
	/* skip the comment line */
	while ((ch = fgetc(f)) != EOF && ch != '\n')
		;
	while (run_case(f))
		cases++;
	fclose(f);
	tap_ok(cases == 5, "all %d fixture cases read", cases);
	return tap_done();
}
