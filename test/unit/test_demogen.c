/*
 * test_demogen.c — unit tests of the demo-data generator's core.
 *
 * Determinism for a seed, event counts near the requested volume, session
 * invariants (unique timestamps, inside the week), a heavy tail, and the
 * weekly dynamics: top-50 persistence (overlap of consecutive weeks' top
 * 50, the naive forecast's backtest) in the target band 0.5..0.8, and a
 * forecaster that knows the generator's typical regularities (release
 * decay, reverting viral spikes, a track's long-run level) beating it:
 * the structural forecast of the core (pz_demogen_expected_next) and a simple
 * forecaster that learns the typical curve from the history alone.
 *
 * DEMOGEN_SEEDS=n runs the dynamics checks for n seeds and prints a table.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "demogen.h"
#include "tap.h"

#define TOPN 50
#define BACKTEST 8

static demogen_params
default_params(uint64_t seed)
{
	demogen_params p = {52, 2, 150000, 5000, 800, 10000, seed, 9193};	/* 2025-03-03 */

	return p;
}

/* weekly scores [week][track] with the default weights, from the events */
static double *
weekly_scores(const demogen_world *w, const demogen_params *p, int64_t *n_events)
{
	int			nw = pz_demogen_n_weeks(w);
	double	   *s = calloc((size_t) nw * p->tracks, sizeof(double));
	char		err[PZ_ERRMSG_LEN];

	*n_events = 0;
	for (int t = 0; t < nw; t++)
	{
		demogen_events e;

		if (pz_demogen_week_events(w, t, &e, NULL, err) != PZ_OK)
		{
			tap_diag("week %d: %s", t, err);
			free(s);
			return NULL;
		}
		*n_events += (int64_t) e.n;
		for (size_t k = 0; k < e.n; k++)
		{
			double	   *c;

			if (e.ev[k].track < 0)
				continue;
			c = &s[(size_t) t * p->tracks + e.ev[k].track];
			if (e.ev[k].type == DEMOGEN_PLAY)
				*c += 1.0;
			else if (e.ev[k].type == DEMOGEN_LIKE)
				*c += 0.8;
			else if (e.ev[k].type == DEMOGEN_SKIP)
				*c -= 0.5;
		}
		pz_demogen_events_free(&e);
	}
	return s;
}

static const double *cmp_key;

static int
cmp_desc(const void *a, const void *b)
{
	int			i = *(const int *) a,
				j = *(const int *) b;

	if (cmp_key[i] != cmp_key[j])
		return cmp_key[i] < cmp_key[j] ? 1 : -1;
	return i - j;
}

/* marks the top-n of key[0..T) in mark[] */
static void
top_n(const double *key, int T, int n, char *mark, int *idx)
{
	for (int i = 0; i < T; i++)
		idx[i] = i;
	cmp_key = key;
	qsort(idx, T, sizeof(int), cmp_desc);
	memset(mark, 0, T);
	for (int k = 0; k < n && k < T; k++)
		if (key[idx[k]] > 0.0)
			mark[idx[k]] = 1;
}

enum
{
	F_NAIVE, F_MEAN4, F_EWMA, F_PATTERN, F_STRUCT, F_LATENT, N_FORECASTERS
};
static const char *const fc_names[] = {"naive", "mean4", "ewma", "pattern", "structural", "latent(oracle)"};

/*
 * A forecaster that learns the *typical* shape of the dynamics from the
 * history before the origin, not the parameters of any track: young tracks
 * (first seen k weeks ago) follow the mean log growth ratio of all earlier
 * tracks at that age; an old track's jump far above its recent level
 * reverts by about half; otherwise a blend of last week and the level.
 */
#define MAX_AGE 12

static int
first_week(const double *s, int T, int i, int t)
{
	for (int u = 0; u <= t; u++)
		if (s[(size_t) u * T + i] > 0.0)
			return u;
	return -1;
}

static void
learn_age_ratios(const double *s, int T, int o, double ratio[MAX_AGE])
{
	double		sum[MAX_AGE] = {0},
				n[MAX_AGE] = {0};

	for (int i = 0; i < T; i++)
	{
		int			f = first_week(s, T, i, o);

		if (f <= 0)
			continue;
		for (int a = 0; a < MAX_AGE && f + a + 1 <= o; a++)
		{
			double		y0 = s[(size_t) (f + a) * T + i],
						y1 = s[(size_t) (f + a + 1) * T + i];

			/* weighted by size: the top of the chart is what matters */
			if (y0 >= 20.0 && y1 > 0.0)
			{
				sum[a] += y0 * log(y1 / y0);
				n[a] += y0;
			}
		}
	}
	for (int a = 0; a < MAX_AGE; a++)
		ratio[a] = n[a] > 0 ? exp(sum[a] / n[a]) : 1.0;
}

