/*
 * series_agg.c — weekly_series(week, value, as_of, n_weeks): an aggregate
 * that turns a track's sparse (week, score) rows into its dense weekly
 * series ending at as_of.
 *
 * Rows of the event-log aggregate and of the imported weekly counts are
 * simply added into their week's slot, so the caller needs no GROUP BY over
 * the union of both sources: one hash aggregate over (track) does it all.
 * The result starts at the track's first week with data inside the window
 * (a track counts from its first appearance) and has 0 for quiet weeks.
 */
#include "pozytywka.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/date.h"

PG_FUNCTION_INFO_V1(pz_weekly_series_transfn);
PG_FUNCTION_INFO_V1(pz_weekly_series_finalfn);

#define PZ_MAX_WEEKS 520

typedef struct WeeklySeriesState
{
	DateADT		as_of;
	int			n_weeks;
	int			oldest;			/* largest slot index seen; -1: none */
	double		values[FLEXIBLE_ARRAY_MEMBER];	/* slot 0 = as_of */
} WeeklySeriesState;

/*
 * The window arguments of a dense weekly aggregate (first call only):
 * as_of, a finite date, and the number of weeks, 1..PZ_MAX_WEEKS.
 */
static void
window_args(FunctionCallInfo fcinfo, const char *agg, int as_of_arg, int weeks_arg,
			const char *weeks_name, DateADT *as_of, int *weeks)
{
	if (PG_ARGISNULL(as_of_arg) || PG_ARGISNULL(weeks_arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s needs a non-NULL as_of and %s", agg, weeks_name)));
	*as_of = PG_GETARG_DATEADT(as_of_arg);
	*weeks = PG_GETARG_INT32(weeks_arg);
	if (DATE_NOT_FINITE(*as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be a finite date")));
	if (*weeks < 1 || *weeks > PZ_MAX_WEEKS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between 1 and %d, not %d",
						weeks_name, PZ_MAX_WEEKS, *weeks)));
}

/*
 * The slot of a row's week in the window of weeks ending at as_of (0 =
 * as_of), or -1 when the week is outside it.  A week is named by its
 * Monday, so it must be a whole number of weeks before as_of.
 */
static int
week_slot(DateADT as_of, int weeks, DateADT week)
{
	int			slot;

	if (DATE_NOT_FINITE(week) || week > as_of)
		return -1;
	if ((as_of - week) % 7 != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("week %d days before as_of is not a whole number of weeks",
						(int) (as_of - week)),
				 errhint("Weeks are identified by their Monday.")));
	slot = (as_of - week) / 7;
	return slot < weeks ? slot : -1;
}

Datum
pz_weekly_series_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext;
	WeeklySeriesState *state;
	DateADT		week;
	int			slot;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("weekly_series transition function called in non-aggregate context")));

	if (PG_ARGISNULL(0))
	{
		DateADT		as_of;
		int			n_weeks;

		window_args(fcinfo, "weekly_series", 3, 4, "n_weeks", &as_of, &n_weeks);
		state = MemoryContextAllocZero(aggcontext,
									   offsetof(WeeklySeriesState, values) +
									   sizeof(double) * n_weeks);
		state->as_of = as_of;
		state->n_weeks = n_weeks;
		state->oldest = -1;
	}
	else
		state = (WeeklySeriesState *) PG_GETARG_POINTER(0);

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(state);
	week = PG_GETARG_DATEADT(1);
	slot = week_slot(state->as_of, state->n_weeks, week);
	if (slot < 0)
		PG_RETURN_POINTER(state);
	state->values[slot] += PG_GETARG_FLOAT8(2);
	if (slot > state->oldest)
		state->oldest = slot;
	PG_RETURN_POINTER(state);
}

Datum
pz_weekly_series_finalfn(PG_FUNCTION_ARGS)
{
	WeeklySeriesState *state;
	Datum	   *elems;
	int			len;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (WeeklySeriesState *) PG_GETARG_POINTER(0);
	if (state->oldest < 0)
		PG_RETURN_NULL();
	len = state->oldest + 1;
	elems = palloc(sizeof(Datum) * len);
	/* oldest week first */
	for (int i = 0; i < len; i++)
		elems[i] = Float8GetDatum(state->values[state->oldest - i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, len, FLOAT8OID, 8,
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * lstm_window(week, score, plays, likes, skips, as_of, win): a track's LSTM
 * input window, float8[win][4] of (score, plays, likes, skips) for the win
 * weeks ending at as_of, oldest first, 0 for quiet weeks and for the weeks
 * before the track's first one.  Same slot rules as weekly_series (rows of
 * one week are added), so the top list reads the window straight from the
 * rows of the last win weeks: no per-track join against a generated grid.
 */
PG_FUNCTION_INFO_V1(pz_lstm_window_transfn);
PG_FUNCTION_INFO_V1(pz_lstm_window_finalfn);

#define PZ_WINDOW_FIELDS 4

typedef struct LstmWindowState
{
	DateADT		as_of;
	int			win;
	bool		any;
	double		values[FLEXIBLE_ARRAY_MEMBER];	/* [slot][field], slot 0 = as_of */
} LstmWindowState;

Datum
pz_lstm_window_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext;
	LstmWindowState *state;
	DateADT		week;
	int			slot;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("lstm_window transition function called in non-aggregate context")));

	if (PG_ARGISNULL(0))
	{
		DateADT		as_of;
		int			win;

		window_args(fcinfo, "lstm_window", 6, 7, "window", &as_of, &win);
		state = MemoryContextAllocZero(aggcontext,
									   offsetof(LstmWindowState, values) +
									   sizeof(double) * PZ_WINDOW_FIELDS * win);
		state->as_of = as_of;
		state->win = win;
	}
	else
		state = (LstmWindowState *) PG_GETARG_POINTER(0);

	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(state);
	week = PG_GETARG_DATEADT(1);
	slot = week_slot(state->as_of, state->win, week);
	if (slot < 0)
		PG_RETURN_POINTER(state);
	for (int f = 0; f < PZ_WINDOW_FIELDS; f++)
		if (!PG_ARGISNULL(2 + f))
			state->values[slot * PZ_WINDOW_FIELDS + f] += PG_GETARG_FLOAT8(2 + f);
	state->any = true;
	PG_RETURN_POINTER(state);
}

Datum
pz_lstm_window_finalfn(PG_FUNCTION_ARGS)
{
	LstmWindowState *state;
	Datum	   *elems;
	int			dims[2],
				lbs[2] = {1, 1};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (LstmWindowState *) PG_GETARG_POINTER(0);
	if (!state->any)
		PG_RETURN_NULL();
	dims[0] = state->win;
	dims[1] = PZ_WINDOW_FIELDS;
	elems = palloc(sizeof(Datum) * state->win * PZ_WINDOW_FIELDS);
	/* oldest week first */
	for (int i = 0; i < state->win; i++)
		for (int f = 0; f < PZ_WINDOW_FIELDS; f++)
			elems[i * PZ_WINDOW_FIELDS + f] =
				Float8GetDatum(state->values[(state->win - 1 - i) * PZ_WINDOW_FIELDS + f]);
	PG_RETURN_ARRAYTYPE_P(construct_md_array(elems, NULL, 2, dims, lbs, FLOAT8OID, 8,
											 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
