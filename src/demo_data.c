/*
 * demo_data.c — SQL entry points of the demo-data generator
 * (src/core/demogen.c does the simulation).
 *
 * Every function takes the same generator parameters and rebuilds the
 * (cheap, deterministic) simulated world from them, so each call stands
 * alone: the catalogue functions return all their rows at once, and
 * pz_demo_events returns one week's events value-per-call, so that the
 * plpgsql driver inserts one week per statement with bounded memory.
 *
 * The core allocates with malloc; every path that can ereport() while core
 * memory is held frees it in PG_FINALLY, and the core's own loops poll
 * pz_pg_cancel and unwind before the glue raises the cancel.
 */
#include "pozytywka.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "demogen.h"

PG_FUNCTION_INFO_V1(pz_demo_artists);
PG_FUNCTION_INFO_V1(pz_demo_tracks);
PG_FUNCTION_INFO_V1(pz_demo_users);
PG_FUNCTION_INFO_V1(pz_demo_events);

#define N_PARAMS 8

/*
 * The common arguments: (weeks int, partial_days int, events_per_week
 * bigint, tracks int, artists int, users int, seed bigint, start_date date).
 */
static demogen_params
params_arg(FunctionCallInfo fcinfo)
{
	static const char *const names[N_PARAMS] = {
		"weeks", "partial_days", "events_per_week", "tracks", "artists",
		"users", "seed", "start_date"
	};
	demogen_params p;
	DateADT		start;
	char		reason[PZ_ERRMSG_LEN];

	for (int k = 0; k < N_PARAMS; k++)
		if (PG_ARGISNULL(k))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be NULL", names[k])));
	start = PG_GETARG_DATEADT(7);
	if (DATE_NOT_FINITE(start))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("start_date must be a finite date")));
	p.weeks = PG_GETARG_INT32(0);
	p.partial_days = PG_GETARG_INT32(1);
	p.events_per_week = PG_GETARG_INT64(2);
	p.tracks = PG_GETARG_INT32(3);
	p.artists = PG_GETARG_INT32(4);
	p.users = PG_GETARG_INT32(5);
	p.seed = (uint64_t) PG_GETARG_INT64(6);
	p.start_day = (int) start;	/* DateADT counts days from 2000-01-01 too */
	pz_report(pz_demogen_check_params(&p, reason), reason);
	return p;
}

static demogen_world *
world_create(const demogen_params *p)
{
	demogen_world *w = NULL;
	char		reason[PZ_ERRMSG_LEN];

	pz_report(pz_demogen_world_create(p, &w, &pz_pg_cancel, reason), reason);
	return w;
}

static Datum
text_array(const int *idx, int n, const char *(*label) (int))
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int k = 0; k < n; k++)
		elems[k] = CStringGetTextDatum(label(idx[k]));
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

static const char *
genre_label(int g)
{
	return pz_demogen_genre(g);
}

