/*
 * events.c — the write path of the weekly aggregate: the capture trigger.
 *
 * Every attached event table (pozytywka.attach_events(), part 10) carries
 * statement-level AFTER triggers with transition tables that call
 * pz_capture_events().  The trigger groups the statement's events into net
 * (track, week) deltas of plays, likes and skips and *appends* them to
 * pozytywka.weekly_deltas.  It never updates a shared row, so writers never
 * wait on one another because of the aggregate (a row per popular track
 * would be a hot spot: every writer of that track would queue on its lock).
 * pozytywka.merge_events() folds the appended deltas into weekly_stats later,
 * one merge at a time; readers add the pending deltas to the merged rows, so
 * they see a fresh GROUP BY's numbers whether merged or not — the real-time
 * aggregation of TimescaleDB's continuous aggregates.
 *
 * The deltas go in with heap_insert, not through SPI: weekly_deltas has no
 * index, constraint or trigger, and a writer of an attached table needs no
 * privilege on the extension's tables.  A rolled-back statement or
 * transaction rolls its deltas back with it.
 *
 * Trigger arguments (written by attach_events): source id, time column,
 * track column, event-type column, the text[] literals of the values that
 * count as play, like and skip, and keep_history ('t'/'f').  A week is the
 * Monday of the event's date; timestamptz events are placed in UTC weeks, so
 * the aggregate does not depend on the writer's TimeZone.
 */
#include "pozytywka.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(pz_capture_events);
PG_FUNCTION_INFO_V1(pz_week_of);

/* event classes */
#define PZ_EV_OTHER 0
#define PZ_EV_PLAY 1
#define PZ_EV_LIKE 2
#define PZ_EV_SKIP 3

/* value -> class cache for pass-by-value type columns (enums, integers) */
#define PZ_BYVAL_CACHE 32

typedef struct CaptureKey
{
	int32		week;			/* DateADT of the Monday */
	int32		len;			/* bytes of track, no terminator */
	const char *track;			/* terminated once copied into the table */
} CaptureKey;

typedef struct CaptureEntry
{
	CaptureKey	key;
	uint32		hash;
	char		status;			/* simplehash's */
	int64		plays;
	int64		likes;
	int64		skips;
} CaptureEntry;

typedef struct CaptureSpec
{
	Oid			tgoid;			/* cache key: the trigger ... */
	Oid			relid;			/* ... and the relation it fired on */
	bool		valid;
	MemoryContext context;		/* holds what the spec points to */
	int32		source_id;
	AttrNumber	time_att;
	AttrNumber	track_att;
	AttrNumber	type_att;
	Oid			time_type;
	Oid			track_type;
	Oid			type_type;
	bool		type_byval;
	FmgrInfo	track_out;
	FmgrInfo	type_out;
	char	  **values[4];		/* per class (1..3): NULL-terminated */
	bool		keep_history;
	int			ncached;
	Datum		cached_value[PZ_BYVAL_CACHE];
	int			cached_class[PZ_BYVAL_CACHE];
} CaptureSpec;

/*
 * The Monday (as a DateADT) of the day 'days' days after 2000-01-01, a
 * Saturday: 2000-01-03 (day 2) was a Monday.
 */
static inline int32
monday_of(int32 days)
{
	int32		since_monday = (days - 2) % 7;

	if (since_monday < 0)
		since_monday += 7;
	return days - since_monday;
}

/*
 * Week of a time value; false for NULL or an infinite value (such an event
 * has no week and is not counted).
 */
static bool
week_of_datum(Datum value, Oid type, int32 *week)
{
	if (type == DATEOID)
	{
		DateADT		d = DatumGetDateADT(value);

		if (DATE_NOT_FINITE(d))
			return false;
		*week = monday_of(d);
		return true;
	}
	else
	{
		/* timestamp and timestamptz (UTC) share the int64 representation */
		Timestamp	ts = DatumGetTimestamp(value);
		int64		days;

		if (TIMESTAMP_NOT_FINITE(ts))
			return false;
		days = ts / USECS_PER_DAY;
		if (ts % USECS_PER_DAY < 0)
			days--;
		*week = monday_of((int32) days);
		return true;
	}
}

/* pozytywka.week_of(timestamp/timestamptz/date): the same rule in SQL */
Datum
pz_week_of(PG_FUNCTION_ARGS)
{
	Oid			type = get_fn_expr_argtype(fcinfo->flinfo, 0);
	int32		week;

	if (!week_of_datum(PG_GETARG_DATUM(0), type, &week))
		PG_RETURN_NULL();
	PG_RETURN_DATEADT(week);
}

