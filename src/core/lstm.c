/*
 * lstm.c — stacked LSTM + dense head: model, forward, backpropagation
 * through time, loss, prediction and the mini-batch training loop.
 * See lstm.h for the exact model and lstm_kern.h for the data layout.
 *
 * Backpropagation through time (Werbos 1990) runs time-major from the last
 * step back, top layer first within a step, so each layer needs only its
 * own recurrent gradients dL/dh_{t} and dL/dc_{t} from step t+1 and the
 * gradient arriving from the layer above at the same step.
 */
#include "lstm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adam.h"
#include "lstm_kern.h"
#include "pz_rng.h"

/* ---------------------------------------------------------------- model */

static int
round_lanes(int n)
{
	return (n + PZ_LSTM_LANES - 1) / PZ_LSTM_LANES * PZ_LSTM_LANES;
}

size_t
pz_lstm_param_count(int input_size, int hidden_size, int num_layers)
{
	size_t		H = (size_t) hidden_size;
	size_t		n;

	if (input_size < 1 || input_size > PZ_LSTM_MAX_INPUT ||
		hidden_size < 1 || hidden_size > PZ_LSTM_MAX_HIDDEN ||
		num_layers < 1 || num_layers > PZ_LSTM_MAX_LAYERS)
		return 0;
	/* layer 0, the other layers, the head; no overflow within the limits */
	n = 4 * H * (size_t) input_size + 4 * H * H + 8 * H;
	n += (size_t) (num_layers - 1) * (4 * H * H + 4 * H * H + 8 * H);
	n += H + 1;
	return n <= PZ_LSTM_MAX_PARAMS ? n : 0;
}

pz_status
pz_lstm_create(int input_size, int hidden_size, int num_layers,
			   pz_lstm **out, char *errmsg)
{
	pz_lstm    *m;
	size_t		n;

	*out = NULL;
	if (input_size < 1 || input_size > PZ_LSTM_MAX_INPUT)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "input size %d outside 1..%d", input_size, PZ_LSTM_MAX_INPUT);
		return PZ_EINVAL;
	}
	if (hidden_size < 1 || hidden_size > PZ_LSTM_MAX_HIDDEN)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "hidden size %d outside 1..%d", hidden_size,
				 PZ_LSTM_MAX_HIDDEN);
		return PZ_EINVAL;
	}
	if (num_layers < 1 || num_layers > PZ_LSTM_MAX_LAYERS)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "number of layers %d outside 1..%d", num_layers,
				 PZ_LSTM_MAX_LAYERS);
		return PZ_EINVAL;
	}
	n = pz_lstm_param_count(input_size, hidden_size, num_layers);
	if (n == 0)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "LSTM(%d, %d, layers %d) has more than %zu parameters",
				 input_size, hidden_size, num_layers,
				 (size_t) PZ_LSTM_MAX_PARAMS);
		return PZ_EINVAL;
	}
	m = pz_calloc(1, sizeof(*m));
	if (m == NULL || (m->params = pz_calloc(n, sizeof(double))) == NULL)
	{
		pz_free(m);
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "out of memory for %zu LSTM parameters", n);
		return PZ_ENOMEM;
	}
	m->input_size = input_size;
	m->hidden_size = hidden_size;
	m->num_layers = num_layers;
	m->window = 0;
	m->n_params = n;
	*out = m;
	return PZ_OK;
}

void
pz_lstm_free(pz_lstm *m)
{
	if (m == NULL)
		return;
	pz_free(m->params);
	pz_free(m);
}

pz_status
pz_lstm_copy(const pz_lstm *m, pz_lstm **out, char *errmsg)
{
	pz_status	st = pz_lstm_create(m->input_size, m->hidden_size,
									m->num_layers, out, errmsg);

	if (st != PZ_OK)
		return st;
	(*out)->window = m->window;
	memcpy((*out)->params, m->params, m->n_params * sizeof(double));
	return PZ_OK;
}

int
pz_lstm_layer_input(const pz_lstm *m, int k)
{
	return k == 0 ? m->input_size : m->hidden_size;
}