/* artists(id, name, genres) */
Datum
pz_demo_artists(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	demogen_params p = params_arg(fcinfo);
	demogen_world *volatile w;

	InitMaterializedSRF(fcinfo, 0);
	w = world_create(&p);
	PG_TRY();
	{
		char		buf[DEMOGEN_NAME_LEN];

		for (int j = 0; j < p.artists; j++)
		{
			Datum		values[3];
			bool		nulls[3] = {false, false, false};
			int			g[3];
			int			ng = pz_demogen_artist_genres(w, j, g);

			CHECK_FOR_INTERRUPTS();
			pz_demogen_artist_id(w, j, buf);
			values[0] = CStringGetTextDatum(buf);
			pz_demogen_artist_name(w, j, buf);
			values[1] = CStringGetTextDatum(buf);
			values[2] = text_array(g, ng, genre_label);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	PG_FINALLY();
	{
		pz_demogen_world_free(w);
	}
	PG_END_TRY();
	return (Datum) 0;
}

/* tracks, in the column order of pozytywka.tracks */
Datum
pz_demo_tracks(PG_FUNCTION_ARGS)
{
	static const char *const precision[] = {"day", "month", "year"};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	demogen_params p = params_arg(fcinfo);
	demogen_world *volatile w;

	InitMaterializedSRF(fcinfo, 0);
	w = world_create(&p);
	PG_TRY();
	{
		char		buf[DEMOGEN_NAME_LEN];

		for (int i = 0; i < p.tracks; i++)
		{
			const demogen_track *t = pz_demogen_track_info(w, i);
			Datum		values[18];
			bool		nulls[18];

			CHECK_FOR_INTERRUPTS();
			memset(nulls, 0, sizeof(nulls));
			pz_demogen_track_id(w, i, buf);
			values[0] = CStringGetTextDatum(buf);
			pz_demogen_track_name(w, i, buf);
			values[1] = CStringGetTextDatum(buf);
			values[2] = Int32GetDatum(t->popularity);
			values[3] = Int32GetDatum(t->duration_ms);
			values[4] = BoolGetDatum(t->explicit_ != 0);
			pz_demogen_artist_id(w, t->artist, buf);
			values[5] = CStringGetTextDatum(buf);
			values[6] = DateADTGetDatum((DateADT) t->release_day);
			values[7] = CStringGetTextDatum(precision[t->release_precision]);
			values[8] = Float8GetDatum(t->danceability);
			values[9] = Float8GetDatum(t->energy);
			values[10] = Int32GetDatum(t->key);
			values[11] = Float8GetDatum(t->loudness);
			values[12] = Float8GetDatum(t->speechiness);
			values[13] = Float8GetDatum(t->acousticness);
			values[14] = Float8GetDatum(t->instrumentalness);
			values[15] = Float8GetDatum(t->liveness);
			values[16] = Float8GetDatum(t->valence);
			values[17] = Float8GetDatum(t->tempo);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	PG_FINALLY();
	{
		pz_demogen_world_free(w);
	}
	PG_END_TRY();
	return (Datum) 0;
}

/* users(user_id, name, city, street, favourite_genres, premium_user) */
Datum
pz_demo_users(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	demogen_params p = params_arg(fcinfo);
	demogen_world *volatile w;

	InitMaterializedSRF(fcinfo, 0);
	w = world_create(&p);
	PG_TRY();
	{
		char		buf[DEMOGEN_NAME_LEN];

		for (int u = 0; u < p.users; u++)
		{
			Datum		values[6];
			bool		nulls[6] = {false, false, false, false, false, false};
			int			g[3];
			int			ng = pz_demogen_user_genres(w, u, g);

			CHECK_FOR_INTERRUPTS();
			values[0] = Int32GetDatum(u + 1);
			pz_demogen_user_name(w, u, buf);
			values[1] = CStringGetTextDatum(buf);
			values[2] = CStringGetTextDatum(pz_demogen_user_city(w, u));
			pz_demogen_user_street(w, u, buf);
			values[3] = CStringGetTextDatum(buf);
			values[4] = text_array(g, ng, genre_label);
			values[5] = BoolGetDatum(pz_demogen_user_premium(w, u) != 0);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	PG_FINALLY();
	{
		pz_demogen_world_free(w);
	}
	PG_END_TRY();
	return (Datum) 0;
}

/* State of one pz_demo_events scan, in the SRF's multi-call context. */
typedef struct demo_events_state
{
	demogen_event *ev;
	size_t		n;
	size_t		next;
	Timestamp	week_start;
	Datum	   *track_ids;		/* text datum per track */
	Datum		types[5];		/* pozytywka.event_type labels */
} demo_events_state;

/*
 * pz_demo_events(params..., week int)
 *   -> (session_id bigint, timestamp timestamp, user_id int, track_id text,
 *       event_type pozytywka.event_type)
 * One week's events (week 0 is start_date's week).
 */
Datum
pz_demo_events(PG_FUNCTION_ARGS)
{
	static const char *const labels[5] = {
		"play", "skip", "like", "advertisement", "buy_premium"
	};
	FuncCallContext *funcctx;
	demo_events_state *st;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext oldcxt;
		demogen_params p;
		TupleDesc	tupdesc;
		int			week;
		Oid			enum_type;

		funcctx = SRF_FIRSTCALL_INIT();
		oldcxt = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);

		p = params_arg(fcinfo);
		if (PG_ARGISNULL(N_PARAMS))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("week must not be NULL")));
		week = PG_GETARG_INT32(N_PARAMS);
		if (week < 0 || week >= p.weeks + (p.partial_days > 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("week must be between 0 and %d, not %d",
							p.weeks + (p.partial_days > 0) - 1, week)));
		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE ||
			tupdesc->natts != 5)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("pz_demo_events must return a 5-column row")));
		funcctx->tuple_desc = BlessTupleDesc(tupdesc);
		enum_type = TupleDescAttr(tupdesc, 4)->atttypid;

		st = palloc0(sizeof(demo_events_state));
		for (int k = 0; k < 5; k++)
			st->types[k] = DirectFunctionCall2(enum_in, CStringGetDatum(labels[k]),
											   ObjectIdGetDatum(enum_type));
		st->week_start = ((Timestamp) p.start_day + 7 * (Timestamp) week) * USECS_PER_DAY;

		{
			demogen_world *volatile w = world_create(&p);
			demogen_events *volatile ev = palloc0(sizeof(demogen_events));
			char		reason[PZ_ERRMSG_LEN];
			volatile pz_status status = PZ_OK;

			PG_TRY();
			{
				char		buf[DEMOGEN_NAME_LEN];

				status = pz_demogen_week_events(w, week, ev, &pz_pg_cancel, reason);
				if (status == PZ_OK)
				{
					st->ev = MemoryContextAllocHuge(CurrentMemoryContext,
													sizeof(demogen_event) * Max(ev->n, 1));
					memcpy(st->ev, ev->ev, sizeof(demogen_event) * ev->n);
					st->n = ev->n;
					st->track_ids = palloc(sizeof(Datum) * p.tracks);
					for (int i = 0; i < p.tracks; i++)
					{
						pz_demogen_track_id(w, i, buf);
						st->track_ids[i] = CStringGetTextDatum(buf);
					}
				}
			}
			PG_FINALLY();
			{
				pz_demogen_events_free(ev);
				pz_demogen_world_free(w);
			}
			PG_END_TRY();
			pz_report(status, reason);
		}
		funcctx->user_fctx = st;
		MemoryContextSwitchTo(oldcxt);
	}

	funcctx = SRF_PERCALL_SETUP();
	st = funcctx->user_fctx;
	if (st->next < st->n)
	{
		const demogen_event *e = &st->ev[st->next++];
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = Int64GetDatum(e->session_id);
		values[1] = TimestampGetDatum(st->week_start + e->usec);
		values[2] = Int32GetDatum(e->user_id);
		if (e->track >= 0)
			values[3] = st->track_ids[e->track];
		else
		{
			values[3] = (Datum) 0;
			nulls[3] = true;
		}
		values[4] = st->types[e->type];
		SRF_RETURN_NEXT(funcctx,
						HeapTupleGetDatum(heap_form_tuple(funcctx->tuple_desc, values, nulls)));
	}
	SRF_RETURN_DONE(funcctx);
}
