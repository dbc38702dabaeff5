-- part 05: several servers with postgres_fdw (the coordinator's side of part
-- 15).  Each shard server runs the extension on its own events and keeps
-- their weekly aggregate; pozytywka.add_shard(server) registers a
-- postgres_fdw server, creates two foreign tables for it and rewrites the
-- two views below as the UNION ALL of all shards.  Defined before part 10,
-- whose weekly_rows (what every model reads) includes pozytywka.shard_rows.
-- With no shard, both views are empty and cost nothing (the planner drops
-- them).

-- The registered shards (a postgres_fdw server each).
CREATE TABLE pozytywka.shards (
	server		name PRIMARY KEY,
	added_at	timestamptz NOT NULL DEFAULT pg_catalog.now()
);

-- The versions of each shard's history marks (part 15) that the
-- coordinator's forecast cache has seen: a shard's week whose version
-- differs invalidates the cached forecasts from that week on.
CREATE TABLE pozytywka.shard_marks (
	server		name NOT NULL REFERENCES pozytywka.shards ON DELETE CASCADE,
	week		date NOT NULL,
	version		bigint NOT NULL,
	PRIMARY KEY (server, week)
);

-- The shards' weekly rows (their pozytywka.weekly_rows), all at once.
CREATE VIEW pozytywka.shard_rows AS
SELECT NULL::text AS track_id, NULL::date AS week, NULL::bigint AS plays,
	   NULL::bigint AS likes, NULL::bigint AS skips
 WHERE false;

-- The shards' state (their pozytywka.history_state), one row set per shard.
CREATE VIEW pozytywka.shard_state AS
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
CREATE FUNCTION pozytywka.sync_shards()
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