static size_t
layer_offset(const pz_lstm *m, int k)
{
	size_t		H = (size_t) m->hidden_size;
	size_t		first = 4 * H * (size_t) m->input_size + 4 * H * H + 8 * H;
	size_t		other = 8 * H * H + 8 * H;

	return k == 0 ? 0 : first + (size_t) (k - 1) * other;
}

double *
pz_lstm_w_ih(const pz_lstm *m, int k)
{
	return m->params + layer_offset(m, k);
}

double *
pz_lstm_w_hh(const pz_lstm *m, int k)
{
	return pz_lstm_w_ih(m, k) +
		(size_t) 4 * m->hidden_size * pz_lstm_layer_input(m, k);
}

double *
pz_lstm_b_ih(const pz_lstm *m, int k)
{
	return pz_lstm_w_hh(m, k) + (size_t) 4 * m->hidden_size * m->hidden_size;
}

double *
pz_lstm_b_hh(const pz_lstm *m, int k)
{
	return pz_lstm_b_ih(m, k) + (size_t) 4 * m->hidden_size;
}

double *
pz_lstm_w_lin(const pz_lstm *m)
{
	return m->params + layer_offset(m, m->num_layers);
}

double *
pz_lstm_b_lin(const pz_lstm *m)
{
	return pz_lstm_w_lin(m) + m->hidden_size;
}

void
pz_lstm_init(pz_lstm *m, uint64_t seed)
{
	pz_rng		rng;
	double		bound = 1.0 / sqrt((double) m->hidden_size);
	size_t		i;

	pz_rng_seed(&rng, seed);
	for (i = 0; i < m->n_params; i++)
		m->params[i] = pz_rng_uniform_range(&rng, -bound, bound);
}

/* ------------------------------------------------------------ workspace */

typedef struct lstm_ws
{
	int			T,
				F,
				H,
				L,
				Np;				/* padded lane capacity */
	int			training;		/* keep every step for BPTT */
	int			dropout;		/* masks allocated */
	double	   *x;				/* [T][F][Np] */
	double	   *G;				/* gates: train [L][T][4H][Np], else [L][4H][Np] */
	double	   *c;				/* train [L][T][H][Np], else [L][2][H][Np] */
	double	   *tc;				/* train [L][T][H][Np], else [L][H][Np] */
	double	   *h;				/* as c */
	double	   *hd;				/* dropped outputs [L-1][T][H][Np] */
	double	   *mask;			/* [L-1][T][H][Np] */
	double	   *bias;			/* [L][4H]: b_ih + b_hh */
	double	   *y;				/* [Np] */
	double	   *tgt;			/* [Np] */
	double	   *wt;				/* [Np] */
	/* backward only */
	double	   *dy;				/* [Np] */
	double	   *dG;				/* [4H][Np] */
	double	   *dhrec;			/* [L][H][Np] */
	double	   *dc;				/* [L][H][Np] */
	double	   *dhx[2];			/* [H][Np] */
	double	   *dhead;			/* [H][Np] */
	double	   *grad;			/* n_params */
} lstm_ws;

static void
ws_free(lstm_ws *w)
{
	if (w == NULL)
		return;
	pz_free(w->x);
	pz_free(w->G);
	pz_free(w->c);
	pz_free(w->tc);
	pz_free(w->h);
	pz_free(w->hd);
	pz_free(w->mask);
	pz_free(w->bias);
	pz_free(w->y);
	pz_free(w->tgt);
	pz_free(w->wt);
	pz_free(w->dy);
	pz_free(w->dG);
	pz_free(w->dhrec);
	pz_free(w->dc);
	pz_free(w->dhx[0]);
	pz_free(w->dhx[1]);
	pz_free(w->dhead);
	pz_free(w->grad);
	pz_free(w);
}

