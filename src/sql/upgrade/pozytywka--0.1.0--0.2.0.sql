-- pozytywka 0.1.0 -> 0.2.0 (ALTER EXTENSION pozytywka UPDATE).
--
-- Every change to the install script (src/sql/NN_*.sql) since 0.1.0 has its
-- counterpart here, so that an updated installation is defined exactly as a
-- fresh CREATE EXTENSION of 0.2.0 and keeps the user's data and models.
-- test/shell/upgrade.sh checks it and prints the differing definitions.
-- Rules (README, "Upgrades, backup and packages"):
--  - new objects: the same CREATE ... as in the install script, with their
--    COMMENTs, GRANTs and pg_extension_config_dump() calls;
--  - changed functions and views: CREATE OR REPLACE (DROP first when the
--    result type or the arguments change); dropped objects: DROP;
--  - new columns: ALTER TABLE ... ADD COLUMN with the same default and
--    constraints, and last in the install script's CREATE TABLE as well;
--  - reference rows (model_kinds, auto_preference, ...): the same INSERTs;
--  - derived caches may simply be emptied (they are recomputed);
--  - everything here runs in one transaction with the new library loaded.
--
-- What 0.2.0 changed for users is in CHANGELOG.md.

\echo Use "ALTER EXTENSION pozytywka UPDATE TO '0.2.0'" to load this file. \quit

-- part 00: pg_dump keeps the id sequences of the importer's log
SELECT pg_catalog.pg_extension_config_dump('pozytywka.import_runs_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pozytywka.import_rejects_reject_id_seq', '');

-- issue 11: writers append deltas, merge_events() folds them (part 12)

-- the triggers of 0.1.0 that updated weekly_stats in the writer's transaction
DROP TRIGGER sessions_weekly_insert ON pozytywka.sessions;
DROP TRIGGER sessions_weekly_update ON pozytywka.sessions;
DROP TRIGGER sessions_weekly_delete ON pozytywka.sessions;
DROP TRIGGER sessions_weekly_truncate ON pozytywka.sessions;
DROP FUNCTION pozytywka.sessions_inserted();
DROP FUNCTION pozytywka.sessions_deleted();
DROP FUNCTION pozytywka.sessions_updated();
DROP FUNCTION pozytywka.sessions_truncated();
DROP FUNCTION pozytywka.apply_weekly_deltas(text[], date[], bigint[], bigint[], bigint[]);

-- part 00: the attached tables, the deltas, the source of each weekly row
CREATE TABLE pozytywka.event_sources (
	source_id	serial PRIMARY KEY,
	-- NULL once the table was dropped (its weeks stay when keep_history)
	relid		regclass UNIQUE,
	relname		text NOT NULL,
	time_column name NOT NULL,
	track_column name NOT NULL,
	type_column name NOT NULL,
	user_column name,
	play_values text[] NOT NULL,
	like_values text[] NOT NULL,
	skip_values text[] NOT NULL,
	keep_history boolean NOT NULL,
	attached_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE TABLE pozytywka.weekly_deltas (
	source_id	integer NOT NULL,
	track_id	text NOT NULL,
	week		date NOT NULL,
	plays		bigint NOT NULL,
	likes		bigint NOT NULL,
	skips		bigint NOT NULL
);
-- the rows of 0.1.0 are those of pozytywka.sessions, source 1
ALTER TABLE pozytywka.weekly_stats ADD COLUMN source_id integer NOT NULL DEFAULT 1;
ALTER TABLE pozytywka.weekly_stats DROP CONSTRAINT weekly_stats_pkey,
	ADD PRIMARY KEY (track_id, week, source_id);
SELECT pg_catalog.pg_extension_config_dump('pozytywka.event_sources', 'WHERE source_id <> 1');
SELECT pg_catalog.pg_extension_config_dump('pozytywka.event_sources_source_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pozytywka.weekly_stats', 'WHERE source_id <> 1');
SELECT pg_catalog.pg_extension_config_dump('pozytywka.weekly_deltas', 'WHERE source_id <> 1');

-- issue 12: CHECK constraints compare with float8 literals (in 0.1.0 their
-- mixed-type operators were resolved through the installer's search_path)
ALTER TABLE pozytywka.settings
	DROP CONSTRAINT settings_w_play_check,
	ADD CONSTRAINT settings_w_play_check CHECK (w_play BETWEEN '-1e6'::float8 AND '1e6'::float8),
	DROP CONSTRAINT settings_w_like_check,
	ADD CONSTRAINT settings_w_like_check CHECK (w_like BETWEEN '-1e6'::float8 AND '1e6'::float8),
	DROP CONSTRAINT settings_w_skip_check,
	ADD CONSTRAINT settings_w_skip_check CHECK (w_skip BETWEEN '-1e6'::float8 AND '1e6'::float8),
	DROP CONSTRAINT settings_auto_margin_check,
	ADD CONSTRAINT settings_auto_margin_check CHECK (auto_margin BETWEEN '0'::float8 AND '1'::float8);
ALTER TABLE pozytywka.imported_weekly_stats
	DROP CONSTRAINT imported_weekly_stats_week_check,
	ADD CONSTRAINT imported_weekly_stats_week_check
		CHECK (pg_catalog.date_part('isodow', week) = '1'::float8);
ALTER TABLE pozytywka.ensemble_members
	DROP CONSTRAINT ensemble_members_weight_check,
	ADD CONSTRAINT ensemble_members_weight_check CHECK (weight > '0'::float8 AND weight < '1e6'::float8);

-- issue 11: the importer's entry point returns its counts with duplicates
-- apart (lines = loaded + repaired + rejected)
DROP FUNCTION @extschema@.import_staged(text, text);

-- issue 14: the shards a coordinator reads (postgres_fdw) and the per-week
-- versions of the weekly history that keep its forecast cache exact
CREATE TABLE pozytywka.shards (
	server		name PRIMARY KEY,
	added_at	timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE TABLE pozytywka.shard_marks (
	server		name NOT NULL REFERENCES pozytywka.shards ON DELETE CASCADE,
	week		date NOT NULL,
	version		bigint NOT NULL,
	PRIMARY KEY (server, week)
);
CREATE TABLE pozytywka.history_marks (
	week		date PRIMARY KEY,
	version		bigint NOT NULL DEFAULT 1
);
SELECT pg_catalog.pg_extension_config_dump('pozytywka.shards', '');

-- issue 13: how sure the list is — calibrations cached beside the forecasts,
-- three more columns of the list (the functions' results change: DROP)
CREATE TABLE pozytywka.forecast_calibration (
	model		text NOT NULL,
	as_of		date NOT NULL,
	n			integer NOT NULL,
	weeks		integer NOT NULL,
	residuals	integer NOT NULL,
	lower_q		double precision,
	upper_q		double precision,
	p_by_rank	double precision[],
	computed_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	PRIMARY KEY (model, as_of, n),
	FOREIGN KEY (model, as_of) REFERENCES pozytywka.forecast_runs ON DELETE CASCADE
);
DROP FUNCTION @extschema@.backtest_summary(integer, integer, text);
DROP FUNCTION @extschema@.backtest_top_tracks(integer, integer, text);
DROP FUNCTION @extschema@.top_tracks_next_week(integer, text, date);
-- the pg_cron job runs as a role of its own (run_as): a new argument.  A job
-- scheduled by 0.1.0 keeps running as the user who scheduled it until
-- schedule_weekly_refresh() is called again (CHANGELOG.md)
DROP FUNCTION @extschema@.schedule_weekly_refresh(text, boolean);
ALTER TABLE pozytywka.top_tracks_snapshot
	ADD COLUMN lower double precision,
	ADD COLUMN upper double precision,
	ADD COLUMN p_top double precision;

-- BEGIN generated by test/fixtures/upgrade/make_upgrade_script.py: do not edit below

-- from 00_schema.sql

COMMENT ON SCHEMA pozytywka IS 'pozytywka: the service''s data, the weekly aggregate and the model registry';

CREATE OR REPLACE VIEW pozytywka.effective_settings AS
SELECT coalesce(s.w_play, 1.0) AS w_play,
	   coalesce(s.w_like, 0.8) AS w_like,
	   coalesce(s.w_skip, 0.5) AS w_skip,
	   coalesce(s.history_weeks, 52) AS history_weeks,
	   coalesce(s.candidate_weeks, 8) AS candidate_weeks,
	   s.max_candidates,
	   coalesce(s.auto_weeks, 8) AS auto_weeks,
	   coalesce(s.auto_n, 50) AS auto_n,
	   coalesce(s.auto_margin, 0) AS auto_margin
  FROM (VALUES (true)) AS d (singleton)
  LEFT JOIN pozytywka.settings AS s ON s.singleton;

-- from 05_shards.sql

-- The shards' weekly rows (their pozytywka.weekly_rows), all at once.
CREATE OR REPLACE VIEW pozytywka.shard_rows AS
SELECT NULL::text AS track_id, NULL::date AS week, NULL::bigint AS plays,
	   NULL::bigint AS likes, NULL::bigint AS skips
 WHERE false;

-- The shards' state (their pozytywka.history_state), one row set per shard.
CREATE OR REPLACE VIEW pozytywka.shard_state AS
SELECT NULL::name AS server, NULL::text AS kind, NULL::date AS week, NULL::bigint AS version
 WHERE false;

-- Every reader of the history reads these (pending_through(), part 14);
-- they hold server names and week versions only.  The foreign tables behind
-- the views are read as the views' owner (its user mapping).
GRANT SELECT ON pozytywka.shards, pozytywka.shard_marks, pozytywka.shard_state TO PUBLIC;

-- On a coordinator: take the shards' history marks; drop the cached
-- forecasts from the earliest week whose version changed since the last
-- time.  Called by merge_events() (part 12), so defined
-- before it runs at the end of part 14.  Reads every shard: one that
-- cannot answer fails it with postgres_fdw's error naming the server.
CREATE OR REPLACE FUNCTION pozytywka.sync_shards()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	servers name[];
	weeks date[];
	versions bigint[];
	from_week date;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pozytywka.shards) THEN
		RETURN;
	END IF;
	SELECT array_agg(sh.server), array_agg(sh.week), array_agg(sh.version)
	  INTO servers, weeks, versions
	  FROM pozytywka.shard_state AS sh WHERE sh.kind = 'mark';
	SELECT min(u.week) INTO from_week
	  FROM unnest(servers, weeks, versions) AS u (server, week, version)
	  LEFT JOIN pozytywka.shard_marks AS m ON m.server = u.server AND m.week = u.week
	 WHERE m.version IS DISTINCT FROM u.version;
	IF from_week IS NULL THEN
		RETURN;
	END IF;
	PERFORM pozytywka.invalidate_forecasts(from_week);
	INSERT INTO pozytywka.shard_marks AS m (server, week, version)
	SELECT u.server, u.week, u.version
	  FROM unnest(servers, weeks, versions) AS u (server, week, version)
	  JOIN pozytywka.shards AS s ON s.server = u.server
	ON CONFLICT (server, week) DO UPDATE SET version = excluded.version
	 WHERE m.version IS DISTINCT FROM excluded.version;
END;
$$;

-- from 10_weekly.sql

-- part 10: weekly popularity — the views the models read, the scores.

-- The weekly aggregate is kept by the write path of part 12: writers append
-- net (track, week) deltas to weekly_deltas, merge_events() folds them into
-- weekly_stats.  Readers add the two, so they see what a fresh GROUP BY over
-- the events gives whether the deltas are merged yet or not.

-- What every model reads: the merged aggregate, the pending deltas (one row
-- per (track, week)) and the user's pre-aggregated history, side by side.
-- The models read it with a condition on the weeks (pushed into the tables'
-- indexes and into the deltas' grouping) and add up a week's rows in their
-- own aggregates (weekly_series, lstm_window).  When the event log is
-- sharded, each shard keeps its own weekly_stats and this is the place that
-- unions them.
CREATE OR REPLACE VIEW pozytywka.weekly_rows AS
SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_stats
UNION ALL
SELECT track_id, week, pg_catalog.sum(plays)::bigint, pg_catalog.sum(likes)::bigint,
	   pg_catalog.sum(skips)::bigint
  FROM pozytywka.weekly_deltas
 GROUP BY track_id, week
UNION ALL
SELECT track_id, week, plays, likes, skips FROM pozytywka.imported_weekly_stats
UNION ALL
SELECT track_id, week, plays, likes, skips FROM pozytywka.shard_rows;

-- The same, one row per (track, week), exactly a fresh GROUP BY over the
-- events (plus the imported counts): a (track, week) whose events are all
-- gone has no row, merged or not.
CREATE OR REPLACE VIEW pozytywka.weekly_history AS
SELECT track_id, week,
	   pg_catalog.sum(plays)::bigint AS plays,
	   pg_catalog.sum(likes)::bigint AS likes,
	   pg_catalog.sum(skips)::bigint AS skips
  FROM pozytywka.weekly_rows
 GROUP BY track_id, week
HAVING pg_catalog.sum(plays) <> 0::numeric OR pg_catalog.sum(likes) <> 0::numeric
	OR pg_catalog.sum(skips) <> 0::numeric;

-- Scores with the current weights.
CREATE OR REPLACE VIEW pozytywka.weekly_scores AS
SELECT h.track_id, h.week, h.plays, h.likes, h.skips,
	   s.w_play * h.plays::float8 + s.w_like * h.likes::float8 - s.w_skip * h.skips::float8 AS score
  FROM pozytywka.weekly_history AS h
 CROSS JOIN pozytywka.effective_settings AS s;

CREATE OR REPLACE FUNCTION @extschema@.set_score_weights(w_play double precision,
											  w_like double precision,
											  w_skip double precision)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	IF w_play IS NULL OR w_like IS NULL OR w_skip IS NULL THEN
		RAISE EXCEPTION 'score weights must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF w_play::text IN ('NaN', 'Infinity', '-Infinity')
	   OR w_like::text IN ('NaN', 'Infinity', '-Infinity')
	   OR w_skip::text IN ('NaN', 'Infinity', '-Infinity') THEN
		RAISE EXCEPTION 'score weights must be finite numbers'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO pozytywka.settings AS s (singleton, w_play, w_like, w_skip)
	VALUES (true, $1, $2, $3)
	ON CONFLICT (singleton) DO UPDATE
	   SET w_play = excluded.w_play, w_like = excluded.w_like,
		   w_skip = excluded.w_skip;
END;
$$;

COMMENT ON FUNCTION @extschema@.set_score_weights(double precision, double precision, double precision) IS
	'score = w_play*plays + w_like*likes - w_skip*skips (defaults 1.0, 0.8, 0.5)';

-- The latest complete week.  A week is known to be complete once the data
-- contain a later week: for the event log that is the week before the week
-- of the latest play/like/skip; pre-aggregated weekly counts are complete
-- weeks by construction.  NULL when there is no data.
CREATE OR REPLACE FUNCTION @extschema@.latest_complete_week()
RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT greatest((SELECT max(week) - 7 FROM pozytywka.weekly_stats),
					(SELECT max(week) - 7 FROM pozytywka.weekly_deltas),
					(SELECT max(week) FROM pozytywka.imported_weekly_stats),
					(SELECT max(sh.week) FROM pozytywka.shard_state AS sh WHERE sh.kind = 'latest'));
$$;

-- The first week of data (event log or imported weekly counts); NULL when
-- there is none.  Forecast origins and backtest weeks start after it.
CREATE OR REPLACE FUNCTION pozytywka.first_week()
RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT least((SELECT min(week) FROM pozytywka.weekly_stats),
				 (SELECT min(week) FROM pozytywka.weekly_deltas),
				 (SELECT min(week) FROM pozytywka.imported_weekly_stats),
				 (SELECT min(sh.week) FROM pozytywka.shard_state AS sh WHERE sh.kind = 'first'));
$$;

-- Scores of one week, best first (default: the latest complete week).
CREATE OR REPLACE FUNCTION @extschema@.weekly_popularity(of_week date DEFAULT NULL)
RETURNS TABLE (track_id text, week date, plays bigint, likes bigint,
			   skips bigint, score double precision)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT ws.track_id, ws.week, ws.plays, ws.likes, ws.skips, ws.score
	  FROM pozytywka.weekly_scores AS ws
	 WHERE ws.week = date_trunc('week', coalesce(of_week, @extschema@.latest_complete_week()))::date
	 ORDER BY ws.score DESC, ws.track_id;
$$;

-- from 12_events.sql

-- part 12: the aggregate's write path: writers append deltas (the capture
-- trigger), merge_events() folds them into weekly_stats.  See src/events.c
-- for why nothing else is done in the writer's transaction.

CREATE OR REPLACE FUNCTION pozytywka.capture_events()
RETURNS trigger
AS 'MODULE_PATHNAME', 'pz_capture_events'
LANGUAGE C;

-- The week of an event: the Monday of its date; timestamptz in UTC.  The
-- capture trigger applies the same rule in C.
CREATE OR REPLACE FUNCTION pozytywka.week_of(timestamp without time zone)
RETURNS date
AS 'MODULE_PATHNAME', 'pz_week_of'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION pozytywka.week_of(timestamp with time zone)
RETURNS date
AS 'MODULE_PATHNAME', 'pz_week_of'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION pozytywka.week_of(date)
RETURNS date
AS 'MODULE_PATHNAME', 'pz_week_of'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- One merge at a time: the advisory lock key of merge_events() (and of
-- everything else that rewrites weekly_stats).
CREATE OR REPLACE FUNCTION pozytywka.merge_lock_key()
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT 7031902511604985344::bigint $$;

-- Fold the pending deltas into weekly_stats.  Only the deltas visible to
-- this transaction are folded and deleted, in one statement: a writer's
-- deltas committed meanwhile stay for the next merge.  Serialised by an
-- advisory lock (a second merge waits, then finds what is left); with
-- wait => false it returns NULL at once when another merge runs.  The
-- writes to weekly_stats fire the forecast cache's invalidation (part 45)
-- exactly as direct changes did.  Returns the number of deltas folded.
CREATE OR REPLACE FUNCTION @extschema@.merge_events(wait boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	folded bigint;
	d_sources integer[];
	d_tracks text[];
	d_weeks date[];
	d_plays bigint[];
	d_likes bigint[];
	d_skips bigint[];
BEGIN
	IF wait IS NULL THEN
		RAISE EXCEPTION 'wait must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF pg_is_in_recovery() THEN
		RAISE EXCEPTION 'cannot merge events on a standby'
			USING ERRCODE = 'read_only_sql_transaction',
				  HINT = 'Readers on a standby add the pending changes themselves; merge on the primary.';
	END IF;
	IF wait THEN
		PERFORM pg_advisory_xact_lock(pozytywka.merge_lock_key());
	ELSIF NOT pg_try_advisory_xact_lock(pozytywka.merge_lock_key()) THEN
		RETURN NULL;
	END IF;
	-- on a coordinator: the shards' merged changes reach its cache (part 15)
	PERFORM pozytywka.sync_shards();

	-- Take the deltas this snapshot sees, net per key, and delete them, in
	-- one statement: its sub-statements share one snapshot, so the DELETE
	-- removes exactly the rows the SELECT folds (deltas are only ever
	-- inserted, and other merges wait on the lock); a writer's deltas
	-- committed meanwhile are in neither.  (The lock was taken in a
	-- statement of its own: this one's snapshot, taken after the wait, sees
	-- what the merge before it left.)  Reading the table beside the DELETE
	-- instead of through DELETE ... RETURNING halves the cost: no
	-- materialised copy of every deleted row.
	WITH taken AS (
		DELETE FROM pozytywka.weekly_deltas
	)
	SELECT coalesce(sum(g.deltas), 0),
		   array_agg(g.source_id) FILTER (WHERE g.changes),
		   array_agg(g.track_id) FILTER (WHERE g.changes),
		   array_agg(g.week) FILTER (WHERE g.changes),
		   array_agg(g.plays) FILTER (WHERE g.changes),
		   array_agg(g.likes) FILTER (WHERE g.changes),
		   array_agg(g.skips) FILTER (WHERE g.changes)
	  INTO folded, d_sources, d_tracks, d_weeks, d_plays, d_likes, d_skips
	  FROM (SELECT t.source_id, t.track_id, t.week, count(*) AS deltas,
				   sum(t.plays)::bigint AS plays, sum(t.likes)::bigint AS likes,
				   sum(t.skips)::bigint AS skips,
				   (sum(t.plays), sum(t.likes), sum(t.skips))
				   IS DISTINCT FROM (0::numeric, 0::numeric, 0::numeric) AS changes
			  FROM pozytywka.weekly_deltas AS t
			 GROUP BY t.source_id, t.track_id, t.week) AS g;
	IF d_tracks IS NULL THEN
		RETURN folded;
	END IF;

	-- Only merges (and the functions that take the same lock) write
	-- weekly_stats, so the rows seen here are the rows there are.  A
	-- (track, week) with no events left loses its row, like a fresh GROUP
	-- BY; a negative count fails the CHECK constraints (the aggregate had
	-- drifted: rebuild_weekly_stats()).
	MERGE INTO pozytywka.weekly_stats AS w
	USING (SELECT * FROM unnest(d_sources, d_tracks, d_weeks, d_plays, d_likes, d_skips)
				  AS u (source_id, track_id, week, plays, likes, skips)) AS d
	   ON w.track_id = d.track_id AND w.week = d.week AND w.source_id = d.source_id
	 WHEN MATCHED AND (w.plays + d.plays, w.likes + d.likes, w.skips + d.skips)
					  = (0::bigint, 0::bigint, 0::bigint) THEN
		DELETE
	 WHEN MATCHED THEN
		UPDATE SET plays = w.plays + d.plays, likes = w.likes + d.likes, skips = w.skips + d.skips
	 WHEN NOT MATCHED THEN
		INSERT (track_id, week, source_id, plays, likes, skips)
		VALUES (d.track_id, d.week, d.source_id, d.plays, d.likes, d.skips);
	RETURN folded;
END;
$$;

COMMENT ON FUNCTION @extschema@.merge_events(boolean) IS
	'Fold the pending changes of the attached event tables into pozytywka.weekly_stats; returns the number of deltas folded';

-- from 13_event_sources.sql

-- part 13: the relations of an event source — the SELECT that aggregates
-- them, their capture triggers, their partitions as they come and go (the
-- event triggers), and what a TRUNCATE or a dropped relation means.

-- The SELECT that aggregates the events of one relation of a source, as
-- deltas (source_id, track_id, week, plays, likes, skips) times sign.
-- Column names and value lists travel as quoted identifiers and literals.
CREATE OR REPLACE FUNCTION pozytywka.source_aggregate_sql(src pozytywka.event_sources, rel regclass,
											   sign integer, only_rel boolean,
											   time_filter text DEFAULT NULL)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT format('SELECT %s::integer, e.%I::text, pozytywka.week_of(e.%I),'
				  ' %s::bigint * count(*) FILTER (WHERE e.%I::text = ANY (%L::text[])),'
				  ' %s::bigint * count(*) FILTER (WHERE e.%I::text = ANY (%L::text[])),'
				  ' %s::bigint * count(*) FILTER (WHERE e.%I::text = ANY (%L::text[]))'
				  ' FROM %s %s AS e'
				  ' WHERE e.%I IS NOT NULL AND pozytywka.week_of(e.%I) IS NOT NULL'
				  ' AND e.%I::text = ANY (%L::text[]) %s'
				  ' GROUP BY 2, 3',
				  src.source_id, src.track_column, src.time_column,
				  sign, src.type_column, src.play_values,
				  sign, src.type_column, src.like_values,
				  sign, src.type_column, src.skip_values,
				  CASE WHEN only_rel THEN 'ONLY' ELSE '' END, rel,
				  src.track_column, src.time_column,
				  src.type_column, src.play_values || src.like_values || src.skip_values,
				  coalesce('AND ' || time_filter, ''));
$$;

-- Append the events of one relation of a source to the deltas, times sign
-- (1: the rows become counted, -1: they stop counting).
CREATE OR REPLACE FUNCTION pozytywka.append_relation(src pozytywka.event_sources, rel regclass,
										  sign integer, only_rel boolean,
										  time_filter text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	n bigint;
BEGIN
	EXECUTE 'INSERT INTO pozytywka.weekly_deltas (source_id, track_id, week, plays, likes, skips) '
			|| pozytywka.source_aggregate_sql(src, rel, sign, only_rel, time_filter);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END;
$$;

-- BEFORE TRUNCATE of a relation of a source.  keep_history: removed events
-- keep their weeks, nothing to do.  Otherwise the events stop counting: a
-- whole plain table's share is dropped at once, a partition's rows are
-- subtracted (TRUNCATE of a partitioned table fires this on each leaf).
CREATE OR REPLACE FUNCTION pozytywka.events_truncated()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	src pozytywka.event_sources;
	kind "char";
	is_partition boolean;
BEGIN
	SELECT * INTO src FROM pozytywka.event_sources AS s WHERE s.source_id = TG_ARGV[0]::integer;
	IF NOT FOUND OR src.keep_history THEN
		RETURN NULL;
	END IF;
	SELECT c.relkind, c.relispartition INTO kind, is_partition
	  FROM pg_class AS c WHERE c.oid = TG_RELID;
	IF kind <> 'r' THEN
		RETURN NULL;
	END IF;
	IF NOT is_partition THEN
		PERFORM pg_advisory_xact_lock(pozytywka.merge_lock_key());
		DELETE FROM pozytywka.weekly_deltas AS d WHERE d.source_id = src.source_id;
		DELETE FROM pozytywka.weekly_stats AS w WHERE w.source_id = src.source_id;
	ELSE
		PERFORM pozytywka.append_relation(src, TG_RELID::regclass, -1, true);
	END IF;
	RETURN NULL;
END;
$$;

-- Give one relation of a source its capture triggers (the user's table is
-- never altered otherwise).  Named pozytywka_capture_<source>_<op>.
CREATE OR REPLACE FUNCTION pozytywka.add_capture_triggers(src pozytywka.event_sources, rel regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	args text := format('%L, %L, %L, %L, %L, %L, %L, %L', src.source_id, src.time_column,
						src.track_column, src.type_column, src.play_values, src.like_values,
						src.skip_values, src.keep_history);
	prefix text := 'pozytywka_capture_' || src.source_id;
BEGIN
	EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS pz_new'
				   ' FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.capture_events(%s)',
				   prefix || '_insert', rel, args);
	EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s REFERENCING OLD TABLE AS pz_old'
				   ' NEW TABLE AS pz_new FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.capture_events(%s)',
				   prefix || '_update', rel, args);
	EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS pz_old'
				   ' FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.capture_events(%s)',
				   prefix || '_delete', rel, args);
	EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s'
				   ' FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.events_truncated(%L)',
				   prefix || '_truncate', rel, src.source_id);
END;
$$;

CREATE OR REPLACE FUNCTION pozytywka.drop_capture_triggers(src_id integer, rel regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	op text;
BEGIN
	FOREACH op IN ARRAY ARRAY['insert', 'update', 'delete', 'truncate'] LOOP
		EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s',
					   'pozytywka_capture_' || src_id || '_' || op, rel);
	END LOOP;
END;
$$;

-- The relations that carry a source's triggers, and those that should: the
-- table and, when partitioned, every partition at every level.
CREATE OR REPLACE FUNCTION pozytywka.captured_relations(src_id integer)
RETURNS SETOF regclass
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT t.tgrelid::regclass FROM pg_trigger AS t
	 WHERE t.tgname = 'pozytywka_capture_' || src_id || '_insert';
$$;

CREATE OR REPLACE FUNCTION pozytywka.source_relations(rel regclass)
RETURNS SETOF regclass
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT rel
	 UNION
	SELECT p.relid FROM pg_partition_tree(rel) AS p;
$$;

-- Follow partitions created, attached or detached after attach_events():
-- a new partition gets the triggers and its rows count (ATTACH PARTITION of
-- a filled table); a detached one loses them, and its rows stop counting
-- unless keep_history.  Run by the event trigger below after CREATE TABLE
-- ... PARTITION OF and ALTER TABLE ... ATTACH/DETACH PARTITION.
CREATE OR REPLACE FUNCTION pozytywka.sync_event_partitions()
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	src pozytywka.event_sources;
	r regclass;
BEGIN
	FOR src IN SELECT * FROM pozytywka.event_sources AS s
				WHERE s.relid IS NOT NULL
				  AND (SELECT c.relkind FROM pg_class AS c WHERE c.oid = s.relid) = 'p'
	LOOP
		FOR r IN SELECT * FROM pozytywka.source_relations(src.relid)
				 EXCEPT SELECT * FROM pozytywka.captured_relations(src.source_id)
		LOOP
			PERFORM pozytywka.add_capture_triggers(src, r);
			IF (SELECT c.relkind FROM pg_class AS c WHERE c.oid = r) = 'r' THEN
				PERFORM pozytywka.append_relation(src, r, 1, true);
			END IF;
		END LOOP;
		FOR r IN SELECT * FROM pozytywka.captured_relations(src.source_id)
				 EXCEPT SELECT * FROM pozytywka.source_relations(src.relid)
		LOOP
			PERFORM pozytywka.drop_capture_triggers(src.source_id, r);
			IF NOT src.keep_history THEN
				PERFORM pozytywka.append_relation(src, r, -1, false);
			END IF;
		END LOOP;
	END LOOP;
	RETURN true;
END;
$$;

-- Calls sync_event_partitions() after a command that changed partitions
-- (src/events.c says why only then).
CREATE OR REPLACE FUNCTION pozytywka.on_ddl_command_end()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'pz_on_ddl_command_end'
LANGUAGE C;

CREATE EVENT TRIGGER pozytywka_event_partitions ON ddl_command_end
	WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
	EXECUTE FUNCTION pozytywka.on_ddl_command_end();

-- A dropped event table: its source stays, without a table, and keeps its
-- weeks when keep_history; otherwise its share goes.  A dropped partition
-- of a source without keep_history: that source is rebuilt from the rows
-- that are left (the dropped rows cannot be read any more).
CREATE OR REPLACE FUNCTION pozytywka.on_sql_drop()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	src pozytywka.event_sources;
BEGIN
	FOR src IN SELECT s.* FROM pozytywka.event_sources AS s
				WHERE s.relid IS NOT NULL
				  AND NOT EXISTS (SELECT 1 FROM pg_class AS c WHERE c.oid = s.relid)
	LOOP
		PERFORM pg_advisory_xact_lock(pozytywka.merge_lock_key());
		UPDATE pozytywka.event_sources AS s SET relid = NULL WHERE s.source_id = src.source_id;
		IF NOT src.keep_history THEN
			DELETE FROM pozytywka.weekly_deltas AS d WHERE d.source_id = src.source_id;
			DELETE FROM pozytywka.weekly_stats AS w WHERE w.source_id = src.source_id;
		END IF;
	END LOOP;
	-- a dropped partition takes its triggers with it (triggers dropped
	-- alone, by detach, do not count)
	FOR src IN SELECT s.* FROM pozytywka.event_sources AS s
				WHERE s.relid IS NOT NULL AND NOT s.keep_history
				  AND s.source_id IN (
					  SELECT substring(o.object_identity FROM '^pozytywka_capture_([0-9]+)_insert on ')::integer
						FROM pg_event_trigger_dropped_objects() AS o
					   WHERE o.object_type = 'trigger'
						 AND substring(o.object_identity FROM '^pozytywka_capture_[0-9]+_insert on (.*)$')
							 IN (SELECT t.object_identity FROM pg_event_trigger_dropped_objects() AS t
								  WHERE t.object_type = 'table'))
	LOOP
		PERFORM pozytywka.rebuild_source(src);
	END LOOP;
END;
$$;

CREATE EVENT TRIGGER pozytywka_event_drops ON sql_drop
	EXECUTE FUNCTION pozytywka.on_sql_drop();

-- from 14_attach.sql

-- part 14: attaching and detaching event tables, rebuilding the aggregate
-- from them, scheduling the merge, and what a reader must merge first;
-- pozytywka.sessions is attached here as source 1.

-- Recompute one source's share of the aggregate from its table.  Writers
-- of the table wait (SHARE lock) so that the result is exact.  With
-- keep_history the weeks up to the week of the table's oldest event are
-- kept as they are: they hold events the table no longer has.
CREATE OR REPLACE FUNCTION pozytywka.rebuild_source(src pozytywka.event_sources)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	boundary date;
BEGIN
	PERFORM pg_advisory_xact_lock(pozytywka.merge_lock_key());
	IF src.relid IS NULL THEN
		RETURN;
	END IF;
	EXECUTE format('LOCK TABLE %s IN SHARE MODE', src.relid);
	IF src.keep_history THEN
		EXECUTE format('SELECT pozytywka.week_of(min(%I)) FROM %s', src.time_column, src.relid)
		   INTO boundary;
		IF boundary IS NULL THEN
			RETURN;
		END IF;
	END IF;
	-- deltas of this source are folded first so that the kept weeks are whole
	IF boundary IS NOT NULL THEN
		PERFORM @extschema@.merge_events();
	END IF;
	DELETE FROM pozytywka.weekly_deltas AS d WHERE d.source_id = src.source_id;
	DELETE FROM pozytywka.weekly_stats AS w
	 WHERE w.source_id = src.source_id AND (boundary IS NULL OR w.week > boundary);
	PERFORM pozytywka.append_relation(src, src.relid, 1, false,
		CASE WHEN boundary IS NOT NULL
			 THEN format('pozytywka.week_of(e.%I) > %L::date', src.time_column, boundary) END);
END;
$$;

-- Full rebuild of the aggregate from the attached tables' rows.
CREATE OR REPLACE FUNCTION @extschema@.rebuild_weekly_stats()
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	src pozytywka.event_sources;
BEGIN
	PERFORM pg_advisory_xact_lock(pozytywka.merge_lock_key());
	FOR src IN SELECT * FROM pozytywka.event_sources ORDER BY source_id LOOP
		PERFORM pozytywka.rebuild_source(src);
	END LOOP;
	PERFORM @extschema@.merge_events();
	RETURN (SELECT count(*) FROM pozytywka.weekly_stats);
END;
$$;

COMMENT ON FUNCTION @extschema@.rebuild_weekly_stats() IS
	'Recompute pozytywka.weekly_stats from the attached event tables (keep_history tables keep the weeks before their oldest event); returns the number of rows';

-- Attach an event table: from now on its events count, exactly as those of
-- pozytywka.sessions (itself attached below).  The existing rows are
-- aggregated once, one partition (or the whole plain table) per batch,
-- with a NOTICE per batch; writers of the table wait until attach commits.
CREATE OR REPLACE FUNCTION @extschema@.attach_events(tbl regclass, time_column name, track_column name,
										  type_column name, user_column name DEFAULT NULL,
										  play_values text[] DEFAULT '{play}',
										  like_values text[] DEFAULT '{like}',
										  skip_values text[] DEFAULT '{skip}',
										  keep_history boolean DEFAULT true)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	src pozytywka.event_sources;
	kind "char";
	col name;
	r regclass;
	batches integer;
	batch integer := 0;
	n bigint;
BEGIN
	IF tbl IS NULL OR time_column IS NULL OR track_column IS NULL OR type_column IS NULL
	   OR play_values IS NULL OR like_values IS NULL OR skip_values IS NULL
	   OR keep_history IS NULL THEN
		RAISE EXCEPTION 'attach_events: only user_column may be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF array_position(play_values || like_values || skip_values, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'event values must not contain NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF EXISTS (SELECT 1 FROM unnest(play_values || like_values || skip_values) AS v
				GROUP BY v HAVING count(*) > 1) THEN
		RAISE EXCEPTION 'an event value is listed twice'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'Each value counts as play, like or skip, and only one of them.';
	END IF;
	IF cardinality(play_values || like_values || skip_values) = 0 THEN
		RAISE EXCEPTION 'no event value counts: give play_values, like_values or skip_values'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT c.relkind INTO kind FROM pg_class AS c WHERE c.oid = tbl;
	IF kind NOT IN ('r', 'p') THEN
		RAISE EXCEPTION '% is not a table', tbl
			USING ERRCODE = 'wrong_object_type';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_class AS c WHERE c.oid = tbl AND c.relispartition) THEN
		RAISE EXCEPTION '% is a partition: attach its partitioned table', tbl
			USING ERRCODE = 'wrong_object_type';
	END IF;
	IF EXISTS (SELECT 1 FROM pozytywka.event_sources AS s WHERE s.relid = tbl) THEN
		RAISE EXCEPTION '% is already attached', tbl
			USING ERRCODE = 'duplicate_object',
				  HINT = 'Detach it first with detach_events() to change how it is read.';
	END IF;
	FOREACH col IN ARRAY ARRAY[time_column, track_column, type_column]
					   || CASE WHEN user_column IS NULL THEN '{}'::name[] ELSE ARRAY[user_column] END LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_attribute AS a
						WHERE a.attrelid = tbl AND a.attname = col AND a.attnum > 0
						  AND NOT a.attisdropped) THEN
			RAISE EXCEPTION 'column "%" of % does not exist', col, tbl
				USING ERRCODE = 'undefined_column';
		END IF;
	END LOOP;
	IF (SELECT a.atttypid FROM pg_attribute AS a WHERE a.attrelid = tbl AND a.attname = time_column)
	   NOT IN ('timestamp'::regtype, 'timestamptz'::regtype, 'date'::regtype) THEN
		RAISE EXCEPTION 'time column "%" of % must be timestamp, timestamptz or date', time_column, tbl
			USING ERRCODE = 'datatype_mismatch';
	END IF;

	-- writers wait from here until attach commits: no event is counted
	-- twice or missed between the triggers and the first aggregation
	EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', tbl);
	INSERT INTO pozytywka.event_sources AS s (relid, relname, time_column, track_column, type_column,
											  user_column, play_values, like_values, skip_values,
											  keep_history)
	VALUES (tbl, tbl::text, time_column, track_column, type_column, user_column,
			play_values, like_values, skip_values, keep_history)
	RETURNING * INTO src;

	SELECT count(*) INTO batches FROM pozytywka.source_relations(tbl) AS x
	 WHERE (SELECT c.relkind FROM pg_class AS c WHERE c.oid = x) = 'r';
	-- in a fixed order (the order of creation), so the NOTICEs are the same each time
	FOR r IN SELECT x FROM pozytywka.source_relations(tbl) AS x ORDER BY x::oid LOOP
		PERFORM pozytywka.add_capture_triggers(src, r);
		IF (SELECT c.relkind FROM pg_class AS c WHERE c.oid = r) = 'r' THEN
			batch := batch + 1;
			n := pozytywka.append_relation(src, r, 1, true);
			RAISE NOTICE 'attach_events: % (% of %): % (track, week) rows', r, batch, batches, n;
		END IF;
	END LOOP;
	PERFORM @extschema@.merge_events();
	RETURN src.source_id;
