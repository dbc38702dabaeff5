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

-- part 12: the event tables whose events count, and the aggregate's write
-- path: writers append deltas (the capture trigger), merge_events() folds
-- them into weekly_stats.  See src/events.c for why nothing else is done in
-- the writer's transaction.

CREATE FUNCTION pozytywka.capture_events()
RETURNS trigger
AS 'MODULE_PATHNAME', 'pz_capture_events'
LANGUAGE C;

-- The week of an event: the Monday of its date; timestamptz in UTC.  The
-- capture trigger applies the same rule in C.
CREATE FUNCTION pozytywka.week_of(timestamp without time zone)
RETURNS date
AS 'MODULE_PATHNAME', 'pz_week_of'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pozytywka.week_of(timestamp with time zone)
RETURNS date
AS 'MODULE_PATHNAME', 'pz_week_of'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pozytywka.week_of(date)
RETURNS date
AS 'MODULE_PATHNAME', 'pz_week_of'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- One merge at a time: the advisory lock key of merge_events() (and of
-- everything else that rewrites weekly_stats).
CREATE FUNCTION pozytywka.merge_lock_key()
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
CREATE FUNCTION @extschema@.merge_events(wait boolean DEFAULT true)
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

	-- Take the deltas this snapshot sees, net per key.  (The lock was taken
	-- in a statement of its own: this one's snapshot, taken after the wait,
	-- sees what the merge before it left.)
	WITH taken AS (
		DELETE FROM pozytywka.weekly_deltas RETURNING *
	)
	SELECT (SELECT count(*) FROM taken), array_agg(g.source_id), array_agg(g.track_id),
		   array_agg(g.week), array_agg(g.plays), array_agg(g.likes), array_agg(g.skips)
	  INTO folded, d_sources, d_tracks, d_weeks, d_plays, d_likes, d_skips
	  FROM (SELECT t.source_id, t.track_id, t.week, sum(t.plays)::bigint AS plays,
				   sum(t.likes)::bigint AS likes, sum(t.skips)::bigint AS skips
			  FROM taken AS t
			 GROUP BY t.source_id, t.track_id, t.week
			HAVING (sum(t.plays), sum(t.likes), sum(t.skips))
				   IS DISTINCT FROM (0::numeric, 0::numeric, 0::numeric)) AS g;
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