static pz_status
ws_create(const pz_lstm *m, int T, int batch, int training, int dropout,
		  lstm_ws **out, char *errmsg)
{
	lstm_ws    *w;
	double		H = m->hidden_size,
				L = m->num_layers,
				F = m->input_size,
				Np,
				steps,
				total;
	int			ok = 1;

	*out = NULL;
	Np = round_lanes(batch);
	steps = training ? L * T : L * 2;
	/* bytes, in floating point so nothing can overflow */
	total = 8.0 * Np * ((double) T * F + steps * 6.0 * H + 4.0);
	if (training)
		total += 8.0 * (Np * (4.0 * H + 2.0 * L * H + 3.0 * H + 1.0) +
						(double) m->n_params);
	if (dropout)
		total += 8.0 * Np * 2.0 * (L - 1) * T * H;
	if (total > (double) PZ_LSTM_MAX_WORKSPACE)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "LSTM workspace of %.0f MiB exceeds the limit of %zu MiB; "
				 "use a smaller batch, window or hidden size",
				 total / 1048576.0, PZ_LSTM_MAX_WORKSPACE >> 20);
		return PZ_ENOMEM;
	}
	w = pz_calloc(1, sizeof(*w));
	if (w == NULL)
		goto oom;
	w->T = T;
	w->F = m->input_size;
	w->H = m->hidden_size;
	w->L = m->num_layers;
	w->Np = (int) Np;
	w->training = training;
	w->dropout = dropout && m->num_layers > 1 && training;

#define ALLOC(field, count) \
	do { \
		if (ok && ((w->field = pz_calloc((size_t) (count), sizeof(double))) == NULL)) \
			ok = 0; \
	} while (0)

	ALLOC(x, (size_t) T * w->F * w->Np);
	ALLOC(G, steps * 4 * H * Np);
	ALLOC(c, training ? steps * H * Np : L * 2 * H * Np);
	ALLOC(tc, training ? steps * H * Np : L * H * Np);
	ALLOC(h, training ? steps * H * Np : L * 2 * H * Np);
	ALLOC(bias, L * 4 * H);
	ALLOC(y, Np);
	ALLOC(tgt, Np);
	ALLOC(wt, Np);
	if (w->dropout)
	{
		ALLOC(hd, (L - 1) * T * H * Np);
		ALLOC(mask, (L - 1) * T * H * Np);
	}
	if (training)
	{
		ALLOC(dy, Np);
		ALLOC(dG, 4 * H * Np);
		ALLOC(dhrec, L * H * Np);
		ALLOC(dc, L * H * Np);
		ALLOC(dhx[0], H * Np);
		ALLOC(dhx[1], H * Np);
		ALLOC(dhead, H * Np);
		ALLOC(grad, m->n_params);
	}
#undef ALLOC
	if (!ok)
	{
		ws_free(w);
		goto oom;
	}
	*out = w;
	return PZ_OK;

oom:
	snprintf(errmsg, PZ_ERRMSG_LEN, "out of memory for the LSTM workspace");
	return PZ_ENOMEM;
}

static inline double *
ws_G(lstm_ws *w, int l, int t)
{
	size_t		s = w->training ? (size_t) l * w->T + t : (size_t) l;

	return w->G + s * 4 * w->H * w->Np;
}

static inline double *
ws_state(lstm_ws *w, double *base, int l, int t)
{
	size_t		s = w->training ? (size_t) l * w->T + t : (size_t) l * 2 + (t & 1);

	return base + s * w->H * w->Np;
}

static inline double *
ws_tc(lstm_ws *w, int l, int t)
{
	size_t		s = w->training ? (size_t) l * w->T + t : (size_t) l;

	return w->tc + s * w->H * w->Np;
}

static inline double *
ws_drop(lstm_ws *w, double *base, int l, int t)
{
	return base + ((size_t) l * w->T + t) * w->H * w->Np;
}

/*
 * Gather windows idx[0..B-1] (or first..first+B-1 when idx is NULL) into
 * the feature-major layout; padded lanes are zero.
 */
