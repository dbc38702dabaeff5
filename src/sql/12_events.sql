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
	-- on a coordinator: the shards' merged changes reach its cache (part 15)
	PERFORM pozytywka.sync_shards();

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
CREATE FUNCTION @extschema@.rebuild_weekly_stats()
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
CREATE FUNCTION pozytywka.merge_before_caching(as_of date)
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

-- The built-in event table is source 1.
SELECT @extschema@.attach_events('pozytywka.sessions', 'timestamp', 'track_id', 'event_type',
								 'user_id', keep_history => false);