static inline uint32
capture_key_hash(CaptureKey key)
{
	return hash_combine(hash_bytes((const unsigned char *) key.track, key.len),
						murmurhash32((uint32) key.week));
}

static inline bool
capture_key_equal(CaptureKey a, CaptureKey b)
{
	return a.week == b.week && a.len == b.len && memcmp(a.track, b.track, a.len) == 0;
}

/*
 * The statement's deltas, one entry per (track, week): simplehash (open
 * addressing, entries inline, hashes stored) rather than dynahash, whose
 * chains cost a cache miss more per row when a big COPY brings a million
 * keys.
 */
#define SH_PREFIX capture
#define SH_ELEMENT_TYPE CaptureEntry
#define SH_KEY_TYPE CaptureKey
#define SH_KEY key
#define SH_HASH_KEY(tb, k) capture_key_hash(k)
#define SH_EQUAL(tb, a, b) capture_key_equal(a, b)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) a->hash
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

static AttrNumber
column_number(Relation rel, const char *name, Oid *type)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
		{
			*type = att->atttypid;
			return att->attnum;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("column \"%s\" of attached event table \"%s\" does not exist",
					name, RelationGetRelationName(rel)),
			 errhint("Detach the table with pozytywka.detach_events() and attach it again.")));
	return InvalidAttrNumber;	/* not reached */
}

/* a text[] literal as a NULL-terminated array of C strings */
static char **
value_list(const char *literal)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	char	  **list;

	arr = DatumGetArrayTypeP(OidInputFunctionCall(F_ARRAY_IN, (char *) literal,
												  TEXTOID, -1));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	list = palloc0(sizeof(char *) * (n + 1));
	for (int i = 0; i < n; i++)
		list[i] = nulls[i] ? NULL : TextDatumGetCString(elems[i]);
	return list;
}

static void
capture_spec_init(CaptureSpec *spec, TriggerData *td)
{
	Trigger    *trigger = td->tg_trigger;
	Relation	rel = td->tg_relation;
	Oid			outfn;
	bool		isvarlena;

	if (trigger->tgnargs != 8)
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
				 errmsg("pozytywka capture trigger \"%s\" has %d arguments, expected 8",
						trigger->tgname, trigger->tgnargs),
				 errhint("Detach the table with pozytywka.detach_events() and attach it again.")));
	memset(spec, 0, sizeof(*spec));
	spec->source_id = pg_strtoint32(trigger->tgargs[0]);
	spec->time_att = column_number(rel, trigger->tgargs[1], &spec->time_type);
	spec->track_att = column_number(rel, trigger->tgargs[2], &spec->track_type);
	spec->type_att = column_number(rel, trigger->tgargs[3], &spec->type_type);
	if (spec->time_type != TIMESTAMPOID && spec->time_type != TIMESTAMPTZOID &&
		spec->time_type != DATEOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("time column \"%s\" of \"%s\" must be timestamp, timestamptz or date",
						trigger->tgargs[1], RelationGetRelationName(rel))));
	getTypeOutputInfo(spec->track_type, &outfn, &isvarlena);
	fmgr_info_cxt(outfn, &spec->track_out, CurrentMemoryContext);
	getTypeOutputInfo(spec->type_type, &outfn, &isvarlena);
	fmgr_info_cxt(outfn, &spec->type_out, CurrentMemoryContext);
	spec->type_byval = get_typbyval(spec->type_type);
	spec->values[PZ_EV_PLAY] = value_list(trigger->tgargs[4]);
	spec->values[PZ_EV_LIKE] = value_list(trigger->tgargs[5]);
	spec->values[PZ_EV_SKIP] = value_list(trigger->tgargs[6]);
	spec->keep_history = parse_bool(trigger->tgargs[7], &spec->keep_history) && spec->keep_history;
}

/*
 * Parsed trigger arguments, kept per backend: a single-row INSERT would
 * otherwise parse three array literals and look up column numbers and
 * output functions every time.  A relcache invalidation of the relation
 * (ALTER TABLE, CREATE/DROP TRIGGER, ...) drops its entries.
 */
#define PZ_SPEC_CACHE 16
static CaptureSpec spec_cache[PZ_SPEC_CACHE];
static int	spec_cache_next;
static bool spec_callback_registered;

/*
 * Only marks entries stale: invalidations are processed whenever a lock is
 * taken, possibly while a trigger call still uses the entry.  Its memory is
 * freed when the slot is reused.
 */
