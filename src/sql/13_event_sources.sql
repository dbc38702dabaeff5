-- part 13: the relations of an event source — the SELECT that aggregates
-- them, their capture triggers, their partitions as they come and go (the
-- event triggers), and what a TRUNCATE or a dropped relation means.

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