static void
ws_pack(lstm_ws *w, const pz_lstm_data *d, const size_t *idx, size_t first,
		int B)
{
	int			T = w->T,
				F = w->F,
				Np = w->Np;
	int			b,
				t,
				f;

	for (b = 0; b < B; b++)
	{
		size_t		s = idx ? idx[b] : first + (size_t) b;
		const double *xs = d->x + s * (size_t) T * F;

		for (t = 0; t < T; t++)
			for (f = 0; f < F; f++)
				w->x[((size_t) t * F + f) * Np + b] = xs[(size_t) t * F + f];
		w->tgt[b] = d->y ? d->y[s] : 0.0;
		w->wt[b] = d->w ? d->w[s] : 1.0;
	}
	for (b = B; b < Np; b++)
	{
		for (t = 0; t < T; t++)
			for (f = 0; f < F; f++)
				w->x[((size_t) t * F + f) * Np + b] = 0.0;
		w->tgt[b] = 0.0;
		w->wt[b] = 0.0;
	}
}

/* Inverted-dropout masks for lanes < B: keep with 1 - p, scaled 1/(1-p). */
static void
ws_masks(lstm_ws *w, int B, double p, pz_rng *rng)
{
	double		scale = 1.0 / (1.0 - p);
	size_t		rows = (size_t) (w->L - 1) * w->T * w->H;
	size_t		r;
	int			b;

	for (r = 0; r < rows; r++)
	{
		double	   *mr = w->mask + r * w->Np;

		for (b = 0; b < B; b++)
			mr[b] = pz_rng_uniform(rng) < p ? 0.0 : scale;
		for (; b < w->Np; b++)
			mr[b] = 0.0;
	}
}

/* ---------------------------------------------------- forward, backward */

static void
forward(const pz_lstm *m, lstm_ws *w, const pz_lstm_kern *K)
{
	int			H = w->H,
				L = w->L,
				T = w->T,
				Np = w->Np;
	int			l,
				t,
				j,
				n;
	double	   *hlast;
	double		bl;

	for (l = 0; l < L; l++)
	{
		const double *bi = pz_lstm_b_ih(m, l),
				   *bh = pz_lstm_b_hh(m, l);

		for (j = 0; j < 4 * H; j++)
			w->bias[(size_t) l * 4 * H + j] = bi[j] + bh[j];
	}
	for (t = 0; t < T; t++)
	{
		for (l = 0; l < L; l++)
		{
			int			in = pz_lstm_layer_input(m, l);
			const double *xin;
			double	   *G = ws_G(w, l, t);
			const double *bias = w->bias + (size_t) l * 4 * H;

			if (l == 0)
				xin = w->x + (size_t) t * w->F * Np;
			else if (w->dropout)
				xin = ws_drop(w, w->hd, l - 1, t);
			else
				xin = ws_state(w, w->h, l - 1, t);

			K->mm_gates(4 * H, in, pz_lstm_w_ih(m, l), xin,
						H, t > 0 ? pz_lstm_w_hh(m, l) : NULL,
						t > 0 ? ws_state(w, w->h, l, t - 1) : NULL, bias, G, Np);
			K->cell_fwd(H, Np, G, t > 0 ? ws_state(w, w->c, l, t - 1) : NULL,
						ws_state(w, w->c, l, t), ws_tc(w, l, t),
						ws_state(w, w->h, l, t), w->training);
			if (w->dropout && l < L - 1)
			{
				const double *hs = ws_state(w, w->h, l, t);
				const double *mk = ws_drop(w, w->mask, l, t);
				double	   *hd = ws_drop(w, w->hd, l, t);
				size_t		k;

				for (k = 0; k < (size_t) H * Np; k++)
					hd[k] = hs[k] * mk[k];
			}
		}
	}
	hlast = ws_state(w, w->h, L - 1, T - 1);
	K->mm_nn(1, H, pz_lstm_w_lin(m), H, hlast, Np, w->y, Np, Np, 0);
	bl = *pz_lstm_b_lin(m);
	for (n = 0; n < Np; n++)
		w->y[n] += bl;
}

/* Loss of lanes < B and dL/dy for every lane (0 on padding). */
static double
loss_dy(lstm_ws *w, int B, double *dy)
{
	double		loss = 0.0;
	int			b;

	for (b = 0; b < B; b++)
	{
		double		e = w->y[b] - w->tgt[b];

		loss += w->wt[b] * e * e;
		if (dy)
			dy[b] = 2.0 * w->wt[b] * e / B;
	}
	if (dy)
		for (; b < w->Np; b++)
			dy[b] = 0.0;
	return loss / B;
}