static double
pattern_forecast(const double *s, int T, int i, int t, const double ratio[MAX_AGE])
{
	double		y = s[(size_t) t * T + i];
	int			first = first_week(s, T, i, t);
	double		lvl = 0.0;
	int			nl = 0;

	if (first < 0)
		return 0.0;
	if (first > 0 && t - first < MAX_AGE)
		return y * ratio[t - first];
	for (int u = t - 8; u < t - 1; u++)
		if (u >= 0)
		{
			lvl += s[(size_t) u * T + i];
			nl++;
		}
	lvl = nl ? lvl / nl : y;
	if (y > 1.6 * lvl)
		return lvl + 0.45 * (y - lvl);
	return 0.5 * y + 0.5 * lvl;
}

/* mean top-50 overlap of the backtest weeks (the last BACKTEST complete weeks) */
static void
backtest(const demogen_world *w, const demogen_params *p, const double *s,
		 double result[N_FORECASTERS])
{
	int			T = p->tracks;
	double	   *f = malloc(sizeof(double) * T);
	char	   *ma = malloc(T),
			   *mp = malloc(T);
	int		   *idx = malloc(sizeof(int) * T);

	for (int k = 0; k < N_FORECASTERS; k++)
		result[k] = 0.0;
	for (int target = p->weeks - BACKTEST; target < p->weeks; target++)
	{
		int			o = target - 1;
		double		ratio[MAX_AGE];

		learn_age_ratios(s, T, o, ratio);

		top_n(s + (size_t) target * T, T, TOPN, ma, idx);
		for (int k = 0; k < N_FORECASTERS; k++)
		{
			int			hits = 0;

			for (int i = 0; i < T; i++)
			{
				const double *y = s + i;
				double		e = 0.0;

				switch (k)
				{
					case F_NAIVE:
						f[i] = y[(size_t) o * T];
						break;
					case F_MEAN4:
						f[i] = 0.0;
						for (int u = o - 3; u <= o; u++)
							f[i] += y[(size_t) u * T] / 4.0;
						break;
					case F_EWMA:
						for (int u = 0; u <= o; u++)
							e = u == 0 ? y[0] : 0.5 * y[(size_t) u * T] + 0.5 * e;
						f[i] = e;
						break;
					case F_PATTERN:
						f[i] = pattern_forecast(s, T, i, o, ratio);
						break;
					case F_STRUCT:
						if (i == 0)
						{
							char		err[PZ_ERRMSG_LEN];

							pz_demogen_expected_next(w, o, f, err);
						}
						break;
					case F_LATENT:
						/* knows next week's latent intensity: an upper bound */
						f[i] = pz_demogen_intensity(w, i, target);
						break;
				}
			}
			top_n(f, T, TOPN, mp, idx);
			for (int i = 0; i < T; i++)
				hits += ma[i] && mp[i];
			result[k] += hits / (double) TOPN / BACKTEST;
		}
	}
	free(f);
	free(ma);
	free(mp);
	free(idx);
}

static void
test_rng(void)
{
	demogen_rng a,
				b;
	double		sum = 0,
				sum2 = 0;
	int			same = 1;
	int64_t		ps = 0;

	pz_demogen_rng_seed(&a, 7, 0);
	pz_demogen_rng_seed(&b, 7, 0);
	for (int i = 0; i < 1000; i++)
		same &= pz_rng_next(&a) == pz_rng_next(&b);
	tap_ok(same, "rng: same seed, same stream");
	pz_demogen_rng_seed(&b, 7, 1);
	tap_ok(pz_rng_next(&a) != pz_rng_next(&b), "rng: another stream differs");
	for (int i = 0; i < 100000; i++)
	{
		double		z = pz_demogen_rng_normal(&a);

		sum += z;
		sum2 += z * z;
	}
	tap_close(sum / 100000, 0.0, 0.02, 0, "normal: mean 0");
	tap_close(sum2 / 100000, 1.0, 0.03, 0, "normal: variance 1");
	for (int i = 0; i < 20000; i++)
		ps += pz_demogen_rng_poisson(&a, 3.5);
	tap_close(ps / 20000.0, 3.5, 0.05, 0, "poisson(3.5) by inversion: mean");
	ps = 0;
	sum2 = 0;
	for (int i = 0; i < 20000; i++)
	{
		int64_t		k = pz_demogen_rng_poisson(&a, 250.0);

		ps += k;
		sum2 += (k - 250.0) * (k - 250.0);
	}
	tap_close(ps / 20000.0, 250.0, 0.5, 0, "poisson(250) by PTRS: mean");
	tap_close(sum2 / 20000.0, 250.0, 0, 0.05, "poisson(250) by PTRS: variance");
}