static void
spec_cache_invalidate(Datum arg, Oid relid)
{
	for (int i = 0; i < PZ_SPEC_CACHE; i++)
		if (spec_cache[i].valid && (relid == InvalidOid || spec_cache[i].relid == relid))
			spec_cache[i].valid = false;
}

static CaptureSpec *
capture_spec(TriggerData *td)
{
	Oid			tgoid = td->tg_trigger->tgoid;
	Oid			relid = RelationGetRelid(td->tg_relation);
	CaptureSpec *spec;
	CaptureSpec fresh;
	MemoryContext context;
	MemoryContext old;

	for (int i = 0; i < PZ_SPEC_CACHE; i++)
		if (spec_cache[i].valid && spec_cache[i].tgoid == tgoid && spec_cache[i].relid == relid)
			return &spec_cache[i];

	if (!spec_callback_registered)
	{
		CacheRegisterRelcacheCallback(spec_cache_invalidate, (Datum) 0);
		spec_callback_registered = true;
	}
	context = AllocSetContextCreate(CacheMemoryContext, "pozytywka capture spec",
									ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(context);
	PG_TRY();
	{
		capture_spec_init(&fresh, td);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(context);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);

	/* a stale slot first, else the oldest */
	spec = NULL;
	for (int i = 0; i < PZ_SPEC_CACHE && spec == NULL; i++)
		if (!spec_cache[i].valid)
			spec = &spec_cache[i];
	if (spec == NULL)
	{
		spec = &spec_cache[spec_cache_next];
		spec_cache_next = (spec_cache_next + 1) % PZ_SPEC_CACHE;
	}
	if (spec->context != NULL)
		MemoryContextDelete(spec->context);
	*spec = fresh;
	spec->tgoid = tgoid;
	spec->relid = relid;
	spec->context = context;
	spec->valid = true;
	return spec;
}

static int
classify_text(CaptureSpec *spec, const char *value)
{
	for (int c = PZ_EV_PLAY; c <= PZ_EV_SKIP; c++)
		for (char **v = spec->values[c]; *v; v++)
			if (strcmp(*v, value) == 0)
				return c;
	return PZ_EV_OTHER;
}

static int
classify(CaptureSpec *spec, Datum value)
{
	int			c;

	if (spec->type_byval)
	{
		for (int i = 0; i < spec->ncached; i++)
			if (spec->cached_value[i] == value)
				return spec->cached_class[i];
	}
	c = classify_text(spec, OutputFunctionCall(&spec->type_out, value));
	if (spec->type_byval && spec->ncached < PZ_BYVAL_CACHE)
	{
		spec->cached_value[spec->ncached] = value;
		spec->cached_class[spec->ncached] = c;
		spec->ncached++;
	}
	return c;
}

/*
 * Add sign × each counted event of a transition table to the deltas.  With
 * a horizon (keep_history deletes), events older than it are retention, not
 * corrections: they keep their weeks and are skipped.
 */
static void
accumulate(CaptureSpec *spec, capture_hash *deltas, Tuplestorestate *events,
		   TupleDesc desc, int sign, bool have_horizon, Datum horizon,
		   MemoryContext row_context)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	int64		rows = 0;
	bool		used_row_context = false;

	tuplestore_rescan(events);
	while (tuplestore_gettupleslot(events, true, false, slot))
	{
		Datum		d;
		bool		isnull;
		int			cls;
		int32		week;
		CaptureKey	key;
		CaptureEntry *entry;
		bool		found;
		MemoryContext old;

		if ((++rows & 1023) == 0)
			CHECK_FOR_INTERRUPTS();

		d = slot_getattr(slot, spec->type_att, &isnull);
		if (isnull || (cls = classify(spec, d)) == PZ_EV_OTHER)
			continue;
		d = slot_getattr(slot, spec->time_att, &isnull);
		if (isnull || !week_of_datum(d, spec->time_type, &week))
			continue;
		if (have_horizon)
		{
			/* all three time types compare as their integer value */
			if (spec->time_type == DATEOID
				? DatumGetDateADT(d) < DatumGetDateADT(horizon)
				: DatumGetTimestamp(d) < DatumGetTimestamp(horizon))
				continue;
		}
		d = slot_getattr(slot, spec->track_att, &isnull);
		if (isnull)
			continue;

		/*
		 * A text track id is hashed where it lies (a COPY of millions of
		 * events would otherwise copy each); only a new key is copied.
		 */
		old = MemoryContextSwitchTo(row_context);
		key.week = week;
		if (spec->track_type == TEXTOID || spec->track_type == VARCHAROID)
		{
			struct varlena *t = (struct varlena *) DatumGetPointer(d);

			if (VARATT_IS_COMPRESSED(t) || VARATT_IS_EXTERNAL(t))
			{
				t = pg_detoast_datum_packed(t);
				used_row_context = true;
			}
			key.track = VARDATA_ANY(t);
			key.len = VARSIZE_ANY_EXHDR(t);
		}
		else
		{
			key.track = OutputFunctionCall(&spec->track_out, d);
			key.len = strlen(key.track);
			used_row_context = true;
		}
		MemoryContextSwitchTo(old);

		entry = capture_insert(deltas, key, &found);
		if (!found)
		{
			/* the key points into the row: the table keeps its own copy */
			char	   *copy = MemoryContextAlloc(deltas->ctx, key.len + 1);

			memcpy(copy, key.track, key.len);
			copy[key.len] = '\0';
			entry->key.track = copy;
			entry->plays = entry->likes = entry->skips = 0;
		}
		if (cls == PZ_EV_PLAY)
			entry->plays += sign;
		else if (cls == PZ_EV_LIKE)
			entry->likes += sign;
		else
			entry->skips += sign;
		if (used_row_context)
		{
			MemoryContextReset(row_context);
			used_row_context = false;
		}
	}
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * keep_history deletes: the oldest event time left in the table.  A deleted
 * event older than every remaining one is retention (its period has left
 * the table) and keeps its week; a younger one is a correction.  NULL when
 * the table is now empty: everything deleted was retention.
 */
static bool
oldest_remaining(TriggerData *td, CaptureSpec *spec, Datum *horizon)
{
	Relation	rel = td->tg_relation;
	char	   *relname;
	char	   *sql;
	bool		isnull;
	int			rc;

	relname = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
										 RelationGetRelationName(rel));
	sql = psprintf("SELECT pg_catalog.min(%s) FROM %s",
				   quote_identifier(td->tg_trigger->tgargs[1]), relname);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* not read_only: that would reuse the DELETE's own snapshot */
	rc = SPI_execute(sql, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the oldest event of \"%s\"", relname);
	*horizon = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	/* byval (int64/int32) for all three types: survives SPI_finish */
	SPI_finish();
	if (isnull)
		*horizon = (spec->time_type == DATEOID) ? DateADTGetDatum(DATEVAL_NOEND)
			: TimestampGetDatum(DT_NOEND);
	return true;
}