/* Gradient of the loss whose dL/dy is in w->dy; writes w->grad. */
static void
backward(const pz_lstm *m, lstm_ws *w, const pz_lstm_kern *K)
{
	int			H = w->H,
				L = w->L,
				T = w->T,
				Np = w->Np;
	size_t		HN = (size_t) H * Np;
	int			l,
				t,
				j,
				n;
	double	   *grad = w->grad;
	double	   *hlast = ws_state(w, w->h, L - 1, T - 1);
	double	   *gw_lin = grad + (pz_lstm_w_lin(m) - m->params);
	double		s;

	memset(grad, 0, m->n_params * sizeof(double));
	memset(w->dhrec, 0, (size_t) L * HN * sizeof(double));
	memset(w->dc, 0, (size_t) L * HN * sizeof(double));

	/* head: y = w_lin . h_last + b_lin */
	K->mm_nt_acc(1, H, w->dy, Np, hlast, Np, gw_lin, H, Np);
	s = 0.0;
	for (n = 0; n < Np; n++)
		s += w->dy[n];
	gw_lin[H] = s;
	K->mm_tn(H, 1, pz_lstm_w_lin(m), H, w->dy, Np, w->dhead, Np, Np, 0);

	for (t = T - 1; t >= 0; t--)
	{
		const double *ext = (t == T - 1) ? w->dhead : NULL;
		int			cur = 0;

		for (l = L - 1; l >= 0; l--)
		{
			int			in = pz_lstm_layer_input(m, l);
			size_t		off_ih = pz_lstm_w_ih(m, l) - m->params;
			size_t		off_hh = pz_lstm_w_hh(m, l) - m->params;
			size_t		off_b = pz_lstm_b_ih(m, l) - m->params;
			double	   *dhrec = w->dhrec + (size_t) l * HN;
			const double *xin;

			if (l == 0)
				xin = w->x + (size_t) t * w->F * Np;
			else if (w->dropout)
				xin = ws_drop(w, w->hd, l - 1, t);
			else
				xin = ws_state(w, w->h, l - 1, t);

			K->cell_bwd(H, Np, ws_G(w, l, t),
						t > 0 ? ws_state(w, w->c, l, t - 1) : NULL,
						ws_tc(w, l, t), dhrec, ext, w->dc + (size_t) l * HN,
						w->dG);
			K->mm_nt_acc(4 * H, in, w->dG, Np, xin, Np, grad + off_ih, in, Np);
			if (t > 0)
				K->mm_nt_acc(4 * H, H, w->dG, Np, ws_state(w, w->h, l, t - 1),
							 Np, grad + off_hh, H, Np);
			for (j = 0; j < 4 * H; j++)
			{
				const double *g = w->dG + (size_t) j * Np;

				s = 0.0;
				for (n = 0; n < Np; n++)
					s += g[n];
				grad[off_b + j] += s;
			}
			if (t > 0)
				K->mm_tn(H, 4 * H, pz_lstm_w_hh(m, l), H, w->dG, Np, dhrec, Np,
						 Np, 0);
			if (l > 0)
			{
				double	   *dx = w->dhx[cur];

				K->mm_tn(H, 4 * H, pz_lstm_w_ih(m, l), in, w->dG, Np, dx, Np,
						 Np, 0);
				if (w->dropout)
				{
					const double *mk = ws_drop(w, w->mask, l - 1, t);
					size_t		k;

					for (k = 0; k < HN; k++)
						dx[k] *= mk[k];
				}
				ext = dx;
				cur ^= 1;
			}
		}
	}
	/* b_hh enters exactly like b_ih */
	for (l = 0; l < L; l++)
	{
		size_t		off_bi = pz_lstm_b_ih(m, l) - m->params;

		memcpy(grad + off_bi + 4 * H, grad + off_bi, 4 * (size_t) H * sizeof(double));
	}
}

/* ------------------------------------------------------ data checking */