static void
test_params(void)
{
	char		err[PZ_ERRMSG_LEN];
	demogen_params p = default_params(1);
	demogen_world *w = NULL;

	p.weeks = 0;
	tap_ok(pz_demogen_world_create(&p, &w, NULL, err) == PZ_EINVAL && w == NULL,
		   "weeks = 0 refused: %s", err);
	p = default_params(1);
	p.start_day = 9194;
	tap_ok(pz_demogen_check_params(&p, err) == PZ_EINVAL, "start not a Monday refused: %s", err);
	p = default_params(1);
	p.artists = p.tracks + 1;
	tap_ok(pz_demogen_check_params(&p, err) == PZ_EINVAL, "more artists than tracks refused: %s", err);
	p = default_params(1);
	p.tracks = DEMOGEN_MAX_TRACKS;
	p.weeks = DEMOGEN_MAX_WEEKS;
	tap_ok(pz_demogen_check_params(&p, err) == PZ_ENOMEM, "too many cells refused: %s", err);
	p = default_params(1);
	p.events_per_week = 10;
	tap_ok(pz_demogen_check_params(&p, err) == PZ_EINVAL, "tiny events_per_week refused: %s", err);
}

static int
cancel_now(void *arg __attribute__((unused)))
{
	return 1;
}

static void
test_small_world(void)
{
	demogen_params p = {6, 2, 20000, 300, 40, 500, 123, 9193};
	demogen_world *w1,
			   *w2;
	char		err[PZ_ERRMSG_LEN];
	demogen_events a,
				b,
				c;
	int			ok_order = 1,
				ok_range = 1,
				ok_user = 1,
				ok_track = 1;
	int64_t		plays = 0,
				skips = 0,
				likes = 0,
				ads = 0,
				total = 0;
	pz_cancel	cancel = {cancel_now, NULL};
	char		id1[DEMOGEN_NAME_LEN],
				id2[DEMOGEN_NAME_LEN];

	tap_ok(pz_demogen_world_create(&p, &w1, NULL, err) == PZ_OK, "small world builds");
	tap_ok(pz_demogen_world_create(&p, &w2, NULL, err) == PZ_OK, "small world builds again");
	pz_demogen_world_free(w2);
	tap_ok(pz_demogen_world_create(&p, &w2, &cancel, err) == PZ_ECANCELLED && w2 == NULL,
		   "world creation honours the cancel hook");
	pz_demogen_world_create(&p, &w2, NULL, err);
	tap_ok(pz_demogen_n_weeks(w1) == 7, "6 complete weeks + 1 partial");

	pz_demogen_week_events(w1, 3, &a, NULL, err);
	pz_demogen_week_events(w2, 3, &b, NULL, err);
	tap_ok(a.n == b.n && memcmp(a.ev, b.ev, a.n * sizeof(demogen_event)) == 0,
		   "same seed: identical events (%zu)", a.n);
	tap_ok(pz_demogen_week_events(w1, 3, &c, &cancel, err) == PZ_ECANCELLED && c.ev == NULL,
		   "event generation honours the cancel hook");
	pz_demogen_track_id(w1, 5, id1);
	pz_demogen_track_id(w2, 5, id2);
	tap_ok(strcmp(id1, id2) == 0 && strlen(id1) == DEMOGEN_ID_LEN, "track id stable: %s", id1);

	for (size_t k = 0; k < a.n; k++)
	{
		const demogen_event *e = &a.ev[k];

		if (k > 0 && e->session_id == a.ev[k - 1].session_id &&
			e->usec <= a.ev[k - 1].usec)
			ok_order = 0;
		if (k > 0 && e->session_id < a.ev[k - 1].session_id)
			ok_order = 0;
		if (e->usec < 0 || e->usec >= (int64_t) 7 * 86400 * 1000000)
			ok_range = 0;
		if (e->user_id < 1 || e->user_id > p.users)
			ok_user = 0;
		if ((e->type <= DEMOGEN_LIKE) != (e->track >= 0 && e->track < p.tracks))
			ok_track = 0;
		total++;
		plays += e->type == DEMOGEN_PLAY;
		skips += e->type == DEMOGEN_SKIP;
		likes += e->type == DEMOGEN_LIKE;
		ads += e->type == DEMOGEN_ADVERTISEMENT;
	}
	tap_ok(ok_order, "sessions in order, timestamps strictly increasing within a session");
	tap_ok(ok_range, "every event inside its week");
	tap_ok(ok_user, "user ids in 1..users");
	tap_ok(ok_track, "play/skip/like name a track, ads and buy_premium none");
	tap_close((double) total, 20000, 0, 0.08, "events of a week near events_per_week");
	tap_ok(skips > 0.1 * plays && skips < 0.35 * plays, "skips %.3f of plays", (double) skips / plays);
	tap_ok(likes > 0.02 * plays && likes < 0.12 * plays, "likes %.3f of plays", (double) likes / plays);
	tap_ok(ads > 0.05 * plays && ads < 0.3 * plays, "ads %.3f of plays", (double) ads / plays);
	pz_demogen_events_free(&a);
	pz_demogen_events_free(&b);

	/* the partial week: 2 of 7 days */
	pz_demogen_week_events(w1, 6, &a, NULL, err);
	ok_range = 1;
	for (size_t k = 0; k < a.n; k++)
		if (a.ev[k].usec >= (int64_t) 2 * 86400 * 1000000)
			ok_range = 0;
	tap_ok(ok_range, "partial week: events only on its first 2 days");
	tap_close((double) a.n, 20000 * 2.0 / 7.0, 0, 0.12, "partial week: 2/7 of the volume");
	pz_demogen_events_free(&a);
	tap_ok(pz_demogen_week_events(w1, 7, &a, NULL, err) == PZ_EINVAL, "week out of range refused");

	pz_demogen_world_free(w1);
	pz_demogen_world_free(w2);
	p.seed = 124;
	pz_demogen_world_create(&p, &w1, NULL, err);
	pz_demogen_track_id(w1, 5, id2);
	tap_ok(strcmp(id1, id2) != 0, "another seed, other ids");
	pz_demogen_world_free(w1);
}