/*
 * Append the non-zero deltas to pozytywka.weekly_deltas, a thousand rows a
 * heap_multi_insert (a COPY of a year of events brings a million keys).
 */
#define PZ_DELTA_BATCH 1000

static void
append_deltas(capture_hash *deltas, int32 source_id)
{
	Oid			nsp = get_namespace_oid("pozytywka", false);
	Oid			relid = get_relname_relid("weekly_deltas", nsp);
	Relation	rel;
	TupleTableSlot **slots;
	int			nslots = 0;
	int			nalloc;
	CommandId	cid = GetCurrentCommandId(true);
	capture_iterator it;
	CaptureEntry *entry;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table pozytywka.weekly_deltas does not exist")));
	rel = table_open(relid, RowExclusiveLock);
	if (rel->rd_rel->relkind != RELKIND_RELATION || RelationGetDescr(rel)->natts != 6)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("pozytywka.weekly_deltas does not have the extension's definition")));

	/* as many slots as one batch needs: most statements bring a few keys */
	nalloc = (int) Min(deltas->members, (uint64) PZ_DELTA_BATCH);
	slots = palloc(sizeof(TupleTableSlot *) * nalloc);
	for (int i = 0; i < nalloc; i++)
		slots[i] = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsVirtual);

	capture_start_iterate(deltas, &it);
	while ((entry = capture_iterate(deltas, &it)) != NULL)
	{
		TupleTableSlot *slot;

		if (entry->plays == 0 && entry->likes == 0 && entry->skips == 0)
			continue;
		slot = slots[nslots++];
		ExecClearTuple(slot);
		slot->tts_values[0] = Int32GetDatum(source_id);
		slot->tts_values[1] = PointerGetDatum(cstring_to_text_with_len(entry->key.track,
																		entry->key.len));
		slot->tts_values[2] = DateADTGetDatum(entry->key.week);
		slot->tts_values[3] = Int64GetDatum(entry->plays);
		slot->tts_values[4] = Int64GetDatum(entry->likes);
		slot->tts_values[5] = Int64GetDatum(entry->skips);
		memset(slot->tts_isnull, 0, sizeof(bool) * 6);
		ExecStoreVirtualTuple(slot);
		if (nslots == nalloc)
		{
			heap_multi_insert(rel, slots, nslots, cid, 0, NULL);
			nslots = 0;
			CHECK_FOR_INTERRUPTS();
		}
	}
	if (nslots > 0)
		heap_multi_insert(rel, slots, nslots, cid, 0, NULL);
	for (int i = 0; i < nalloc; i++)
		ExecDropSingleTupleTableSlot(slots[i]);
	table_close(rel, NoLock);
}