-- The SELECT that aggregates the events of one relation of a source, as
-- deltas (source_id, track_id, week, plays, likes, skips) times sign.
-- Column names and value lists travel as quoted identifiers and literals.
CREATE FUNCTION pozytywka.source_aggregate_sql(src pozytywka.event_sources, rel regclass,
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
CREATE FUNCTION pozytywka.append_relation(src pozytywka.event_sources, rel regclass,
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
CREATE FUNCTION pozytywka.events_truncated()
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
CREATE FUNCTION pozytywka.add_capture_triggers(src pozytywka.event_sources, rel regclass)
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

CREATE FUNCTION pozytywka.drop_capture_triggers(src_id integer, rel regclass)
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
CREATE FUNCTION pozytywka.captured_relations(src_id integer)
RETURNS SETOF regclass
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT t.tgrelid::regclass FROM pg_trigger AS t
	 WHERE t.tgname = 'pozytywka_capture_' || src_id || '_insert';
$$;

CREATE FUNCTION pozytywka.source_relations(rel regclass)
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
CREATE FUNCTION pozytywka.sync_event_partitions()
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
CREATE FUNCTION pozytywka.on_ddl_command_end()
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
CREATE FUNCTION pozytywka.on_sql_drop()
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

-- Recompute one source's share of the aggregate from its table.  Writers
-- of the table wait (SHARE lock) so that the result is exact.  With
-- keep_history the weeks up to the week of the table's oldest event are
-- kept as they are: they hold events the table no longer has.
CREATE FUNCTION pozytywka.rebuild_source(src pozytywka.event_sources)
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
CREATE FUNCTION @extschema@.attach_events(tbl regclass, time_column name, track_column name,
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
	FOR r IN SELECT * FROM pozytywka.source_relations(tbl) LOOP
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
CREATE FUNCTION @extschema@.detach_events(tbl regclass)
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

-- Merge every few minutes with pg_cron (idempotent: the same job is updated).
CREATE FUNCTION @extschema@.schedule_merge_events(schedule text DEFAULT '* * * * *')
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	job bigint;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_extension AS e WHERE e.extname = 'pg_cron') THEN
		RAISE EXCEPTION 'pg_cron is not installed in this database'
			USING ERRCODE = 'undefined_object',
				  HINT = 'Or run SELECT merge_events() every few minutes with any other scheduler.';
	END IF;
	IF schedule IS NULL THEN
		RAISE EXCEPTION 'schedule must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	EXECUTE 'SELECT cron.schedule($1, $2, $3)'
	   INTO job
	  USING 'pozytywka-merge-events', schedule,
			format('SELECT %s.merge_events(false)',
				   quote_ident((SELECT n.nspname FROM pg_extension AS e
								  JOIN pg_namespace AS n ON n.oid = e.extnamespace
								 WHERE e.extname = 'pozytywka')));
	RETURN job;
END;
$$;

-- Cached results from week as_of are out of date while changes of weeks up
-- to as_of are pending; readers then compute (part 45, 50).
CREATE FUNCTION pozytywka.pending_through(as_of date)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT 1 FROM pozytywka.weekly_deltas AS d WHERE d.week <= as_of);
$$;

-- Before a result from as_of is cached: true when no change of the weeks up
-- to as_of is pending, after merging them when this transaction can (on
-- the primary, read-write, READ COMMITTED, no other merge running).
-- Otherwise the result is computed and not cached.
CREATE FUNCTION pozytywka.merge_before_caching(as_of date)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	IF NOT pozytywka.pending_through(as_of) THEN
		RETURN true;
	END IF;
	IF pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'
	   OR current_setting('transaction_isolation') <> 'read committed' THEN
		RETURN false;
	END IF;
	IF @extschema@.merge_events(false) IS NULL THEN
		RETURN false;
	END IF;
	RETURN NOT pozytywka.pending_through(as_of);
END;
$$;

-- pozytywka.sessions becomes source 1 as a fresh install attaches it; its
-- weekly rows are already there (exact), so nothing is aggregated again
INSERT INTO pozytywka.event_sources (relid, relname, time_column, track_column, type_column,
									 user_column, play_values, like_values, skip_values,
									 keep_history)
VALUES ('pozytywka.sessions', 'pozytywka.sessions', 'timestamp', 'track_id', 'event_type',
		'user_id', '{play}', '{like}', '{skip}', false);
SELECT pozytywka.add_capture_triggers(s, 'pozytywka.sessions')
  FROM pozytywka.event_sources AS s WHERE s.source_id = 1;

-- part 10: the views read merged rows plus pending deltas

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
SELECT track_id, week, plays, likes, skips FROM pozytywka.imported_weekly_stats;

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
					(SELECT max(week) FROM pozytywka.imported_weekly_stats));
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
				 (SELECT min(week) FROM pozytywka.imported_weekly_stats));
$$;

-- readers skip the cache while changes up to its week are pending; caching merges first

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

-- The predicted top-n for the week after as_of.  Ties are broken by last
-- week's score, then by track_id, so the list is deterministic.
CREATE OR REPLACE FUNCTION @extschema@.top_tracks_next_week(n integer DEFAULT 50,
												 model_type text DEFAULT 'auto',
												 as_of date DEFAULT NULL)
