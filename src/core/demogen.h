/*
 * demogen.h — the demo-data generator's simulation core.
 *
 * A seeded, deterministic simulation of a music streaming service: a
 * catalogue (artists, tracks, users) and, week by week, the session log.
 * Each track has a latent weekly intensity (expected plays) built from
 * components with genuine, learnable regularities plus noise:
 *
 *   lambda[i][t] = exp(base_i + drift_i(t) + e_it)     long-run level, slow AR(1)
 *                                                      drift, i.i.d. weekly noise
 *                  * (1 + H_i * release_curve(t - r_i)) rise-then-decay after release
 *                  * (1 + R_i * logistic((t - t0_i) / s_i))     slow risers
 *                  * (1 + X_i * holiday(date of week t))        December songs
 *                  * prod_v (1 + V_v * exp(-(t - t_v) / tau_v)) viral jumps, reverting
 *
 * normalised so that each week's expected plays match the requested event
 * volume.  base_i is log-normal (heavy tail) and includes an artist effect;
 * album drops release several tracks of one artist in the same week with a
 * shared hype factor.  Weekly counts are Poisson draws on lambda; each play
 * is then skipped or liked with track-specific probabilities that depend on
 * the track's appeal.  Events are grouped into sessions of users.
 *
 * Everything is reproducible from the seed: the world uses one PRNG stream,
 * and week w's events a stream derived from (seed, w), so any week can be
 * generated alone, in any order, with identical results.
 *
 * Plain C, no postgres.h.  All memory is malloc'd and freed on every path;
 * long loops poll the cancel hook.
 */
#ifndef PZ_DEMOGEN_H
#define PZ_DEMOGEN_H

#include <stddef.h>
#include <stdint.h>

#include "pz_common.h"
#include "pz_rng.h"

/* Limits (checked before anything is allocated). */
#define DEMOGEN_MAX_WEEKS			520
#define DEMOGEN_MAX_EVENTS_PER_WEEK	20000000
#define DEMOGEN_MAX_TRACKS			2000000
#define DEMOGEN_MAX_ARTISTS			1000000
#define DEMOGEN_MAX_USERS			10000000
/* tracks x weeks of latent intensities kept in memory (8 bytes each) */
#define DEMOGEN_MAX_CELLS			40000000
/* start_day must lie in 1900..2200 */
#define DEMOGEN_MIN_DAY				(-36524)
#define DEMOGEN_MAX_DAY				73048
#define DEMOGEN_ID_LEN				22	/* base-62 ids like the export's */
#define DEMOGEN_NAME_LEN			96

typedef struct demogen_params
{
	int			weeks;			/* complete weeks, >= 1 */
	int			partial_days;	/* days (0..6) of one more, incomplete week */
	int64_t		events_per_week;	/* approximate events of a complete week */
	int			tracks;
	int			artists;		/* 1 <= artists <= tracks */
	int			users;
	uint64_t	seed;
	int			start_day;		/* days since 2000-01-01 of a Monday */
} demogen_params;

/* Event types, in the order of pozytywka.event_type. */
typedef enum demogen_event_type
{
	DEMOGEN_PLAY = 0,
	DEMOGEN_SKIP,
	DEMOGEN_LIKE,
	DEMOGEN_ADVERTISEMENT,
	DEMOGEN_BUY_PREMIUM
} demogen_event_type;

typedef struct demogen_event
{
	int64_t		session_id;
	int64_t		usec;			/* microseconds since the week's Monday 00:00 */
	int32_t		user_id;		/* 1-based */
	int32_t		track;			/* track index, -1 for ads and buy_premium */
	int32_t		type;			/* demogen_event_type */
	int32_t		reserved;		/* 0; keeps the struct free of padding */
} demogen_event;

typedef struct demogen_events
{
	demogen_event *ev;
	size_t		n;
} demogen_events;