END;
$$;

COMMENT ON FUNCTION @extschema@.attach_events(regclass, name, name, name, name, text[], text[], text[], boolean) IS
	'Count the events of an existing table (plain or partitioned by time); returns its source id';

-- Stop following an event table and remove its share of the aggregate.
CREATE OR REPLACE FUNCTION @extschema@.detach_events(tbl regclass)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	src pozytywka.event_sources;
	r regclass;
BEGIN
	IF tbl IS NULL THEN
		RAISE EXCEPTION 'tbl must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT * INTO src FROM pozytywka.event_sources AS s WHERE s.relid = tbl;
	IF NOT FOUND THEN
		RAISE EXCEPTION '% is not attached', tbl USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM pg_advisory_xact_lock(pozytywka.merge_lock_key());
	FOR r IN SELECT * FROM pozytywka.captured_relations(src.source_id) LOOP
		PERFORM pozytywka.drop_capture_triggers(src.source_id, r);
	END LOOP;
	DELETE FROM pozytywka.weekly_deltas AS d WHERE d.source_id = src.source_id;
	DELETE FROM pozytywka.weekly_stats AS w WHERE w.source_id = src.source_id;
	DELETE FROM pozytywka.event_sources AS s WHERE s.source_id = src.source_id;
	RETURN true;
END;
$$;

COMMENT ON FUNCTION @extschema@.detach_events(regclass) IS
	'Stop counting the events of a table attached with attach_events() and remove its share of the aggregate';

-- Merge every few minutes with pg_cron, run as run_as (part 80,
-- cron_schedule_as); idempotent: the same job is updated.
CREATE OR REPLACE FUNCTION @extschema@.schedule_merge_events(schedule text DEFAULT '* * * * *',
												  run_as name DEFAULT 'pozytywka_job')
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	RETURN pozytywka.cron_schedule_as('pozytywka-merge-events', schedule,
									  format('SELECT %s(false)', pozytywka.api_function_name('merge_events')),
									  run_as);
END;
$$;

-- Cached results from week as_of are out of date while changes of weeks up
-- to as_of are pending; readers then compute (part 45, 50).
CREATE OR REPLACE FUNCTION pozytywka.pending_through(as_of date)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT 1 FROM pozytywka.weekly_deltas AS d WHERE d.week <= as_of)
		-- a shard's pending or not yet seen changes (part 15)
		OR EXISTS (SELECT 1 FROM pozytywka.shard_state AS sh
					WHERE sh.week <= as_of
					  AND (sh.kind = 'pending'
						   OR (sh.kind = 'mark'
							   AND NOT EXISTS (SELECT 1 FROM pozytywka.shard_marks AS m
												WHERE m.server = sh.server AND m.week = sh.week
												  AND m.version = sh.version))));
$$;

-- Before a result from as_of is cached: true when no change of the weeks up
-- to as_of is pending, after merging them when this transaction can (on
-- the primary, read-write, READ COMMITTED, no other merge running).
-- Otherwise the result is computed and not cached.
CREATE OR REPLACE FUNCTION pozytywka.merge_before_caching(as_of date)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	-- nothing is cached on a standby or in a read-only transaction
	IF pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on' THEN
		RETURN false;
	END IF;
	IF NOT pozytywka.pending_through(as_of) THEN
		RETURN true;
	END IF;
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RETURN false;
	END IF;
	IF @extschema@.merge_events(false) IS NULL THEN
		RETURN false;
	END IF;
	RETURN NOT pozytywka.pending_through(as_of);
END;
$$;

-- from 15_shards.sql

CREATE OR REPLACE FUNCTION pozytywka.mark_history()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	from_week date;
BEGIN
	IF TG_OP = 'TRUNCATE' THEN
		from_week := '-infinity';
	ELSIF TG_OP = 'INSERT' THEN
		SELECT min(n.week) INTO from_week FROM new_rows AS n;
	ELSIF TG_OP = 'DELETE' THEN
		SELECT min(o.week) INTO from_week FROM old_rows AS o;
	ELSE
		SELECT least((SELECT min(n.week) FROM new_rows AS n),
					 (SELECT min(o.week) FROM old_rows AS o)) INTO from_week;
	END IF;
	IF from_week IS NOT NULL THEN
		INSERT INTO pozytywka.history_marks AS h (week) VALUES (from_week)
		ON CONFLICT (week) DO UPDATE SET version = h.version + 1;
	END IF;
	RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER weekly_stats_mark_insert AFTER INSERT ON pozytywka.weekly_stats
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.mark_history();

CREATE OR REPLACE TRIGGER weekly_stats_mark_update AFTER UPDATE ON pozytywka.weekly_stats
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.mark_history();

CREATE OR REPLACE TRIGGER weekly_stats_mark_delete AFTER DELETE ON pozytywka.weekly_stats
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.mark_history();

CREATE OR REPLACE TRIGGER weekly_stats_mark_truncate AFTER TRUNCATE ON pozytywka.weekly_stats
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.mark_history();

CREATE OR REPLACE TRIGGER imported_mark_insert AFTER INSERT ON pozytywka.imported_weekly_stats
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.mark_history();

CREATE OR REPLACE TRIGGER imported_mark_update AFTER UPDATE ON pozytywka.imported_weekly_stats
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.mark_history();

CREATE OR REPLACE TRIGGER imported_mark_delete AFTER DELETE ON pozytywka.imported_weekly_stats
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.mark_history();

CREATE OR REPLACE TRIGGER imported_mark_truncate AFTER TRUNCATE ON pozytywka.imported_weekly_stats
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.mark_history();

-- What a coordinator asks a shard, in one small round trip: its history
-- marks, the earliest week of its pending (not merged) changes, its first
-- and latest complete week.
CREATE OR REPLACE VIEW pozytywka.history_state AS
SELECT 'mark'::text AS kind, h.week, h.version FROM pozytywka.history_marks AS h
UNION ALL
SELECT 'pending'::text, pg_catalog.min(d.week), NULL::bigint FROM pozytywka.weekly_deltas AS d
HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 0::bigint
UNION ALL
SELECT 'first'::text, pozytywka.first_week(), NULL::bigint
UNION ALL
SELECT 'latest'::text, @extschema@.latest_complete_week(), NULL::bigint;

COMMENT ON VIEW pozytywka.history_state IS
	'What a coordinator reads from this server when it is a shard (pozytywka.add_shard)';

