-- part 14: attaching and detaching event tables, rebuilding the aggregate
-- from them, scheduling the merge, and what a reader must merge first;
-- pozytywka.sessions is attached here as source 1.

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

-- Merge every few minutes with pg_cron, run as run_as (part 80,
-- cron_schedule_as); idempotent: the same job is updated.
CREATE FUNCTION @extschema@.schedule_merge_events(schedule text DEFAULT '* * * * *',
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