static pz_status
check_data(const pz_lstm *m, const pz_lstm_data *d, int need_y,
		   const char *what, char *errmsg)
{
	size_t		k,
				len;

	if (d == NULL || d->x == NULL)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "%s: no input windows", what);
		return PZ_EINVAL;
	}
	if (d->n < 1 || d->n > PZ_LSTM_MAX_SAMPLES)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "%s: number of windows %d outside 1..%d",
				 what, d->n, PZ_LSTM_MAX_SAMPLES);
		return PZ_EINVAL;
	}
	if (d->T < 1 || d->T > PZ_LSTM_MAX_WINDOW)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "%s: window length %d outside 1..%d",
				 what, d->T, PZ_LSTM_MAX_WINDOW);
		return PZ_EINVAL;
	}
	if (d->F != m->input_size)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "%s: %d features per time step, but the model takes %d",
				 what, d->F, m->input_size);
		return PZ_EINVAL;
	}
	if (need_y && d->y == NULL)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "%s: targets missing", what);
		return PZ_EINVAL;
	}
	len = (size_t) d->n * d->T * d->F;
	for (k = 0; k < len; k++)
		if (!isfinite(d->x[k]))
		{
			snprintf(errmsg, PZ_ERRMSG_LEN,
					 "%s: input of window %zu is not finite", what,
					 k / ((size_t) d->T * d->F));
			return PZ_EINVAL;
		}
	for (k = 0; need_y && k < (size_t) d->n; k++)
	{
		if (!isfinite(d->y[k]))
		{
			snprintf(errmsg, PZ_ERRMSG_LEN,
					 "%s: target of window %zu is not finite", what, k);
			return PZ_EINVAL;
		}
		if (d->w && (!isfinite(d->w[k]) || d->w[k] < 0.0))
		{
			snprintf(errmsg, PZ_ERRMSG_LEN,
					 "%s: weight of window %zu must be finite and >= 0",
					 what, k);
			return PZ_EINVAL;
		}
	}
	return PZ_OK;
}

/* ------------------------------------------------------- public entry */

#define PREDICT_CHUNK 128

pz_status
pz_lstm_predict(const pz_lstm *m, const pz_lstm_data *d, double *out,
				const pz_cancel *cancel, char *errmsg)
{
	const pz_lstm_kern *K = pz_lstm_kern_get();
	lstm_ws    *w;
	pz_status	st;
	int			first;

	st = check_data(m, d, 0, "predict", errmsg);
	if (st != PZ_OK)
		return st;
	st = ws_create(m, d->T, d->n < PREDICT_CHUNK ? d->n : PREDICT_CHUNK, 0, 0,
				   &w, errmsg);
	if (st != PZ_OK)
		return st;
	for (first = 0; first < d->n; first += PREDICT_CHUNK)
	{
		int			B = d->n - first < PREDICT_CHUNK ? d->n - first : PREDICT_CHUNK;

		if (pz_cancelled(cancel))
		{
			ws_free(w);
			snprintf(errmsg, PZ_ERRMSG_LEN, "prediction cancelled");
			return PZ_ECANCELLED;
		}
		ws_pack(w, d, NULL, (size_t) first, B);
		forward(m, w, K);
		memcpy(out + first, w->y, (size_t) B * sizeof(double));
	}
	ws_free(w);
	return PZ_OK;
}

pz_status
pz_lstm_evaluate(const pz_lstm *m, const pz_lstm_data *d, double *loss,
				 const pz_cancel *cancel, char *errmsg)
{
	double	   *y;
	pz_status	st;
	double		s = 0.0;
	int			b;

	st = check_data(m, d, 1, "evaluate", errmsg);
	if (st != PZ_OK)
		return st;
	y = pz_malloc((size_t) d->n * sizeof(double));
	if (y == NULL)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "out of memory for %d predictions", d->n);
		return PZ_ENOMEM;
	}
	st = pz_lstm_predict(m, d, y, cancel, errmsg);
	if (st == PZ_OK)
	{
		for (b = 0; b < d->n; b++)
		{
			double		e = y[b] - d->y[b];

			s += (d->w ? d->w[b] : 1.0) * e * e;
		}
		*loss = s / d->n;
	}
	pz_free(y);
	return st;
}