/* Per-track attributes for the catalogue (all derived from the seed). */
typedef struct demogen_track
{
	int			artist;			/* artist index */
	int			release_day;	/* days since 2000-01-01 */
	int			release_precision;	/* 0 day, 1 month, 2 year */
	int			duration_ms;
	int			explicit_;
	int			popularity;		/* 0..100, from the last weeks' intensity */
	int			holiday;		/* a December song */
	double		appeal;			/* latent quality, ~N(0,1) */
	double		p_skip;
	double		p_like;
	double		danceability, energy, loudness, speechiness, acousticness,
				instrumentalness, liveness, valence, tempo;
	int			key;
} demogen_track;

typedef struct demogen_world demogen_world;

/* Check params; PZ_EINVAL / PZ_ENOMEM with a message when out of range. */
extern pz_status pz_demogen_check_params(const demogen_params *p, char *errmsg);

/* Build the catalogue and simulate every week's latent intensity. */
extern pz_status pz_demogen_world_create(const demogen_params *p,
										 demogen_world **out,
										 const pz_cancel *cancel, char *errmsg);
extern void pz_demogen_world_free(demogen_world *w);

/* Total weeks simulated: weeks + (partial_days > 0). */
extern int	pz_demogen_n_weeks(const demogen_world *w);

/* Latent expected plays of track i in week t (for tests and diagnostics). */
extern double pz_demogen_intensity(const demogen_world *w, int track, int week);

/*
 * The best forecast of week+1's intensities from what is known at the end
 * of 'week': the drift decays by its AR coefficient, releases, jumps and
 * holidays known so far follow their curves, and no new release or viral
 * jump happens.  This is the learnable part of the dynamics: the ceiling
 * of a forecaster that knew every track's curve.  out has 'tracks' slots.
 */
extern pz_status pz_demogen_expected_next(const demogen_world *w, int week,
										  double *out, char *errmsg);

extern const demogen_track *pz_demogen_track_info(const demogen_world *w, int i);

/*
 * The events of week 'week' (0-based; the last one is the partial week when
 * partial_days > 0), sorted by session and time.  out->ev is malloc'd: free
 * it with pz_demogen_events_free().  Session ids are unique over all weeks.
 */
extern pz_status pz_demogen_week_events(const demogen_world *w, int week,
										demogen_events *out,
										const pz_cancel *cancel, char *errmsg);
extern void pz_demogen_events_free(demogen_events *e);

/* Catalogue strings, written NUL-terminated into buf (size >= DEMOGEN_NAME_LEN). */
extern void pz_demogen_track_id(const demogen_world *w, int i, char *buf);
extern void pz_demogen_artist_id(const demogen_world *w, int j, char *buf);
extern void pz_demogen_track_name(const demogen_world *w, int i, char *buf);
extern void pz_demogen_artist_name(const demogen_world *w, int j, char *buf);
/* genres of artist j: returns how many (1..3), indices into pz_demogen_genre() */
extern int	pz_demogen_artist_genres(const demogen_world *w, int j, int genres[3]);
extern const char *pz_demogen_genre(int g);
extern int	pz_demogen_n_genres(void);
extern void pz_demogen_user_name(const demogen_world *w, int u, char *buf);
extern const char *pz_demogen_user_city(const demogen_world *w, int u);
extern void pz_demogen_user_street(const demogen_world *w, int u, char *buf);
extern int	pz_demogen_user_premium(const demogen_world *w, int u);
/* favourite genres of user u (0-based): returns how many (0..3) */
extern int	pz_demogen_user_genres(const demogen_world *w, int u, int genres[3]);

/* The seeded PRNG (xoshiro256**, seeded through splitmix64). */
/* the project's xoshiro256** (pz_rng.h), one stream per (seed, stream) */
typedef pz_rng demogen_rng;

extern void pz_demogen_rng_seed(demogen_rng *r, uint64_t seed, uint64_t stream);
extern double pz_demogen_rng_normal(demogen_rng *r);
extern int64_t pz_demogen_rng_poisson(demogen_rng *r, double lambda);

#endif							/* PZ_DEMOGEN_H */
