-- part 12: the aggregate's write path: writers append deltas (the capture
-- trigger), merge_events() folds them into weekly_stats.  See src/events.c
-- for why nothing else is done in the writer's transaction.

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