pz_status
pz_lstm_loss_grad(const pz_lstm *m, const pz_lstm_data *d, double dropout,
				  uint64_t dropout_seed, double *loss, double *grad,
				  char *errmsg)
{
	const pz_lstm_kern *K = pz_lstm_kern_get();
	lstm_ws    *w;
	pz_status	st;

	st = check_data(m, d, 1, "loss_grad", errmsg);
	if (st != PZ_OK)
		return st;
	if (!(dropout >= 0.0 && dropout < 1.0))
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "dropout %g outside [0, 1)", dropout);
		return PZ_EINVAL;
	}
	if (d->n > PZ_LSTM_MAX_BATCH)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "loss_grad takes at most %d windows, got %d",
				 PZ_LSTM_MAX_BATCH, d->n);
		return PZ_EINVAL;
	}
	st = ws_create(m, d->T, d->n, 1, dropout > 0.0, &w, errmsg);
	if (st != PZ_OK)
		return st;
	ws_pack(w, d, NULL, 0, d->n);
	if (w->dropout)
	{
		pz_rng		rng;

		pz_rng_seed(&rng, dropout_seed);
		ws_masks(w, d->n, dropout, &rng);
	}
	forward(m, w, K);
	*loss = loss_dy(w, d->n, w->dy);
	backward(m, w, K);
	memcpy(grad, w->grad, m->n_params * sizeof(double));
	ws_free(w);
	return PZ_OK;
}

void
pz_lstm_train_opts_default(pz_lstm_train_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->epochs = 10;
	o->batch_size = 256;
	o->lr = 1e-3;
	o->beta1 = 0.9;
	o->beta2 = 0.999;
	o->eps = 1e-8;
	o->weight_decay = 0.0;
	o->clip_norm = 0.0;
	o->dropout = 0.0;
	o->seed = 42;
	o->shuffle = 1;
	o->patience = 0;
	o->min_delta = 0.0;
	o->restore_best = 1;
}

