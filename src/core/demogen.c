/*
 * demogen.c — deterministic simulation behind generate_demo_data().
 *
 * See demogen.h for the model.  The PRNG is xoshiro256** (Blackman and
 * Vigna, "Scrambled linear pseudorandom number generators", 2018) seeded
 * through splitmix64; Poisson variates use inversion for small means and
 * Hörmann's PTRS transformed rejection ("The transformed rejection method
 * for generating Poisson random variables", 1993) for means >= 10.
 */
#include "demogen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ PRNG */

/* A stateless hash of (seed, tag, index): the catalogue's names and ids. */
static uint64_t
demogen_hash(uint64_t seed, uint64_t tag, uint64_t i)
{
	uint64_t	x = seed ^ (tag * UINT64_C(0xD1B54A32D192ED03));

	pz_rng_splitmix64(&x);
	x ^= i * UINT64_C(0x9E3779B97F4A7C15);
	return pz_rng_splitmix64(&x);
}

void
pz_demogen_rng_seed(demogen_rng *r, uint64_t seed, uint64_t stream)
{
	pz_rng_seed(r, seed ^ (stream * UINT64_C(0xA0761D6478BD642F)));
}

/* uniform in (0, 1): safe for log() */
static double
uniform_pos(demogen_rng *r)
{
	return ((pz_rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

double
pz_demogen_rng_normal(demogen_rng *r)
{
	/* Box-Muller; one of the pair is discarded to keep the stream simple */
	double		u1 = uniform_pos(r);
	double		u2 = pz_rng_uniform(r);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

int64_t
pz_demogen_rng_poisson(demogen_rng *r, double lambda)
{
	if (!(lambda > 0.0))
		return 0;
	if (lambda < 10.0)
	{
		/* inversion by sequential search */
		double		p = exp(-lambda),
					s = p,
					u = pz_rng_uniform(r);
		int64_t		k = 0;

		while (u > s && k < 1000)
		{
			k++;
			p *= lambda / k;
			s += p;
		}
		return k;
	}
	else
	{
		/* PTRS (Hörmann 1993) */
		double		slam = sqrt(lambda),
					loglam = log(lambda),
					b = 0.931 + 2.53 * slam,
					a = -0.059 + 0.02483 * b,
					invalpha = 1.1239 + 1.1328 / (b - 3.4),
					vr = 0.9277 - 3.6224 / (b - 2.0);

		for (;;)
		{
			double		u = pz_rng_uniform(r) - 0.5,
						v = uniform_pos(r),
						us = 0.5 - fabs(u),
						k = floor((2.0 * a / us + b) * u + lambda + 0.43);

			if (us >= 0.07 && v <= vr)
				return (int64_t) k;
			if (k < 0.0 || (us < 0.013 && v > us))
				continue;
			if (log(v) + log(invalpha) - log(a / (us * us) + b) <=
				-lambda + k * loglam - lgamma(k + 1.0))
				return (int64_t) k;
		}
	}
}

/* ------------------------------------------------------------ calendar */

/*
 * Days since 2000-01-01 <-> proleptic Gregorian date, after H. Hinnant's
 * "chrono-compatible low-level date algorithms" (era/day-of-era arithmetic).
 */
static int
days_from_civil(int y, int m, int d)
{
	int			era,
				yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 - 10957;
}

static void
civil_from_days(int z, int *y, int *m, int *d)
{
	int			era,
				doe,
				yoe,
				doy,
				mp;

	z += 719468 + 10957;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp + (mp < 10 ? 3 : -9);
	*y = yoe + era * 400 + (*m <= 2);
}

/*
 * How much of a Christmas week the week starting on 'monday' is: a bell
 * peaking at the week of Christmas Eve, rising from mid-November and gone
 * after Christmas.
 */
static double
holiday_bump(int monday)
{
	int			y,
				m,
				d,
				x;

	civil_from_days(monday + 3, &y, &m, &d);	/* the week's Thursday */
	if (m == 12)
		x = d - 24;
	else if (m == 11)
		x = d - 30 - 24;
	else
		return 0.0;
	if (x < -40 || x > 3)
		return 0.0;
	return exp(-(x / 12.0) * (x / 12.0));
}

/* ------------------------------------------------------------ the world */

typedef struct demogen_viral
{
	int			track;
	int			week;
	double		size;
	double		tau;
} demogen_viral;

struct demogen_world
{
	demogen_params p;
	int			nw;				/* weeks simulated */
	double	   *lambda;			/* [week * tracks + track] expected plays */
	demogen_track *tr;
	double	   *artist_level;	/* artist effect (log scale) */
	double	   *user_cum;		/* cumulative user activity, for sampling */
	unsigned char *user_premium;
	/* the per-track components, kept for pz_demogen_expected_next() */
	double	   *base,
			   *hype,
			   *rho,
			   *tau,
			   *riser,
			   *riser_t0,
			   *riser_s,
			   *holiday_x;
	int		   *rel_week;
	float	   *drift;			/* [week * tracks + track] AR(1) log-level drift */
	double	   *norm;			/* per week: expected plays / sum of raw intensities */
	demogen_viral *virals;
	int			n_viral;
};

int
pz_demogen_n_weeks(const demogen_world *w)
{
	return w->nw;
}

double
pz_demogen_intensity(const demogen_world *w, int track, int week)
{
	if (track < 0 || track >= w->p.tracks || week < 0 || week >= w->nw)
		return 0.0;
	return w->lambda[(size_t) week * w->p.tracks + track];
}

const demogen_track *
pz_demogen_track_info(const demogen_world *w, int i)
{
	return (i >= 0 && i < w->p.tracks) ? &w->tr[i] : NULL;
}

pz_status
pz_demogen_check_params(const demogen_params *p, char *errmsg)
{
	int			nw;

	if (p->weeks < 1 || p->weeks > DEMOGEN_MAX_WEEKS)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "weeks must be between 1 and %d, not %d",
				 DEMOGEN_MAX_WEEKS, p->weeks);
		return PZ_EINVAL;
	}
	if (p->partial_days < 0 || p->partial_days > 6)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "partial_days must be between 0 and 6, not %d",
				 p->partial_days);
		return PZ_EINVAL;
	}
	if (p->events_per_week < 100 || p->events_per_week > DEMOGEN_MAX_EVENTS_PER_WEEK)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "events_per_week must be between 100 and %d, not %lld",
				 DEMOGEN_MAX_EVENTS_PER_WEEK, (long long) p->events_per_week);
		return PZ_EINVAL;
	}
	if (p->tracks < 10 || p->tracks > DEMOGEN_MAX_TRACKS)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "tracks must be between 10 and %d, not %d",
				 DEMOGEN_MAX_TRACKS, p->tracks);
		return PZ_EINVAL;
	}
	if (p->artists < 1 || p->artists > DEMOGEN_MAX_ARTISTS || p->artists > p->tracks)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "artists must be between 1 and min(tracks, %d), not %d",
				 DEMOGEN_MAX_ARTISTS, p->artists);
		return PZ_EINVAL;
	}
	if (p->users < 1 || p->users > DEMOGEN_MAX_USERS)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "users must be between 1 and %d, not %d",
				 DEMOGEN_MAX_USERS, p->users);
		return PZ_EINVAL;
	}
	if (p->start_day < DEMOGEN_MIN_DAY || p->start_day > DEMOGEN_MAX_DAY)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "start date must lie between 1900 and 2200");
		return PZ_EINVAL;
	}
	/* 2000-01-03 was a Monday */
	if ((((p->start_day - 2) % 7) + 7) % 7 != 0)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "start date must be a Monday");
		return PZ_EINVAL;
	}
	nw = p->weeks + (p->partial_days > 0);
	if ((int64_t) nw * p->tracks > DEMOGEN_MAX_CELLS)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "tracks x weeks = %lld is more than the limit of %d",
				 (long long) nw * p->tracks, DEMOGEN_MAX_CELLS);
		return PZ_ENOMEM;
	}
	return PZ_OK;
}