static void
test_dynamics(uint64_t seed, int verbose)
{
	demogen_params p = default_params(seed);
	demogen_world *w;
	char		err[PZ_ERRMSG_LEN];
	double	   *s;
	int64_t		n_events;
	double		res[N_FORECASTERS];
	double	   *tot;
	int		   *idx;
	char	   *mark;
	double		top1,
				all,
				top_share = 0.0;
	int			t_last = p.weeks - 1;

	if (pz_demogen_world_create(&p, &w, NULL, err) != PZ_OK)
	{
		tap_ok(0, "default world: %s", err);
		return;
	}
	s = weekly_scores(w, &p, &n_events);
	if (s == NULL)
	{
		tap_ok(0, "weekly scores");
		pz_demogen_world_free(w);
		return;
	}
	backtest(w, &p, s, res);

	/* heavy tail: mean share of the score of the top 1% of tracks over the weeks */
	idx = malloc(sizeof(int) * p.tracks);
	mark = malloc(p.tracks);
	for (int t = 0; t <= t_last; t++)
	{
		tot = s + (size_t) t * p.tracks;
		top1 = all = 0.0;
		top_n(tot, p.tracks, p.tracks / 100, mark, idx);
		for (int i = 0; i < p.tracks; i++)
		{
			all += tot[i] > 0 ? tot[i] : 0;
			if (mark[i])
				top1 += tot[i];
		}
		top_share += top1 / all / (t_last + 1);
	}
	free(idx);
	free(mark);

	if (verbose)
	{
		tap_diag("seed %llu: events %lld (%.0f/week), top-1%% share %.3f",
				 (unsigned long long) seed, (long long) n_events,
				 n_events / (p.weeks + 2.0 / 7.0), top_share);
		for (int k = 0; k < N_FORECASTERS; k++)
			tap_diag("   %-16s overlap@50 %.3f", fc_names[k], res[k]);
	}
	else
	{
		tap_close((double) n_events / (p.weeks + 2.0 / 7.0), 150000, 0, 0.05,
				  "default: ~150k events a week");
		tap_ok(top_share > 0.12 && top_share < 0.7,
			   "heavy tail: top 1%% of tracks get %.3f of the score", top_share);
		tap_ok(res[F_NAIVE] >= 0.5 && res[F_NAIVE] <= 0.8,
			   "persistence (naive overlap@50 over 8 weeks) %.3f in [0.5, 0.8]", res[F_NAIVE]);
		tap_ok(res[F_STRUCT] >= 0.70 && res[F_STRUCT] >= res[F_NAIVE] + 0.08,
			   "knowing the curves (structural forecast, %.3f) beats persistence by > 0.08",
			   res[F_STRUCT]);
		tap_ok(res[F_PATTERN] > res[F_NAIVE],
			   "typical patterns learnt from the history alone (%.3f) beat persistence",
			   res[F_PATTERN]);
		tap_ok(res[F_LATENT] < 0.98,
			   "not trivial: even next week's latent intensity gives %.3f", res[F_LATENT]);
		for (int k = 0; k < N_FORECASTERS; k++)
			tap_diag("%-16s overlap@50 %.3f", fc_names[k], res[k]);
	}
	free(s);
	pz_demogen_world_free(w);
}

int
main(void)
{
	const char *env = getenv("DEMOGEN_SEEDS");

	if (env != NULL)
	{
		int			n = atoi(env);

		for (int k = 1; k <= n; k++)
			test_dynamics((uint64_t) k, 1);
		return 0;
	}
	test_rng();
	test_params();
	test_small_world();
	test_dynamics(42, 0);
	return tap_done();
}
