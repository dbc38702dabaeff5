-- part 15: several servers with postgres_fdw.
--
-- Every server runs the same extension.  A shard keeps the weekly aggregate
-- of its own events (pozytywka.sessions or its attached tables; all events
-- of a track on one shard) and publishes two views: weekly_rows (part 10)
-- and history_state below.  A coordinator registers each shard with
-- add_shard(server): two foreign tables per shard, and the views
-- shard_rows / shard_state of part 05 rewritten as their UNION ALL, so
-- that pozytywka.weekly_rows — what every model reads — is the union of the
-- coordinator's own rows and the shards' weekly rows.  Only weekly rows
-- cross the network, filtered on the weeks (the models' conditions on
-- weekly_rows reach the shards' WHERE clauses), from all shards at once
-- (the foreign tables are async_capable: one Append waits on all).
--
-- The coordinator's forecast cache follows the shards' history through
-- history marks: every change of a shard's weekly aggregate (a merge, a
-- rebuild, imported counts) bumps the version of the earliest week it
-- touched; merge_events() on the coordinator compares the versions with
-- those it saw last (shard_marks) and drops the cached forecasts from the
-- earliest changed week on, and pending_through() tells readers not to use
-- a cached forecast while a shard has changes the coordinator has not seen.

-- The history marks: week -> version, bumped by every statement that
-- changes the weekly aggregate or the imported counts (the earliest week it
-- touched).  At most one row per week.  Versions only grow, so a change is
-- seen whatever the order in which concurrent transactions commit.  The
-- trigger runs as the extension's owner: writers of the imported counts (a
-- loader role) need no privilege on the marks.
CREATE TABLE pozytywka.history_marks (
	week		date PRIMARY KEY,
	version		bigint NOT NULL DEFAULT 1
);

CREATE FUNCTION pozytywka.mark_history()
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

CREATE TRIGGER weekly_stats_mark_insert AFTER INSERT ON pozytywka.weekly_stats
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.mark_history();
CREATE TRIGGER weekly_stats_mark_update AFTER UPDATE ON pozytywka.weekly_stats
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.mark_history();
CREATE TRIGGER weekly_stats_mark_delete AFTER DELETE ON pozytywka.weekly_stats
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.mark_history();
CREATE TRIGGER weekly_stats_mark_truncate AFTER TRUNCATE ON pozytywka.weekly_stats
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.mark_history();
CREATE TRIGGER imported_mark_insert AFTER INSERT ON pozytywka.imported_weekly_stats
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.mark_history();
CREATE TRIGGER imported_mark_update AFTER UPDATE ON pozytywka.imported_weekly_stats
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.mark_history();
CREATE TRIGGER imported_mark_delete AFTER DELETE ON pozytywka.imported_weekly_stats
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.mark_history();
CREATE TRIGGER imported_mark_truncate AFTER TRUNCATE ON pozytywka.imported_weekly_stats
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.mark_history();

-- What a coordinator asks a shard, in one small round trip: its history
-- marks, the earliest week of its pending (not merged) changes, its first
-- and latest complete week.
CREATE VIEW pozytywka.history_state AS
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
CREATE FUNCTION pozytywka.shard_table(server name, what text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT format('pozytywka.%I', left('shard_' || server, 56) || '_' || what);
$$;

-- Rewrite shard_rows and shard_state as the UNION ALL of the registered
-- shards' foreign tables.
CREATE FUNCTION pozytywka.rebuild_shard_views()
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
CREATE FUNCTION @extschema@.add_shard(server name)
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

CREATE FUNCTION @extschema@.remove_shard(server name)
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
SELECT pg_catalog.pg_extension_config_dump('pozytywka.shards', '');

-- Read replicas: what must write (training, refreshing the cache or the
-- dashboard's list) fails at once, with a hint, on a hot standby or in a
-- read-only transaction — before any work, never after minutes of it.  The
-- read functions need no such check: on a standby they read the forecasts
-- cached on the primary and compute, without caching, what is not cached
-- (merge_before_caching(), part 14).
CREATE FUNCTION pozytywka.require_primary(what text)
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