void
pz_demogen_world_free(demogen_world *w)
{
	if (w == NULL)
		return;
	pz_free(w->lambda);
	pz_free(w->tr);
	pz_free(w->artist_level);
	pz_free(w->user_cum);
	pz_free(w->user_premium);
	pz_free(w->base);
	pz_free(w->hype);
	pz_free(w->rho);
	pz_free(w->tau);
	pz_free(w->riser);
	pz_free(w->riser_t0);
	pz_free(w->riser_s);
	pz_free(w->holiday_x);
	pz_free(w->rel_week);
	pz_free(w->drift);
	pz_free(w->norm);
	pz_free(w->virals);
	pz_free(w);
}

static double
clamp(double x, double lo, double hi)
{
	return x < lo ? lo : (x > hi ? hi : x);
}

static double
logistic(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

/*
 * Rise and decay after a release k weeks ago (k = 0 is the release week,
 * counted as ~0.45 of a week old: a debut week of ramp-up): a gamma-shaped
 * curve t^alpha exp(-t/theta) scaled to peak at 1 when t = alpha*theta, the
 * usual shape of a chart run after a release (a fast climb over a week or
 * two, then a roughly exponential decay).
 */
static double
release_curve(int k, double alpha, double theta)
{
	double		x = (k + 0.45) / (alpha * theta);

	if (k < 0)
		return 0.0;
	return pow(x, alpha) * exp(alpha - (k + 0.45) / theta);
}

/*
 * Tuning constants of the simulation.  They were tuned (test_demogen.c,
 * DEMOGEN_SEEDS=n) so that at the defaults the week-over-week persistence
 * of the top 50 sits in 0.5..0.8 (about 0.66..0.76 over seeds), while a
 * forecaster that knows the curves reaches ~0.8: most of the chart's
 * turnover is releases rising and decaying and viral spikes reverting,
 * not noise.
 */
#define DG_NEW_SHARE		0.40	/* tracks released during (or just before) the window */
#define DG_ALBUM_SHARE		0.35	/* releases that are album drops */
#define DG_DRIFT_PHI		0.9		/* AR(1) coefficient of the slow log-level drift */
#define DG_DRIFT_SD			0.05	/* its innovation s.d. */
#define DG_WEEK_NOISE		0.14	/* i.i.d. weekly log-noise s.d. (reverts at once) */
#define DG_RISER_SHARE		0.01
#define DG_HOLIDAY_SHARE	0.012
#define DG_VIRAL_RATE		5.0		/* viral jumps per week */
#define DG_PREMIUM_SHARE	0.30
#define DG_SESSION_MEAN		7.0		/* mean plays per session */
#define DG_AD_EVERY			4		/* free users hear an ad every 4 plays */
#define DG_BUY_PREMIUM		0.01	/* chance a free user's session ends in buy_premium */

/*
 * Intensity of track i in week t before viral jumps and normalisation,
 * given its drift and the week's holiday bump.
 */
static double
raw_intensity(const demogen_world *w, int i, int t, double drift, double hol)
{
	int			k = t - w->rel_week[i];
	double		x;

	if (k < 0)
		return 0.0;
	x = exp(w->base[i] + drift);
	if (w->rel_week[i] > -1000)
		x *= 1.0 + w->hype[i] * release_curve(k, w->rho[i], w->tau[i]);
	if (w->riser[i] > 0.0)
		x *= 1.0 + w->riser[i] * logistic((t - w->riser_t0[i]) / w->riser_s[i]);
	if (w->holiday_x[i] > 0.0)
		x *= 1.0 + w->holiday_x[i] * hol;
	return x;
}

static double
track_level_raw(const double *artist_level, int artist, double appeal,
				demogen_rng *r)
{
	return artist_level[artist] + 0.4 * appeal + 0.6 * pz_demogen_rng_normal(r);
}

pz_status
pz_demogen_world_create(const demogen_params *p, demogen_world **out,
						const pz_cancel *cancel, char *errmsg)
{
	demogen_world *w;
	demogen_rng r;
	pz_status	st;
	int			T,
				A,
				U,
				nw,
				n_new;
	double	   *base,
			   *hype,
			   *rho,
			   *tau,
			   *riser,
			   *holiday_x,
			   *artist_w = NULL,
			   *drift = NULL;
	int		   *rel_week;
	double	   *riser_t0,
			   *riser_s;
	demogen_viral *virals = NULL;
	int			n_viral = 0,
				cap_viral = 0;
	double		mean_skip = 0,
				mean_like = 0,
				events_per_play;

	*out = NULL;
	errmsg[0] = '\0';
	st = pz_demogen_check_params(p, errmsg);
	if (st != PZ_OK)
		return st;
	T = p->tracks;
	A = p->artists;
	U = p->users;
	nw = p->weeks + (p->partial_days > 0);

	w = pz_calloc(1, sizeof(*w));
	if (w == NULL)
		goto nomem;
	w->p = *p;
	w->nw = nw;
	w->lambda = pz_malloc(sizeof(double) * (size_t) nw * T);
	w->tr = pz_calloc(T, sizeof(demogen_track));
	w->artist_level = pz_malloc(sizeof(double) * A);
	w->user_cum = pz_malloc(sizeof(double) * U);
	w->user_premium = pz_malloc(U);
	base = w->base = pz_malloc(sizeof(double) * T);
	hype = w->hype = pz_calloc(T, sizeof(double));
	rho = w->rho = pz_malloc(sizeof(double) * T);
	tau = w->tau = pz_malloc(sizeof(double) * T);
	riser = w->riser = pz_calloc(T, sizeof(double));
	riser_t0 = w->riser_t0 = pz_calloc(T, sizeof(double));
	riser_s = w->riser_s = pz_calloc(T, sizeof(double));
	holiday_x = w->holiday_x = pz_calloc(T, sizeof(double));
	rel_week = w->rel_week = pz_malloc(sizeof(int) * T);
	w->drift = pz_malloc(sizeof(float) * (size_t) nw * T);
	w->norm = pz_malloc(sizeof(double) * nw);
	artist_w = pz_malloc(sizeof(double) * A);
	drift = pz_malloc(sizeof(double) * T);
	if (!w->lambda || !w->tr || !w->artist_level || !w->user_cum ||
		!w->user_premium || !base || !hype || !rho || !tau || !riser ||
		!riser_t0 || !riser_s || !holiday_x || !rel_week || !w->drift ||
		!w->norm || !artist_w || !drift)
		goto nomem;

	pz_demogen_rng_seed(&r, p->seed, 0);

	/* artists: a log-normal popularity level; more popular artists also have more tracks */
	for (int j = 0; j < A; j++)
	{
		w->artist_level[j] = 0.7 * pz_demogen_rng_normal(&r);
		artist_w[j] = exp(0.6 * w->artist_level[j]) + (j > 0 ? artist_w[j - 1] : 0.0);
	}

	/* users: activity is log-normal (a few heavy listeners), 30% premium */
	for (int u = 0; u < U; u++)
	{
		double		act = exp(0.8 * pz_demogen_rng_normal(&r));

		w->user_cum[u] = act + (u > 0 ? w->user_cum[u - 1] : 0.0);
		w->user_premium[u] = pz_rng_uniform(&r) < DG_PREMIUM_SHARE;
	}

	/*
	 * New releases: singles and album drops (several tracks of one artist
	 * entering the same week with a shared hype factor), released on the
	 * Monday of a week between 10 weeks before the window and its last
	 * complete week (so no event predates its track's release date).
	 */
	n_new = (int) (DG_NEW_SHARE * T);
	for (int i = 0; i < n_new;)
	{
		double		u = pz_rng_uniform(&r) * artist_w[A - 1];
		int			lo = 0,
					hi = A - 1,
					size,
					week;
		double		common;

		while (lo < hi)
		{
			int			mid = (lo + hi) / 2;

			if (artist_w[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		size = pz_rng_uniform(&r) < DG_ALBUM_SHARE ?
			5 + (int) (pz_rng_uniform(&r) * 8) : 1;
		week = -10 + (int) (pz_rng_uniform(&r) * (p->weeks + 10));
		if (week >= p->weeks)
			week = p->weeks - 1;
		common = 0.4 * pz_demogen_rng_normal(&r);
		for (int k = 0; k < size && i < n_new; k++, i++)
		{
			demogen_track *t = &w->tr[i];

			t->artist = lo;
			t->appeal = pz_demogen_rng_normal(&r);
			rel_week[i] = week;
			base[i] = track_level_raw(w->artist_level, lo, t->appeal, &r) - 0.3;
			/* the lead single carries the album; later album tracks less */
			hype[i] = exp(2.8 + 0.7 * w->artist_level[lo] + common +
						  (size > 1 ? (k == 0 ? 0.5 : -0.3 - 0.05 * k) : 0.0) +
						  0.5 * pz_demogen_rng_normal(&r));
			rho[i] = 1.5 + pz_rng_uniform(&r);	/* alpha */
			tau[i] = exp(log(0.8) + 0.3 * pz_demogen_rng_normal(&r));	/* theta */
			t->release_day = p->start_day + 7 * week;	/* its Monday */
			t->release_precision = 0;
		}
	}

	/* the back catalogue: released 6 months to 60 years before the window */
	for (int i = n_new; i < T; i++)
	{
		demogen_track *t = &w->tr[i];
		double		u = pz_rng_uniform(&r) * artist_w[A - 1];
		int			lo = 0,
					hi = A - 1;
		double		age_years = exp(log(0.5) + pz_rng_uniform(&r) * log(120.0));
		int			y,
					m,
					d;

		while (lo < hi)
		{
			int			mid = (lo + hi) / 2;

			if (artist_w[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		t->artist = lo;
		t->appeal = pz_demogen_rng_normal(&r);
		rel_week[i] = -1000;
		base[i] = track_level_raw(w->artist_level, lo, t->appeal, &r) - 0.04 * age_years;
		rho[i] = 1.0;
		tau[i] = 1.0;
		t->release_day = p->start_day - (int) (age_years * 365.25);
		civil_from_days(t->release_day, &y, &m, &d);
		u = pz_rng_uniform(&r);
		if (u < (y < 1990 ? 0.4 : 0.05))
		{
			t->release_precision = 2;
			t->release_day = days_from_civil(y, 1, 1);
		}
		else if (u < (y < 1990 ? 0.5 : 0.1))
		{
			t->release_precision = 1;
			t->release_day = days_from_civil(y, m, 1);
		}
		else
			t->release_precision = 0;
		if (pz_rng_uniform(&r) < DG_HOLIDAY_SHARE / (1.0 - DG_NEW_SHARE))
		{
			t->holiday = 1;
			holiday_x[i] = exp(2.8 + 0.5 * pz_demogen_rng_normal(&r));
		}
	}

	/* track features, slow risers, the drift's starting point */
	for (int i = 0; i < T; i++)
	{
		demogen_track *t = &w->tr[i];
		double		q = t->appeal;

		t->p_skip = logistic(-1.4 - 0.7 * q + 0.3 * pz_demogen_rng_normal(&r));
		t->p_like = logistic(-3.0 + 0.6 * q + 0.3 * pz_demogen_rng_normal(&r));
		t->duration_ms = (int) clamp(exp(log(205000.0) + 0.25 * pz_demogen_rng_normal(&r)),
									 45000.0, 900000.0);
		t->explicit_ = pz_rng_uniform(&r) < 0.2;
		t->danceability = clamp(0.58 + 0.06 * q + 0.15 * pz_demogen_rng_normal(&r), 0.05, 0.99);
		t->energy = clamp(0.62 + 0.05 * q + 0.18 * pz_demogen_rng_normal(&r), 0.01, 1.0);
		t->loudness = clamp(-7.0 + 3.0 * pz_demogen_rng_normal(&r), -35.0, 0.0);
		t->speechiness = clamp(exp(log(0.06) + 0.8 * pz_demogen_rng_normal(&r)), 0.02, 0.95);
		t->acousticness = clamp(0.25 + 0.25 * pz_demogen_rng_normal(&r), 0.0, 0.99);
		t->instrumentalness = pz_rng_uniform(&r) < 0.8 ? 0.0 :
			clamp(0.3 * pz_rng_uniform(&r) + 0.2 * pz_demogen_rng_normal(&r), 0.0, 0.98);
		t->liveness = clamp(exp(log(0.15) + 0.5 * pz_demogen_rng_normal(&r)), 0.02, 0.99);
		t->valence = clamp(0.5 + 0.08 * q + 0.22 * pz_demogen_rng_normal(&r), 0.02, 0.99);
		t->tempo = clamp(120.0 + 28.0 * pz_demogen_rng_normal(&r), 55.0, 220.0);
		t->key = (int) (pz_rng_uniform(&r) * 12);
		if (pz_rng_uniform(&r) < DG_RISER_SHARE)
		{
			riser[i] = exp(1.5 + 0.4 * pz_demogen_rng_normal(&r));
			riser_t0[i] = -5.0 + pz_rng_uniform(&r) * (nw + 10);
			riser_s[i] = 2.0 + 3.0 * pz_rng_uniform(&r);
		}
		drift[i] = DG_DRIFT_SD / sqrt(1.0 - DG_DRIFT_PHI * DG_DRIFT_PHI) *
			pz_demogen_rng_normal(&r);
	}

	/* viral jumps: sudden, then reverting within a couple of weeks */
	for (int t = 0; t < nw; t++)
	{
		int64_t		k = pz_demogen_rng_poisson(&r, DG_VIRAL_RATE);

		for (int64_t v = 0; v < k; v++)
		{
			if (n_viral == cap_viral)
			{
				int			nc = cap_viral ? 2 * cap_viral : 64;
				demogen_viral *nv = pz_realloc(virals, sizeof(demogen_viral) * nc);

				if (nv == NULL)
					goto nomem;
				virals = w->virals = nv;
				cap_viral = nc;
			}
			virals[n_viral].track = (int) (pz_rng_uniform(&r) * T);
			virals[n_viral].week = t;
			virals[n_viral].size = exp(2.6 + 0.8 * pz_demogen_rng_normal(&r));
			virals[n_viral].tau = 0.6 + 0.9 * pz_rng_uniform(&r);
			n_viral++;
			w->n_viral = n_viral;
		}
	}

	/*
	 * Events per play, but for skips and likes (which depend on the week's
	 * mix of tracks): a free user's session of L plays has floor((L-1)/4)
	 * ads; with L-1 geometric (P(L-1 >= k) = q^k, q = 1 - 1/mean) that is
	 * sum_m q^(4m) = q^4 / (1 - q^4) per session; rarely a buy_premium.
	 */
	{
		double		q4 = pow(1.0 - 1.0 / DG_SESSION_MEAN, DG_AD_EVERY);

		events_per_play = 1.0 +
			(1.0 - DG_PREMIUM_SHARE) * (q4 / (1.0 - q4)) / DG_SESSION_MEAN +
			(1.0 - DG_PREMIUM_SHARE) * DG_BUY_PREMIUM / DG_SESSION_MEAN;
	}

	/* the weekly intensities */
	for (int t = 0; t < nw; t++)
	{
		double	   *lam = w->lambda + (size_t) t * T;
		double		hol = holiday_bump(p->start_day + 7 * t);
		double		total = 0.0,
					target;

		if (pz_cancelled(cancel))
		{
			st = PZ_ECANCELLED;
			goto fail;
		}
		for (int i = 0; i < T; i++)
		{
			if (t > 0)
				drift[i] = DG_DRIFT_PHI * drift[i] + DG_DRIFT_SD * pz_demogen_rng_normal(&r);
			w->drift[(size_t) t * T + i] = (float) drift[i];
			lam[i] = raw_intensity(w, i, t,
								   drift[i] + DG_WEEK_NOISE * pz_demogen_rng_normal(&r), hol);
		}
		for (int v = 0; v < n_viral; v++)
			if (virals[v].week <= t && lam[virals[v].track] > 0.0)
				lam[virals[v].track] *=
					1.0 + virals[v].size * exp(-(t - virals[v].week) / virals[v].tau);
		mean_skip = mean_like = 0.0;
		for (int i = 0; i < T; i++)
		{
			total += lam[i];
			mean_skip += lam[i] * w->tr[i].p_skip;
			mean_like += lam[i] * (1.0 - w->tr[i].p_skip) * w->tr[i].p_like;
		}
		if (total > 0.0)
		{
			mean_skip /= total;
			mean_like /= total;
		}
		target = (double) p->events_per_week /
			(events_per_play + mean_skip + mean_like) *
			(t < p->weeks ? 1.0 : p->partial_days / 7.0);
		w->norm[t] = total > 0.0 ? target / total : 0.0;
		for (int i = 0; i < T; i++)
			lam[i] *= w->norm[t];
	}

	/* popularity 0..100 from the last four weeks, on a log scale like the export's */
	{
		double		maxm = 0.0;
		double	   *m = drift;		/* reuse */

		for (int i = 0; i < T; i++)
		{
			m[i] = 0.0;
			for (int t = (p->weeks > 4 ? p->weeks - 4 : 0); t < p->weeks; t++)
				m[i] += w->lambda[(size_t) t * T + i];
			if (m[i] > maxm)
				maxm = m[i];
		}
		for (int i = 0; i < T; i++)
			w->tr[i].popularity = maxm > 0.0 ?
				(int) lround(100.0 * log1p(m[i]) / log1p(maxm)) : 0;
	}

	pz_free(artist_w);
	pz_free(drift);
	*out = w;
	return PZ_OK;

nomem:
	snprintf(errmsg, PZ_ERRMSG_LEN, "out of memory building the demo world");
	st = PZ_ENOMEM;
fail:
	pz_free(artist_w);
	pz_free(drift);
	pz_demogen_world_free(w);
	return st;
}

pz_status
pz_demogen_expected_next(const demogen_world *w, int week, double *out, char *errmsg)
{
	const int	T = w->p.tracks;
	double		hol;

	errmsg[0] = '\0';
	if (week < 0 || week + 1 >= w->nw)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "week must be between 0 and %d, not %d",
				 w->nw - 2, week);
		return PZ_EINVAL;
	}
	hol = holiday_bump(w->p.start_day + 7 * (week + 1));
	for (int i = 0; i < T; i++)
		out[i] = w->rel_week[i] > week ? 0.0 :
			raw_intensity(w, i, week + 1,
						  DG_DRIFT_PHI * w->drift[(size_t) week * T + i], hol);
	for (int v = 0; v < w->n_viral; v++)
		if (w->virals[v].week <= week)
			out[w->virals[v].track] *= 1.0 + w->virals[v].size *
				exp(-(week + 1 - w->virals[v].week) / w->virals[v].tau);
	for (int i = 0; i < T; i++)
		out[i] *= w->norm[week];
	return PZ_OK;
}

/* ------------------------------------------------------------ the events */

void
pz_demogen_events_free(demogen_events *e)
{
	if (e == NULL)
		return;
	pz_free(e->ev);
	e->ev = NULL;
	e->n = 0;
}

/* Listening peaks in the evening: acceptance weight of a minute of the day. */
static double
daily_profile(int minute)
{
	return 0.15 + 0.85 * (0.5 + 0.5 * cos(2.0 * M_PI * (minute - 1230) / 1440.0));
}

static inline void
put_event(demogen_event *ev, size_t *n, int64_t ms, int32_t user, int32_t track,
		  demogen_event_type type)
{
	demogen_event *e = &ev[(*n)++];

	e->session_id = 0;
	e->usec = ms;				/* milliseconds in the session until placed */
	e->user_id = user;
	e->track = track;
	e->type = type;
	e->reserved = 0;
}

pz_status
pz_demogen_week_events(const demogen_world *w, int week, demogen_events *out,
					   const pz_cancel *cancel, char *errmsg)
{
	const int	T = w->p.tracks;
	const double *lam;
	demogen_rng r;
	int64_t		P = 0;
	int32_t    *plays = NULL;
	demogen_event *ev = NULL;
	size_t		n = 0,
				cap;
	int64_t		pos,
				sid = 0;
	int			days;
	int64_t		week_ms;

	out->ev = NULL;
	out->n = 0;
	errmsg[0] = '\0';
	if (week < 0 || week >= w->nw)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN, "week must be between 0 and %d, not %d",
				 w->nw - 1, week);
		return PZ_EINVAL;
	}
	days = week < w->p.weeks ? 7 : w->p.partial_days;
	week_ms = (int64_t) days * 86400000;
	lam = w->lambda + (size_t) week * T;
	pz_demogen_rng_seed(&r, w->p.seed, 1000 + (uint64_t) week);

	/* Poisson counts on the latent intensity */
	{
		int64_t    *cnt = pz_malloc(sizeof(int64_t) * T);

		if (cnt == NULL)
			goto nomem;
		for (int i = 0; i < T; i++)
		{
			cnt[i] = pz_demogen_rng_poisson(&r, lam[i]);
			P += cnt[i];
		}
		plays = pz_malloc(sizeof(int32_t) * (P > 0 ? P : 1));
		if (plays == NULL)
		{
			pz_free(cnt);
			goto nomem;
		}
		pos = 0;
		for (int i = 0; i < T; i++)
			for (int64_t k = 0; k < cnt[i]; k++)
				plays[pos++] = i;
		pz_free(cnt);
	}
	/* Fisher-Yates: the plays of a week in random order */
	for (int64_t i = P - 1; i > 0; i--)
	{
		int64_t		j = (int64_t) (pz_rng_uniform(&r) * (i + 1));
		int32_t		tmp = plays[i];

		plays[i] = plays[j];
		plays[j] = tmp;
	}

	/* at most: ad + play + skip/like per play, one buy_premium per session */
	cap = (size_t) P * 4 + 16;
	ev = pz_malloc(sizeof(demogen_event) * cap);
	if (ev == NULL)
		goto nomem;

	pos = 0;
	while (pos < P)
	{
		int64_t		L,
					t = 0,
					start;
		size_t		first = n;
		double		u = pz_rng_uniform(&r) * w->user_cum[w->p.users - 1];
		int			lo = 0,
					hi = w->p.users - 1,
					premium,
					tries;

		if ((sid & 1023) == 0 && pz_cancelled(cancel))
		{
			pz_free(plays);
			pz_free(ev);
			return PZ_ECANCELLED;
		}
		/* geometric session length, mean DG_SESSION_MEAN, at most 100 plays */
		L = 1 + (int64_t) floor(log(uniform_pos(&r)) / log(1.0 - 1.0 / DG_SESSION_MEAN));
		if (L > 100)
			L = 100;
		if (L > P - pos)
			L = P - pos;
		while (lo < hi)
		{
			int			mid = (lo + hi) / 2;

			if (w->user_cum[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		premium = w->user_premium[lo];
		sid++;

		for (int64_t j = 0; j < L; j++)
		{
			const demogen_track *tr = &w->tr[plays[pos + j]];

			if (!premium && j > 0 && j % DG_AD_EVERY == 0)
			{
				put_event(ev, &n, t, lo + 1, -1, DEMOGEN_ADVERTISEMENT);
				t += 15000 + (int64_t) (pz_rng_uniform(&r) * 30000);
			}
			put_event(ev, &n, t, lo + 1, plays[pos + j], DEMOGEN_PLAY);
			if (pz_rng_uniform(&r) < tr->p_skip)
			{
				t += 3000 + (int64_t) (pz_rng_uniform(&r) * 40000);
				put_event(ev, &n, t, lo + 1, plays[pos + j], DEMOGEN_SKIP);
				t += 500 + (int64_t) (pz_rng_uniform(&r) * 2000);
			}
			else
			{
				if (pz_rng_uniform(&r) < tr->p_like)
				{
					int64_t		at = t + 10000 +
						(int64_t) (pz_rng_uniform(&r) * (tr->duration_ms - 11000));

					put_event(ev, &n, at, lo + 1, plays[pos + j], DEMOGEN_LIKE);
				}
				t += tr->duration_ms + 500 + (int64_t) (pz_rng_uniform(&r) * 2500);
			}
		}
		if (!premium && pz_rng_uniform(&r) < DG_BUY_PREMIUM)
			put_event(ev, &n, t, lo + 1, -1, DEMOGEN_BUY_PREMIUM);
		pos += L;

		/* a start time that keeps the whole session inside the week */
		start = -1;
		for (tries = 0; tries < 64; tries++)
		{
			int			day = (int) (pz_rng_uniform(&r) * days);
			int			minute = (int) (pz_rng_uniform(&r) * 1440);

			if (pz_rng_uniform(&r) > daily_profile(minute))
				continue;
			start = (int64_t) day * 86400000 + (int64_t) minute * 60000 +
				(int64_t) (pz_rng_uniform(&r) * 60000);
			if (start + t < week_ms - 1000)
				break;
			start = -1;
		}
		if (start < 0)
			start = (int64_t) (pz_rng_uniform(&r) * (double) (week_ms - t - 1000));
		if (start < 0)			/* a session longer than a 1-day partial week */
			start = 0;
		for (size_t e = first; e < n; e++)
		{
			ev[e].session_id = (int64_t) (week + 1) * 100000000 + sid;
			/* milliseconds apart at least; a sub-millisecond part for realism */
			ev[e].usec = (start + ev[e].usec) * 1000 + (int64_t) (pz_rng_next(&r) % 1000);
		}
	}
	pz_free(plays);
	out->ev = ev;
	out->n = n;
	return PZ_OK;

nomem:
	pz_free(plays);
	pz_free(ev);
	snprintf(errmsg, PZ_ERRMSG_LEN, "out of memory generating the events of week %d", week);
	return PZ_ENOMEM;
}

/* ------------------------------------------------------------ names */

static const char *const genres[] = {
	"pop", "dance pop", "polish pop", "rock", "polish rock", "indie", "alternative",
	"hip hop", "polish hip hop", "trap", "r&b", "soul", "electronic", "house",
	"techno", "edm", "jazz", "classical", "metal", "punk", "folk", "country",
	"latin", "reggaeton", "k-pop", "disco polo", "blues", "funk", "singer-songwriter",
	"christmas"
};
#define N_GENRES ((int) (sizeof(genres) / sizeof(genres[0])))

static const char *const adjectives[] = {
	"Golden", "Silent", "Electric", "Broken", "Midnight", "Summer", "Neon", "Lost",
	"Wild", "Blue", "Crystal", "Velvet", "Paper", "Burning", "Frozen", "Sweet",
	"Little", "Endless", "Hidden", "Crazy", "Lonely", "Shiny", "Dark", "Secret",
	"Cosmic", "Gentle", "Restless", "Easy", "Silver", "Falling"
};
static const char *const nouns[] = {
	"Heart", "Night", "City", "River", "Dream", "Fire", "Rain", "Road", "Sky",
	"Love", "Light", "Summer", "Ocean", "Shadow", "Dance", "Echo", "Star", "Window",
	"Garden", "Train", "Storm", "Mirror", "Wave", "Memory", "Radio", "Morning",
	"Highway", "Moon", "Kiss", "Music Box"
};
static const char *const first_names[] = {
	"Anna", "Piotr", "Maria", "Jan", "Katarzyna", "Tomasz", "Agnieszka", "Paweł",
	"Zofia", "Michał", "Julia", "Krzysztof", "Ola", "Marek", "Ewa", "Jakub",
	"Natalia", "Adam", "Magda", "Kuba", "Lena", "Filip", "Maja", "Szymon"
};
static const char *const last_names[] = {
	"Nowak", "Kowalski", "Wiśniewska", "Wójcik", "Kowalczyk", "Kamiński",
	"Lewandowska", "Zieliński", "Szymańska", "Woźniak", "Dąbrowski", "Kozłowska",
	"Jankowski", "Mazur", "Kwiatkowska", "Krawczyk", "Piotrowski", "Grabowska"
};
static const char *const cities[] = {
	"Warszawa", "Kraków", "Wrocław", "Gdańsk", "Poznań", "Łódź", "Szczecin",
	"Lublin", "Katowice", "Białystok", "Toruń", "Rzeszów", "Olsztyn", "Opole"
};
static const char *const streets[] = {
	"Długa", "Krótka", "Polna", "Leśna", "Słoneczna", "Ogrodowa", "Lipowa",
	"Kwiatowa", "Szkolna", "Mickiewicza", "Kościuszki", "Piłsudskiego", "Chopina"
};
#define NELEM(a) ((uint64_t) (sizeof(a) / sizeof((a)[0])))

static void
make_id(uint64_t seed, uint64_t tag, int i, char *buf)
{
	static const char alphabet[] =
		"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	uint64_t	h1 = demogen_hash(seed, tag, (uint64_t) i),
				h2 = demogen_hash(seed, tag + 1, (uint64_t) i);

	/* 11 base-62 digits from each of two 64-bit hashes (62^11 < 2^64) */
	for (int k = 0; k < 11; k++)
	{
		buf[k] = alphabet[h1 % 62];
		h1 /= 62;
		buf[11 + k] = alphabet[h2 % 62];
		h2 /= 62;
	}
	buf[DEMOGEN_ID_LEN] = '\0';
}

void
pz_demogen_track_id(const demogen_world *w, int i, char *buf)
{
	make_id(w->p.seed, 11, i, buf);
}

void
pz_demogen_artist_id(const demogen_world *w, int j, char *buf)
{
	make_id(w->p.seed, 21, j, buf);
}

void
pz_demogen_track_name(const demogen_world *w, int i, char *buf)
{
	uint64_t	h = demogen_hash(w->p.seed, 31, (uint64_t) i);

	if (w->tr[i].holiday)
		snprintf(buf, DEMOGEN_NAME_LEN, "%s Christmas %s",
				 adjectives[h % NELEM(adjectives)], nouns[(h >> 16) % NELEM(nouns)]);
	else if ((h >> 40) % 5 == 0)
		snprintf(buf, DEMOGEN_NAME_LEN, "%s", nouns[(h >> 16) % NELEM(nouns)]);
	else
		snprintf(buf, DEMOGEN_NAME_LEN, "%s %s",
				 adjectives[h % NELEM(adjectives)], nouns[(h >> 16) % NELEM(nouns)]);
}

void
pz_demogen_artist_name(const demogen_world *w, int j, char *buf)
{
	uint64_t	h = demogen_hash(w->p.seed, 41, (uint64_t) j);

	if (h % 3 == 0)
		snprintf(buf, DEMOGEN_NAME_LEN, "The %s %ss",
				 adjectives[(h >> 8) % NELEM(adjectives)], nouns[(h >> 24) % NELEM(nouns)]);
	else
		snprintf(buf, DEMOGEN_NAME_LEN, "%s %s",
				 first_names[(h >> 8) % NELEM(first_names)],
				 last_names[(h >> 24) % NELEM(last_names)]);
}

int
pz_demogen_n_genres(void)
{
	return N_GENRES;
}

const char *
pz_demogen_genre(int g)
{
	return (g >= 0 && g < N_GENRES) ? genres[g] : NULL;
}

/* 1-3 distinct genres (the last, "christmas", only via holiday songs' artists) */
static int
pick_genres(uint64_t h, int min_n, int genres_out[3])
{
	int			n = min_n + (int) (h % (uint64_t) (4 - min_n));

	h >>= 4;
	for (int k = 0; k < n; k++)
	{
		int			g;
		int			dup;

		do
		{
			g = (int) (h % (uint64_t) (N_GENRES - 1));
			h = h * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
			dup = 0;
			for (int m = 0; m < k; m++)
				dup |= genres_out[m] == g;
		} while (dup);
		genres_out[k] = g;
	}
	return n;
}

int
pz_demogen_artist_genres(const demogen_world *w, int j, int genres_out[3])
{
	return pick_genres(demogen_hash(w->p.seed, 51, (uint64_t) j), 1, genres_out);
}

void
pz_demogen_user_name(const demogen_world *w, int u, char *buf)
{
	uint64_t	h = demogen_hash(w->p.seed, 61, (uint64_t) u);

	snprintf(buf, DEMOGEN_NAME_LEN, "%s %s",
			 first_names[h % NELEM(first_names)],
			 last_names[(h >> 16) % NELEM(last_names)]);
}

const char *
pz_demogen_user_city(const demogen_world *w, int u)
{
	uint64_t	h = demogen_hash(w->p.seed, 71, (uint64_t) u);

	/* bigger cities more often: the minimum of two uniform picks */
	uint64_t	a = h % NELEM(cities),
				b = (h >> 20) % NELEM(cities);

	return cities[a < b ? a : b];
}

void
pz_demogen_user_street(const demogen_world *w, int u, char *buf)
{
	uint64_t	h = demogen_hash(w->p.seed, 81, (uint64_t) u);

	snprintf(buf, DEMOGEN_NAME_LEN, "ul. %s %d",
			 streets[h % NELEM(streets)], 1 + (int) ((h >> 16) % 120));
}

int
pz_demogen_user_premium(const demogen_world *w, int u)
{
	return (u >= 0 && u < w->p.users) ? w->user_premium[u] : 0;
}

int
pz_demogen_user_genres(const demogen_world *w, int u, int genres_out[3])
{
	return pick_genres(demogen_hash(w->p.seed, 91, (uint64_t) u), 0, genres_out);
}