RETURNS TABLE (rank integer, track_id text, track_name text, artist_name text,
			   predicted_score double precision, last_week_score double precision,
			   model text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	origin date;
	kind text;
BEGIN
	PERFORM pozytywka.check_list_size(n);
	IF model_type IS NULL THEN
		PERFORM pozytywka.resolve_model(NULL, NULL);
	END IF;
	origin := pozytywka.resolve_as_of(as_of);
	kind := pozytywka.resolve_model(model_type, origin);
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
	SELECT (row_number() OVER (ORDER BY top.predicted_score DESC,
										 lw.score DESC NULLS LAST, top.track_id))::integer,
		   top.track_id, t.name, a.name, top.predicted_score, coalesce(lw.score, 0), kind
	  FROM top
	  LEFT JOIN lw ON lw.track_id = top.track_id
	  LEFT JOIN pozytywka.tracks AS t ON t.id = top.track_id
	  LEFT JOIN pozytywka.artists AS a ON a.id = t.id_artist
	 ORDER BY top.predicted_score DESC, lw.score DESC NULLS LAST, top.track_id
	 LIMIT n;
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
		pozytywka.lstm_inputs, pozytywka.ensemble_members, pozytywka.models,
		pozytywka.tracks, pozytywka.artists, pozytywka.top_tracks_snapshot TO %I', grantee);
	EXECUTE format('GRANT EXECUTE ON FUNCTION
		@extschema@.top_tracks_next_week(integer, text, date),
		@extschema@.backtest_top_tracks(integer, integer, text),
		@extschema@.backtest_summary(integer, integer, text),
		@extschema@.predict(jsonb),
		@extschema@.weekly_popularity(date),
		@extschema@.latest_complete_week() TO %I', grantee);
END;
$$;

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
	-- the aggregate is read, never written: writers only append deltas
	-- (the capture trigger needs no privilege), merge_events() folds them
	EXECUTE format('GRANT SELECT ON pozytywka.weekly_stats, pozytywka.weekly_deltas,
		pozytywka.event_sources TO %I', grantee);
	EXECUTE format('GRANT SELECT, DELETE ON pozytywka.forecast_runs, pozytywka.forecast_cache,
		pozytywka.auto_choice, pozytywka.lstm_inputs TO %I', grantee);
	-- the importer's bookkeeping
	EXECUTE format('GRANT SELECT ON pozytywka.import_fields TO %I', grantee);
	EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pozytywka.import_runs, pozytywka.import_rejects TO %I', grantee);
	EXECUTE format('GRANT USAGE ON SEQUENCE pozytywka.import_runs_run_id_seq,
		pozytywka.import_rejects_reject_id_seq TO %I', grantee);
	EXECUTE format('GRANT EXECUTE ON FUNCTION @extschema@.import_staged(text, text) TO %I', grantee);
	-- training: lstm_train reads the history and registers (and may
	-- activate) a model; the weekly job refreshes the cache and the list
	EXECUTE format('GRANT SELECT ON pozytywka.settings, pozytywka.effective_settings,
		pozytywka.model_kinds, pozytywka.auto_preference, pozytywka.ensemble_members,
		pozytywka.weekly_rows, pozytywka.weekly_history, pozytywka.weekly_scores TO %I', grantee);
	EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pozytywka.models TO %I', grantee);
	EXECUTE format('GRANT USAGE ON SEQUENCE pozytywka.models_model_id_seq TO %I', grantee);
	EXECUTE format('GRANT INSERT, UPDATE ON pozytywka.forecast_runs, pozytywka.forecast_cache,
		pozytywka.auto_choice, pozytywka.lstm_inputs TO %I', grantee);
	EXECUTE format('GRANT SELECT, INSERT, DELETE ON pozytywka.top_tracks_snapshot TO %I', grantee);
END;
$$;

-- ---- accuracy (issue 13): rising tracks, uncertainty, explain_choice ----
-- top_tracks_next_week gains lower, upper, p_top; backtest_top_tracks and
-- backtest_summary gain the new entries caught, Brier scores and coverage
-- (result types change: DROP and CREATE); part 52 is new.
CREATE FUNCTION pozytywka.conformal_interval(residuals double precision[], level double precision)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'pz_conformal_interval_sql'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pozytywka.conformal_interval(double precision[], double precision) IS
	'Split-conformal {lower, upper} quantiles of residuals for a central coverage level';

CREATE FUNCTION pozytywka.rank_probability(hits double precision[], counts double precision[],
										   prior_weight double precision)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'pz_rank_probability_sql'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pozytywka.rank_probability(double precision[], double precision[], double precision) IS
	'Probability of the real top n by predicted rank: shrunk hit rates fitted non-increasing (isotonic)';

-- score x exp(q) on the log1p scale, never negative (NULL without q or a
-- finite score), never an overflow (capped at exp(700))
CREATE FUNCTION pozytywka.interval_bound(score double precision, q double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN score < 'Infinity'::float8	-- NaN sorts above Infinity
				THEN GREATEST(pg_catalog.exp(LEAST(pg_catalog.ln(1.0::float8 + GREATEST(score, 0.0::float8)) + q,
												   700.0::float8))
							  - 1.0::float8, 0.0::float8) END;
$$;

-- Cached calibrations, dropped with the forecasts of the same (model, as_of)
-- (both depend on the history up to as_of, and on the active model).
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

-- The list of one model kind for week target, forecast from target-7 (the
-- ranking of top_tracks_next_week), with what happened in week target.
CREATE FUNCTION pozytywka.scored_list(kind text, n integer, target date)
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
CREATE FUNCTION pozytywka.calibration_targets(kind text, as_of date)
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

CREATE FUNCTION pozytywka.compute_calibration(kind text, n integer, as_of date)
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
CREATE FUNCTION pozytywka.calibration_kinds(kind text)
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
CREATE FUNCTION pozytywka.model_calibration(kind text, n integer, as_of date)
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
CREATE FUNCTION pozytywka.cache_calibration(kind text, n integer, as_of date)
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

-- One model kind's list for week target (forecast from target-7) with its
-- interval and p_top (calibrated on weeks up to target-7) and the outcome.
CREATE FUNCTION pozytywka.list_rows(kind text, n integer, target date)
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
CREATE FUNCTION pozytywka.list_accuracy(kind text, n integer, target date, calibrated boolean)
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
CREATE FUNCTION @extschema@.backtest_reliability(n integer DEFAULT 50,
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
CREATE FUNCTION @extschema@.explain_choice(as_of date DEFAULT NULL)
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

DROP FUNCTION @extschema@.backtest_summary(integer, integer, text);
DROP FUNCTION @extschema@.backtest_top_tracks(integer, integer, text);
DROP FUNCTION @extschema@.top_tracks_next_week(integer, text, date);

CREATE FUNCTION @extschema@.top_tracks_next_week(n integer DEFAULT 50,
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

CREATE FUNCTION @extschema@.backtest_top_tracks(n integer DEFAULT 50,
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

CREATE FUNCTION @extschema@.backtest_summary(n integer DEFAULT 50,
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

ALTER TABLE pozytywka.top_tracks_snapshot
	ADD COLUMN lower double precision,
	ADD COLUMN upper double precision,
	ADD COLUMN p_top double precision;

CREATE OR REPLACE VIEW @extschema@.next_week_top_tracks AS
SELECT s.rank, s.track_id, s.track_name, s.artist_name, s.predicted_score,
	   s.last_week_score, s.model, s.as_of, s.for_week, s.weights, s.computed_at,
	   s.lower, s.upper, s.p_top
  FROM pozytywka.top_tracks_snapshot AS s;

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
	EXECUTE format('GRANT EXECUTE ON FUNCTION
		@extschema@.top_tracks_next_week(integer, text, date),
		@extschema@.backtest_top_tracks(integer, integer, text),
		@extschema@.backtest_summary(integer, integer, text),
		@extschema@.predict(jsonb),
		@extschema@.explain_choice(date),
		@extschema@.backtest_reliability(integer, integer, text),
		@extschema@.weekly_popularity(date),
		@extschema@.latest_complete_week() TO %I', grantee);
END;
$$;

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
	-- the aggregate is read, never written: writers only append deltas
	-- (the capture trigger needs no privilege), merge_events() folds them
	EXECUTE format('GRANT SELECT ON pozytywka.weekly_stats, pozytywka.weekly_deltas,
		pozytywka.event_sources TO %I', grantee);
	EXECUTE format('GRANT SELECT, DELETE ON pozytywka.forecast_runs, pozytywka.forecast_cache,
		pozytywka.forecast_calibration, pozytywka.auto_choice, pozytywka.lstm_inputs TO %I', grantee);
	-- the importer's bookkeeping
	EXECUTE format('GRANT SELECT ON pozytywka.import_fields TO %I', grantee);
	EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pozytywka.import_runs, pozytywka.import_rejects TO %I', grantee);
	EXECUTE format('GRANT USAGE ON SEQUENCE pozytywka.import_runs_run_id_seq,
		pozytywka.import_rejects_reject_id_seq TO %I', grantee);
	EXECUTE format('GRANT EXECUTE ON FUNCTION @extschema@.import_staged(text, text) TO %I', grantee);
	-- training: lstm_train reads the history and registers (and may
	-- activate) a model; the weekly job refreshes the cache and the list
	EXECUTE format('GRANT SELECT ON pozytywka.settings, pozytywka.effective_settings,
		pozytywka.model_kinds, pozytywka.auto_preference, pozytywka.ensemble_members,
		pozytywka.weekly_rows, pozytywka.weekly_history, pozytywka.weekly_scores TO %I', grantee);
	EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pozytywka.models TO %I', grantee);
	EXECUTE format('GRANT USAGE ON SEQUENCE pozytywka.models_model_id_seq TO %I', grantee);
	EXECUTE format('GRANT INSERT, UPDATE ON pozytywka.forecast_runs, pozytywka.forecast_cache,
		pozytywka.forecast_calibration, pozytywka.auto_choice, pozytywka.lstm_inputs TO %I', grantee);
	EXECUTE format('GRANT SELECT, INSERT, DELETE ON pozytywka.top_tracks_snapshot TO %I', grantee);
END;
$$;

-- the full refresh caches each candidate's calibration too (part 52)
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