-- The names of a shard's two foreign tables.
CREATE OR REPLACE FUNCTION pozytywka.shard_table(server name, what text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT format('pozytywka.%I', left('shard_' || server, 56) || '_' || what);
$$;

-- Rewrite shard_rows and shard_state as the UNION ALL of the registered
-- shards' foreign tables.
CREATE OR REPLACE FUNCTION pozytywka.rebuild_shard_views()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	rows_sql text;
	state_sql text;
BEGIN
	SELECT string_agg(format('SELECT track_id, week, plays, likes, skips FROM %s',
							 pozytywka.shard_table(s.server, 'rows')), ' UNION ALL ' ORDER BY s.server),
		   string_agg(format('SELECT %L::name AS server, kind, week, version FROM %s',
							 s.server, pozytywka.shard_table(s.server, 'state')), ' UNION ALL ' ORDER BY s.server)
	  INTO rows_sql, state_sql
	  FROM pozytywka.shards AS s;
	EXECUTE 'CREATE OR REPLACE VIEW pozytywka.shard_rows AS '
		|| coalesce(rows_sql, 'SELECT NULL::text AS track_id, NULL::date AS week, NULL::bigint AS plays,'
							  ' NULL::bigint AS likes, NULL::bigint AS skips WHERE false');
	EXECUTE 'CREATE OR REPLACE VIEW pozytywka.shard_state AS '
		|| coalesce(state_sql, 'SELECT NULL::name AS server, NULL::text AS kind, NULL::date AS week,'
							   ' NULL::bigint AS version WHERE false');
END;
$$;

-- Register a postgres_fdw server as a shard.  Needs the privileges to
-- create foreign tables on the server (USAGE on it, a user mapping) and to
-- replace pozytywka's views: the extension's owner (a superuser).  The
-- user mappings are the operator's: the foreign tables are read through
-- pozytywka's views, so with the user mapping of the extension's owner,
-- which must be able to read pozytywka.weekly_rows and
-- pozytywka.history_state on the shard.  Registering it again rebuilds
-- its foreign tables (after a restore, for instance).
CREATE OR REPLACE FUNCTION @extschema@.add_shard(server name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	fdw name;
BEGIN
	IF server IS NULL THEN
		RAISE EXCEPTION 'server must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT w.fdwname INTO fdw
	  FROM pg_foreign_server AS s JOIN pg_foreign_data_wrapper AS w ON w.oid = s.srvfdw
	 WHERE s.srvname = add_shard.server;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'foreign server "%" does not exist', server
			USING ERRCODE = 'undefined_object',
				  HINT = 'CREATE EXTENSION postgres_fdw; CREATE SERVER ... FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host ..., dbname ...); CREATE USER MAPPING ... (as a superuser).';
	ELSIF fdw <> 'postgres_fdw' THEN
		RAISE EXCEPTION 'foreign server "%" uses %, not postgres_fdw', server, fdw
			USING ERRCODE = 'wrong_object_type';
	END IF;
	IF EXISTS (SELECT 1 FROM pozytywka.shards AS s WHERE s.server = add_shard.server) THEN
		DELETE FROM pozytywka.shards AS s WHERE s.server = add_shard.server;
		PERFORM pozytywka.rebuild_shard_views();
	END IF;
	IF to_regclass(pozytywka.shard_table(server, 'rows')) IS NOT NULL THEN
		EXECUTE format('DROP FOREIGN TABLE %s', pozytywka.shard_table(server, 'rows'));
	END IF;
	IF to_regclass(pozytywka.shard_table(server, 'state')) IS NOT NULL THEN
		EXECUTE format('DROP FOREIGN TABLE %s', pozytywka.shard_table(server, 'state'));
	END IF;
	EXECUTE format('CREATE FOREIGN TABLE %s (track_id text, week date, plays bigint, likes bigint, skips bigint)'
				   ' SERVER %I OPTIONS (schema_name %L, table_name %L, async_capable %L, fetch_size %L)',
				   pozytywka.shard_table(server, 'rows'), server, 'pozytywka', 'weekly_rows', 'true', '10000');
	EXECUTE format('CREATE FOREIGN TABLE %s (kind text, week date, version bigint)'
				   ' SERVER %I OPTIONS (schema_name %L, table_name %L, async_capable %L)',
				   pozytywka.shard_table(server, 'state'), server, 'pozytywka', 'history_state', 'true');
	-- the shard answers, and runs a version of pozytywka with history_state
	EXECUTE format('SELECT count(*) FROM %s', pozytywka.shard_table(server, 'state'));
	INSERT INTO pozytywka.shards (server) VALUES (add_shard.server);
	DELETE FROM pozytywka.shard_marks AS m WHERE m.server = add_shard.server;
	PERFORM pozytywka.rebuild_shard_views();
	-- the history changed: nothing cached before holds
	PERFORM pozytywka.invalidate_forecasts('-infinity');
	PERFORM pozytywka.invalidate_model_forecasts(true);
END;
$$;

COMMENT ON FUNCTION @extschema@.add_shard(name) IS
	'Register a postgres_fdw server whose pozytywka keeps the weekly history of its own events (superuser or the extension''s owner)';

CREATE OR REPLACE FUNCTION @extschema@.remove_shard(server name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pozytywka.shards AS s WHERE s.server = remove_shard.server) THEN
		RAISE EXCEPTION '"%" is not a shard', server
			USING ERRCODE = 'undefined_object', HINT = 'SELECT server FROM pozytywka.shards lists them.';
	END IF;
	DELETE FROM pozytywka.shards AS s WHERE s.server = remove_shard.server;
	PERFORM pozytywka.rebuild_shard_views();
	EXECUTE format('DROP FOREIGN TABLE IF EXISTS %s, %s',
				   pozytywka.shard_table(server, 'rows'), pozytywka.shard_table(server, 'state'));
	PERFORM pozytywka.invalidate_forecasts('-infinity');
	PERFORM pozytywka.invalidate_model_forecasts(true);
END;
$$;

COMMENT ON FUNCTION @extschema@.remove_shard(name) IS
	'Stop reading a shard registered with add_shard (superuser or the extension''s owner)';

REVOKE ALL ON FUNCTION @extschema@.add_shard(name), @extschema@.remove_shard(name),
	pozytywka.rebuild_shard_views() FROM PUBLIC;

-- Read replicas: what must write (training, refreshing the cache or the
-- dashboard's list) fails at once, with a hint, on a hot standby or in a
-- read-only transaction — before any work, never after minutes of it.  The
-- read functions need no such check: on a standby they read the forecasts
-- cached on the primary and compute, without caching, what is not cached
-- (merge_before_caching(), part 14).
CREATE OR REPLACE FUNCTION pozytywka.require_primary(what text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	IF pg_is_in_recovery() THEN
		RAISE EXCEPTION '% writes, and this server is a standby (read replica)', what
			USING ERRCODE = 'read_only_sql_transaction',
				  HINT = 'Run it on the primary; the standby then reads its results (the view, the cached forecasts) as soon as they are replayed.';
	ELSIF current_setting('transaction_read_only') = 'on' THEN
		RAISE EXCEPTION '% writes, and this transaction is read-only', what
			USING ERRCODE = 'read_only_sql_transaction',
				  HINT = 'Run it in a read-write transaction.';
	END IF;
END;
$$;

-- from 20_models.sql

-- part 20: weekly series, the model registry and the baseline models.

CREATE OR REPLACE FUNCTION @extschema@.series_mean(series double precision[], weeks integer)
RETURNS double precision
AS 'MODULE_PATHNAME', 'pz_series_mean'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.series_mean(double precision[], integer) IS
	'Mean of the last weeks values of series (all of them when shorter)';

CREATE OR REPLACE FUNCTION @extschema@.series_ewma(series double precision[], alpha double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'pz_series_ewma'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.series_ewma(double precision[], double precision) IS
	'Exponentially weighted mean of series (smoothing factor alpha in (0, 1])';

CREATE OR REPLACE FUNCTION @extschema@.series_trend(series double precision[], weeks integer)
RETURNS double precision
AS 'MODULE_PATHNAME', 'pz_series_trend'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.series_trend(double precision[], integer) IS
	'Least-squares line through the last weeks values, one step ahead';

-- weekly_series(week, value, as_of, n_weeks): a track's dense weekly series
-- of the n_weeks weeks ending at as_of, from its first week with data in
-- that window; values of the same week are added (so the event-log
-- aggregate and imported weekly counts need no GROUP BY of their union).
CREATE OR REPLACE FUNCTION pozytywka.weekly_series_transfn(internal, date, double precision, date, integer)
RETURNS internal
AS 'MODULE_PATHNAME', 'pz_weekly_series_transfn'
LANGUAGE C IMMUTABLE;

CREATE OR REPLACE FUNCTION pozytywka.weekly_series_finalfn(internal)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'pz_weekly_series_finalfn'
LANGUAGE C IMMUTABLE;

CREATE OR REPLACE AGGREGATE @extschema@.weekly_series(week date, value double precision,
										   as_of date, n_weeks integer) (
	SFUNC = pozytywka.weekly_series_transfn,
	STYPE = internal,
	FINALFUNC = pozytywka.weekly_series_finalfn,
	SSPACE = 480
);

-- Every candidate track's dense weekly score series ending at the week
-- as_of: one value a week from the track's first week inside the history
-- window (settings.history_weeks) to as_of, 0 where it had no events.  A
-- candidate had events in one of the last settings.candidate_weeks weeks;
-- settings.max_candidates, when set, keeps only the tracks with the best
-- total score over those weeks (a bound for very large catalogues: a track
-- outside it cannot enter the list, whatever its forecast).
CREATE OR REPLACE FUNCTION pozytywka.candidate_series(as_of date)
RETURNS TABLE (track_id text, first_week date, series double precision[])
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	cfg record;
BEGIN
	SELECT * INTO STRICT cfg FROM pozytywka.effective_settings;
	RETURN QUERY
	WITH rows_in_window AS (
		SELECT h.track_id, h.week, h.plays, h.likes, h.skips
		  FROM pozytywka.weekly_rows AS h
		 WHERE h.week <= as_of AND h.week > as_of - 7 * cfg.history_weeks
	), per_track AS (
		SELECT r.track_id,
			   @extschema@.weekly_series(r.week,
										 cfg.w_play * r.plays + cfg.w_like * r.likes - cfg.w_skip * r.skips,
										 as_of, cfg.history_weeks) AS series,
			   max(r.week) AS last_active
		  FROM rows_in_window AS r
		 GROUP BY r.track_id
	)
	SELECT p.track_id, as_of - 7 * (cardinality(p.series) - 1), p.series
	  FROM per_track AS p
	 WHERE p.last_active > as_of - 7 * cfg.candidate_weeks
	 ORDER BY CASE WHEN cfg.max_candidates IS NULL THEN 0
				   ELSE -@extschema@.series_mean(p.series, cfg.candidate_weeks) END,
			  p.track_id COLLATE "C"
	 LIMIT cfg.max_candidates;
END;
$$;

-- Registering a kind is checked: whatever a row names is run by every top
-- list, backtest and the weekly job.  The forecast function must be
-- f(as_of date) RETURNS TABLE (track_id text, predicted_score double
-- precision), the availability function f(as_of date) RETURNS boolean, and
-- neither SECURITY DEFINER (a model runs with the rights of whoever asks
-- for the list).  Only the extension's owner can write this table: it is
-- granted to no role (see part 90).
CREATE OR REPLACE FUNCTION pozytywka.check_model_kind()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	f record;
BEGIN
	SELECT p.prokind, p.pronargs, p.proargtypes, p.proretset, p.prorettype, p.prosecdef,
		   p.proargmodes, p.proallargtypes, p.proargnames
	  INTO f
	  FROM pg_proc AS p WHERE p.oid = NEW.forecast_function;
	IF NOT (f.prokind = 'f' AND f.pronargs = 1 AND f.proargtypes[0] = 'date'::regtype
			AND f.proretset AND NOT f.prosecdef
			AND f.proargmodes IS NOT NULL AND cardinality(f.proargmodes) = 3
			AND f.proargmodes[1] = 'i' AND f.proargmodes[2] IN ('o', 't') AND f.proargmodes[3] IN ('o', 't')
			AND f.proallargtypes = ARRAY['date'::regtype, 'text'::regtype, 'float8'::regtype]::oid[]
			AND f.proargnames[2:3] = ARRAY['track_id', 'predicted_score']) THEN
		RAISE EXCEPTION 'model kind "%": % is not f(as_of date) RETURNS TABLE (track_id text, predicted_score double precision)',
			NEW.name, NEW.forecast_function
			USING ERRCODE = 'invalid_function_definition',
				  HINT = 'A forecast function takes the origin week and returns one predicted score per track; it must not be SECURITY DEFINER.';
	END IF;
	IF NEW.available_function IS NOT NULL THEN
		SELECT p.prokind, p.pronargs, p.proargtypes, p.proretset, p.prorettype, p.prosecdef
		  INTO f
		  FROM pg_proc AS p WHERE p.oid = NEW.available_function;
		IF NOT (f.prokind = 'f' AND f.pronargs = 1 AND f.proargtypes[0] = 'date'::regtype
				AND NOT f.proretset AND f.prorettype = 'boolean'::regtype AND NOT f.prosecdef) THEN
			RAISE EXCEPTION 'model kind "%": % is not f(as_of date) RETURNS boolean',
				NEW.name, NEW.available_function
				USING ERRCODE = 'invalid_function_definition';
		END IF;
	END IF;
	RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER model_kinds_check BEFORE INSERT OR UPDATE ON pozytywka.model_kinds
	FOR EACH ROW EXECUTE FUNCTION pozytywka.check_model_kind();

CREATE OR REPLACE FUNCTION pozytywka.forecast_naive(as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT c.track_id, c.series[cardinality(c.series)]
	  FROM pozytywka.candidate_series(as_of) AS c;
$$;

CREATE OR REPLACE FUNCTION pozytywka.forecast_mean4(as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT c.track_id, @extschema@.series_mean(c.series, 4)
	  FROM pozytywka.candidate_series(as_of) AS c;
$$;

CREATE OR REPLACE FUNCTION pozytywka.forecast_mean8(as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT c.track_id, @extschema@.series_mean(c.series, 8)
	  FROM pozytywka.candidate_series(as_of) AS c;
$$;

CREATE OR REPLACE FUNCTION pozytywka.forecast_ewma(as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT c.track_id, @extschema@.series_ewma(c.series, 0.5)
	  FROM pozytywka.candidate_series(as_of) AS c;
$$;

CREATE OR REPLACE FUNCTION pozytywka.forecast_trend(as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT c.track_id, @extschema@.series_trend(c.series, 4)
	  FROM pozytywka.candidate_series(as_of) AS c;
$$;

-- from 25_pooled.sql

-- part 25: the pooled log-autoregression model ('pooled').

CREATE OR REPLACE FUNCTION pozytywka.left_pad(series double precision[], len integer)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'pz_left_pad'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION pozytywka.pooled_ar_forecast(series double precision[], predict boolean[],
											 train_weeks integer, ridge double precision)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'pz_pooled_ar_forecast'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- Every track's series of the history window (not only the candidates:
-- tracks that faded teach the model how tracks fade), as one matrix.
CREATE OR REPLACE FUNCTION pozytywka.forecast_pooled(as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	cfg record;
	weeks integer;
BEGIN
	SELECT * INTO STRICT cfg FROM pozytywka.effective_settings;
	-- the model learns from the 12 origins before as_of; 26 weeks of
	-- history give every feature its full window, 66 the annual one too
	-- (a year before each of those origins) when there is more than a
	-- year, 111 the origins around the same week a year earlier too when
	-- there are two.  The year-long windows are this model's own:
	-- settings.history_weeks bounds the per-track models (ARIMA's cost
	-- grows with it); bounded by it, the annual feature never had data.
	weeks := CASE WHEN pozytywka.first_week() <= as_of - 7 * 110 THEN 111
				  WHEN pozytywka.first_week() <= as_of - 7 * 53 THEN 66
				  ELSE least(cfg.history_weeks, 26) END;
	RETURN QUERY
	WITH rows_in_window AS (
		SELECT h.track_id, h.week, h.plays, h.likes, h.skips
		  FROM pozytywka.weekly_rows AS h
		 WHERE h.week <= as_of AND h.week > as_of - 7 * weeks
	), per_track AS (
		SELECT r.track_id,
			   @extschema@.weekly_series(r.week,
										 cfg.w_play * r.plays + cfg.w_like * r.likes - cfg.w_skip * r.skips,
										 as_of, weeks) AS series,
			   max(r.week) > as_of - 7 * cfg.candidate_weeks AS candidate
		  FROM rows_in_window AS r
		 GROUP BY r.track_id
	), matrix AS (
		SELECT array_agg(p.track_id ORDER BY p.track_id) AS ids,
			   array_agg(pozytywka.left_pad(p.series, weeks) ORDER BY p.track_id) AS series,
			   array_agg(p.candidate ORDER BY p.track_id) AS candidates
		  FROM per_track AS p
	)
	SELECT f.track_id, f.predicted
	  FROM matrix,
		   unnest(matrix.ids,
				  pozytywka.pooled_ar_forecast(matrix.series, matrix.candidates,
											   least(12, weeks - 1), 1e-5)) AS f (track_id, predicted)
	 WHERE f.predicted IS NOT NULL
	   AND f.track_id IN (SELECT c.track_id FROM pozytywka.candidate_series(as_of) AS c);
END;
$$;

-- from 30_arima.sql

COMMENT ON TYPE @extschema@.arima_model IS
	'A fitted ARIMA(p,d,q) model; information criteria as in R''s forecast package';

CREATE OR REPLACE FUNCTION @extschema@.arima_forecast(series double precision[],
										   horizon integer DEFAULT 1,
										   p integer DEFAULT NULL,
										   d integer DEFAULT NULL,
										   q integer DEFAULT NULL)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'pz_arima_forecast'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.arima_forecast(double precision[], integer, integer, integer, integer) IS
	'horizon ARIMA forecasts of series; order chosen automatically (KPSS for d, stepwise AICc) when p and q are NULL';

CREATE OR REPLACE FUNCTION @extschema@.arima_forecast_interval(series double precision[],
													horizon integer DEFAULT 1,
													level double precision DEFAULT 0.95,
													p integer DEFAULT NULL,
													d integer DEFAULT NULL,
													q integer DEFAULT NULL)
RETURNS TABLE (step integer, forecast double precision,
			   lower double precision, upper double precision)
AS 'MODULE_PATHNAME', 'pz_arima_forecast_interval'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 10;

COMMENT ON FUNCTION @extschema@.arima_forecast_interval(double precision[], integer, double precision, integer, integer, integer) IS
	'ARIMA forecasts with Gaussian prediction intervals at the given level';

CREATE OR REPLACE FUNCTION @extschema@.arima_fit(series double precision[], p integer,
									  d integer, q integer)
RETURNS @extschema@.arima_model
AS 'MODULE_PATHNAME', 'pz_arima_fit'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.arima_fit(double precision[], integer, integer, integer) IS
	'Exact maximum-likelihood ARIMA(p,d,q) fit (with a mean when d = 0), like R''s arima(method = "CSS-ML")';

CREATE OR REPLACE FUNCTION @extschema@.auto_arima(series double precision[])
RETURNS @extschema@.arima_model
AS 'MODULE_PATHNAME', 'pz_auto_arima'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.auto_arima(double precision[]) IS
	'Automatic ARIMA order selection as forecast::auto.arima(seasonal = FALSE)';

-- The 'arima' model for top_tracks_next_week / backtest / predict: one
-- automatic ARIMA per candidate track (its dense weekly score series),
-- forecasting the week after as_of; a track with a single week of history
-- gets that week's score (the automatic mode's fall-backs).
CREATE OR REPLACE FUNCTION pozytywka.forecast_arima(as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT c.track_id, (@extschema@.arima_forecast(c.series, 1))[1]
	  FROM pozytywka.candidate_series(as_of) AS c;
$$;

-- from 40_lstm_models.sql

-- C building blocks (internal).
CREATE OR REPLACE FUNCTION pozytywka.lstm_weights_from_json(model jsonb)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pz_lstm_fn_from_json'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION pozytywka.lstm_weights_to_json(weights bytea)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pz_lstm_fn_to_json'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION pozytywka.lstm_weights_info(weights bytea)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pz_lstm_fn_info'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION pozytywka.lstm_weights_forward(weights bytea, input double precision[])
RETURNS double precision
AS 'MODULE_PATHNAME', 'pz_lstm_fn_forward'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION pozytywka.lstm_fit(raw double precision[], next_score double precision[],
								   target_week integer[], age double precision[],
								   hidden integer, layers integer, epochs integer,
								   batch_size integer, learning_rate double precision,
								   dropout double precision, patience integer,
								   validation_weeks integer, seed bigint, weighted boolean,
								   active_weights bytea, active_mean double precision[],
								   active_std double precision[],
								   active_target_mean double precision,
								   active_target_std double precision,
								   OUT weights bytea, OUT normalisation jsonb, OUT metrics jsonb)
AS 'MODULE_PATHNAME', 'pz_lstm_fn_fit'
LANGUAGE C VOLATILE;

CREATE OR REPLACE FUNCTION pozytywka.lstm_apply(weights bytea, mean double precision[],
									 std double precision[], target_mean double precision,
									 target_std double precision, raw double precision[],
									 age double precision[])
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'pz_lstm_fn_apply'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- The registry row of an LSTM model: the given id, or the active model.
CREATE OR REPLACE FUNCTION pozytywka.lstm_model(id bigint, must_be_active boolean)
RETURNS pozytywka.models
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	m pozytywka.models;
BEGIN
	IF id IS NULL THEN
		SELECT * INTO m FROM pozytywka.models WHERE kind = 'lstm' AND is_active;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'there is no active LSTM model'
				USING ERRCODE = 'no_data_found',
					  HINT = 'Train one with lstm_train(), or import one with lstm_import() and activate it with lstm_activate().';
		END IF;
		RETURN m;
	END IF;
	SELECT * INTO m FROM pozytywka.models WHERE model_id = id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'LSTM model % does not exist', id
			USING ERRCODE = 'undefined_object';
	END IF;
	IF m.kind <> 'lstm' THEN
		RAISE EXCEPTION 'model % is a % model, not an LSTM', id, m.kind
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF must_be_active AND NOT m.is_active THEN
		RAISE EXCEPTION 'LSTM model % is not active', id
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = format('Activate it with lstm_activate(%s), or omit the model id to use the active model.', id);
	END IF;
	RETURN m;
END;
$$;

-- Make a model the active one of its kind (and the previous one inactive),
-- atomically: both updates commit together, and an advisory lock per kind
-- serialises concurrent activations.
CREATE OR REPLACE FUNCTION @extschema@.lstm_activate(model_id bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	m pozytywka.models;
BEGIN
	IF model_id IS NULL THEN
		RAISE EXCEPTION 'model_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	m := pozytywka.lstm_model(model_id, false);
	PERFORM pozytywka.lstm_weights_info(m.weights);		-- refuses corrupt weights
	PERFORM pg_advisory_xact_lock(hashtext('pozytywka.models'), hashtext(m.kind));
	UPDATE pozytywka.models AS x SET is_active = false
	 WHERE x.kind = m.kind AND x.is_active AND x.model_id <> m.model_id;
	UPDATE pozytywka.models AS x SET is_active = true WHERE x.model_id = m.model_id;
END;
$$;

-- Load weights trained elsewhere, in PyTorch's state_dict layout (see the
-- README for the JSON schema and Keras).  The model is registered inactive.
CREATE OR REPLACE FUNCTION @extschema@.lstm_import(model jsonb)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	w bytea;
	md jsonb;
	through date;
	id bigint;
BEGIN
	IF model IS NULL THEN
		RAISE EXCEPTION 'model must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	md := model -> 'metadata';
	IF md IS NOT NULL AND jsonb_typeof(md) <> 'object' THEN
		RAISE EXCEPTION '"metadata" must be a JSON object, not %', jsonb_typeof(md)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF md ? 'normalisation' AND jsonb_typeof(md -> 'normalisation') NOT IN ('object', 'null') THEN
		RAISE EXCEPTION '"metadata.normalisation" must be a JSON object'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF md ? 'trained_through' AND jsonb_typeof(md -> 'trained_through') <> 'null' THEN
		IF jsonb_typeof(md -> 'trained_through') <> 'string'
		   OR NOT pozytywka.pg_input_is_valid_date(md ->> 'trained_through') THEN
			RAISE EXCEPTION '"metadata.trained_through" must be a date string (YYYY-MM-DD)'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		through := (md ->> 'trained_through')::date;
	END IF;
	w := pozytywka.lstm_weights_from_json(model);
	INSERT INTO pozytywka.models (kind, hyperparams, normalisation, weights, trained_through, metrics)
	VALUES ('lstm',
			pozytywka.lstm_weights_info(w)
				|| coalesce(CASE WHEN jsonb_typeof(md -> 'hyperparams') = 'object' THEN md -> 'hyperparams' END, '{}')
				|| jsonb_build_object('source', 'lstm_import'),
			CASE WHEN jsonb_typeof(md -> 'normalisation') = 'object' THEN md -> 'normalisation' END,
			w, through,
			coalesce(CASE WHEN jsonb_typeof(md -> 'metrics') = 'object' THEN md -> 'metrics' END, '{}'))
	RETURNING models.model_id INTO id;
	RETURN id;
END;
$$;

-- The plain-SQL stand-in for pg_input_is_valid (PostgreSQL 16+).
CREATE OR REPLACE FUNCTION pozytywka.pg_input_is_valid_date(s text)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	PERFORM s::date;
	RETURN s ~ '^\d{4}-\d{2}-\d{2}$';
EXCEPTION WHEN OTHERS THEN
	RETURN false;
END;
$$;

-- The weights as a PyTorch state_dict, plus "metadata" (ignored by
-- load_state_dict(strict=False) users; pop it first with strict=True).
CREATE OR REPLACE FUNCTION @extschema@.lstm_export(model_id bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	m pozytywka.models;
BEGIN
	IF model_id IS NULL THEN
		RAISE EXCEPTION 'model_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	m := pozytywka.lstm_model(model_id, false);
	RETURN pozytywka.lstm_weights_to_json(m.weights)
		|| jsonb_build_object('metadata', jsonb_strip_nulls(jsonb_build_object(
			'format', 'pozytywka-lstm-state-dict-v1',
			'model_id', m.model_id,
			'kind', m.kind,
			'architecture', 'nn.LSTM(input_size, hidden_size, num_layers, batch_first=True) named lstm; nn.Linear(hidden_size, 1) named linear on the last time step',
			'hyperparams', m.hyperparams,
			'normalisation', m.normalisation,
			'trained_through', m.trained_through,
			'metrics', m.metrics,
			'is_active', m.is_active,
			'created_at', m.created_at)));
END;
$$;

-- The raw network on one window (rows = time steps, columns = features),
-- no scaling: for checking parity with another framework.
CREATE OR REPLACE FUNCTION @extschema@.lstm_forward(model_id bigint, input double precision[])
RETURNS double precision
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	IF model_id IS NULL THEN
		RAISE EXCEPTION 'model_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF input IS NULL THEN
		RAISE EXCEPTION 'input must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	RETURN pozytywka.lstm_weights_forward((pozytywka.lstm_model(model_id, false)).weights, input);
END;
$$;

-- from 41_lstm_inputs.sql

-- part 41: the LSTM's inputs — each track's window of weekly rows, and
-- their cache for the candidates of an origin week.

-- lstm_window(week, score, plays, likes, skips, as_of, win): a track's raw
-- input window float8[win][4] (score, plays, likes, skips per week) of the
-- win weeks ending at as_of, oldest first, 0 for quiet weeks and before the
-- track's first week; rows of the same week are added.
CREATE OR REPLACE FUNCTION pozytywka.lstm_window_transfn(internal, date, double precision, double precision,
											  double precision, double precision, date, integer)
RETURNS internal
AS 'MODULE_PATHNAME', 'pz_lstm_window_transfn'
LANGUAGE C IMMUTABLE;

CREATE OR REPLACE FUNCTION pozytywka.lstm_window_finalfn(internal)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'pz_lstm_window_finalfn'
LANGUAGE C IMMUTABLE;

CREATE OR REPLACE AGGREGATE pozytywka.lstm_window(week date, score double precision, plays double precision,
									   likes double precision, skips double precision,
									   as_of date, win integer) (
	SFUNC = pozytywka.lstm_window_transfn,
	STYPE = internal,
	FINALFUNC = pozytywka.lstm_window_finalfn,
	SSPACE = 280
);

-- Raw windows of the given tracks for as_of (see lstm_window), and each
-- track's age in weeks at as_of (-1 when its release date is unknown).
CREATE OR REPLACE FUNCTION pozytywka.lstm_windows(track_ids text[], as_of date, win integer)
RETURNS TABLE (track_id text, raw double precision[], age double precision)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	WITH cfg AS (SELECT * FROM pozytywka.effective_settings),
	rows_in_window AS (
		SELECT h.track_id, h.week, h.plays, h.likes, h.skips
		  FROM pozytywka.weekly_rows AS h
		 WHERE h.track_id = ANY (track_ids) AND h.week <= as_of AND h.week > as_of - 7 * win
	), windows AS (
		SELECT r.track_id,
			   pozytywka.lstm_window(r.week, cfg.w_play * r.plays + cfg.w_like * r.likes - cfg.w_skip * r.skips,
									 r.plays, r.likes, r.skips, as_of, win) AS raw
		  FROM rows_in_window AS r CROSS JOIN cfg
		 GROUP BY r.track_id
	)
	SELECT t.id,
		   coalesce(w.raw, array_fill(0::float8, ARRAY[win, 4])),
		   coalesce((as_of - tr.release_date) / 7.0, -1)::float8
	  FROM (SELECT DISTINCT u.id FROM unnest(track_ids) AS u(id)) AS t
	  LEFT JOIN windows AS w ON w.track_id = t.id
	  LEFT JOIN pozytywka.tracks AS tr ON tr.id = t.id;
$$;

-- The windows of every candidate track (the tracks of
-- pozytywka.candidate_series(as_of)).  Without max_candidates a candidate is
-- simply a track with data in the last candidate_weeks weeks, so one
-- aggregate over those weeks' rows gives both the set and the windows,
-- without building every track's full history first.
CREATE OR REPLACE FUNCTION pozytywka.lstm_candidate_windows(as_of date, win integer)
RETURNS TABLE (track_id text, raw double precision[], age double precision)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	cfg record;
	span integer;
BEGIN
	SELECT * INTO STRICT cfg FROM pozytywka.effective_settings;
	IF cfg.max_candidates IS NOT NULL THEN
		RETURN QUERY
		SELECT * FROM pozytywka.lstm_windows(ARRAY(SELECT c.track_id FROM pozytywka.candidate_series(as_of) AS c),
											 as_of, win);
		RETURN;
	END IF;
	span := greatest(win, least(cfg.candidate_weeks, cfg.history_weeks));
	RETURN QUERY
	WITH rows_in_span AS (
		SELECT h.track_id, h.week, h.plays, h.likes, h.skips
		  FROM pozytywka.weekly_rows AS h
		 WHERE h.week <= as_of AND h.week > as_of - 7 * span
	), windows AS (
		SELECT r.track_id,
			   pozytywka.lstm_window(r.week, cfg.w_play * r.plays + cfg.w_like * r.likes - cfg.w_skip * r.skips,
									 r.plays, r.likes, r.skips, as_of, win) AS raw
		  FROM rows_in_span AS r
		 GROUP BY r.track_id
		HAVING max(r.week) > as_of - 7 * least(cfg.candidate_weeks, cfg.history_weeks)
	)
	SELECT w.track_id,
		   coalesce(w.raw, array_fill(0::float8, ARRAY[win, 4])),
		   coalesce((as_of - tr.release_date) / 7.0, -1)::float8
	  FROM windows AS w
	  LEFT JOIN pozytywka.tracks AS tr ON tr.id = w.track_id;
END;
$$;

-- Cache the active model's inputs for as_of (the latest complete week by
-- default) unless cached, no model is active or the caller may not write.
-- Same lock protocol as cache_forecasts().
CREATE OR REPLACE FUNCTION pozytywka.cache_lstm_inputs(as_of date DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	m pozytywka.models;
	win integer;
BEGIN
	SELECT * INTO m FROM pozytywka.models AS x
	 WHERE x.kind = 'lstm' AND x.is_active AND x.normalisation ->> 'feature_version' = '1';
	IF m.model_id IS NULL OR NOT has_table_privilege('pozytywka.lstm_inputs', 'INSERT') THEN
		RETURN false;
	END IF;
	as_of := pozytywka.resolve_as_of(as_of);
	IF NOT pozytywka.merge_before_caching(as_of) THEN
		RETURN false;
	END IF;
	win := pozytywka.lstm_model_window(m);
	LOCK TABLE pozytywka.forecast_runs IN SHARE ROW EXCLUSIVE MODE;
	IF EXISTS (SELECT 1 FROM pozytywka.lstm_inputs AS i
				WHERE i.as_of = cache_lstm_inputs.as_of AND i.window_weeks = win) THEN
		RETURN false;
	END IF;
	INSERT INTO pozytywka.lstm_inputs (as_of, window_weeks, track_ids, windows, ages)
	SELECT cache_lstm_inputs.as_of, win, array_agg(w.track_id), array_agg(w.raw), array_agg(w.age)
	  FROM pozytywka.lstm_candidate_windows(as_of, win) AS w
	HAVING count(*) > 0;
	RETURN FOUND;
END;
$$;

-- from 42_lstm_predict.sql

-- part 42: prediction with an LSTM model, for every candidate at once or
-- for one track.

-- Next week's predicted score of every candidate track (the tracks of
-- pozytywka.candidate_series(as_of)) in one pass of the network, from the
-- cached inputs when there are.
CREATE OR REPLACE FUNCTION @extschema@.lstm_predict_all(model_id bigint DEFAULT NULL, as_of date DEFAULT NULL)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	m pozytywka.models;
	win integer;
	ids text[];
	raws double precision[];
	ages double precision[];
	preds double precision[];
BEGIN
	m := pozytywka.lstm_model(model_id, true);
	as_of := pozytywka.resolve_as_of(as_of);
	win := pozytywka.lstm_model_window(m);
	-- cached inputs are read in one statement (no copy into variables)
	RETURN QUERY
	SELECT u.t, u.p
	  FROM pozytywka.lstm_inputs AS i,
		   LATERAL unnest(i.track_ids, pozytywka.lstm_apply_model(m, i.windows, i.ages)) AS u(t, p)
	 WHERE i.as_of = lstm_predict_all.as_of AND i.window_weeks = win
	   AND NOT pozytywka.pending_through(lstm_predict_all.as_of);
	IF FOUND THEN
		RETURN;
	END IF;
	SELECT array_agg(w.track_id), array_agg(w.raw), array_agg(w.age)
	  INTO ids, raws, ages
	  FROM pozytywka.lstm_candidate_windows(as_of, win) AS w;
	IF ids IS NULL THEN
		RETURN;
	END IF;
	preds := pozytywka.lstm_apply_model(m, raws, ages);
	RETURN QUERY SELECT u.t, u.p FROM unnest(ids, preds) AS u(t, p);
END;
$$;

-- The window length of a model and a check that lstm_predict can use it.
CREATE OR REPLACE FUNCTION pozytywka.lstm_model_window(m pozytywka.models)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	IF m.normalisation IS NULL OR (m.normalisation ->> 'feature_version') IS DISTINCT FROM '1'
	   OR jsonb_typeof(m.normalisation -> 'window') <> 'number' THEN
		RAISE EXCEPTION 'LSTM model % has no pozytywka normalisation, so lstm_predict cannot build its inputs', m.model_id
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Models from lstm_train() have one; imported networks can be run with lstm_forward().';
	END IF;
	RETURN (m.normalisation ->> 'window')::integer;
END;
$$;

CREATE OR REPLACE FUNCTION pozytywka.lstm_apply_model(m pozytywka.models, raws double precision[],
										   ages double precision[])
RETURNS double precision[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT pozytywka.lstm_apply(m.weights,
			ARRAY(SELECT v::float8 FROM jsonb_array_elements_text(m.normalisation -> 'mean') AS v),
			ARRAY(SELECT v::float8 FROM jsonb_array_elements_text(m.normalisation -> 'std') AS v),
			(m.normalisation ->> 'target_mean')::float8,
			(m.normalisation ->> 'target_std')::float8,
			raws, ages);
$$;

-- One track's predicted score for the week after the latest complete week.
CREATE OR REPLACE FUNCTION @extschema@.lstm_predict(track_id text, model_id bigint DEFAULT NULL)
RETURNS double precision
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	m pozytywka.models;
	as_of date;
	win integer;
	w record;
BEGIN
	IF track_id IS NULL THEN
		RAISE EXCEPTION 'track_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	m := pozytywka.lstm_model(model_id, true);
	as_of := pozytywka.resolve_as_of(NULL);
	win := pozytywka.lstm_model_window(m);
	IF NOT EXISTS (SELECT 1 FROM pozytywka.weekly_history AS h
					WHERE h.track_id = lstm_predict.track_id AND h.week <= as_of) THEN
		RAISE EXCEPTION 'track "%" has no history up to %', track_id, as_of
			USING ERRCODE = 'no_data_found',
				  HINT = 'lstm_predict needs at least one week with events (or imported counts) of the track.';
	END IF;
	SELECT * INTO w FROM pozytywka.lstm_windows(ARRAY[lstm_predict.track_id], as_of, win);
	RETURN (pozytywka.lstm_apply_model(m, ARRAY[w.raw], ARRAY[w.age]))[1];
END;
$$;

-- from 43_lstm_train.sql

-- part 43: training an LSTM in the database, and the model kind 'lstm'
-- (its forecast, when it is available, the weekly retraining).

-- Train a global LSTM on every track's weekly history; see the README.
CREATE OR REPLACE FUNCTION @extschema@.lstm_train(window_weeks integer DEFAULT 8,
									   hidden integer DEFAULT 32,
									   layers integer DEFAULT 1,
									   epochs integer DEFAULT 30,
									   batch_size integer DEFAULT 256,
									   learning_rate double precision DEFAULT 1e-3,
									   dropout double precision DEFAULT 0,
									   patience integer DEFAULT 5,
									   validation_weeks integer DEFAULT 4,
									   seed bigint DEFAULT 42,
									   weighted boolean DEFAULT true,
									   activate text DEFAULT 'if_better',
									   as_of date DEFAULT NULL,
									   max_windows integer DEFAULT 200000)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	active pozytywka.models;
	fit record;
	v_raw double precision[];
	v_next double precision[];
	v_week integer[];
	v_age double precision[];
	n integer;
	id bigint;
	better boolean;
BEGIN
	PERFORM pozytywka.require_primary('lstm_train');
	IF window_weeks IS NULL OR hidden IS NULL OR layers IS NULL OR epochs IS NULL
	   OR batch_size IS NULL OR learning_rate IS NULL OR dropout IS NULL OR patience IS NULL
	   OR validation_weeks IS NULL OR seed IS NULL OR weighted IS NULL OR activate IS NULL
	   OR max_windows IS NULL THEN
		RAISE EXCEPTION 'lstm_train arguments must not be NULL (only as_of may be)'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF window_weeks < 1 OR window_weeks > 520 THEN
		RAISE EXCEPTION 'window_weeks must be between 1 and 520, not %', window_weeks
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF hidden < 1 OR hidden > 1024 THEN
		RAISE EXCEPTION 'hidden must be between 1 and 1024, not %', hidden
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF layers < 1 OR layers > 8 THEN
		RAISE EXCEPTION 'layers must be between 1 and 8, not %', layers
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF epochs < 0 OR epochs > 100000 THEN
		RAISE EXCEPTION 'epochs must be between 0 and 100000, not %', epochs
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF learning_rate = 'NaN'::float8 OR learning_rate <= 0 OR learning_rate > 10 THEN
		RAISE EXCEPTION 'learning_rate must be a number in (0, 10], not %', learning_rate
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF activate NOT IN ('if_better', 'always', 'never') THEN
		RAISE EXCEPTION 'activate must be ''if_better'', ''always'' or ''never'', not ''%''', activate
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF max_windows < 1 OR max_windows > 5000000 THEN
		RAISE EXCEPTION 'max_windows must be between 1 and 5000000, not %', max_windows
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	as_of := pozytywka.resolve_as_of(as_of);

	-- every window of window_weeks weeks that ends in a week with data of
	-- its track (zeros before the track's first week) and whose next week
	-- is known; the most recent max_windows of them
	WITH cfg AS (SELECT * FROM pozytywka.effective_settings),
	h AS (
		SELECT h.track_id, h.week, h.plays, h.likes, h.skips
		  FROM pozytywka.weekly_history AS h
		 WHERE h.week <= as_of
	),
	firsts AS (SELECT h.track_id, min(h.week) AS fw FROM h GROUP BY h.track_id),
	dense AS (
		SELECT f.track_id, f.fw, g.week::date AS week,
			   coalesce(h.plays, 0)::float8 AS p, coalesce(h.likes, 0)::float8 AS l,
			   coalesce(h.skips, 0)::float8 AS s
		  FROM firsts AS f
		 CROSS JOIN LATERAL generate_series(f.fw - 7 * (window_weeks - 1), as_of, interval '7 days') AS g(week)
		  LEFT JOIN h ON h.track_id = f.track_id AND h.week = g.week::date
	),
	scored AS (
		SELECT d.*, cfg.w_play * d.p + cfg.w_like * d.l - cfg.w_skip * d.s AS score
		  FROM dense AS d CROSS JOIN cfg
	),
	win AS (
		SELECT sc.track_id, sc.week, sc.fw,
			   array_agg(ARRAY[sc.score, sc.p, sc.l, sc.s]) OVER w AS raw,
			   count(*) OVER w AS len,
			   lead(sc.score) OVER (PARTITION BY sc.track_id ORDER BY sc.week) AS next_score
		  FROM scored AS sc
		WINDOW w AS (PARTITION BY sc.track_id ORDER BY sc.week
					 ROWS BETWEEN window_weeks - 1 PRECEDING AND CURRENT ROW)
	),
	sel AS (
		SELECT w.track_id, w.week, w.raw, w.next_score,
			   ((w.week + 7) - date '2000-01-03') / 7 AS target_week,
			   coalesce((w.week - tr.release_date) / 7.0, -1)::float8 AS age
		  FROM win AS w
		  LEFT JOIN pozytywka.tracks AS tr ON tr.id = w.track_id
		 WHERE w.len = window_weeks AND w.next_score IS NOT NULL AND w.week >= w.fw
		 ORDER BY w.week DESC, w.track_id
		 LIMIT max_windows
	)
	SELECT array_agg(sel.raw ORDER BY sel.week, sel.track_id),
		   array_agg(sel.next_score ORDER BY sel.week, sel.track_id),
		   array_agg(sel.target_week ORDER BY sel.week, sel.track_id),
		   array_agg(sel.age ORDER BY sel.week, sel.track_id),
		   count(*)
	  INTO v_raw, v_next, v_week, v_age, n
	  FROM sel;
	IF n = 0 THEN
		RAISE EXCEPTION 'not enough history to train: no track has % weeks of history followed by a known week up to %',
			window_weeks, as_of
			USING ERRCODE = 'no_data_found';
	END IF;

	SELECT * INTO active FROM pozytywka.models AS x WHERE x.kind = 'lstm' AND x.is_active;
	IF active.model_id IS NOT NULL
	   AND NOT (active.normalisation ->> 'feature_version' = '1'
				AND active.normalisation ->> 'window' = window_weeks::text) THEN
		active := NULL;			-- not comparable on these windows
	END IF;
	SELECT * INTO fit FROM pozytywka.lstm_fit(v_raw, v_next, v_week, v_age, hidden, layers, epochs,
		batch_size, learning_rate, dropout, patience, validation_weeks, seed, weighted,
		active.weights,
		CASE WHEN active.model_id IS NOT NULL THEN
			ARRAY(SELECT v::float8 FROM jsonb_array_elements_text(active.normalisation -> 'mean') AS v) END,
		CASE WHEN active.model_id IS NOT NULL THEN
			ARRAY(SELECT v::float8 FROM jsonb_array_elements_text(active.normalisation -> 'std') AS v) END,
		(active.normalisation ->> 'target_mean')::float8,
		(active.normalisation ->> 'target_std')::float8);

	INSERT INTO pozytywka.models (kind, hyperparams, normalisation, weights, trained_through, metrics)
	VALUES ('lstm',
			jsonb_build_object('window_weeks', window_weeks, 'hidden', hidden, 'layers', layers,
							   'epochs', epochs, 'batch_size', batch_size,
							   'learning_rate', learning_rate, 'dropout', dropout,
							   'patience', patience, 'validation_weeks', validation_weeks,
							   'seed', seed, 'weighted', weighted, 'max_windows', max_windows,
							   'optimizer', 'adam', 'loss', CASE WHEN weighted THEN 'weighted_mse' ELSE 'mse' END,
							   'input_size', 5, 'source', 'lstm_train'),
			fit.normalisation, fit.weights, as_of,
			fit.metrics || jsonb_build_object('compared_with_model', active.model_id))
	RETURNING models.model_id INTO id;

	better := active.model_id IS NULL
		OR (fit.metrics ->> 'active_val_mse_log1p') IS NULL
		OR (fit.metrics ->> 'val_mse_log1p')::float8 < (fit.metrics ->> 'active_val_mse_log1p')::float8;
	IF activate = 'always' OR (activate = 'if_better' AND better) THEN
		PERFORM @extschema@.lstm_activate(id);
		PERFORM pozytywka.cache_lstm_inputs(NULL);
		RAISE NOTICE 'lstm_train: model % stored and activated (validation MSE of log1p score %, overlap@50 %)',
			id, fit.metrics ->> 'val_mse_log1p', fit.metrics ->> 'val_overlap_at_50';
	ELSE
		RAISE NOTICE 'lstm_train: model % stored, not activated (validation MSE of log1p score % vs active model %: %)',
			id, fit.metrics ->> 'val_mse_log1p', active.model_id, fit.metrics ->> 'active_val_mse_log1p';
	END IF;
	RETURN id;
END;
$$;

-- As a model kind for top_tracks_next_week / backtest_top_tracks / predict:
-- the active LSTM model.
CREATE OR REPLACE FUNCTION pozytywka.forecast_lstm(as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT p.track_id, p.predicted_score FROM @extschema@.lstm_predict_all(NULL, as_of) AS p;
$$;

-- The kind is available from as_of when the active model was trained on
-- data up to as_of at most: a forecast from an earlier week would be
-- in-sample for it (so 'auto' never scores the LSTM on weeks it has seen).
CREATE OR REPLACE FUNCTION pozytywka.lstm_available(as_of date)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT EXISTS (SELECT 1 FROM pozytywka.models AS m
					WHERE m.kind = 'lstm' AND m.is_active
					  AND m.normalisation ->> 'feature_version' = '1'
					  AND m.trained_through <= as_of);
$$;

-- Called by weekly_refresh(): when an LSTM model is active, train a new one
-- on the data up to the latest complete week with the same hyper-parameters
-- and activate it if it is better on validation.  NULL when there is none.
CREATE OR REPLACE FUNCTION pozytywka.weekly_retrain()
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	m pozytywka.models;
	hp jsonb;
	id bigint;
BEGIN
	SELECT * INTO m FROM pozytywka.models AS x
	 WHERE x.kind = 'lstm' AND x.is_active AND x.hyperparams ->> 'source' = 'lstm_train';
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	hp := m.hyperparams;
	id := @extschema@.lstm_train(
		window_weeks => (hp ->> 'window_weeks')::integer,
		hidden => (hp ->> 'hidden')::integer,
		layers => (hp ->> 'layers')::integer,
		epochs => (hp ->> 'epochs')::integer,
		batch_size => (hp ->> 'batch_size')::integer,
		learning_rate => (hp ->> 'learning_rate')::float8,
		dropout => (hp ->> 'dropout')::float8,
		patience => (hp ->> 'patience')::integer,
		validation_weeks => (hp ->> 'validation_weeks')::integer,
		seed => (hp ->> 'seed')::bigint,
		weighted => (hp ->> 'weighted')::boolean,
		activate => 'if_better',
		max_windows => (hp ->> 'max_windows')::integer);
	RETURN (SELECT jsonb_build_object('model_id', x.model_id, 'activated', x.is_active,
									  'previous_model_id', m.model_id,
									  'val_mse_log1p', x.metrics -> 'val_mse_log1p',
									  'val_overlap_at_50', x.metrics -> 'val_overlap_at_50')
			  FROM pozytywka.models AS x WHERE x.model_id = id);
END;
$$;

-- from 45_cache.sql

-- The lock is taken in a statement of its own: it waits for a refresh in
-- progress (cache_forecasts() holds SHARE ROW EXCLUSIVE) to commit, and the
-- DELETEs after it, with a snapshot taken after the wait (READ COMMITTED),
-- see and drop the rows that refresh just wrote.  (A DELETE alone could take
-- its snapshot before waiting for the lock and miss them: a lost
-- invalidation, found by test/shell/concurrency.sh.)
CREATE OR REPLACE FUNCTION pozytywka.invalidate_forecasts(from_week date)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	LOCK TABLE pozytywka.forecast_runs IN ROW EXCLUSIVE MODE;
	DELETE FROM pozytywka.forecast_runs AS r WHERE r.as_of >= from_week;
	-- the choice for as_of is backtested on weeks up to as_of
	DELETE FROM pozytywka.auto_choice AS c WHERE c.as_of >= from_week;
	DELETE FROM pozytywka.lstm_inputs AS i WHERE i.as_of >= from_week;
END;
$$;

-- Forecasts of trained models (and of the ensembles and automatic choices
-- built on them) depend on the active model and on the catalogue (a
-- track's age comes from its release date): drop them when either changes.
CREATE OR REPLACE FUNCTION pozytywka.invalidate_model_forecasts(inputs_too boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	LOCK TABLE pozytywka.forecast_runs IN ROW EXCLUSIVE MODE;
	DELETE FROM pozytywka.forecast_runs AS r
	 USING pozytywka.model_kinds AS k
	 WHERE k.name = r.model AND k.family IN ('neural', 'ensemble');
	DELETE FROM pozytywka.auto_choice;
	IF inputs_too THEN
		DELETE FROM pozytywka.lstm_inputs;
	END IF;
END;
$$;

CREATE OR REPLACE FUNCTION pozytywka.models_changed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	PERFORM pozytywka.invalidate_model_forecasts(TG_TABLE_NAME = 'tracks');
	RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER models_invalidate AFTER UPDATE OR DELETE OR TRUNCATE ON pozytywka.models
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.models_changed();

CREATE OR REPLACE TRIGGER tracks_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pozytywka.tracks
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.models_changed();

CREATE OR REPLACE FUNCTION pozytywka.history_changed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	from_week date;
BEGIN
	IF TG_OP = 'TRUNCATE' THEN
		from_week := '-infinity';
	ELSIF TG_OP = 'INSERT' THEN
		SELECT min(n.week) INTO from_week FROM new_rows AS n;
	ELSIF TG_OP = 'DELETE' THEN
		SELECT min(o.week) INTO from_week FROM old_rows AS o;
	ELSE
		SELECT least((SELECT min(n.week) FROM new_rows AS n),
					 (SELECT min(o.week) FROM old_rows AS o)) INTO from_week;
	END IF;
	-- Events of the newest week of the event log cannot change a forecast:
	-- forecasts start from complete weeks only.  Skipping them keeps live
	-- ingestion from ever waiting on a forecast refresh (which holds a lock
	-- on forecast_runs, see cache_forecasts()).
	IF TG_TABLE_NAME = 'weekly_stats'
	   AND from_week > (SELECT max(w.week) - 7 FROM pozytywka.weekly_stats AS w) THEN
		RETURN NULL;
	END IF;
	IF from_week IS NOT NULL THEN
		PERFORM pozytywka.invalidate_forecasts(from_week);
	END IF;
	RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER weekly_stats_invalidate_insert AFTER INSERT ON pozytywka.weekly_stats
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.history_changed();

CREATE OR REPLACE TRIGGER weekly_stats_invalidate_update AFTER UPDATE ON pozytywka.weekly_stats
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.history_changed();

CREATE OR REPLACE TRIGGER weekly_stats_invalidate_delete AFTER DELETE ON pozytywka.weekly_stats
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.history_changed();

CREATE OR REPLACE TRIGGER weekly_stats_invalidate_truncate AFTER TRUNCATE ON pozytywka.weekly_stats
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.history_changed();

CREATE OR REPLACE TRIGGER imported_invalidate_insert AFTER INSERT ON pozytywka.imported_weekly_stats
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.history_changed();

CREATE OR REPLACE TRIGGER imported_invalidate_update AFTER UPDATE ON pozytywka.imported_weekly_stats
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.history_changed();

CREATE OR REPLACE TRIGGER imported_invalidate_delete AFTER DELETE ON pozytywka.imported_weekly_stats
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.history_changed();

CREATE OR REPLACE TRIGGER imported_invalidate_truncate AFTER TRUNCATE ON pozytywka.imported_weekly_stats
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.history_changed();

CREATE OR REPLACE FUNCTION pozytywka.settings_changed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	PERFORM pozytywka.invalidate_forecasts('-infinity');
	RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER settings_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON pozytywka.settings
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.settings_changed();

-- from 50_forecasts.sql

-- part 50: the forecasts of a model kind — the origin week, the model a
-- request names, computing and caching each kind's forecasts, and the
-- overlap of a kind's list with the real top n.

-- The week a forecast starts from.  NULL means the latest complete week
-- (latest_complete_week()); any other date names the week that contains
-- it (weeks start on Monday).  It must lie inside the data.
CREATE OR REPLACE FUNCTION pozytywka.resolve_as_of(as_of date)
RETURNS date
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	latest date := @extschema@.latest_complete_week();
	first_week date;
	w date;
BEGIN
	first_week := pozytywka.first_week();
	-- one (partial) week of events: the week before it is complete but empty
	IF latest IS NULL OR latest < first_week THEN
		RAISE EXCEPTION 'there is no complete week of data yet'
			USING ERRCODE = 'no_data_found',
				  HINT = 'Load events into pozytywka.sessions (pozytywka-import, generate_demo_data()) or weekly counts into pozytywka.imported_weekly_stats.';
	END IF;
	IF as_of IS NULL THEN
		RETURN latest;
	END IF;
	IF as_of::text IN ('infinity', '-infinity') THEN
		RAISE EXCEPTION 'as_of must be a finite date'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	w := date_trunc('week', as_of)::date;
	IF w < first_week OR w > latest THEN
		RAISE EXCEPTION 'as_of % is outside the data', as_of
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('The data cover the complete weeks from %s to %s (weeks start on Monday).',
								  first_week, latest);
	END IF;
	RETURN w;
END;
$$;

-- Which model kind a model_type names.  'auto' is resolved by
-- pozytywka.auto_model(); anything else must be a registered kind.
CREATE OR REPLACE FUNCTION pozytywka.resolve_model(model_type text, as_of date)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	kind text;
BEGIN
	IF model_type IS NULL THEN
		RAISE EXCEPTION 'model_type must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Use ''auto'' to let pozytywka choose.';
	END IF;
	IF lower(model_type) = 'auto' THEN
		RETURN pozytywka.auto_model(as_of);
	END IF;
	SELECT m.name INTO kind FROM pozytywka.model_kinds AS m WHERE m.name = lower(model_type);
	IF kind IS NULL THEN
		RAISE EXCEPTION 'unknown model type "%"', model_type
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Known model types: auto, ' ||
					  (SELECT string_agg(m.name, ', ' ORDER BY m.name) FROM pozytywka.model_kinds AS m) || '.';
	END IF;
	RETURN kind;
END;
$$;

-- The actual top-n of one week (ties by track_id).
CREATE OR REPLACE FUNCTION pozytywka.actual_top(n integer, of_week date)
RETURNS TABLE (track_id text, score double precision)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT ws.track_id, ws.score
	  FROM pozytywka.weekly_scores AS ws
	 WHERE ws.week = of_week
	 ORDER BY ws.score DESC, ws.track_id
	 LIMIT n;
$$;

-- Forecasts of one model kind for the week after as_of (as_of resolved),
-- computed now.
CREATE OR REPLACE FUNCTION pozytywka.compute_forecasts(kind text, as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	fn regprocedure;
BEGIN
	SELECT m.forecast_function INTO STRICT fn FROM pozytywka.model_kinds AS m WHERE m.name = kind;
	RETURN QUERY EXECUTE format('SELECT f.track_id, f.predicted_score::float8 FROM %s AS f WHERE f.predicted_score IS NOT NULL',
								regexp_replace(fn::text, '\(date\)$', '($1)'))
		USING as_of;
END;
$$;

-- The same, from the cache when it holds them.
CREATE OR REPLACE FUNCTION pozytywka.model_forecasts(kind text, as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	-- while changes of weeks up to as_of are pending, the cache is behind
	IF NOT pozytywka.pending_through(model_forecasts.as_of)
	   AND EXISTS (SELECT 1 FROM pozytywka.forecast_runs AS r
				WHERE r.model = kind AND r.as_of = model_forecasts.as_of) THEN
		RETURN QUERY SELECT c.track_id, c.predicted_score
					   FROM pozytywka.forecast_cache AS c
					  WHERE c.model = kind AND c.as_of = model_forecasts.as_of;
	ELSE
		RETURN QUERY SELECT * FROM pozytywka.compute_forecasts(kind, as_of);
	END IF;
END;
$$;

-- Compute and cache one model's forecasts from as_of, unless cached or the
-- caller may not write the cache.  The lock makes a concurrent change of
-- the history wait until the new cache rows are committed, so that its
-- invalidation sees (and drops) them; the forecasts are computed after the
-- lock is held, from a snapshot that includes every committed change.
CREATE OR REPLACE FUNCTION pozytywka.cache_forecasts(kind text, as_of date)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	started timestamptz := clock_timestamp();
BEGIN
	IF NOT has_table_privilege('pozytywka.forecast_cache', 'INSERT')
	   OR NOT pozytywka.merge_before_caching(as_of) THEN
		RETURN false;
	END IF;
	LOCK TABLE pozytywka.forecast_runs IN SHARE ROW EXCLUSIVE MODE;
	IF EXISTS (SELECT 1 FROM pozytywka.forecast_runs AS r
				WHERE r.model = kind AND r.as_of = cache_forecasts.as_of) THEN
		RETURN false;
	END IF;
	INSERT INTO pozytywka.forecast_runs (model, as_of) VALUES (kind, as_of);
	INSERT INTO pozytywka.forecast_cache (model, as_of, track_id, predicted_score)
	SELECT kind, as_of, f.track_id, f.predicted_score
	  FROM pozytywka.compute_forecasts(kind, as_of) AS f;
	UPDATE pozytywka.forecast_runs AS r
	   SET seconds = extract(epoch FROM clock_timestamp() - started)
	 WHERE r.model = kind AND r.as_of = cache_forecasts.as_of;
	RETURN true;
END;
$$;

-- The overlap of one model's top-n forecast from week t-1 with the actual
-- top-n of week t (NULL when week t had no tracks with events).
CREATE OR REPLACE FUNCTION pozytywka.overlap_at(kind text, n integer, target date)
RETURNS TABLE (overlap double precision, hits integer, actual_n integer)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	WITH predicted AS (
		SELECT f.track_id
		  FROM pozytywka.model_forecasts(kind, target - 7) AS f
		  LEFT JOIN pozytywka.weekly_scores AS lw
			ON lw.track_id = f.track_id AND lw.week = target - 7
		 ORDER BY f.predicted_score DESC, lw.score DESC NULLS LAST, f.track_id
		 LIMIT n
	), actual AS (
		SELECT a.track_id FROM pozytywka.actual_top(n, target) AS a
	)
	SELECT CASE WHEN count(*) = 0 THEN NULL
				ELSE (count(p.track_id))::float8 / count(*) END,
		   count(p.track_id)::integer,
		   count(*)::integer
	  FROM actual LEFT JOIN predicted AS p ON p.track_id = actual.track_id;
$$;

-- from 51_auto_choice.sql

-- Can this kind forecast from as_of? (a trained model, enough history...)
CREATE OR REPLACE FUNCTION pozytywka.model_available(kind text, as_of date)
RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	fn regprocedure;
	ok boolean;
BEGIN
	SELECT m.available_function INTO fn FROM pozytywka.model_kinds AS m WHERE m.name = kind;
	IF fn IS NULL THEN
		RETURN true;
	END IF;
	EXECUTE format('SELECT %s', regexp_replace(fn::text, '\(date\)$', '($1)')) INTO ok USING as_of;
	RETURN coalesce(ok, false);
END;
$$;

-- Each candidate kind's backtest score for the choice at as_of: its mean
-- overlap, and that mean less the switching margin for every kind but the
-- default (what the choice compares).
CREATE OR REPLACE FUNCTION pozytywka.auto_scores(as_of date)
RETURNS TABLE (model text, preference integer, mean_overlap double precision, weeks integer,
			   score double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	cfg record;
	first_week date := pozytywka.first_week();
	targets date[];
	default_kind text;
BEGIN
	SELECT * INTO STRICT cfg FROM pozytywka.effective_settings;
	SELECT p.name INTO default_kind FROM pozytywka.auto_preference AS p ORDER BY p.position LIMIT 1;
	-- target weeks t <= as_of whose origin t-1 is a week of data
	SELECT coalesce(array_agg(g.t::date ORDER BY g.t), '{}') INTO targets
	  FROM generate_series(as_of - 7 * (cfg.auto_weeks - 1), as_of, interval '7 days') AS g (t)
	 WHERE g.t::date - 7 >= first_week;
	RETURN QUERY
	SELECT s.name, s.position, s.mean, s.n,
		   s.mean - CASE WHEN s.name = default_kind THEN 0 ELSE cfg.auto_margin END
	  FROM (SELECT m.name, coalesce(p.position, 10000) AS position,
				   CASE WHEN cardinality(targets) >= 2
						THEN (SELECT avg(o.overlap) FROM unnest(targets) AS t (week),
								   LATERAL pozytywka.overlap_at(m.name, cfg.auto_n, t.week) AS o) END AS mean,
				   cardinality(targets) AS n
			  FROM pozytywka.model_kinds AS m
			  LEFT JOIN pozytywka.auto_preference AS p ON p.name = m.name
			 WHERE m.auto_candidate AND pozytywka.model_available(m.name, as_of)) AS s;
END;
$$;

CREATE OR REPLACE FUNCTION pozytywka.auto_model(as_of date)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	chosen text;
BEGIN
	IF NOT pozytywka.pending_through(auto_model.as_of) THEN
		SELECT c.model INTO chosen FROM pozytywka.auto_choice AS c WHERE c.as_of = auto_model.as_of;
	END IF;
	IF chosen IS NULL THEN
		SELECT a.model INTO chosen FROM pozytywka.auto_scores(auto_model.as_of) AS a
		 ORDER BY a.score DESC NULLS LAST, a.preference, a.model LIMIT 1;
	END IF;
	RETURN chosen;
END;
$$;

-- Cache the forecasts of every auto candidate for the origins the choice at
-- as_of needs, then the choice itself.  Used by refresh_forecasts() and the
-- backtest; returns the chosen kind.
CREATE OR REPLACE FUNCTION pozytywka.cache_auto_choice(as_of date)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	cfg record;
	chosen text;
	scores jsonb;
BEGIN
	IF NOT pozytywka.merge_before_caching(as_of) THEN
		RETURN pozytywka.auto_model(as_of);
	END IF;
	SELECT c.model INTO chosen FROM pozytywka.auto_choice AS c WHERE c.as_of = cache_auto_choice.as_of;
	IF chosen IS NOT NULL THEN
		RETURN chosen;
	END IF;
	SELECT * INTO STRICT cfg FROM pozytywka.effective_settings;
	PERFORM pozytywka.cache_forecasts(m.name, g.t::date - 7)
	   FROM pozytywka.model_kinds AS m,
			generate_series(as_of - 7 * (cfg.auto_weeks - 1), as_of, interval '7 days') AS g (t)
	  WHERE m.auto_candidate
		AND pozytywka.model_available(m.name, as_of)
		AND g.t::date - 7 >= pozytywka.first_week();
	SELECT (array_agg(a.model ORDER BY a.score DESC NULLS LAST, a.preference, a.model))[1],
		   jsonb_object_agg(a.model, a.mean_overlap)
	  INTO chosen, scores
	  FROM pozytywka.auto_scores(as_of) AS a;
	IF chosen IS NOT NULL AND has_table_privilege('pozytywka.auto_choice', 'INSERT') THEN
		INSERT INTO pozytywka.auto_choice (as_of, model, scores)
		VALUES (as_of, chosen, scores)
		ON CONFLICT DO NOTHING;
	END IF;
	RETURN chosen;
END;
$$;

-- from 51_toplist.sql

-- part 51: the top list, its backtest, and the former microservice's
-- predict().

CREATE OR REPLACE FUNCTION pozytywka.check_list_size(n integer)
RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	IF n IS NULL THEN
		RAISE EXCEPTION 'n must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF n <= 0 OR n > 100000 THEN
		RAISE EXCEPTION 'n must be between 1 and 100000, not %', n
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END;
$$;

-- The predicted top-n for the week after as_of.  Ties are broken by last
-- week's score, then by track_id, so the list is deterministic.
CREATE OR REPLACE FUNCTION @extschema@.top_tracks_next_week(n integer DEFAULT 50,
												 model_type text DEFAULT 'auto',
												 as_of date DEFAULT NULL)
RETURNS TABLE (rank integer, track_id text, track_name text, artist_name text,
			   predicted_score double precision, last_week_score double precision,
			   model text, lower double precision, upper double precision,
			   p_top double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	origin date;
	kind text;
	cal record;
BEGIN
	PERFORM pozytywka.check_list_size(n);
	IF model_type IS NULL THEN
		PERFORM pozytywka.resolve_model(NULL, NULL);
	END IF;
	origin := pozytywka.resolve_as_of(as_of);
	kind := pozytywka.resolve_model(model_type, origin);
	-- the 80% interval and p_top: from the model's own backtest up to
	-- origin (pozytywka.model_calibration, part 52)
	SELECT * INTO cal FROM pozytywka.model_calibration(kind, n, origin);
	-- Only the tracks that can make the list (the n best forecasts and any
	-- tied with the n-th) are joined with last week's scores and the
	-- catalogue, so a cached list costs little more than reading the cache.
	RETURN QUERY
	WITH f AS MATERIALIZED (
		SELECT mf.track_id, mf.predicted_score FROM pozytywka.model_forecasts(kind, origin) AS mf
	), cut AS (
		SELECT f.predicted_score FROM f ORDER BY f.predicted_score DESC OFFSET n - 1 LIMIT 1
	), top AS (
		SELECT f.track_id, f.predicted_score
		  FROM f
		 WHERE f.predicted_score >= coalesce((SELECT cut.predicted_score FROM cut), '-infinity')
	), lw AS (
		SELECT h.track_id,
			   sum(s.w_play * h.plays + s.w_like * h.likes - s.w_skip * h.skips) AS score
		  FROM pozytywka.weekly_rows AS h, pozytywka.effective_settings AS s
		 WHERE h.week = origin AND h.track_id IN (SELECT top.track_id FROM top)
		 GROUP BY h.track_id
	)
	SELECT l.rank, l.track_id, l.track_name, l.artist_name, l.predicted_score, l.last_week_score,
		   kind, pozytywka.interval_bound(l.predicted_score, cal.lower_q),
		   pozytywka.interval_bound(l.predicted_score, cal.upper_q), cal.p_by_rank[l.rank]
	  FROM (SELECT (row_number() OVER (ORDER BY top.predicted_score DESC,
											 lw.score DESC NULLS LAST, top.track_id))::integer AS rank,
				   top.track_id, t.name AS track_name, a.name AS artist_name, top.predicted_score,
				   coalesce(lw.score, 0) AS last_week_score
			  FROM top
			  LEFT JOIN lw ON lw.track_id = top.track_id
			  LEFT JOIN pozytywka.tracks AS t ON t.id = top.track_id
			  LEFT JOIN pozytywka.artists AS a ON a.id = t.id_artist
			 ORDER BY top.predicted_score DESC, lw.score DESC NULLS LAST, top.track_id
			 LIMIT n) AS l
	 ORDER BY l.rank;
END;
$$;

COMMENT ON FUNCTION @extschema@.top_tracks_next_week(integer, text, date) IS
	'The predicted top-n tracks of the week after as_of (default: the latest complete week), with an 80% prediction interval and the probability of the real top n';

-- Rolling-origin backtest: for each of the last `weeks` complete weeks t,
-- forecast from the week before t (using nothing from t on) and compare
-- the predicted top-n with the actual top-n of t.
-- overlap = |predicted ∩ actual| / |actual|  (|actual| = n unless week t
-- had fewer than n tracks with events); entries_caught = the share of
-- week t's new entries (real top n of t not in the real top n of t-1,
-- new_entries of them) that the list predicted (NULL when none); brier =
-- Brier score of the list rows' p_top, brier_persistence = that of
-- persistence's implied 0/1 (in last week's top n) on the same rows;
-- coverage = share of rows whose real score fell in the 80% interval.
-- model_type 'all' runs every registered model kind and 'auto'.
CREATE OR REPLACE FUNCTION @extschema@.backtest_top_tracks(n integer DEFAULT 50,
												weeks integer DEFAULT 8,
												model_type text DEFAULT 'auto')
RETURNS TABLE (week date, model text, model_used text, overlap double precision,
			   hits integer, actual_n integer, entries_caught double precision,
			   new_entries integer, brier double precision,
			   brier_persistence double precision, coverage double precision)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	latest date;
	first_week date;
	target date;
	kinds text[];
	k text;
	used text;
BEGIN
	PERFORM pozytywka.check_list_size(n);
	IF weeks IS NULL THEN
		RAISE EXCEPTION 'weeks must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF weeks <= 0 OR weeks > 520 THEN
		RAISE EXCEPTION 'weeks must be between 1 and 520, not %', weeks
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF model_type IS NULL THEN
		PERFORM pozytywka.resolve_model(NULL, NULL);
	END IF;
	latest := pozytywka.resolve_as_of(NULL);
	first_week := pozytywka.first_week();
	IF lower(model_type) = 'all' THEN
		SELECT array_agg(m.name ORDER BY m.name) || ARRAY['auto'] INTO kinds
		  FROM pozytywka.model_kinds AS m;
	ELSIF lower(model_type) = 'auto' THEN
		kinds := ARRAY['auto'];
	ELSE
		kinds := ARRAY[pozytywka.resolve_model(model_type, latest)];
	END IF;

	FOR i IN REVERSE weeks - 1 .. 0 LOOP
		target := latest - 7 * i;
		-- the first week of data has no history to forecast from
		CONTINUE WHEN target - 7 < first_week;
		FOREACH k IN ARRAY kinds LOOP
			IF k = 'auto' THEN
				used := pozytywka.cache_auto_choice(target - 7);
			ELSE
				used := k;
			END IF;
			CONTINUE WHEN NOT pozytywka.model_available(used, target - 7);
			-- forecasts are cached (when the caller may write the cache), so
			-- repeated backtests and the automatic choice reuse them
			PERFORM pozytywka.cache_forecasts(used, target - 7);
			PERFORM pozytywka.cache_calibration(used, n, target - 7);
			RETURN QUERY
			SELECT target, k, used, o.overlap, o.hits, o.actual_n, o.entries_caught,
				   o.new_entries, o.brier, o.brier_persistence, o.coverage
			  FROM pozytywka.list_accuracy(used, n, target, true) AS o;
		END LOOP;
	END LOOP;
END;
$$;

COMMENT ON FUNCTION @extschema@.backtest_top_tracks(integer, integer, text) IS
	'Rolling-origin backtest of the top-n list: one row per week and model, overlap = share of the actual top-n that was predicted, entries_caught = share of the week''s new entries that was predicted, Brier scores of p_top and of persistence, coverage of the 80% interval';

-- Mean and worst overlap per model over the backtest weeks, the share of
-- all new entries caught, the mean Brier scores and interval coverage.
CREATE OR REPLACE FUNCTION @extschema@.backtest_summary(n integer DEFAULT 50,
											 weeks integer DEFAULT 8,
											 model_type text DEFAULT 'all')
RETURNS TABLE (model text, weeks_tested integer, mean_overlap double precision,
			   min_overlap double precision, max_overlap double precision,
			   entries_caught double precision, brier double precision,
			   brier_persistence double precision, coverage double precision)
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT b.model, pg_catalog.count(b.overlap)::integer, pg_catalog.avg(b.overlap),
		   pg_catalog.min(b.overlap), pg_catalog.max(b.overlap),
		   -- every week's entries count alike: caught / all of them
		   pg_catalog.sum(b.entries_caught * b.new_entries)
			   / NULLIF(pg_catalog.sum(b.new_entries) FILTER (WHERE b.entries_caught IS NOT NULL), 0),
		   pg_catalog.avg(b.brier), pg_catalog.avg(b.brier_persistence), pg_catalog.avg(b.coverage)
	  FROM @extschema@.backtest_top_tracks(n, weeks, model_type) AS b
	 GROUP BY b.model
	 ORDER BY avg(b.overlap) DESC NULLS LAST, b.model;
$$;

-- The former Flask microservice's contract:
--   predict('{"model_type": "arima"}') -> {"model": "arima", "prediction": [track ids]}
-- plus "p_top": each listed track's probability of the real top n.
-- Optional keys: "n" (default 50), "as_of" (a date).  model_type defaults to "auto".
CREATE OR REPLACE FUNCTION @extschema@.predict(request jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	req_model text := 'auto';
	req_n integer := 50;
	req_as_of date;
	unknown_keys text;
	result jsonb;
	probabilities jsonb;
	used text;
BEGIN
	IF request IS NULL THEN
		RAISE EXCEPTION 'request must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF jsonb_typeof(request) <> 'object' THEN
		RAISE EXCEPTION 'request must be a JSON object, not %', jsonb_typeof(request)
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Example: {"model_type": "arima"}';
	END IF;
	SELECT string_agg(key, ', ') INTO unknown_keys
	  FROM jsonb_object_keys(request) AS key
	 WHERE key NOT IN ('model_type', 'n', 'as_of');
	IF unknown_keys IS NOT NULL THEN
		RAISE EXCEPTION 'unknown key(s) in request: %', unknown_keys
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Known keys: model_type, n, as_of.';
	END IF;
	IF request ? 'model_type' THEN
		IF jsonb_typeof(request -> 'model_type') <> 'string' THEN
			RAISE EXCEPTION 'model_type must be a JSON string'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		req_model := request ->> 'model_type';
	END IF;
	IF request ? 'n' THEN
		IF jsonb_typeof(request -> 'n') <> 'number'
		   OR (request ->> 'n') !~ '^[0-9]{1,9}$' THEN
			RAISE EXCEPTION 'n must be a positive integer, not %', request -> 'n'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		req_n := (request ->> 'n')::integer;
	END IF;
	IF request ? 'as_of' THEN
		IF jsonb_typeof(request -> 'as_of') <> 'string'
		   OR (request ->> 'as_of') !~ '^\d{4}-\d{2}-\d{2}$' THEN
			RAISE EXCEPTION 'as_of must be a date string YYYY-MM-DD, not %', request -> 'as_of'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		-- the pattern admits 2024-02-30: a day that does not exist is a
		-- malformed request too, not a date/time overflow (22008)
		BEGIN
			req_as_of := (request ->> 'as_of')::date;
		EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
			RAISE EXCEPTION 'as_of must be a date string YYYY-MM-DD, not %', request -> 'as_of'
				USING ERRCODE = 'invalid_parameter_value',
					  DETAIL = 'That day does not exist.';
		END;
	END IF;

	SELECT coalesce(jsonb_agg(t.track_id ORDER BY t.rank), '[]'::jsonb), min(t.model),
		   coalesce(jsonb_agg(t.p_top ORDER BY t.rank), '[]'::jsonb)
	  INTO result, used, probabilities
	  FROM @extschema@.top_tracks_next_week(req_n, req_model, req_as_of) AS t;
	RETURN jsonb_build_object('model', coalesce(used, pozytywka.resolve_model(req_model, NULL)),
							  'prediction', result, 'p_top', probabilities);
END;
$$;

COMMENT ON FUNCTION @extschema@.predict(jsonb) IS
	'The former microservice: {"model_type": "arima"|"lstm"|...} -> {"model": ..., "prediction": [track ids]}';

-- from 52_uncertainty.sql

-- part 52: how sure the list is — the 80% prediction interval and the
-- probability of the real top n of every list row (split conformal, from
-- the model's own backtest), and their cache.  How good the lists were is
-- part 53.
--
-- Calibration of a model kind at an origin week as_of for a list of n: the
-- same backtest weeks t as the automatic choice (settings.auto_weeks up to
-- as_of; each list forecast from t-1 with nothing from t on), every row of
-- each of those lists:
--   residual = log1p(actual score of t) - log1p(predicted score)
--   hit      = the track was in the real top n of t
-- The 80% interval of a new row is predicted score x the residuals' split-
-- conformal 10% / 90% quantiles (on the log1p scale); p_top of rank r is
-- the share of rank-r rows that were hits, shrunk toward the overall share
-- and fitted non-increasing in rank (src/core/conformal.c).  Everything
-- comes from weeks up to as_of, so the backtest measures it out of sample.

CREATE OR REPLACE FUNCTION pozytywka.conformal_interval(residuals double precision[], level double precision)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'pz_conformal_interval_sql'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pozytywka.conformal_interval(double precision[], double precision) IS
	'Split-conformal {lower, upper} quantiles of residuals for a central coverage level';

CREATE OR REPLACE FUNCTION pozytywka.rank_probability(hits double precision[], counts double precision[],
										   prior_weight double precision)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'pz_rank_probability_sql'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pozytywka.rank_probability(double precision[], double precision[], double precision) IS
	'Probability of the real top n by predicted rank: shrunk hit rates fitted non-increasing (isotonic)';

-- score x exp(q) on the log1p scale, never negative (NULL without q or a
-- finite score), never an overflow (capped at exp(700))
CREATE OR REPLACE FUNCTION pozytywka.interval_bound(score double precision, q double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN score < 'Infinity'::float8	-- NaN sorts above Infinity
				THEN GREATEST(pg_catalog.exp(LEAST(pg_catalog.ln(1.0::float8 + GREATEST(score, 0.0::float8)) + q,
												   700.0::float8))
							  - 1.0::float8, 0.0::float8) END;
$$;

-- The list of one model kind for week target, forecast from target-7 (the
-- ranking of top_tracks_next_week), with what happened in week target.
CREATE OR REPLACE FUNCTION pozytywka.scored_list(kind text, n integer, target date)
RETURNS TABLE (rank integer, track_id text, predicted_score double precision,
			   actual_score double precision, hit boolean, was_top boolean)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	WITH predicted AS MATERIALIZED (
		SELECT f.track_id, f.predicted_score,
			   pg_catalog.row_number() OVER (ORDER BY f.predicted_score DESC, lw.score DESC NULLS LAST,
													f.track_id) AS rank
		  FROM pozytywka.model_forecasts(kind, target - 7) AS f
		  LEFT JOIN pozytywka.weekly_scores AS lw
			ON lw.track_id = f.track_id AND lw.week = target - 7
		 ORDER BY f.predicted_score DESC, lw.score DESC NULLS LAST, f.track_id
		 LIMIT n
	), actual AS MATERIALIZED (
		SELECT a.track_id FROM pozytywka.actual_top(n, target) AS a
	), prev AS MATERIALIZED (
		SELECT a.track_id FROM pozytywka.actual_top(n, target - 7) AS a
	)
	SELECT p.rank::integer, p.track_id, p.predicted_score, coalesce(w.score, 0.0::float8),
		   p.track_id IN (SELECT actual.track_id FROM actual),
		   p.track_id IN (SELECT prev.track_id FROM prev)
	  FROM predicted AS p
	  LEFT JOIN pozytywka.weekly_scores AS w ON w.track_id = p.track_id AND w.week = target;
$$;

-- The backtest weeks that calibrate kind at as_of (those of the automatic
-- choice where the kind could forecast).
CREATE OR REPLACE FUNCTION pozytywka.calibration_targets(kind text, as_of date)
RETURNS date[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT coalesce(pg_catalog.array_agg(g.t::date ORDER BY g.t), '{}')
	  FROM pozytywka.effective_settings AS s,
		   pg_catalog.generate_series(as_of - 7 * (s.auto_weeks - 1), as_of, interval '7 days') AS g (t)
	 WHERE g.t::date - 7 >= pozytywka.first_week()
	   AND pozytywka.model_available(kind, g.t::date - 7);
$$;

CREATE OR REPLACE FUNCTION pozytywka.compute_calibration(kind text, n integer, as_of date)
RETURNS TABLE (weeks integer, residuals integer, lower_q double precision,
			   upper_q double precision, p_by_rank double precision[])
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	targets date[] := pozytywka.calibration_targets(kind, as_of);
BEGIN
	IF cardinality(targets) < 2 THEN
		RETURN QUERY SELECT cardinality(targets), 0, NULL::float8, NULL::float8, NULL::float8[];
		RETURN;
	END IF;
	RETURN QUERY
	WITH r AS MATERIALIZED (
		SELECT l.rank, l.hit,
			   ln(1.0::float8 + greatest(l.actual_score, 0.0::float8))
				   - ln(1.0::float8 + greatest(l.predicted_score, 0.0::float8)) AS residual
		  FROM unnest(targets) AS t (week),
			   LATERAL pozytywka.scored_list(kind, n, t.week) AS l
	), by_rank AS (
		SELECT g.k, count(r.rank)::float8 AS c, (count(r.rank) FILTER (WHERE r.hit))::float8 AS h
		  FROM generate_series(1, n) AS g (k)
		  LEFT JOIN r ON r.rank = g.k
		 GROUP BY g.k
	), ci AS (
		-- a non-finite forecast has no usable residual (NaN sorts above Infinity)
		SELECT count(*) FILTER (WHERE r.residual > '-Infinity'::float8 AND r.residual < 'Infinity'::float8)::integer AS m,
			   CASE WHEN count(*) FILTER (WHERE r.residual > '-Infinity'::float8 AND r.residual < 'Infinity'::float8) > 0
					THEN pozytywka.conformal_interval(
							 array_agg(r.residual) FILTER (WHERE r.residual > '-Infinity'::float8
																AND r.residual < 'Infinity'::float8),
							 0.8::float8) END AS q
		  FROM r
	)
	SELECT cardinality(targets), ci.m, ci.q[1], ci.q[2],
		   CASE WHEN ci.m > 0
				THEN pozytywka.rank_probability((SELECT array_agg(b.h ORDER BY b.k) FROM by_rank AS b),
												(SELECT array_agg(b.c ORDER BY b.k) FROM by_rank AS b),
												1.0::float8) END
	  FROM ci;
END;
$$;

-- The kinds whose backtest calibrates kind, in order: its own, then (when
-- it has fewer than 2 backtest weeks — an LSTM trained on data up to
-- as_of never forecast the weeks before it out of sample) the pooled
-- model's, the global model it resembles most, then persistence's.
CREATE OR REPLACE FUNCTION pozytywka.calibration_kinds(kind text)
RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT pg_catalog.array_agg(k.name ORDER BY k.pos)
	  FROM (SELECT DISTINCT ON (x.name) x.name, x.pos
			  FROM unnest(ARRAY[kind, 'pooled', 'naive']) WITH ORDINALITY AS x (name, pos)
			 WHERE x.name IN (SELECT m.name FROM pozytywka.model_kinds AS m)
			 ORDER BY x.name, x.pos) AS k;
$$;

-- The calibration behind kind's list of n from as_of (from the cache when
-- it holds it); model says whose backtest it is.  NULLs when no kind has
-- 2 backtest weeks.
CREATE OR REPLACE FUNCTION pozytywka.model_calibration(kind text, n integer, as_of date)
RETURNS TABLE (model text, weeks integer, residuals integer, lower_q double precision,
			   upper_q double precision, p_by_rank double precision[])
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	k text;
	c record;
	found_it boolean;
	cached boolean := NOT pozytywka.pending_through(model_calibration.as_of);
BEGIN
	FOREACH k IN ARRAY pozytywka.calibration_kinds(kind) LOOP
		found_it := false;
		IF cached THEN
			SELECT fc.weeks, fc.residuals, fc.lower_q, fc.upper_q, fc.p_by_rank INTO c
			  FROM pozytywka.forecast_calibration AS fc
			 WHERE fc.model = k AND fc.as_of = model_calibration.as_of AND fc.n = model_calibration.n;
			found_it := FOUND;
		END IF;
		IF NOT found_it THEN
			SELECT * INTO c FROM pozytywka.compute_calibration(k, n, as_of);
		END IF;
		IF c.weeks >= 2 AND c.residuals > 0 THEN
			RETURN QUERY SELECT k, c.weeks, c.residuals, c.lower_q, c.upper_q, c.p_by_rank;
			RETURN;
		END IF;
	END LOOP;
	RETURN QUERY SELECT kind, 0, 0, NULL::float8, NULL::float8, NULL::float8[];
END;
$$;

-- Compute and cache the calibration (and the forecasts it needs) unless the
-- caller may not write the cache.  Used by the backtest and the weekly job.
CREATE OR REPLACE FUNCTION pozytywka.cache_calibration(kind text, n integer, as_of date)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	k text;
	t date;
	w integer;
BEGIN
	IF NOT has_table_privilege('pozytywka.forecast_calibration', 'INSERT')
	   OR NOT pozytywka.merge_before_caching(as_of) THEN
		RETURN false;
	END IF;
	FOREACH k IN ARRAY pozytywka.calibration_kinds(kind) LOOP
		CONTINUE WHEN NOT pozytywka.model_available(k, as_of);
		PERFORM pozytywka.cache_forecasts(k, as_of);
		FOREACH t IN ARRAY pozytywka.calibration_targets(k, as_of) LOOP
			PERFORM pozytywka.cache_forecasts(k, t - 7);
		END LOOP;
		LOCK TABLE pozytywka.forecast_runs IN SHARE ROW EXCLUSIVE MODE;
		IF EXISTS (SELECT 1 FROM pozytywka.forecast_runs AS r
					WHERE r.model = k AND r.as_of = cache_calibration.as_of)
		   AND NOT EXISTS (SELECT 1 FROM pozytywka.forecast_calibration AS fc
							WHERE fc.model = k AND fc.as_of = cache_calibration.as_of
							  AND fc.n = cache_calibration.n) THEN
			INSERT INTO pozytywka.forecast_calibration (model, as_of, n, weeks, residuals, lower_q,
														upper_q, p_by_rank)
			SELECT k, as_of, n, c.weeks, c.residuals, c.lower_q, c.upper_q, c.p_by_rank
			  FROM pozytywka.compute_calibration(k, n, as_of) AS c;
		END IF;
		SELECT fc.weeks INTO w
		  FROM pozytywka.forecast_calibration AS fc
		 WHERE fc.model = k AND fc.as_of = cache_calibration.as_of AND fc.n = cache_calibration.n
		   AND fc.residuals > 0;
		EXIT WHEN coalesce(w, 0) >= 2;
	END LOOP;
	RETURN true;
END;
$$;

-- from 53_list_reports.sql

-- part 53: how good the lists were — each list's rows with their outcome,
-- the accuracy of a list (overlap, new entries caught, Brier score), the
-- reliability table and why 'auto' chose its model.

-- One model kind's list for week target (forecast from target-7) with its
-- interval and p_top (calibrated on weeks up to target-7) and the outcome.
CREATE OR REPLACE FUNCTION pozytywka.list_rows(kind text, n integer, target date)
RETURNS TABLE (rank integer, track_id text, predicted_score double precision,
			   lower double precision, upper double precision, p_top double precision,
			   actual_score double precision, hit boolean, was_top boolean)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	cal record;
BEGIN
	SELECT * INTO cal FROM pozytywka.model_calibration(kind, n, target - 7);
	RETURN QUERY
	SELECT l.rank, l.track_id, l.predicted_score,
		   pozytywka.interval_bound(l.predicted_score, cal.lower_q),
		   pozytywka.interval_bound(l.predicted_score, cal.upper_q),
		   cal.p_by_rank[l.rank], l.actual_score, l.hit, l.was_top
	  FROM pozytywka.scored_list(kind, n, target) AS l;
END;
$$;

-- How good kind's list for week target was: overlap with the real top n,
-- the share of the week's new entries (real top n of target not in the
-- real top n of target-7) it caught, and, when calibrated, the Brier score
-- of its p_top over its rows, that of persistence's implied probability
-- (1 for last week's top n, else 0) on the same rows, and the share of
-- rows whose real score fell inside the 80% interval.
CREATE OR REPLACE FUNCTION pozytywka.list_accuracy(kind text, n integer, target date, calibrated boolean)
RETURNS TABLE (overlap double precision, hits integer, actual_n integer,
			   entries_caught double precision, new_entries integer, brier double precision,
			   brier_persistence double precision, coverage double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	RETURN QUERY
	WITH l AS MATERIALIZED (
		SELECT r.rank, r.track_id, r.lower, r.upper, r.p_top, r.actual_score, r.hit, r.was_top
		  FROM pozytywka.list_rows(kind, n, target) AS r
		 WHERE calibrated
		 UNION ALL
		SELECT s.rank, s.track_id, NULL, NULL, NULL, s.actual_score, s.hit, s.was_top
		  FROM pozytywka.scored_list(kind, n, target) AS s
		 WHERE NOT calibrated
	), actual AS MATERIALIZED (
		SELECT a.track_id FROM pozytywka.actual_top(n, target) AS a
	), entries AS MATERIALIZED (
		SELECT actual.track_id FROM actual
		EXCEPT
		SELECT a.track_id FROM pozytywka.actual_top(n, target - 7) AS a
	), counts AS (
		SELECT (SELECT count(*) FROM actual)::integer AS actual_n,
			   (SELECT count(*) FROM entries)::integer AS new_entries,
			   (SELECT count(*) FROM l WHERE l.hit)::integer AS hits,
			   (SELECT count(*) FROM l WHERE l.track_id IN (SELECT entries.track_id FROM entries))::integer
				   AS entries_hit
	)
	SELECT CASE WHEN c.actual_n > 0 THEN c.hits::float8 / c.actual_n END,
		   c.hits, c.actual_n,
		   CASE WHEN c.new_entries > 0 THEN c.entries_hit::float8 / c.new_entries END,
		   c.new_entries,
		   (SELECT avg((l.p_top - CASE WHEN l.hit THEN 1.0::float8 ELSE 0.0::float8 END) ^ 2.0::float8)
			  FROM l WHERE l.p_top IS NOT NULL),
		   (SELECT avg(CASE WHEN l.hit = l.was_top THEN 0.0::float8 ELSE 1.0::float8 END)
			  FROM l WHERE l.p_top IS NOT NULL),
		   (SELECT avg(CASE WHEN l.actual_score BETWEEN l.lower AND l.upper THEN 1.0::float8
							ELSE 0.0::float8 END)
			  FROM l WHERE l.lower IS NOT NULL)
	  FROM counts AS c;
END;
$$;

-- Reliability of p_top in the rolling backtest (the weeks and models of
-- backtest_top_tracks): the list rows binned by their p_top, and how many
-- of each bin made the real top n.  A calibrated list has observed close
-- to mean_p in every bin.
CREATE OR REPLACE FUNCTION @extschema@.backtest_reliability(n integer DEFAULT 50,
												 weeks integer DEFAULT 8,
												 model_type text DEFAULT 'auto')
RETURNS TABLE (model text, p_from double precision, p_to double precision, list_rows integer,
			   mean_p double precision, observed double precision)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	latest date;
	first_week date;
	target date;
	kinds text[];
	k text;
	used text;
	targets date[] := '{}';
	asked text[] := '{}';
	useds text[] := '{}';
BEGIN
	PERFORM pozytywka.check_list_size(n);
	IF weeks IS NULL THEN
		RAISE EXCEPTION 'weeks must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF weeks <= 0 OR weeks > 520 THEN
		RAISE EXCEPTION 'weeks must be between 1 and 520, not %', weeks
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF model_type IS NULL THEN
		PERFORM pozytywka.resolve_model(NULL, NULL);
	END IF;
	latest := pozytywka.resolve_as_of(NULL);
	first_week := pozytywka.first_week();
	IF pg_catalog.lower(model_type) = 'all' THEN
		SELECT array_agg(m.name ORDER BY m.name) || ARRAY['auto'] INTO kinds
		  FROM pozytywka.model_kinds AS m;
	ELSIF pg_catalog.lower(model_type) = 'auto' THEN
		kinds := ARRAY['auto'];
	ELSE
		kinds := ARRAY[pozytywka.resolve_model(model_type, latest)];
	END IF;
	FOR i IN REVERSE weeks - 1 .. 0 LOOP
		target := latest - 7 * i;
		CONTINUE WHEN target - 7 < first_week;
		FOREACH k IN ARRAY kinds LOOP
			used := CASE WHEN k = 'auto' THEN pozytywka.cache_auto_choice(target - 7) ELSE k END;
			CONTINUE WHEN NOT pozytywka.model_available(used, target - 7);
			PERFORM pozytywka.cache_forecasts(used, target - 7);
			PERFORM pozytywka.cache_calibration(used, n, target - 7);
			targets := targets || target;
			asked := asked || k;
			useds := useds || used;
		END LOOP;
	END LOOP;
	RETURN QUERY
	WITH r AS (
		SELECT p.k, l.p_top, l.hit
		  FROM unnest(targets, asked, useds) AS p (t, k, u),
			   LATERAL pozytywka.list_rows(p.u, n, p.t) AS l
		 WHERE l.p_top IS NOT NULL
	)
	SELECT r.k, b.bin / 10.0::float8, (b.bin + 1) / 10.0::float8, count(*)::integer, avg(r.p_top),
		   avg(CASE WHEN r.hit THEN 1.0::float8 ELSE 0.0::float8 END)
	  FROM r,
		   LATERAL (SELECT least(floor(r.p_top * 10.0::float8), 9.0::float8)::integer AS bin) AS b
	 GROUP BY r.k, b.bin
	 ORDER BY r.k, b.bin;
END;
$$;

COMMENT ON FUNCTION @extschema@.backtest_reliability(integer, integer, text) IS
	'Reliability table of p_top in the rolling backtest: list rows per probability bin, mean p_top and the share that made the real top n';

-- Why 'auto' chose its model at the origin week as_of (default: the latest
-- complete week): every registered kind's backtest score (mean overlap@auto_n
-- over the auto_weeks weeks up to as_of), the share of those weeks' new
-- entries its lists caught, how far behind the chosen kind it was, and the
-- reason in words.
CREATE OR REPLACE FUNCTION @extschema@.explain_choice(as_of date DEFAULT NULL)
RETURNS TABLE (model text, chosen boolean, mean_overlap double precision,
			   entries_caught double precision, weeks integer, behind double precision,
			   reason text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	origin date := pozytywka.resolve_as_of(as_of);
	cfg record;
	winner text;
	default_kind text;
	targets date[];
	w record;
	runner record;
	why text;
BEGIN
	SELECT * INTO STRICT cfg FROM pozytywka.effective_settings;
	winner := pozytywka.auto_model(origin);
	SELECT p.name INTO default_kind FROM pozytywka.auto_preference AS p ORDER BY p.position LIMIT 1;
	SELECT coalesce(array_agg(g.t::date ORDER BY g.t), '{}') INTO targets
	  FROM generate_series(origin - 7 * (cfg.auto_weeks - 1), origin, interval '7 days') AS g (t)
	 WHERE g.t::date - 7 >= pozytywka.first_week();
	RETURN QUERY
	WITH s AS MATERIALIZED (
		SELECT a.model, a.preference, a.mean_overlap, a.weeks, a.score
		  FROM pozytywka.auto_scores(origin) AS a
	), e AS (
		SELECT s.model,
			   sum(x.entries_caught * x.new_entries)
				   / NULLIF(sum(x.new_entries) FILTER (WHERE x.entries_caught IS NOT NULL), 0) AS caught
		  FROM s, unnest(targets) AS t (week),
			   LATERAL pozytywka.list_accuracy(s.model, cfg.auto_n, t.week, false) AS x
		 WHERE cardinality(targets) >= 2
		 GROUP BY s.model
	), win AS (
		SELECT s.* FROM s WHERE s.model = winner
	), run AS (
		SELECT s.* FROM s WHERE s.model <> winner
		 ORDER BY s.score DESC NULLS LAST, s.preference, s.model LIMIT 1
	)
	SELECT m.name, m.name = winner, s.mean_overlap, e.caught, s.weeks,
		   (SELECT win.mean_overlap FROM win) - s.mean_overlap,
		   CASE
			 WHEN NOT m.auto_candidate THEN
				 'not considered: this kind is not an auto candidate (model_kinds.auto_candidate)'
			 WHEN s.model IS NULL THEN
				 format('not available from %s (no model trained on data up to that week, or too little history)', origin)
			 WHEN m.name = winner AND s.mean_overlap IS NULL THEN
				 format('chosen: fewer than 2 backtest weeks before %s, so the first available kind of auto_preference is used', origin)
			 WHEN m.name = winner AND NOT EXISTS (SELECT 1 FROM run) THEN
				 format('chosen: the only kind available (mean overlap@%s %s over %s weeks)', cfg.auto_n,
						round(s.mean_overlap::numeric, 3), s.weeks)
			 WHEN m.name = winner AND s.score > (SELECT run.score FROM run) THEN
				 format('chosen: the best mean overlap@%s over the %s weeks to %s, %s — %s ahead of %s (%s)%s',
						cfg.auto_n, s.weeks, origin, round(s.mean_overlap::numeric, 3),
						round((s.mean_overlap - (SELECT run.mean_overlap FROM run))::numeric, 3),
						(SELECT run.model FROM run), round((SELECT run.mean_overlap FROM run)::numeric, 3),
						CASE WHEN cfg.auto_margin > 0 AND m.name <> default_kind
							 THEN format(', more than the switching margin %s over %s', cfg.auto_margin, default_kind)
							 ELSE '' END)
			 WHEN m.name = winner THEN
				 format('chosen: tied with %s at mean overlap@%s %s; ties go to the simpler kind (auto_preference)%s',
						(SELECT run.model FROM run), cfg.auto_n, round(s.mean_overlap::numeric, 3),
						CASE WHEN cfg.auto_margin > 0 AND m.name = default_kind
							 THEN format(', and no other kind beat %s by more than the switching margin %s',
										 default_kind, cfg.auto_margin)
							 ELSE '' END)
			 WHEN s.mean_overlap IS NULL THEN
				 'not scored: fewer than 2 backtest weeks'
			 WHEN s.mean_overlap > (SELECT win.mean_overlap FROM win) THEN
				 format('not chosen: ahead of %s by %s, not more than the switching margin %s',
						winner, round((s.mean_overlap - (SELECT win.mean_overlap FROM win))::numeric, 3),
						cfg.auto_margin)
			 WHEN s.mean_overlap = (SELECT win.mean_overlap FROM win) THEN
				 format('not chosen: tied with %s, which comes first in auto_preference', winner)
			 ELSE
				 format('not chosen: mean overlap@%s %s, %s behind %s', cfg.auto_n,
						round(s.mean_overlap::numeric, 3),
						round(((SELECT win.mean_overlap FROM win) - s.mean_overlap)::numeric, 3), winner)
		   END
	  FROM pozytywka.model_kinds AS m
	  LEFT JOIN s ON s.model = m.name
	  LEFT JOIN e ON e.model = m.name
	 ORDER BY m.name = winner DESC, s.score DESC NULLS LAST, s.preference, m.name;
END;
$$;

COMMENT ON FUNCTION @extschema@.explain_choice(date) IS
	'Why model_type ''auto'' chose its model: each kind''s backtest overlap, new entries caught, and the reason in words';

-- from 55_ensemble.sql

CREATE OR REPLACE FUNCTION pozytywka.forecast_ensemble(as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	RETURN QUERY
	WITH members AS (
		SELECT e.name, e.weight
		  FROM pozytywka.ensemble_members AS e
		 WHERE pozytywka.model_available(e.name, as_of)
	), parts AS (
		SELECT f.track_id, ln(1 + greatest(f.predicted_score, 0)) AS l, m.weight
		  FROM members AS m,
			   LATERAL pozytywka.model_forecasts(m.name, as_of) AS f
	)
	SELECT p.track_id, exp(sum(p.l * p.weight) / sum(p.weight)) - 1
	  FROM parts AS p
	 GROUP BY p.track_id;
END;
$$;

CREATE OR REPLACE FUNCTION pozytywka.ensemble_available(as_of date)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT count(*) >= 2
	  FROM pozytywka.ensemble_members AS e
	 WHERE pozytywka.model_available(e.name, as_of);
$$;

-- from 56_pictures.sql

-- part 56: pictures — what a person would rather look at than read.
--
--   track_sparkline(track_id, weeks, as_of): a track's weekly scores as a
--       small standalone SVG document, for dashboards that render it
--   report_html(n, backtest_weeks): one self-contained HTML page (inline
--       CSS and SVG, nothing fetched from anywhere) with next week's list
--       and a sparkline per track (#top-list), the forecast and its 80%
--       interval of the top tracks (#forecast), the backtest of every model
--       over time (#backtest) and the automatic choice (#auto-choice); the
--       command pozytywka-report writes it to a file
--
-- Every text taken from the data (track ids and names, artist names, model
-- names, reasons) goes through pozytywka.xml_escape; numbers are rounded to
-- what a person reads (pozytywka.display_score).

-- Text as XML/HTML character data or attribute value: & < > " ' escaped,
-- and the control characters XML 1.0 does not allow replaced by '?', so
-- that any track id gives a well-formed document.
CREATE OR REPLACE FUNCTION pozytywka.xml_escape(s text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
			   pg_catalog.regexp_replace(s, '[\x01-\x08\x0B\x0C\x0E-\x1F]', '?', 'g'),
			   '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;');
$$;

-- A score as a person reads it: whole numbers from 100 on, one decimal
-- below (NULL stays NULL).
CREATE OR REPLACE FUNCTION pozytywka.display_score(score double precision)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN score IS NULL OR score::text IN ('NaN', 'Infinity', '-Infinity') THEN NULL
				WHEN pg_catalog.abs(score) >= 100.0::float8 THEN pg_catalog.round(score::numeric, 0)
				ELSE pg_catalog.round(score::numeric, 1) END;
$$;

-- An SVG coordinate: one decimal.
CREATE OR REPLACE FUNCTION pozytywka.svg_num(x double precision)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.round(x::numeric, 1)::text;
$$;

-- The y coordinate of value v in a plot box from top to top + height whose
-- scale runs from lo (bottom) to hi (top); the middle when lo = hi.
CREATE OR REPLACE FUNCTION pozytywka.svg_y(v double precision, top double precision, height double precision,
								lo double precision, hi double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT top + height * (1.0::float8 - coalesce((v - lo) / NULLIF(hi - lo, 0.0::float8), 0.5::float8));
$$;

-- The points attribute of a polyline through ys (NULL elements skipped):
-- slot i of `slots` evenly spaced from x0 to x0 + width, values scaled by
-- svg_y.
CREATE OR REPLACE FUNCTION pozytywka.svg_points(ys double precision[], slots integer,
									 x0 double precision, width double precision,
									 top double precision, height double precision,
									 lo double precision, hi double precision)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(pg_catalog.string_agg(
			   pozytywka.svg_num(x0 + width * (u.i - 1)::float8 / GREATEST(slots - 1, 1)::float8)
			   || ',' || pozytywka.svg_num(pozytywka.svg_y(u.y, top, height, lo, hi)),
			   ' ' ORDER BY u.i), '')
	  FROM unnest(ys) WITH ORDINALITY AS u (y, i)
	 WHERE u.y IS NOT NULL;
$$;

-- A track's score in each of the `weeks` weeks ending with last_week, 0 in
-- the weeks without events (the view weekly_scores, current weights).
CREATE OR REPLACE FUNCTION pozytywka.track_weeks(track_id text, weeks integer, last_week date)
RETURNS TABLE (week date, score double precision)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT g.w::date, coalesce(s.score, 0.0::float8)
	  FROM generate_series($3 - 7 * ($2 - 1), $3, interval '7 days') AS g (w)
	  LEFT JOIN (SELECT ws.week, ws.score
				   FROM pozytywka.weekly_scores AS ws
				  WHERE ws.track_id = $1
					AND ws.week BETWEEN $3 - 7 * ($2 - 1) AND $3) AS s
		ON s.week = g.w::date
	 ORDER BY g.w;
$$;

-- A track is known when the catalogue lists it or it has weekly history.
CREATE OR REPLACE FUNCTION pozytywka.check_track(track_id text)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	IF track_id IS NULL THEN
		RAISE EXCEPTION 'track_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pozytywka.tracks AS t WHERE t.id = check_track.track_id)
	   AND NOT EXISTS (SELECT 1 FROM pozytywka.weekly_rows AS r WHERE r.track_id = check_track.track_id) THEN
		RAISE EXCEPTION 'no such track: %', track_id
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'The track is neither in pozytywka.tracks nor in the weekly history.';
	END IF;
END;
$$;

-- A sparkline: the scores of consecutive weeks as a line in a 120 x 32 box
-- (the scale from min(0, lowest) to the highest), the last week marked.
-- standalone: an SVG document of its own (with its namespace); otherwise
-- an element for an HTML page.  label names the series in its <title>.
CREATE OR REPLACE FUNCTION pozytywka.sparkline_svg(label text, weeks date[], scores double precision[],
										standalone boolean)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
AS $$
DECLARE
	w constant float8 := 120;
	h constant float8 := 32;
	pad constant float8 := 3;
	k integer := coalesce(cardinality(scores), 0);
	lo float8;
	hi float8;
	last_score float8 := scores[k];
BEGIN
	SELECT least(min(v), 0.0::float8), max(v) INTO lo, hi FROM unnest(scores) AS v;
	RETURN '<svg ' || CASE WHEN standalone THEN 'xmlns="http://www.w3.org/2000/svg" ' ELSE '' END
		|| 'class="sparkline" width="120" height="32" viewBox="0 0 120 32" role="img">'
		|| '<title>' || pozytywka.xml_escape(format('%s: weekly score, %s to %s; last %s, highest %s',
													 label, weeks[1], weeks[k],
													 pozytywka.display_score(last_score),
													 pozytywka.display_score(hi))) || '</title>'
		|| '<polyline fill="none" stroke="#2b6cb0" stroke-width="1.5" stroke-linejoin="round" points="'
		|| pozytywka.svg_points(scores, k, pad, w - 2 * pad, pad, h - 2 * pad, lo, hi) || '"/>'
		|| CASE WHEN k > 0 THEN
			   '<circle r="2.5" fill="#c05621" cx="' || pozytywka.svg_num(w - pad) || '" cy="'
			   || pozytywka.svg_num(pozytywka.svg_y(last_score, pad, h - 2 * pad, lo, hi)) || '"/>'
		   ELSE '' END
		|| '</svg>';
END;
$$;

-- A track's last `weeks` weeks (to as_of, default the latest complete week)
-- as a standalone SVG document.  An unknown track is an error; a known
-- track without events in those weeks gives a flat line at 0.
CREATE OR REPLACE FUNCTION @extschema@.track_sparkline(track_id text, weeks integer DEFAULT 12,
											as_of date DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET jit = off
AS $$
DECLARE
	origin date;
	ws date[];
	scores float8[];
BEGIN
	IF weeks IS NULL THEN
		RAISE EXCEPTION 'weeks must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF weeks < 2 OR weeks > 520 THEN
		RAISE EXCEPTION 'weeks must be between 2 and 520, not %', weeks
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM pozytywka.check_track(track_id);
	origin := pozytywka.resolve_as_of(as_of);
	SELECT array_agg(t.week ORDER BY t.week), array_agg(t.score ORDER BY t.week) INTO ws, scores
	  FROM pozytywka.track_weeks(track_id, weeks, origin) AS t;
	RETURN pozytywka.sparkline_svg(track_id, ws, scores, true);
END;
$$;

COMMENT ON FUNCTION @extschema@.track_sparkline(text, integer, date) IS
	'A track''s weekly scores of the last weeks (default 12, up to as_of) as a small standalone SVG document';

-- The forecast of one track: its recent weeks as a line, then next week's
-- predicted score as a point with its 80% interval as a bar (320 x 80).
CREATE OR REPLACE FUNCTION pozytywka.forecast_svg(label text, scores double precision[],
									   predicted double precision, lower double precision,
									   upper double precision)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
AS $$
DECLARE
	k integer := coalesce(cardinality(scores), 0);
	slots integer := k + 1;
	x0 constant float8 := 8;
	width constant float8 := 304;
	top constant float8 := 8;
	height constant float8 := 64;
	lo float8;
	hi float8;
	xf float8 := x0 + width;
	xl float8 := x0 + width * (k - 1)::float8 / GREATEST(slots - 1, 1)::float8;
BEGIN
	SELECT least(min(v), 0.0::float8), max(v) INTO lo, hi
	  FROM unnest(scores || ARRAY[predicted, lower, upper]) AS v;
	RETURN '<svg class="forecast" width="320" height="80" viewBox="0 0 320 80" role="img">'
		|| '<title>' || pozytywka.xml_escape(format('%s: the last %s weeks and next week''s forecast %s (80%% interval %s to %s)',
													 label, k, pozytywka.display_score(predicted),
													 coalesce(pozytywka.display_score(lower)::text, '?'),
													 coalesce(pozytywka.display_score(upper)::text, '?'))) || '</title>'
		|| '<line class="axis" x1="' || pozytywka.svg_num(x0) || '" x2="' || pozytywka.svg_num(xf)
		|| '" y1="' || pozytywka.svg_num(pozytywka.svg_y(lo, top, height, lo, hi)) || '" y2="'
		|| pozytywka.svg_num(pozytywka.svg_y(lo, top, height, lo, hi)) || '" stroke="#cbd5e0"/>'
		|| '<polyline class="history" fill="none" stroke="#2b6cb0" stroke-width="2" points="'
		|| pozytywka.svg_points(scores, slots, x0, width, top, height, lo, hi) || '"/>'
		|| CASE WHEN k > 0 AND predicted IS NOT NULL THEN
			   '<line class="step" stroke="#c05621" stroke-dasharray="4 3" x1="' || pozytywka.svg_num(xl)
			   || '" y1="' || pozytywka.svg_num(pozytywka.svg_y(scores[k], top, height, lo, hi))
			   || '" x2="' || pozytywka.svg_num(xf) || '" y2="'
			   || pozytywka.svg_num(pozytywka.svg_y(predicted, top, height, lo, hi)) || '"/>'
		   ELSE '' END
		|| CASE WHEN lower IS NOT NULL AND upper IS NOT NULL THEN
			   '<line class="interval" stroke="#c05621" stroke-width="6" stroke-opacity="0.35" x1="'
			   || pozytywka.svg_num(xf) || '" x2="' || pozytywka.svg_num(xf) || '" y1="'
			   || pozytywka.svg_num(pozytywka.svg_y(lower, top, height, lo, hi)) || '" y2="'
			   || pozytywka.svg_num(pozytywka.svg_y(upper, top, height, lo, hi)) || '"/>'
		   ELSE '' END
		|| CASE WHEN predicted IS NOT NULL THEN
			   '<circle class="point" r="4" fill="#c05621" cx="' || pozytywka.svg_num(xf) || '" cy="'
			   || pozytywka.svg_num(pozytywka.svg_y(predicted, top, height, lo, hi)) || '"/>'
		   ELSE '' END
		|| '</svg>';
END;
$$;

-- The backtest over time: overlap@n of each model (one line each, 'auto'
-- thicker) per backtest week, on a 0-1 scale, with a legend (700 x 300).
CREATE OR REPLACE FUNCTION pozytywka.backtest_svg(n integer, weeks date[], models text[], overlap_values double precision[])
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
AS $$
DECLARE
	palette constant text[] := ARRAY['#2b6cb0', '#c05621', '#2f855a', '#6b46c1', '#b7791f',
									 '#c53030', '#319795', '#718096', '#d53f8c', '#4a5568'];
	x0 constant float8 := 48;
	width constant float8 := 540;
	top constant float8 := 12;
	height constant float8 := 250;
	axis_weeks date[];
	kinds text[];
	out text;
	g float8;
	i integer;
	k text;
BEGIN
	SELECT coalesce(array_agg(DISTINCT w ORDER BY w), '{}') INTO axis_weeks FROM unnest(weeks) AS w;
	SELECT coalesce(array_agg(DISTINCT m ORDER BY m), '{}') INTO kinds FROM unnest(models) AS m;
	out := '<svg class="backtest" width="700" height="300" viewBox="0 0 700 300" role="img">'
		|| '<title>' || pozytywka.xml_escape(format('Backtest: overlap@%s of each model''s list with the real top %s, weeks %s to %s',
													 n, n, axis_weeks[1], axis_weeks[cardinality(axis_weeks)])) || '</title>';
	-- grid and the overlap scale
	FOREACH g IN ARRAY ARRAY[0, 0.25, 0.5, 0.75, 1]::float8[] LOOP
		out := out || '<line stroke="#e2e8f0" x1="' || pozytywka.svg_num(x0) || '" x2="'
			|| pozytywka.svg_num(x0 + width) || '" y1="' || pozytywka.svg_num(pozytywka.svg_y(g, top, height, 0, 1))
			|| '" y2="' || pozytywka.svg_num(pozytywka.svg_y(g, top, height, 0, 1)) || '"/>'
			|| '<text class="tick" text-anchor="end" x="' || pozytywka.svg_num(x0 - 6) || '" y="'
			|| pozytywka.svg_num(pozytywka.svg_y(g, top, height, 0, 1) + 4) || '">' || g::text || '</text>';
	END LOOP;
	-- the first and the last week under the axis
	IF cardinality(axis_weeks) > 0 THEN
		out := out || '<text class="tick" x="' || pozytywka.svg_num(x0) || '" y="' || pozytywka.svg_num(top + height + 18)
			|| '">' || axis_weeks[1]::text || '</text>'
			|| '<text class="tick" text-anchor="end" x="' || pozytywka.svg_num(x0 + width) || '" y="'
			|| pozytywka.svg_num(top + height + 18) || '">' || axis_weeks[cardinality(axis_weeks)]::text || '</text>';
	END IF;
	i := 0;
	FOREACH k IN ARRAY kinds LOOP
		i := i + 1;
		out := out || '<polyline class="model" fill="none" stroke="' || palette[1 + (i - 1) % cardinality(palette)]
			|| '" stroke-width="' || CASE WHEN k = 'auto' THEN '3.5' ELSE '1.5' END || '" points="'
			|| pozytywka.svg_points((SELECT array_agg(b.o ORDER BY aw.pos)
									   FROM unnest(axis_weeks) WITH ORDINALITY AS aw (w, pos)
									   LEFT JOIN unnest(weeks, models, overlap_values) AS b (w, m, o)
										 ON b.w = aw.w AND b.m = k),
									cardinality(axis_weeks), x0, width, top, height, 0, 1)
			|| '"><title>' || pozytywka.xml_escape(k) || '</title></polyline>'
			|| '<line stroke-width="4" stroke="' || palette[1 + (i - 1) % cardinality(palette)]
			|| '" x1="600" x2="620" y1="' || pozytywka.svg_num(top + 4 + 20 * (i - 1)) || '" y2="'
			|| pozytywka.svg_num(top + 4 + 20 * (i - 1)) || '"/>'
			|| '<text class="legend" x="626" y="' || pozytywka.svg_num(top + 8 + 20 * (i - 1)) || '">'
			|| pozytywka.xml_escape(k) || '</text>';
	END LOOP;
	RETURN out || '</svg>';
END;
$$;

-- Section #top-list: the next-week list as a table, a sparkline per track.
CREATE OR REPLACE FUNCTION pozytywka.report_top_list(n integer, origin date)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	rows_html text;
	used text;
BEGIN
	SELECT string_agg(
			   '<tr data-rank="' || t.rank || '"><td class="num">' || t.rank || '</td>'
			   || '<td><span class="name">' || pozytywka.xml_escape(coalesce(t.track_name, t.track_id)) || '</span>'
			   || '<br><span class="id">' || pozytywka.xml_escape(t.track_id) || '</span></td>'
			   || '<td>' || pozytywka.xml_escape(coalesce(t.artist_name, '')) || '</td>'
			   || '<td class="num">' || coalesce(pozytywka.display_score(t.predicted_score)::text, '') || '</td>'
			   || '<td class="num">' || coalesce(pozytywka.display_score(t.lower) || '&ndash;' || pozytywka.display_score(t.upper), '&ndash;') || '</td>'
			   || '<td class="num">' || coalesce(round(t.p_top * 100)::integer || ' %', '&ndash;') || '</td>'
			   || '<td>' || pozytywka.sparkline_svg(t.track_id, s.ws, s.scores, false) || '</td></tr>',
			   E'\n' ORDER BY t.rank),
		   min(t.model)
	  INTO rows_html, used
	  FROM @extschema@.top_tracks_next_week(n, 'auto', origin) AS t,
		   LATERAL (SELECT array_agg(tw.week ORDER BY tw.week) AS ws, array_agg(tw.score ORDER BY tw.week) AS scores
					  FROM pozytywka.track_weeks(t.track_id, 12, origin) AS tw) AS s;
	RETURN '<section id="top-list"><h2>Next week''s top ' || n || '</h2>'
		|| '<p>The week of ' || (origin + 7)::text || ', forecast from the week of ' || origin::text
		|| ' by the model <b>' || pozytywka.xml_escape(coalesce(used, '?')) || '</b> (auto). '
		|| 'Interval: 80% prediction interval of the score; chance: the probability of the real top '
		|| n || '; weeks: the last 12 weeks'' scores.</p>'
		|| '<table><thead><tr><th class="num">#</th><th>track</th><th>artist</th><th class="num">score</th>'
		|| '<th class="num">80% interval</th><th class="num">chance</th><th>weeks</th></tr></thead><tbody>' || E'\n'
		|| coalesce(rows_html, '') || E'\n</tbody></table></section>';
END;
$$;

-- Section #forecast: recent weeks and the forecast with its interval, for
-- the top `shown` tracks of the list of n (its intervals are those of the
-- list: calibrated for n).
CREATE OR REPLACE FUNCTION pozytywka.report_forecasts(n integer, shown integer, origin date)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	charts text;
BEGIN
	SELECT string_agg('<figure><figcaption>' || t.rank || '. '
					  || pozytywka.xml_escape(coalesce(t.track_name, t.track_id))
					  || CASE WHEN t.artist_name IS NOT NULL THEN ' &mdash; ' || pozytywka.xml_escape(t.artist_name) ELSE '' END
					  || ': <b>' || coalesce(pozytywka.display_score(t.predicted_score)::text, '?') || '</b>'
					  || coalesce(' <span class="nw">(' || pozytywka.display_score(t.lower) || '&ndash;'
								  || pozytywka.display_score(t.upper) || ')</span>', '')
					  || '</figcaption>'
					  || pozytywka.forecast_svg(t.track_id, s.scores, t.predicted_score, t.lower, t.upper)
					  || '</figure>', E'\n' ORDER BY t.rank) FILTER (WHERE t.rank <= shown)
	  INTO charts
	  FROM @extschema@.top_tracks_next_week(n, 'auto', origin) AS t,
		   LATERAL (SELECT array_agg(tw.score ORDER BY tw.week) AS scores
					  FROM pozytywka.track_weeks(t.track_id, 12, origin) AS tw) AS s;
	RETURN '<section id="forecast"><h2>The forecast of the top ' || shown || '</h2>'
		|| '<p>The last 12 weeks (blue), next week''s predicted score (dot) and its 80% interval (bar).</p>'
		|| '<div class="figures">' || coalesce(charts, '') || '</div></section>';
END;
$$;

-- Section #backtest: overlap@n of every model kind and 'auto' per week
-- (backtest_top_tracks(n, weeks, 'all')) as a chart, and the means.
CREATE OR REPLACE FUNCTION pozytywka.report_backtest(n integer, weeks integer)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	ws date[];
	ms text[];
	os float8[];
	means text;
BEGIN
	SELECT coalesce(array_agg(b.week), '{}'), coalesce(array_agg(b.model), '{}'),
		   coalesce(array_agg(b.overlap), '{}')
	  INTO ws, ms, os
	  FROM @extschema@.backtest_top_tracks(n, weeks, 'all') AS b;
	SELECT string_agg('<tr><td>' || pozytywka.xml_escape(m.m) || '</td><td class="num">' || m.weeks
					  || '</td><td class="num">' || coalesce(round(m.mean::numeric, 3)::text, '&ndash;') || '</td></tr>',
					  '' ORDER BY m.mean DESC NULLS LAST, m.m)
	  INTO means
	  FROM (SELECT u.m, count(u.o) AS weeks, avg(u.o) AS mean
			  FROM unnest(ms, os) AS u (m, o) GROUP BY u.m) AS m;
	RETURN '<section id="backtest"><h2>How good each model was</h2>'
		|| '<p>Backtest of the last ' || weeks || ' weeks: each week''s list forecast from the week before, '
		|| 'overlap@' || n || ' = the share of the real top ' || n || ' it predicted.</p>'
		|| '<div class="figures">' || pozytywka.backtest_svg(n, ws, ms, os)
		|| '<table class="means"><thead><tr><th>model</th><th class="num">weeks</th><th class="num">mean overlap</th></tr></thead><tbody>'
		|| coalesce(means, '') || '</tbody></table></div></section>';
END;
$$;

-- Section #auto-choice: which model 'auto' picks and why (explain_choice).
CREATE OR REPLACE FUNCTION pozytywka.report_auto_choice(origin date)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	rows_html text;
	winner text;
	why text;
BEGIN
	SELECT string_agg('<tr' || CASE WHEN e.chosen THEN ' class="chosen"' ELSE '' END || '><td>'
					  || pozytywka.xml_escape(e.model) || '</td><td class="num">'
					  || coalesce(round(e.mean_overlap::numeric, 3)::text, '&ndash;') || '</td><td class="num">'
					  || coalesce(round(e.entries_caught::numeric * 100)::text || ' %', '&ndash;') || '</td><td>'
					  || pozytywka.xml_escape(e.reason) || '</td></tr>', '' ORDER BY e.ord),
		   min(e.model) FILTER (WHERE e.chosen), min(e.reason) FILTER (WHERE e.chosen)
	  INTO rows_html, winner, why
	  FROM (SELECT x.*, row_number() OVER () AS ord FROM @extschema@.explain_choice(origin) AS x) AS e;
	RETURN '<section id="auto-choice"><h2>The automatic choice</h2>'
		|| '<p class="verdict">auto picks <b>' || pozytywka.xml_escape(coalesce(winner, '?')) || '</b>: '
		|| pozytywka.xml_escape(coalesce(why, '')) || '</p>'
		|| '<table><thead><tr><th>model</th><th class="num">mean overlap</th><th class="num">new entries caught</th><th>reason</th></tr></thead><tbody>'
		|| coalesce(rows_html, '') || '</tbody></table></section>';
END;
$$;

-- The whole page.  n: the list's length (1-1000); backtest_weeks: the
-- weeks of the backtest chart (1-52).  As of the latest complete week.
CREATE OR REPLACE FUNCTION @extschema@.report_html(n integer DEFAULT 50, backtest_weeks integer DEFAULT 8)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET jit = off
AS $$
DECLARE
	origin date;
BEGIN
	IF n IS NULL OR backtest_weeks IS NULL THEN
		RAISE EXCEPTION '% must not be NULL', CASE WHEN n IS NULL THEN 'n' ELSE 'backtest_weeks' END
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF n < 1 OR n > 1000 THEN
		RAISE EXCEPTION 'n must be between 1 and 1000, not %', n
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF backtest_weeks < 1 OR backtest_weeks > 52 THEN
		RAISE EXCEPTION 'backtest_weeks must be between 1 and 52, not %', backtest_weeks
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	origin := pozytywka.resolve_as_of(NULL);
	RETURN '<!DOCTYPE html>' || E'\n'
		|| '<html lang="en"><head><meta charset="utf-8">'
		-- nothing may load or run, whatever a text in the data holds
		|| '<meta http-equiv="Content-Security-Policy" content="default-src ''none''; style-src ''unsafe-inline''">'
		|| '<title>pozytywka: the top ' || n || ' of the week of ' || (origin + 7)::text || '</title>'
		|| '<style>'
		|| 'body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1a202c;max-width:1100px}'
		|| 'h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 6px}'
		|| 'table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #e2e8f0;text-align:left;vertical-align:middle}'
		|| 'td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}'
		|| '.id{color:#718096;font-size:11px}.nw{white-space:nowrap}.name{font-weight:600}'
		|| 'tr.chosen{background:#fefcbf}'
		|| '.figures{display:flex;flex-wrap:wrap;gap:8px 24px;align-items:flex-start}figure{margin:0;width:320px}figcaption{font-size:13px}'
		|| 'svg text{font:12px system-ui,sans-serif;fill:#4a5568}'
		|| '</style></head><body>' || E'\n'
		|| '<h1>pozytywka: next week''s top tracks</h1>'
		|| '<p class="meta">Data to the week of ' || origin::text || ' (latest complete week); made '
		|| to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC.</p>' || E'\n'
		|| pozytywka.report_top_list(n, origin) || E'\n'
		|| pozytywka.report_forecasts(n, least(n, 10), origin) || E'\n'
		|| pozytywka.report_backtest(n, backtest_weeks) || E'\n'
		|| pozytywka.report_auto_choice(origin) || E'\n'
		|| '</body></html>' || E'\n';
END;
$$;

COMMENT ON FUNCTION @extschema@.report_html(integer, integer) IS
	'One self-contained HTML page (inline SVG, nothing fetched): next week''s list with sparklines, the forecast of the top tracks, the backtest of every model over time, the automatic choice';

-- from 60_demo_data.sql

-- part 60: the demo-data generator, generate_demo_data().
--
-- The simulation lives in src/core/demogen.c (see its header for the model):
-- a seeded world of artists, tracks and users whose tracks have latent
-- weekly intensities (heavy-tailed long-run levels with artist effects,
-- releases that rise and decay, album drops, slow risers, viral jumps that
-- revert, December songs, noise), expanded week by week into sessions of
-- play/skip/like/advertisement/buy_premium events.  The C functions below
-- rebuild the same world from the same parameters on every call.

CREATE OR REPLACE FUNCTION pozytywka.demo_artists(weeks integer, partial_days integer,
									   events_per_week bigint, tracks integer,
									   artists integer, users integer,
									   seed bigint, start_date date)
RETURNS TABLE (id text, name text, genres text[])
AS 'MODULE_PATHNAME', 'pz_demo_artists'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 1000;

CREATE OR REPLACE FUNCTION pozytywka.demo_tracks(weeks integer, partial_days integer,
									  events_per_week bigint, tracks integer,
									  artists integer, users integer,
									  seed bigint, start_date date)
RETURNS TABLE (id text, name text, popularity integer, duration_ms integer,
			   explicit boolean, id_artist text, release_date date,
			   release_date_precision text, danceability double precision,
			   energy double precision, key integer, loudness double precision,
			   speechiness double precision, acousticness double precision,
			   instrumentalness double precision, liveness double precision,
			   valence double precision, tempo double precision)
AS 'MODULE_PATHNAME', 'pz_demo_tracks'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 5000;

CREATE OR REPLACE FUNCTION pozytywka.demo_users(weeks integer, partial_days integer,
									 events_per_week bigint, tracks integer,
									 artists integer, users integer,
									 seed bigint, start_date date)
RETURNS TABLE (user_id integer, name text, city text, street text,
			   favourite_genres text[], premium_user boolean)
AS 'MODULE_PATHNAME', 'pz_demo_users'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 10000;

-- The events of week number 'week' (0 = the week of start_date; the week
-- numbered 'weeks' is the incomplete one of partial_days days).
CREATE OR REPLACE FUNCTION pozytywka.demo_events(weeks integer, partial_days integer,
									  events_per_week bigint, tracks integer,
									  artists integer, users integer,
									  seed bigint, start_date date, week integer)
RETURNS TABLE (session_id bigint, "timestamp" timestamp, user_id integer,
			   track_id text, event_type pozytywka.event_type)
AS 'MODULE_PATHNAME', 'pz_demo_events'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 150000;

-- generate_demo_data: fill artists, tracks, users and sessions with a
-- generated service, deterministic for a seed.
--
-- * weeks complete weeks (Monday to Sunday) of events, followed by the first
--   two days (Monday, Tuesday) of one more week, as in an export taken on a
--   Wednesday: latest_complete_week() is then the last of the 'weeks' weeks.
-- * start_date: the Monday of the first week (another date means the Monday
--   of its week).  By default the weeks end with the last complete week
--   before the fixed date 2026-03-04, i.e. run from 2025-03-03 to 2026-03-01
--   (52 weeks) plus 2026-03-02 and -03; never now(), so a seed always gives
--   the same data.
-- * events_per_week is approximate (Poisson counts on the simulated
--   intensities); the partial week has 2/7 of it.
-- * truncate => true empties artists, tracks, users and sessions (and with
--   them weekly_stats) first; otherwise the function refuses to run when any
--   of them holds rows, so it never mixes demo data with real data.  The
--   pre-aggregated pozytywka.imported_weekly_stats is never touched.
-- * Events are inserted one week per statement, so the statement-level
--   triggers keep weekly_stats current and memory stays bounded.
--
-- Returns the number of rows per table.
CREATE OR REPLACE FUNCTION @extschema@.generate_demo_data(weeks integer DEFAULT 52,
											   events_per_week bigint DEFAULT 150000,
											   tracks integer DEFAULT 5000,
											   artists integer DEFAULT 800,
											   users integer DEFAULT 10000,
											   seed bigint DEFAULT 42,
											   start_date date DEFAULT NULL,
											   truncate boolean DEFAULT false)
RETURNS TABLE (table_name text, row_count bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	p_weeks integer := $1;
	p_events bigint := $2;
	p_tracks integer := $3;
	p_artists integer := $4;
	p_users integer := $5;
	p_seed bigint := $6;
	p_truncate boolean := $8;
	partial constant integer := 2;
	start_monday date;
	n_artists bigint;
	n_tracks bigint;
	n_users bigint;
	n_events bigint := 0;
	n bigint;
BEGIN
	IF p_weeks IS NULL OR p_events IS NULL OR p_tracks IS NULL OR p_artists IS NULL
	   OR p_users IS NULL OR p_seed IS NULL OR p_truncate IS NULL THEN
		RAISE EXCEPTION '% must not be NULL',
			CASE WHEN p_weeks IS NULL THEN 'weeks'
				 WHEN p_events IS NULL THEN 'events_per_week'
				 WHEN p_tracks IS NULL THEN 'tracks'
				 WHEN p_artists IS NULL THEN 'artists'
				 WHEN p_users IS NULL THEN 'users'
				 WHEN p_seed IS NULL THEN 'seed'
				 ELSE 'truncate' END
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Leave an argument out to get its default.';
	END IF;
	IF p_weeks < 1 THEN
		RAISE EXCEPTION 'weeks must be at least 1, not %', p_weeks
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_events < 100 THEN
		RAISE EXCEPTION 'events_per_week must be at least 100, not %', p_events
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_tracks < 10 THEN
		RAISE EXCEPTION 'tracks must be at least 10, not %', p_tracks
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_artists < 1 OR p_artists > p_tracks THEN
		RAISE EXCEPTION 'artists must be between 1 and tracks (%), not %', p_tracks, p_artists
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_users < 1 THEN
		RAISE EXCEPTION 'users must be at least 1, not %', p_users
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- absurd sizes (the limits of src/core/demogen.h, plus the total)
	IF p_weeks > 520 OR p_events > 20000000 OR p_tracks > 2000000
	   OR p_artists > 1000000 OR p_users > 10000000
	   OR (p_weeks + 1)::bigint * p_tracks > 40000000
	   OR p_weeks * p_events > 1000000000 THEN
		RAISE EXCEPTION 'demo data size out of range: weeks %, events_per_week %, tracks %, artists %, users %',
			p_weeks, p_events, p_tracks, p_artists, p_users
			USING ERRCODE = 'program_limit_exceeded',
				  DETAIL = 'Limits: weeks <= 520, events_per_week <= 20000000, tracks <= 2000000, artists <= 1000000, users <= 10000000, tracks x (weeks + 1) <= 40000000, weeks x events_per_week <= 1000000000.';
	END IF;
	IF start_date IS NULL THEN
		start_monday := date_trunc('week', DATE '2026-03-04')::date - 7 * p_weeks;
	ELSIF start_date::text IN ('infinity', '-infinity') THEN
		RAISE EXCEPTION 'start_date must be a finite date'
			USING ERRCODE = 'invalid_parameter_value';
	ELSIF start_date < DATE '1900-01-01' OR start_date > DATE '2199-12-31' - 7 * (p_weeks + 1) THEN
		RAISE EXCEPTION 'start_date % is out of range', start_date
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The generated weeks must lie between 1900 and 2199.';
	ELSE
		start_monday := date_trunc('week', start_date)::date;
	END IF;

	-- one generator at a time, and no writer between the check and the load
	LOCK TABLE pozytywka.artists, pozytywka.tracks, pozytywka.users, pozytywka.sessions
		IN EXCLUSIVE MODE;
	IF p_truncate THEN
		TRUNCATE pozytywka.sessions, pozytywka.tracks, pozytywka.artists, pozytywka.users;
	ELSIF EXISTS (SELECT FROM pozytywka.sessions) OR EXISTS (SELECT FROM pozytywka.tracks)
		  OR EXISTS (SELECT FROM pozytywka.artists) OR EXISTS (SELECT FROM pozytywka.users) THEN
		RAISE EXCEPTION 'the pozytywka tables already hold data'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'generate_demo_data() fills empty tables only, so demo data never mixes with real data.',
				  HINT = 'Call generate_demo_data(..., truncate => true) to replace artists, tracks, users and sessions.';
	END IF;

	INSERT INTO pozytywka.artists (id, name, genres)
	SELECT a.id, a.name, a.genres
	  FROM pozytywka.demo_artists(p_weeks, partial, p_events, p_tracks, p_artists,
								  p_users, p_seed, start_monday) AS a;
	GET DIAGNOSTICS n_artists = ROW_COUNT;

	INSERT INTO pozytywka.tracks (id, name, popularity, duration_ms, explicit, id_artist,
								  release_date, release_date_precision, danceability,
								  energy, key, loudness, speechiness, acousticness,
								  instrumentalness, liveness, valence, tempo)
	SELECT t.id, t.name, t.popularity, t.duration_ms, t.explicit, t.id_artist,
		   t.release_date, t.release_date_precision, t.danceability,
		   t.energy, t.key, t.loudness, t.speechiness, t.acousticness,
		   t.instrumentalness, t.liveness, t.valence, t.tempo
	  FROM pozytywka.demo_tracks(p_weeks, partial, p_events, p_tracks, p_artists,
								 p_users, p_seed, start_monday) AS t;
	GET DIAGNOSTICS n_tracks = ROW_COUNT;

	INSERT INTO pozytywka.users (user_id, name, city, street, favourite_genres, premium_user)
	SELECT u.user_id, u.name, u.city, u.street, u.favourite_genres, u.premium_user
	  FROM pozytywka.demo_users(p_weeks, partial, p_events, p_tracks, p_artists,
								p_users, p_seed, start_monday) AS u;
	GET DIAGNOSTICS n_users = ROW_COUNT;

	-- one statement per week: the aggregate triggers see one week at a time
	FOR w IN 0 .. p_weeks LOOP
		INSERT INTO pozytywka.sessions (session_id, "timestamp", user_id, track_id, event_type)
		SELECT e.session_id, e."timestamp", e.user_id, e.track_id, e.event_type
		  FROM pozytywka.demo_events(p_weeks, partial, p_events, p_tracks, p_artists,
									 p_users, p_seed, start_monday, w) AS e;
		GET DIAGNOSTICS n = ROW_COUNT;
		n_events := n_events + n;
	END LOOP;
	-- the load's deltas folded at once, and fresh statistics for the
	-- queries that follow a demo load
	PERFORM @extschema@.merge_events();
	ANALYZE pozytywka.artists, pozytywka.tracks, pozytywka.users, pozytywka.weekly_stats;

	RETURN QUERY
	VALUES ('artists'::text, n_artists),
		   ('tracks', n_tracks),
		   ('users', n_users),
		   ('sessions', n_events),
		   ('weekly_stats', (SELECT count(*) FROM pozytywka.weekly_stats));
END;
$$;

COMMENT ON FUNCTION @extschema@.generate_demo_data(integer, bigint, integer, integer, integer, bigint, date, boolean) IS
	'Fill artists, tracks, users and sessions with generated demo data, deterministic for a seed; returns row counts';

-- from 70_import.sql

-- part 70: loading the service's JSONL exports (used by pozytywka-import).
--
-- The client (src/client/pozytywka_import.c) parses every line itself and
-- streams one row per line, with COPY (FORMAT binary), into the session's
-- temporary table
--   pg_temp.pz_import_lines (line_no bigint, line text, reason text,
--       session_id bigint, ts timestamp, user_id integer, track_id text,
--       event_type pozytywka.event_type, repaired boolean DEFAULT false)
-- then calls pozytywka.import_file(kind, source) with bound parameters, all
-- in one transaction: a file is loaded whole or not at all.  A row with a
-- reason is a line the client rejected; a session row carries the typed
-- event; a catalogue row carries its verbatim line, whose fields are
-- checked here.  No line can abort the rest: every check below is a
-- predicate, not a cast that might throw; what fails goes to
-- pozytywka.import_rejects with its reason.

-- JSON parse that cannot throw (PostgreSQL 15 has no pg_input_is_valid).
CREATE OR REPLACE FUNCTION pozytywka.try_jsonb(line text)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	RETURN line::jsonb;
EXCEPTION WHEN others THEN
	RETURN NULL;
END;
$$;

-- Does value v fit the importer's field type t?  Never throws.
--   string, integer (int4), bigint, number (finite, |x| < 1e300),
--   boolean (true/false or 0/1), string_array, timestamp
--   (YYYY-MM-DD[T ]HH:MM:SS[.ffffff]), partial_date (YYYY, YYYY-MM, YYYY-MM-DD).
CREATE OR REPLACE FUNCTION pozytywka.import_value_ok(v jsonb, t text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT CASE t
		WHEN 'string' THEN jsonb_typeof(v) = 'string'
		WHEN 'integer' THEN jsonb_typeof(v) = 'number'
			AND (v #>> '{}') ~ '^-?[0-9]{1,10}$'
			AND (v #>> '{}')::numeric BETWEEN -2147483648 AND 2147483647
		WHEN 'bigint' THEN jsonb_typeof(v) = 'number'
			AND (v #>> '{}') ~ '^-?[0-9]{1,18}$'
		WHEN 'number' THEN jsonb_typeof(v) = 'number'
			AND abs((v #>> '{}')::numeric) < 1e300
			AND (abs((v #>> '{}')::numeric) >= 1e-300 OR (v #>> '{}')::numeric = 0)
		WHEN 'boolean' THEN jsonb_typeof(v) = 'boolean'
			OR (jsonb_typeof(v) = 'number' AND (v #>> '{}') IN ('0', '1'))
		WHEN 'string_array' THEN jsonb_typeof(v) = 'array'
			AND NOT jsonb_path_exists(v, '$[*] ? (@.type() != "string")')
		WHEN 'timestamp' THEN jsonb_typeof(v) = 'string'
			AND (v #>> '{}') ~ '^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?$'
			AND pozytywka.day_exists(v #>> '{}')
		WHEN 'partial_date' THEN jsonb_typeof(v) = 'string'
			AND (v #>> '{}') ~ '^[1-9][0-9]{3}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$'
			AND pozytywka.day_exists(v #>> '{}')
		ELSE false
	END;
$$;

-- 'YYYY-MM-DD...' names a real day (no 30 February); shorter forms pass.
CREATE OR REPLACE FUNCTION pozytywka.day_exists(s text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT length(s) < 10
		OR date_part('month', make_date(substr(s, 1, 4)::int, substr(s, 6, 2)::int, 1)
						  + (substr(s, 9, 2)::int - 1)) = substr(s, 6, 2)::int;
$$;

-- Parse and check the staged lines of one file: one row per non-blank line,
-- with the JSON object (normalised: 0/1 booleans as booleans) or the reason
-- it is rejected.
CREATE OR REPLACE FUNCTION pozytywka.import_checked(import_kind text)
RETURNS TABLE (line_no bigint, line text, doc jsonb, reason text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	RETURN QUERY
	WITH parsed AS (
		SELECT l.line_no, l.line, pozytywka.try_jsonb(l.line) AS j
		  FROM pg_temp.pz_import_lines AS l
		 WHERE l.reason IS NULL AND l.line IS NOT NULL
	), field_errors AS (
		SELECT p.line_no,
			   (array_agg(format('field "%s": %s', f.field,
								 CASE WHEN p.j -> f.field IS NULL OR jsonb_typeof(p.j -> f.field) = 'null'
									  THEN 'missing'
									  ELSE format('expected %s, got %s', replace(f.field_type, '_', ' '),
												  left((p.j -> f.field)::text, 60)) END)
						   ORDER BY f.field))[1] AS reason
		  FROM parsed AS p
		  JOIN pozytywka.import_fields AS f ON f.kind = import_kind
		 WHERE jsonb_typeof(p.j) = 'object'
		   AND CASE WHEN p.j -> f.field IS NULL OR jsonb_typeof(p.j -> f.field) = 'null'
					THEN f.required
					ELSE NOT pozytywka.import_value_ok(p.j -> f.field, f.field_type) END
		 GROUP BY p.line_no
	)
	SELECT p.line_no, p.line,
		   CASE WHEN e.reason IS NULL AND jsonb_typeof(p.j) = 'object' THEN
			   (SELECT jsonb_object_agg(kv.key,
						CASE WHEN f.field_type = 'boolean' AND jsonb_typeof(kv.value) = 'number'
							 THEN to_jsonb((kv.value #>> '{}') = '1')
							 ELSE kv.value END)
				  FROM jsonb_each(p.j) AS kv
				  LEFT JOIN pozytywka.import_fields AS f
					ON f.kind = import_kind AND f.field = kv.key)
		   END,
		   CASE WHEN p.j IS NULL THEN 'malformed JSON'
				WHEN jsonb_typeof(p.j) <> 'object' THEN 'not a JSON object'
				ELSE e.reason END
	  FROM parsed AS p
	  LEFT JOIN field_errors AS e ON e.line_no = p.line_no;
END;
$$;

-- Load the rows staged in pg_temp.pz_import_lines as one export file of the
-- given kind; source names the file in import_runs.  Per file:
--   lines = loaded + repaired + rejected  (every line read, exactly once)
--   duplicates: of the loaded and repaired lines, those that changed
--   nothing (the event or identical catalogue row already there, an event
--   repeated in the file, a catalogue id repeated later in the file).
-- Catalogue files (artists, tracks, users, track_storage) are upserted by
-- id, the last line of a repeated id winning.  Sessions are repaired where
-- that is unambiguous (see the README), then inserted unless the identical
-- event is already there.
CREATE OR REPLACE FUNCTION pozytywka.import_file(import_kind text, source text)
RETURNS TABLE (kind text, lines bigint, loaded bigint, repaired bigint,
			   rejected bigint, duplicates bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	run bigint;
	n_lines bigint;
	n_loaded bigint := 0;
	n_repaired bigint := 0;
	n_rejected bigint;
	n_changed bigint := 0;
	key_col text;
	tbl text;
	cols text;
BEGIN
	IF import_kind IS NULL OR import_kind NOT IN ('artists', 'tracks', 'users', 'track_storage', 'sessions') THEN
		RAISE EXCEPTION 'unknown export kind "%"', import_kind
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Known kinds: artists, tracks, users, track_storage, sessions.';
	END IF;
	IF source IS NULL THEN
		RAISE EXCEPTION 'source must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF pg_catalog.to_regclass('pg_temp.pz_import_lines') IS NULL THEN
		RAISE EXCEPTION 'no staged lines: pozytywka-import stages a file in the temporary table pz_import_lines first'
			USING ERRCODE = 'undefined_table';
	END IF;

	-- first, so that a role without the importer's privileges stops here
	INSERT INTO pozytywka.import_runs (source, kind, lines, loaded, duplicates, repaired, rejected)
	VALUES (source, import_kind, 0, 0, 0, 0, 0)
	RETURNING run_id INTO run;

	IF import_kind = 'sessions' THEN
		-- The repairs concern few sessions: copy the events of the sessions
		-- with a null user_id or a play/skip/like without a track into a
		-- small table (two scans of the staged rows), repair and reject
		-- there, and write the changes back in one pass.
		CREATE TEMP TABLE pz_import_ev ON COMMIT DROP AS
		SELECT l.line_no, l.session_id, l.ts, l.user_id, l.track_id, l.event_type,
			   false AS repaired, NULL::text AS reason
		  FROM pg_temp.pz_import_lines AS l
		 WHERE l.reason IS NULL
		   AND l.session_id IN (
				SELECT n.session_id
				  FROM pg_temp.pz_import_lines AS n
				 WHERE n.reason IS NULL
				   AND (n.user_id IS NULL
						OR (n.track_id IS NULL AND n.event_type IN ('play', 'skip', 'like'))));
		ANALYZE pg_temp.pz_import_ev;

		-- a null user_id is taken from the other events of its session when
		-- they name exactly one user
		WITH su AS (
			SELECT e.session_id, min(e.user_id) AS user_id
			  FROM pg_temp.pz_import_ev AS e
			 WHERE e.user_id IS NOT NULL
			 GROUP BY e.session_id
			HAVING count(DISTINCT e.user_id) = 1
		)
		UPDATE pg_temp.pz_import_ev AS e
		   SET user_id = su.user_id, repaired = true
		  FROM su
		 WHERE e.user_id IS NULL AND su.session_id = e.session_id;

		-- a skip or like without track_id belongs to the latest play of its
		-- session at or before it, when that play names one track (several
		-- plays at that instant: only if they all name the same track)
		WITH latest_play AS (
			SELECT e.line_no, e.session_id, e.event_type, e.track_id,
				   max(e.ts) FILTER (WHERE e.event_type = 'play')
					   OVER (PARTITION BY e.session_id ORDER BY e.ts) AS play_ts
			  FROM pg_temp.pz_import_ev AS e
		), plays AS (
			SELECT p.session_id, p.ts, min(p.track_id) AS track_id
			  FROM pg_temp.pz_import_ev AS p
			 WHERE p.event_type = 'play'
			 GROUP BY p.session_id, p.ts
			HAVING count(DISTINCT coalesce(p.track_id, '')) = 1
			   AND bool_and(p.track_id IS NOT NULL)
		), attributed AS (
			SELECT l.line_no, p.track_id
			  FROM latest_play AS l
			  JOIN plays AS p ON p.session_id = l.session_id AND p.ts = l.play_ts
			 WHERE l.track_id IS NULL AND l.event_type IN ('skip', 'like')
		)
		UPDATE pg_temp.pz_import_ev AS e
		   SET track_id = a.track_id, repaired = true
		  FROM attributed AS a
		 WHERE a.line_no = e.line_no;

		UPDATE pg_temp.pz_import_ev AS e
		   SET reason = CASE e.event_type
				WHEN 'play' THEN 'play without track_id'
				ELSE format('%s without track_id and no unambiguous earlier play in session %s',
							e.event_type, e.session_id) END
		 WHERE e.track_id IS NULL AND e.event_type IN ('play', 'skip', 'like');

		UPDATE pg_temp.pz_import_lines AS l
		   SET user_id = e.user_id, track_id = e.track_id, repaired = e.repaired,
			   reason = e.reason
		  FROM pg_temp.pz_import_ev AS e
		 WHERE e.line_no = l.line_no AND (e.repaired OR e.reason IS NOT NULL);
		DROP TABLE pg_temp.pz_import_ev;

		-- A plain INSERT is a third faster than INSERT ... ON CONFLICT; it
		-- fails on the first event already there (a reload, a repeat in the
		-- file, a concurrent loader), and then, its work undone, the events
		-- go in with ON CONFLICT DO NOTHING.
		BEGIN
			INSERT INTO pozytywka.sessions (session_id, "timestamp", user_id, track_id, event_type)
			SELECT l.session_id, l.ts, l.user_id, l.track_id, l.event_type
			  FROM pg_temp.pz_import_lines AS l
			 WHERE l.reason IS NULL;
			GET DIAGNOSTICS n_changed = ROW_COUNT;
		EXCEPTION WHEN unique_violation THEN
			INSERT INTO pozytywka.sessions (session_id, "timestamp", user_id, track_id, event_type)
			SELECT l.session_id, l.ts, l.user_id, l.track_id, l.event_type
			  FROM pg_temp.pz_import_lines AS l
			 WHERE l.reason IS NULL
			ON CONFLICT DO NOTHING;
			GET DIAGNOSTICS n_changed = ROW_COUNT;
		END;
	ELSE
		CREATE TEMP TABLE pz_import_checked ON COMMIT DROP AS
		SELECT * FROM pozytywka.import_checked(import_kind);
		tbl := 'pozytywka.' || import_kind;
		key_col := CASE import_kind WHEN 'users' THEN 'user_id'
									WHEN 'track_storage' THEN 'track_id' ELSE 'id' END;
		IF import_kind = 'tracks' THEN
			-- keep the precision the source gave: 'YYYY' -> YYYY-01-01 'year'
			UPDATE pg_temp.pz_import_checked AS c
			   SET doc = c.doc || jsonb_build_object(
					'release_date', CASE length(c.doc ->> 'release_date')
										WHEN 4 THEN (c.doc ->> 'release_date') || '-01-01'
										WHEN 7 THEN (c.doc ->> 'release_date') || '-01'
										ELSE c.doc ->> 'release_date' END,
					'release_date_precision', CASE length(c.doc ->> 'release_date')
										WHEN 4 THEN 'year' WHEN 7 THEN 'month' ELSE 'day' END)
			 WHERE c.reason IS NULL AND c.doc ->> 'release_date' IS NOT NULL;
		END IF;
		-- the field faults found here become the lines' reasons
		UPDATE pg_temp.pz_import_lines AS l
		   SET reason = c.reason
		  FROM pg_temp.pz_import_checked AS c
		 WHERE c.line_no = l.line_no AND c.reason IS NOT NULL;
		SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum) INTO cols
		  FROM pg_attribute AS a
		 WHERE a.attrelid = tbl::regclass AND a.attnum > 0 AND NOT a.attisdropped;
		-- only fixed names are spliced here (the kind was checked above)
		EXECUTE format(
			'INSERT INTO %1$s AS t (%2$s)
			 SELECT %2$s FROM (
				 SELECT DISTINCT ON (c.doc ->> %3$L) r.*
				   FROM pg_temp.pz_import_checked AS c,
						jsonb_populate_record(NULL::%1$s, c.doc) AS r
				  WHERE c.reason IS NULL
				  ORDER BY c.doc ->> %3$L, c.line_no DESC) AS s
			 ON CONFLICT (%4$I) DO UPDATE SET (%2$s) = ROW(%5$s)
			 WHERE (t.*) IS DISTINCT FROM (excluded.*)',
			tbl, cols, key_col, key_col,
			(SELECT string_agg('excluded.' || format('%I', a.attname), ', ' ORDER BY a.attnum)
			   FROM pg_attribute AS a
			  WHERE a.attrelid = tbl::regclass AND a.attnum > 0 AND NOT a.attisdropped));
		GET DIAGNOSTICS n_changed = ROW_COUNT;
		DROP TABLE pg_temp.pz_import_checked;
	END IF;

	INSERT INTO pozytywka.import_rejects (run_id, kind, line_no, line, reason)
	SELECT run, import_kind, l.line_no, l.line, l.reason
	  FROM pg_temp.pz_import_lines AS l
	 WHERE l.reason IS NOT NULL
	ON CONFLICT DO NOTHING;
	SELECT count(*), count(*) FILTER (WHERE l.reason IS NOT NULL),
		   count(*) FILTER (WHERE l.reason IS NULL AND NOT l.repaired),
		   count(*) FILTER (WHERE l.reason IS NULL AND l.repaired)
	  INTO n_lines, n_rejected, n_loaded, n_repaired
	  FROM pg_temp.pz_import_lines AS l;

	UPDATE pozytywka.import_runs AS r
	   SET lines = n_lines, loaded = n_loaded, duplicates = n_loaded + n_repaired - n_changed,
		   repaired = n_repaired, rejected = n_rejected
	 WHERE r.run_id = run;

	RETURN QUERY SELECT import_kind, n_lines, n_loaded, n_repaired, n_rejected,
						n_loaded + n_repaired - n_changed;
END;
$$;

COMMENT ON FUNCTION pozytywka.import_file(text, text) IS
	'Load the rows that pozytywka-import staged in pg_temp.pz_import_lines as one export file: lines = loaded + repaired + rejected';

-- The former entry point, kept for the roles granted EXECUTE on it.
CREATE OR REPLACE FUNCTION @extschema@.import_staged(import_kind text, source text)
RETURNS TABLE (kind text, lines bigint, loaded bigint, repaired bigint,
			   rejected bigint, duplicates bigint)
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT * FROM pozytywka.import_file(import_kind, source);
$$;

COMMENT ON FUNCTION @extschema@.import_staged(text, text) IS
	'Same as pozytywka.import_file (used by pozytywka-import before 0.2)';

-- from 80_schedule.sql

-- part 80: the weekly job — cached forecasts, the dashboard's top list, and
-- its schedule with pg_cron.

-- Compute and cache, for the origin week as_of (default: the latest
-- complete week), the forecasts of the given model kinds (default: every
-- kind and then the automatic choice).  Returns what was done.
CREATE OR REPLACE FUNCTION @extschema@.refresh_forecasts(origin date DEFAULT NULL,
											  models text[] DEFAULT NULL)
RETURNS TABLE (model text, as_of date, cached boolean, seconds double precision)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	o date := pozytywka.resolve_as_of(origin);
	kinds text[];
	k text;
	fresh boolean;
BEGIN
	PERFORM pozytywka.require_primary('refresh_forecasts');
	IF models IS NULL THEN
		SELECT array_agg(m.name ORDER BY m.name) INTO kinds FROM pozytywka.model_kinds AS m;
	ELSE
		SELECT array_agg(pozytywka.resolve_model(x, o)) INTO kinds FROM unnest(models) AS x;
	END IF;
	FOREACH k IN ARRAY coalesce(kinds, '{}') LOOP
		CONTINUE WHEN NOT pozytywka.model_available(k, o);
		fresh := pozytywka.cache_forecasts(k, o);
		RETURN QUERY SELECT k, o, fresh, r.seconds
					   FROM pozytywka.forecast_runs AS r WHERE r.model = k AND r.as_of = o;
	END LOOP;
	-- the network's inputs, so the list straight from a newly activated
	-- model only runs the network
	IF 'lstm' = ANY (coalesce(kinds, '{}')) THEN
		PERFORM pozytywka.cache_lstm_inputs(o);
	END IF;
	-- the automatic choice backtests every candidate: part of a full refresh
	IF models IS NULL THEN
		RETURN QUERY SELECT 'auto -> ' || pozytywka.cache_auto_choice(o), o, true, NULL::float8;
		-- and, from the same backtest forecasts, each candidate's interval and
		-- p_top for lists of settings.auto_n (part 52)
		PERFORM pozytywka.cache_calibration(m.name, s.auto_n, o)
		   FROM pozytywka.model_kinds AS m, pozytywka.effective_settings AS s
		  WHERE m.auto_candidate AND pozytywka.model_available(m.name, o)
		  ORDER BY m.name;
	END IF;
END;
$$;

COMMENT ON FUNCTION @extschema@.refresh_forecasts(date, text[]) IS
	'Compute and cache next week''s forecasts (and the automatic model choice) from the latest complete week';

CREATE OR REPLACE VIEW @extschema@.next_week_top_tracks AS
SELECT s.rank, s.track_id, s.track_name, s.artist_name, s.predicted_score,
	   s.last_week_score, s.model, s.as_of, s.for_week, s.weights, s.computed_at,
	   s.lower, s.upper, s.p_top,
	   -- 0.2.0, for people (appended: CREATE OR REPLACE VIEW may add columns
	   -- at the end): scores and interval to one decimal, p_top in percent
	   pg_catalog.round(s.predicted_score::numeric, 1) AS predicted_score_rounded,
	   pg_catalog.round(s.lower::numeric, 1) AS lower_rounded,
	   pg_catalog.round(s.upper::numeric, 1) AS upper_rounded,
	   pg_catalog.round(s.p_top OPERATOR(pg_catalog.*) 100.0::double precision)::integer AS p_top_percent
  FROM pozytywka.top_tracks_snapshot AS s;

COMMENT ON VIEW @extschema@.next_week_top_tracks IS
	'Next week''s top list as of the last refresh_top_tracks() (the weekly job); for dashboards; the *_rounded and p_top_percent columns are for showing to people';

CREATE OR REPLACE FUNCTION @extschema@.refresh_top_tracks(n integer DEFAULT 50,
											   model_type text DEFAULT 'auto')
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	origin date := pozytywka.resolve_as_of(NULL);
	rows integer;
BEGIN
	PERFORM pozytywka.require_primary('refresh_top_tracks');
	PERFORM pozytywka.check_list_size(n);
	IF model_type IS NULL THEN
		PERFORM pozytywka.resolve_model(NULL, NULL);
	END IF;
	IF lower(model_type) = 'auto' THEN
		PERFORM pozytywka.cache_auto_choice(origin);
	END IF;
	PERFORM pozytywka.cache_forecasts(pozytywka.resolve_model(model_type, origin), origin);
	PERFORM pozytywka.cache_calibration(pozytywka.resolve_model(model_type, origin), n, origin);
	DELETE FROM pozytywka.top_tracks_snapshot;
	INSERT INTO pozytywka.top_tracks_snapshot (rank, track_id, track_name, artist_name,
											   predicted_score, last_week_score, model, as_of,
											   for_week, weights, computed_at, lower, upper, p_top)
	SELECT t.rank, t.track_id, t.track_name, t.artist_name, t.predicted_score,
		   t.last_week_score, t.model, origin, origin + 7,
		   (SELECT jsonb_build_object('w_play', s.w_play, 'w_like', s.w_like, 'w_skip', s.w_skip)
			  FROM pozytywka.effective_settings AS s),
		   now(), t.lower, t.upper, t.p_top
	  FROM @extschema@.top_tracks_next_week(n, model_type, origin) AS t;
	GET DIAGNOSTICS rows = ROW_COUNT;
	RETURN rows;
END;
$$;

COMMENT ON FUNCTION @extschema@.refresh_top_tracks(integer, text) IS
	'Recompute the list behind the view next_week_top_tracks';

-- What the weekly pg_cron job runs: retrain the neural model when one is
-- registered (see lstm_train), cache every model's forecasts and the
-- automatic choice, and refresh the dashboard's list.
CREATE OR REPLACE FUNCTION @extschema@.weekly_refresh(retrain boolean DEFAULT true)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	started timestamptz := clock_timestamp();
	trained jsonb;
	n_models integer;
	n_rows integer;
BEGIN
	PERFORM pozytywka.require_primary('weekly_refresh');
	IF retrain AND to_regprocedure('pozytywka.weekly_retrain()') IS NOT NULL THEN
		EXECUTE 'SELECT pozytywka.weekly_retrain()' INTO trained;
	END IF;
	SELECT count(*) INTO n_models FROM @extschema@.refresh_forecasts();
	n_rows := @extschema@.refresh_top_tracks();
	RETURN jsonb_build_object('as_of', pozytywka.resolve_as_of(NULL),
							  'retrained', trained,
							  'models_refreshed', n_models,
							  'top_list_rows', n_rows,
							  'seconds', extract(epoch FROM clock_timestamp() - started));
END;
$$;

-- pg_cron runs a job as the role cron.job.username names, connecting as it
-- (PostgreSQL 15 lets only a LOGIN role connect, background worker or
-- not).  pozytywka's jobs run as a role of their own holding the
-- operator's rights (part 90), never as the superuser who scheduled them:
-- what a job runs (the model functions registered in model_kinds among it)
-- runs with no more rights than the weekly refresh needs.  The role is
-- created on first use, LOGIN without a password: pg_cron must be able to
-- connect as it (cron.use_background_workers = on, or a pg_hba.conf line
-- for it; see the README).  One job of a name per database: a job of that
-- name run by another role (as pozytywka 0.1.0 scheduled it, as the
-- scheduling user) is removed.
CREATE OR REPLACE FUNCTION pozytywka.cron_schedule_as(job_name text, schedule text, command text,
										   run_as name)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	job bigint;
	other bigint;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_extension AS e WHERE e.extname = 'pg_cron') THEN
		RAISE EXCEPTION 'pg_cron is not installed in this database'
			USING ERRCODE = 'undefined_object',
				  HINT = format('Add pg_cron to shared_preload_libraries, set cron.database_name to this database, restart, then CREATE EXTENSION pg_cron; or schedule %s with any other scheduler.',
								command);
	END IF;
	IF schedule IS NULL OR run_as IS NULL THEN
		RAISE EXCEPTION 'schedule and run_as must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles AS r WHERE r.rolname = run_as) THEN
		EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS',
					   run_as);
		EXECUTE format('COMMENT ON ROLE %I IS %L', run_as,
					   'runs pozytywka''s pg_cron jobs with the operator''s rights (schedule_weekly_refresh, schedule_merge_events)');
		RAISE NOTICE 'created role "%" to run pozytywka''s scheduled jobs', run_as;
	ELSIF EXISTS (SELECT 1 FROM pg_roles AS r
				   WHERE r.rolname = run_as AND (r.rolsuper OR r.rolbypassrls)) THEN
		RAISE EXCEPTION 'a scheduled job must not run as "%", a superuser or a role that bypasses row security', run_as
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Name a role of its own (run_as); the default, pozytywka_job, is created with the operator''s rights only.';
	END IF;
	PERFORM @extschema@.grant_operator_access(run_as);
	FOR other IN EXECUTE 'SELECT j.jobid FROM cron.job AS j
						   WHERE j.jobname = $1 AND j.database = current_database() AND j.username <> $2'
				 USING job_name, run_as::text LOOP
		EXECUTE 'SELECT cron.unschedule($1)' USING other;
	END LOOP;
	EXECUTE 'SELECT cron.schedule_in_database($1, $2, $3, current_database(), $4)'
	   INTO job
	  USING job_name, schedule, command, run_as::text;
	RETURN job;
END;
$$;

REVOKE ALL ON FUNCTION pozytywka.cron_schedule_as(text, text, text, name) FROM PUBLIC;

-- Remove every job of that name in this database, whichever role runs it.
CREATE OR REPLACE FUNCTION pozytywka.cron_unschedule(job_name text)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	job bigint;
	done boolean := false;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_extension AS e WHERE e.extname = 'pg_cron') THEN
		RAISE EXCEPTION 'pg_cron is not installed in this database'
			USING ERRCODE = 'undefined_object';
	END IF;
	FOR job IN EXECUTE 'SELECT j.jobid FROM cron.job AS j
						 WHERE j.jobname = $1 AND j.database = current_database()'
			   USING job_name LOOP
		EXECUTE 'SELECT cron.unschedule($1)' USING job;
		done := true;
	END LOOP;
	RETURN done;
END;
$$;

REVOKE ALL ON FUNCTION pozytywka.cron_unschedule(text) FROM PUBLIC;

-- The schema-qualified name of one of pozytywka's API functions, for a
-- job's command (exact: a look-alike in another schema is never run).
CREATE OR REPLACE FUNCTION pozytywka.api_function_name(fn text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT quote_ident(n.nspname) || '.' || quote_ident(fn)
	  FROM pg_extension AS e
	  JOIN pg_namespace AS n ON n.oid = e.extnamespace
	 WHERE e.extname = 'pozytywka';
$$;

REVOKE ALL ON FUNCTION pozytywka.api_function_name(text) FROM PUBLIC;

-- Schedule weekly_refresh() with pg_cron, run as run_as (see
-- cron_schedule_as); calling it again updates the same job (idempotent).
-- Default: Mondays 03:00, after the week closed.
CREATE OR REPLACE FUNCTION @extschema@.schedule_weekly_refresh(schedule text DEFAULT '0 3 * * 1',
													retrain boolean DEFAULT true,
													run_as name DEFAULT 'pozytywka_job')
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	IF retrain IS NULL THEN
		RAISE EXCEPTION 'retrain must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- a typed boolean: an untyped literal would prefer a look-alike
	-- weekly_refresh(text) that someone who can create in that schema adds
	RETURN pozytywka.cron_schedule_as('pozytywka-weekly-refresh', schedule,
									  format('SELECT %s(%s)', pozytywka.api_function_name('weekly_refresh'),
											 CASE WHEN retrain THEN 'true' ELSE 'false' END),
									  run_as);
END;
$$;

COMMENT ON FUNCTION @extschema@.schedule_weekly_refresh(text, boolean, name) IS
	'Schedule (or reschedule) the weekly refresh and retraining with pg_cron, run as a role with the operator''s rights (created if missing); returns the cron job id';

CREATE OR REPLACE FUNCTION @extschema@.unschedule_weekly_refresh()
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	RETURN pozytywka.cron_unschedule('pozytywka-weekly-refresh');
END;
$$;

-- from 90_roles.sql

-- part 90: roles — what a dashboard, a loader and an operator need, each
-- granted in one call, and nothing for anyone else.
--
--   dashboard: reads next_week_top_tracks and calls the read functions
--              (top list, backtest, predict, weekly popularity, the LSTM's
--              read functions, the pictures: track_sparkline, report_html); cannot change events, settings, models or
--              the cache, and cannot see users, raw events or import
--              rejects (personal data)
--   loader:    runs pozytywka-import and inserts/updates/deletes events,
--              the catalogue and weekly counts; nothing derived
--   operator:  what the weekly job does: refresh the cached forecasts and
--              the dashboard's list, train/activate/import models, change
--              the score weights; plus everything the dashboard may read
--   owner:     everything else (demo data, rebuilding the aggregate,
--              scheduling with pg_cron, registering model kinds, granting)
--
-- EXECUTE is revoked from PUBLIC on every function except the pure
-- computations on arrays (series_*, arima_*, auto_arima, weekly_series),
-- and granted per role by the functions below.  The derived data is never
-- written with the writer's rights: a write to an event table appends
-- deltas through the capture trigger (C, needs no privilege on them), and
-- merge_events(), which folds them into weekly_stats, and the triggers that
-- invalidate the forecast cache are SECURITY DEFINER (owned by the
-- extension's owner, search_path pinned to pg_catalog, pg_temp), so the
-- loader needs no write access to any of it.  Every other function is
-- SECURITY INVOKER: a caller can do exactly what its table privileges
-- allow.  The read functions write the forecast cache only when the caller
-- may (see cache_forecasts), so a dashboard gets the same answers, computed
-- instead of cached.
--
-- The grant functions GRANT as the caller: only a role that can grant on
-- pozytywka's objects (its owner, a member of the owner role, a superuser)
-- may run them.

CREATE OR REPLACE FUNCTION pozytywka.check_can_grant(grantee name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	IF grantee IS NULL THEN
		RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles AS r WHERE r.rolname = grantee) THEN
		RAISE EXCEPTION 'role "%" does not exist', grantee
			USING ERRCODE = 'undefined_object',
				  HINT = 'CREATE ROLE first (NOLOGIN for a group role, LOGIN for a user).';
	END IF;
	-- GRANT by a role without the grant option only warns; refuse instead
	IF NOT pg_has_role(current_user,
					   (SELECT n.nspowner FROM pg_namespace AS n WHERE n.nspname = 'pozytywka'),
					   'USAGE') THEN
		RAISE EXCEPTION 'permission denied: only the owner of pozytywka (or a member of its role) can grant access to it'
			USING ERRCODE = 'insufficient_privilege';
	END IF;
END;
$$;

REVOKE ALL ON FUNCTION pozytywka.check_can_grant(name) FROM PUBLIC;

-- The functions (members of the extension) that a role kind may execute.
-- dashboard: the read API and every internal helper of the schema
-- pozytywka except those that write or maintain (the read path calls the
-- helpers as the caller); loader: the importer's; operator: the
-- dashboard's plus the weekly job's and the model management.
CREATE OR REPLACE FUNCTION pozytywka.role_functions(role_kind text)
RETURNS SETOF regprocedure
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	WITH f AS (
		SELECT p.oid, p.proname::text AS name, n.nspname::text AS nsp,
			   p.prorettype = 'trigger'::regtype AS is_trigger
		  FROM pg_depend AS d
		  JOIN pg_proc AS p ON p.oid = d.objid
		  JOIN pg_namespace AS n ON n.oid = p.pronamespace
		 WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
		   AND d.refclassid = 'pg_extension'::regclass
		   AND d.refobjid = (SELECT e.oid FROM pg_extension AS e WHERE e.extname = 'pozytywka')
	), dashboard AS (
		SELECT f.oid FROM f
		 WHERE (f.nsp = 'pozytywka' AND NOT f.is_trigger
				AND f.name NOT IN ('invalidate_forecasts',
								   'invalidate_model_forecasts', 'cache_lstm_inputs',
								   'weekly_retrain', 'lstm_fit', 'check_can_grant',
								   'role_functions', 'grant_role_functions',
								   'import_checked', 'import_file', 'import_value_ok', 'try_jsonb',
								   'day_exists', 'demo_artists', 'demo_tracks',
								   'demo_users', 'demo_events', 'check_model_kind',
								   'append_relation', 'add_capture_triggers',
								   'drop_capture_triggers', 'sync_event_partitions',
								   'on_ddl_command_end', 'on_sql_drop', 'rebuild_source',
								   'sync_shards', 'rebuild_shard_views',
								   'cron_schedule_as', 'cron_unschedule', 'api_function_name'))
			OR f.name IN ('top_tracks_next_week', 'backtest_top_tracks', 'backtest_summary',
						  'predict', 'weekly_popularity', 'latest_complete_week',
						  'lstm_export', 'lstm_forward', 'lstm_predict', 'lstm_predict_all',
						  'explain_choice', 'backtest_reliability',
						  'track_sparkline', 'report_html',
						  -- a read with changes pending folds them before caching
						  'merge_events')
	)
	SELECT f.oid::regprocedure FROM f
	 WHERE CASE role_kind
		   WHEN 'dashboard' THEN f.oid IN (SELECT dashboard.oid FROM dashboard)
		   WHEN 'loader' THEN f.name IN ('import_staged', 'import_file', 'import_checked', 'import_value_ok',
										 'try_jsonb', 'day_exists')
		   WHEN 'operator' THEN f.oid IN (SELECT dashboard.oid FROM dashboard)
				OR f.name IN ('refresh_forecasts', 'refresh_top_tracks', 'weekly_refresh',
							  'weekly_retrain', 'cache_lstm_inputs', 'lstm_train', 'lstm_fit',
							  'lstm_activate', 'lstm_import', 'set_score_weights')
		   END
	 ORDER BY 1;
$$;

REVOKE ALL ON FUNCTION pozytywka.role_functions(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pozytywka.grant_role_functions(grantee name, role_kind text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT * FROM pozytywka.role_functions(role_kind) LOOP
		EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %I', f, grantee);
	END LOOP;
END;
$$;

REVOKE ALL ON FUNCTION pozytywka.grant_role_functions(name, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.grant_dashboard_access(grantee name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	PERFORM pozytywka.check_can_grant(grantee);
	EXECUTE format('GRANT USAGE ON SCHEMA pozytywka, @extschema@ TO %I', grantee);
	EXECUTE format('GRANT SELECT ON @extschema@.next_week_top_tracks TO %I', grantee);
	-- what the read functions read: weekly history, settings, the model
	-- registry, the cache, the catalogue (names in the list)
	EXECUTE format('GRANT SELECT ON pozytywka.weekly_stats, pozytywka.weekly_deltas,
		pozytywka.event_sources, pozytywka.imported_weekly_stats, pozytywka.weekly_rows, pozytywka.weekly_history, pozytywka.weekly_scores, pozytywka.settings,
		pozytywka.effective_settings, pozytywka.model_kinds, pozytywka.auto_preference,
		pozytywka.auto_choice, pozytywka.forecast_runs, pozytywka.forecast_cache,
		pozytywka.forecast_calibration, pozytywka.lstm_inputs, pozytywka.ensemble_members, pozytywka.models,
		pozytywka.tracks, pozytywka.artists, pozytywka.top_tracks_snapshot TO %I', grantee);
	-- the read API and the helpers it runs as the caller (and the model
	-- functions registered in model_kinds: run it again after registering one)
	PERFORM pozytywka.grant_role_functions(grantee, 'dashboard');
END;
$$;

REVOKE ALL ON FUNCTION @extschema@.grant_dashboard_access(name) FROM PUBLIC;

COMMENT ON FUNCTION @extschema@.grant_dashboard_access(name) IS
	'Let a role read next_week_top_tracks and call the read functions (top list, backtest, predict); nothing else';

CREATE OR REPLACE FUNCTION @extschema@.grant_loader_access(grantee name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	PERFORM pozytywka.check_can_grant(grantee);
	EXECUTE format('GRANT USAGE ON SCHEMA pozytywka, @extschema@ TO %I', grantee);
	-- the data it loads
	EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON pozytywka.sessions,
		pozytywka.artists, pozytywka.tracks, pozytywka.users, pozytywka.track_storage,
		pozytywka.imported_weekly_stats TO %I', grantee);
	-- the aggregate is read, never written: writes append deltas through
	-- the capture trigger, merge_events() (SECURITY DEFINER) folds them and
	-- the cache's invalidation follows; the loader writes nothing derived
	EXECUTE format('GRANT SELECT ON pozytywka.weekly_stats, pozytywka.weekly_deltas,
		pozytywka.event_sources TO %I', grantee);
	-- the importer's bookkeeping
	EXECUTE format('GRANT SELECT ON pozytywka.import_fields TO %I', grantee);
	EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pozytywka.import_runs, pozytywka.import_rejects TO %I', grantee);
	EXECUTE format('GRANT USAGE ON SEQUENCE pozytywka.import_runs_run_id_seq,
		pozytywka.import_rejects_reject_id_seq TO %I', grantee);
	PERFORM pozytywka.grant_role_functions(grantee, 'loader');
END;
$$;

REVOKE ALL ON FUNCTION @extschema@.grant_loader_access(name) FROM PUBLIC;

COMMENT ON FUNCTION @extschema@.grant_loader_access(name) IS
	'Let a role run pozytywka-import and insert, update and delete events, the catalogue and weekly counts; nothing derived';

CREATE OR REPLACE FUNCTION @extschema@.grant_operator_access(grantee name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	PERFORM pozytywka.check_can_grant(grantee);
	-- what the dashboard reads and calls
	PERFORM @extschema@.grant_dashboard_access(grantee);
	-- the weekly job: cache the forecasts and the automatic choice, the
	-- network's inputs, the dashboard's list
	EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON pozytywka.forecast_runs,
		pozytywka.forecast_cache, pozytywka.forecast_calibration, pozytywka.auto_choice,
		pozytywka.lstm_inputs, pozytywka.top_tracks_snapshot TO %I', grantee);
	-- models: train, import, activate
	EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pozytywka.models TO %I', grantee);
	EXECUTE format('GRANT USAGE ON SEQUENCE pozytywka.models_model_id_seq TO %I', grantee);
	-- the score weights (set_score_weights)
	EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pozytywka.settings TO %I', grantee);
	PERFORM pozytywka.grant_role_functions(grantee, 'operator');
END;
$$;

REVOKE ALL ON FUNCTION @extschema@.grant_operator_access(name) FROM PUBLIC;

COMMENT ON FUNCTION @extschema@.grant_operator_access(name) IS
	'Let a role run the weekly refresh, train, import and activate models and set the score weights (and read what the dashboard reads)';

CREATE OR REPLACE FUNCTION @extschema@.revoke_pozytywka_access(grantee name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	f regprocedure;
BEGIN
	PERFORM pozytywka.check_can_grant(grantee);
	EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA pozytywka FROM %I', grantee);
	EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA pozytywka FROM %I', grantee);
	EXECUTE format('REVOKE SELECT ON @extschema@.next_week_top_tracks FROM %I', grantee);
	EXECUTE format('REVOKE USAGE ON SCHEMA pozytywka FROM %I', grantee);
	FOR f IN SELECT * FROM pozytywka.role_functions('operator')
			 UNION SELECT * FROM pozytywka.role_functions('loader') LOOP
		EXECUTE format('REVOKE EXECUTE ON ROUTINE %s FROM %I', f, grantee);
	END LOOP;
END;
$$;

REVOKE ALL ON FUNCTION @extschema@.revoke_pozytywka_access(name) FROM PUBLIC;

COMMENT ON FUNCTION @extschema@.revoke_pozytywka_access(name) IS
	'Undo grant_dashboard_access / grant_loader_access / grant_operator_access for a role';

-- The triggers that maintain derived data run as the extension's owner:
-- a loader's INSERT into sessions updates weekly_stats and invalidates the
-- cache without the loader holding any right on them.  Trigger functions
-- cannot be called directly; their search_path is pinned.
DO $$
DECLARE
	f pg_catalog.regprocedure;
BEGIN
	FOR f IN
		SELECT p.oid::pg_catalog.regprocedure
		  FROM pg_catalog.pg_depend AS d
		  JOIN pg_catalog.pg_proc AS p ON p.oid OPERATOR(pg_catalog.=) d.objid
		 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
		   AND d.deptype OPERATOR(pg_catalog.=) 'e'::pg_catalog."char"
		   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
		   AND d.refobjid OPERATOR(pg_catalog.=)
			   (SELECT e.oid FROM pg_catalog.pg_extension AS e
				 WHERE e.extname OPERATOR(pg_catalog.=) 'pozytywka'::pg_catalog.name)
		   AND p.prorettype OPERATOR(pg_catalog.=) 'pg_catalog.trigger'::pg_catalog.regtype
		   -- the capture trigger (C) needs no privilege: it stays the writer's
		   AND p.prolang OPERATOR(pg_catalog.<>) (SELECT l.oid FROM pg_catalog.pg_language AS l
													WHERE l.lanname OPERATOR(pg_catalog.=) 'c'::pg_catalog.name)
	LOOP
		EXECUTE pg_catalog.format('ALTER FUNCTION %s SECURITY DEFINER', f);
	END LOOP;
END
$$;

-- No EXECUTE for PUBLIC, except the pure computations on arrays.
DO $$
DECLARE
	f pg_catalog.regprocedure;
BEGIN
	FOR f IN
		SELECT p.oid::pg_catalog.regprocedure
		  FROM pg_catalog.pg_depend AS d
		  JOIN pg_catalog.pg_proc AS p ON p.oid OPERATOR(pg_catalog.=) d.objid
		 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
		   AND d.deptype OPERATOR(pg_catalog.=) 'e'::pg_catalog."char"
		   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
		   AND d.refobjid OPERATOR(pg_catalog.=)
			   (SELECT e.oid FROM pg_catalog.pg_extension AS e
				 WHERE e.extname OPERATOR(pg_catalog.=) 'pozytywka'::pg_catalog.name)
		   AND NOT (p.proname OPERATOR(pg_catalog.=) ANY
					('{series_mean,series_ewma,series_trend,arima_fit,arima_forecast,arima_forecast_interval,auto_arima,weekly_series,week_of}'::pg_catalog.name[]))
	LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON ROUTINE %s FROM PUBLIC', f);
	END LOOP;
END
$$;

-- END generated

-- pozytywka.sessions becomes source 1 as a fresh install attaches it; its
-- weekly rows are already there (exact), so nothing is aggregated again
INSERT INTO pozytywka.event_sources (relid, relname, time_column, track_column, type_column,
									 user_column, play_values, like_values, skip_values,
									 keep_history)
VALUES ('pozytywka.sessions', 'pozytywka.sessions', 'timestamp', 'track_id', 'event_type',
		'user_id', '{play}', '{like}', '{skip}', false);
SELECT pozytywka.add_capture_triggers(s, 'pozytywka.sessions')
  FROM pozytywka.event_sources AS s WHERE s.source_id = 1;