pz_status
pz_lstm_train(pz_lstm *m, const pz_lstm_data *train, const pz_lstm_data *val,
			  const pz_lstm_train_opts *o, pz_lstm_train_result *res,
			  char *errmsg)
{
	const pz_lstm_kern *K = pz_lstm_kern_get();
	lstm_ws    *w = NULL;
	pz_adam    *adam = NULL;
	size_t	   *idx = NULL;
	double	   *best = NULL;
	pz_rng		rng;
	pz_status	st;
	int			epoch,
				bs,
				since_best = 0;
	size_t		i;

	memset(res, 0, sizeof(*res));
	res->best_val_loss = NAN;
	res->final_train_loss = NAN;

	if (o->epochs < 0 || o->epochs > 1000000)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "epochs %d outside 0..1000000", o->epochs);
		return PZ_EINVAL;
	}
	if (o->batch_size < 1 || o->batch_size > PZ_LSTM_MAX_BATCH)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "batch size %d outside 1..%d",
				 o->batch_size, PZ_LSTM_MAX_BATCH);
		return PZ_EINVAL;
	}
	if (!(o->dropout >= 0.0 && o->dropout < 1.0))
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "dropout %g outside [0, 1)", o->dropout);
		return PZ_EINVAL;
	}
	if (!(o->clip_norm >= 0.0) || !isfinite(o->clip_norm) ||
		!(o->min_delta >= 0.0) || !isfinite(o->min_delta) || o->patience < 0)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "clip_norm, min_delta and patience must be finite and >= 0");
		return PZ_EINVAL;
	}
	st = check_data(m, train, 1, "training set", errmsg);
	if (st != PZ_OK)
		return st;
	if (val != NULL)
	{
		st = check_data(m, val, 1, "validation set", errmsg);
		if (st != PZ_OK)
			return st;
	}
	st = pz_adam_create(m->n_params, o->lr, o->beta1, o->beta2, o->eps,
						o->weight_decay, &adam, errmsg);
	if (st != PZ_OK)
		return st;
	bs = o->batch_size < train->n ? o->batch_size : train->n;
	st = ws_create(m, train->T, bs, 1, o->dropout > 0.0, &w, errmsg);
	if (st != PZ_OK)
		goto done;
	idx = pz_malloc((size_t) train->n * sizeof(size_t));
	if (val)
		best = pz_malloc(m->n_params * sizeof(double));
	if (idx == NULL || (val && best == NULL))
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "out of memory for the training state");
		st = PZ_ENOMEM;
		goto done;
	}
	for (i = 0; i < (size_t) train->n; i++)
		idx[i] = i;
	pz_rng_seed(&rng, o->seed);

	for (epoch = 1; epoch <= o->epochs; epoch++)
	{
		pz_lstm_epoch_info info;
		double		sum = 0.0;
		int			first;

		if (o->shuffle)
			for (i = (size_t) train->n - 1; i > 0; i--)
			{
				size_t		j = (size_t) pz_rng_below(&rng, i + 1);
				size_t		tmp = idx[i];

				idx[i] = idx[j];
				idx[j] = tmp;
			}
		for (first = 0; first < train->n; first += bs)
		{
			int			B = train->n - first < bs ? train->n - first : bs;
			double		loss;

			if (pz_cancelled(o->cancel))
			{
				snprintf(errmsg, PZ_ERRMSG_LEN,
						 "training cancelled in epoch %d", epoch);
				st = PZ_ECANCELLED;
				goto done;
			}
			ws_pack(w, train, idx + first, 0, B);
			if (w->dropout)
				ws_masks(w, B, o->dropout, &rng);
			forward(m, w, K);
			loss = loss_dy(w, B, w->dy);
			if (!isfinite(loss))
			{
				snprintf(errmsg, PZ_ERRMSG_LEN,
						 "training diverged (loss %g in epoch %d); "
						 "try a lower learning rate or gradient clipping",
						 loss, epoch);
				st = PZ_ENUMERIC;
				goto done;
			}
			backward(m, w, K);
			if (o->clip_norm > 0.0)
			{
				double		nrm = 0.0;

				for (i = 0; i < m->n_params; i++)
					nrm += w->grad[i] * w->grad[i];
				nrm = sqrt(nrm);
				if (nrm > o->clip_norm)
					for (i = 0; i < m->n_params; i++)
						w->grad[i] *= o->clip_norm / nrm;
			}
			pz_adam_step(adam, m->params, w->grad);
			sum += loss * B;
		}
		memset(&info, 0, sizeof(info));
		info.epoch = epoch;
		info.epochs = o->epochs;
		info.train_loss = sum / train->n;
		info.val_loss = NAN;
		res->epochs_run = epoch;
		res->final_train_loss = info.train_loss;
		if (val)
		{
			st = pz_lstm_evaluate(m, val, &info.val_loss, o->cancel, errmsg);
			if (st != PZ_OK)
				goto done;
			if (!isfinite(info.val_loss))
			{
				snprintf(errmsg, PZ_ERRMSG_LEN,
						 "validation loss is not finite in epoch %d", epoch);
				st = PZ_ENUMERIC;
				goto done;
			}
			if (res->best_epoch == 0 ||
				info.val_loss < res->best_val_loss - o->min_delta)
			{
				res->best_val_loss = info.val_loss;
				res->best_epoch = epoch;
				memcpy(best, m->params, m->n_params * sizeof(double));
				info.improved = 1;
				since_best = 0;
			}
			else
				since_best++;
		}
		info.best_val_loss = res->best_val_loss;
		info.best_epoch = res->best_epoch;
		if (o->on_epoch && o->on_epoch(o->on_epoch_arg, &info))
		{
			res->stopped_early = 1;
			break;
		}
		if (val && o->patience > 0 && since_best >= o->patience)
		{
			res->stopped_early = 1;
			break;
		}
	}
	st = PZ_OK;

done:
	if (val && best && o->restore_best && res->best_epoch > 0 &&
		(st == PZ_OK || st == PZ_ECANCELLED))
		memcpy(m->params, best, m->n_params * sizeof(double));
	pz_free(best);
	pz_free(idx);
	ws_free(w);
	pz_adam_free(adam);
	return st;
}