Datum
pz_capture_events(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	CaptureSpec *spec;
	capture_hash *deltas;
	MemoryContext work;
	MemoryContext row_context;
	MemoryContext old;
	Datum		horizon = (Datum) 0;
	bool		have_horizon = false;
	TupleDesc	desc;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("pozytywka.capture_events() must be called as a trigger")));
	if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
		TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("pozytywka.capture_events() must be an AFTER ... FOR EACH STATEMENT trigger on INSERT, UPDATE or DELETE")));

	work = AllocSetContextCreate(CurrentMemoryContext, "pozytywka capture",
								 ALLOCSET_DEFAULT_SIZES);
	row_context = AllocSetContextCreate(work, "pozytywka capture row",
										ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(work);

	spec = capture_spec(td);
	desc = RelationGetDescr(td->tg_relation);

	/* sized for the statement's rows (a key a row at most), capped */
	{
		int64		rows = 0;

		if (td->tg_newtable)
			rows += tuplestore_tuple_count(td->tg_newtable);
		if (td->tg_oldtable)
			rows += tuplestore_tuple_count(td->tg_oldtable);
		deltas = capture_create(work, (uint32) Max(Min(rows, 1 << 20), 16), NULL);
	}

	if (TRIGGER_FIRED_BY_DELETE(td->tg_event) && spec->keep_history)
		have_horizon = oldest_remaining(td, spec, &horizon);

	if (td->tg_newtable)
		accumulate(spec, deltas, td->tg_newtable, desc, 1, false, 0, row_context);
	if (td->tg_oldtable)
		accumulate(spec, deltas, td->tg_oldtable, desc, -1, have_horizon, horizon,
				   row_context);

	if (deltas->members > 0)
		append_deltas(deltas, spec->source_id);

	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(pz_on_ddl_command_end);

/*
 * The event trigger after CREATE TABLE and ALTER TABLE: only a command that
 * changes a partitioned table's partitions (CREATE TABLE ... PARTITION OF,
 * ALTER TABLE ... ATTACH/DETACH PARTITION) makes the attached tables'
 * triggers follow (pozytywka.sync_event_partitions()).  Other ALTER TABLEs
 * do not look: pg_restore adds constraints to a restored table before it
 * restores that table's triggers, and a look then would add them twice.
 */
Datum
pz_on_ddl_command_end(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	Node	   *stmt;
	bool		partitions_changed = false;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("pozytywka.on_ddl_command_end() must be called as an event trigger")));
	trigdata = (EventTriggerData *) fcinfo->context;
	stmt = trigdata->parsetree;

	if (IsA(stmt, CreateStmt))
		partitions_changed = ((CreateStmt *) stmt)->partbound != NULL;
	else if (IsA(stmt, AlterTableStmt))
	{
		ListCell   *lc;

		foreach(lc, ((AlterTableStmt *) stmt)->cmds)
		{
			AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

			if (cmd->subtype == AT_AttachPartition || cmd->subtype == AT_DetachPartition ||
				cmd->subtype == AT_DetachPartitionFinalize)
				partitions_changed = true;
		}
	}

	if (partitions_changed)
	{
		/*
		 * Called by OID, not by name: a role that may create tables need not
		 * see the schema pozytywka (the function is SECURITY DEFINER).
		 */
		Oid			nsp = get_namespace_oid("pozytywka", false);
		oidvector  *noargs = buildoidvector(NULL, 0);
		Oid			sync = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
										   CStringGetDatum("sync_event_partitions"),
										   PointerGetDatum(noargs),
										   ObjectIdGetDatum(nsp));

		if (!OidIsValid(sync))
			elog(ERROR, "function pozytywka.sync_event_partitions() does not exist");
		(void) OidFunctionCall0(sync);
	}
	PG_RETURN_VOID();
}
