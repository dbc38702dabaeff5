-- part 10: weekly popularity — the aggregate, its maintenance, the scores.

-- The weekly aggregate is maintained by statement-level triggers with
-- transition tables: a bulk load (COPY, INSERT ... SELECT) is one grouped
-- upsert, not one per row.  Each trigger groups its events into net
-- (track, week) deltas and hands them to apply_weekly_deltas().
CREATE FUNCTION pozytywka.apply_weekly_deltas(track_ids text[], weeks date[],
											  d_plays bigint[], d_likes bigint[],
											  d_skips bigint[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	emptied_tracks text[];
	emptied_weeks date[];
BEGIN
	IF track_ids IS NULL THEN
		RETURN;
	END IF;

	-- Existing rows are locked in (track_id, week) order first, so that
	-- two single-statement writers never deadlock on the aggregate, then
	-- updated.  (An upsert cannot carry a negative delta: the CHECK
	-- constraints are tested on the row proposed for insertion.)
	PERFORM 1
	   FROM pozytywka.weekly_stats AS w
	   JOIN unnest(track_ids, weeks) AS d (track_id, week)
		 ON w.track_id = d.track_id AND w.week = d.week
	  ORDER BY w.track_id, w.week
		FOR UPDATE OF w;

	WITH upd AS (
		UPDATE pozytywka.weekly_stats AS w
		   SET plays = w.plays + d.plays,
			   likes = w.likes + d.likes,
			   skips = w.skips + d.skips
		  FROM unnest(track_ids, weeks, d_plays, d_likes, d_skips)
			   AS d (track_id, week, plays, likes, skips)
		 WHERE w.track_id = d.track_id AND w.week = d.week
		RETURNING w.track_id, w.week, w.plays, w.likes, w.skips)
	SELECT array_agg(upd.track_id), array_agg(upd.week)
	  INTO emptied_tracks, emptied_weeks
	  FROM upd
	 WHERE (upd.plays, upd.likes, upd.skips) = (0, 0, 0);

	-- New keys (a concurrent writer may have just created one: then the
	-- conflict clause adds to it).  A negative delta for a key that has no
	-- row fails the CHECK constraints: the aggregate had drifted.
	INSERT INTO pozytywka.weekly_stats AS w (track_id, week, plays, likes, skips)
	SELECT d.track_id, d.week, d.plays, d.likes, d.skips
	  FROM unnest(track_ids, weeks, d_plays, d_likes, d_skips)
		   AS d (track_id, week, plays, likes, skips)
	 WHERE (d.plays, d.likes, d.skips) <> (0, 0, 0)
	   AND NOT EXISTS (SELECT 1 FROM pozytywka.weekly_stats AS x
					   WHERE x.track_id = d.track_id AND x.week = d.week)
	 ORDER BY 1, 2
	ON CONFLICT (track_id, week) DO UPDATE
	   SET plays = w.plays + excluded.plays,
		   likes = w.likes + excluded.likes,
		   skips = w.skips + excluded.skips;

	-- a (track, week) with no events left has no aggregate row, exactly
	-- like a fresh GROUP BY over the events
	IF emptied_tracks IS NOT NULL THEN
		DELETE FROM pozytywka.weekly_stats AS w
		 USING unnest(emptied_tracks, emptied_weeks) AS z (track_id, week)
		 WHERE w.track_id = z.track_id AND w.week = z.week
		   AND (w.plays, w.likes, w.skips) = (0, 0, 0);
	END IF;
END;
$$;

CREATE FUNCTION pozytywka.sessions_inserted()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	PERFORM pozytywka.apply_weekly_deltas(array_agg(g.track_id), array_agg(g.week),
										  array_agg(g.plays), array_agg(g.likes),
										  array_agg(g.skips))
	   FROM (SELECT e.track_id, date_trunc('week', e."timestamp")::date AS week,
					count(*) FILTER (WHERE e.event_type = 'play') AS plays,
					count(*) FILTER (WHERE e.event_type = 'like') AS likes,
					count(*) FILTER (WHERE e.event_type = 'skip') AS skips
			   FROM new_events AS e
			  WHERE e.track_id IS NOT NULL
				AND e.event_type IN ('play', 'like', 'skip')
			  GROUP BY 1, 2) AS g;
	RETURN NULL;
END;
$$;

CREATE FUNCTION pozytywka.sessions_deleted()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	PERFORM pozytywka.apply_weekly_deltas(array_agg(g.track_id), array_agg(g.week),
										  array_agg(-g.plays), array_agg(-g.likes),
										  array_agg(-g.skips))
	   FROM (SELECT e.track_id, date_trunc('week', e."timestamp")::date AS week,
					count(*) FILTER (WHERE e.event_type = 'play') AS plays,
					count(*) FILTER (WHERE e.event_type = 'like') AS likes,
					count(*) FILTER (WHERE e.event_type = 'skip') AS skips
			   FROM old_events AS e
			  WHERE e.track_id IS NOT NULL
				AND e.event_type IN ('play', 'like', 'skip')
			  GROUP BY 1, 2) AS g;
	RETURN NULL;
END;
$$;

CREATE FUNCTION pozytywka.sessions_updated()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	PERFORM pozytywka.apply_weekly_deltas(array_agg(g.track_id), array_agg(g.week),
										  array_agg(g.plays), array_agg(g.likes),
										  array_agg(g.skips))
	   FROM (SELECT x.track_id, date_trunc('week', x."timestamp")::date AS week,
					coalesce(sum(x.sign) FILTER (WHERE x.event_type = 'play'), 0) AS plays,
					coalesce(sum(x.sign) FILTER (WHERE x.event_type = 'like'), 0) AS likes,
					coalesce(sum(x.sign) FILTER (WHERE x.event_type = 'skip'), 0) AS skips
			   FROM (SELECT e.track_id, e."timestamp", e.event_type, 1 AS sign
					   FROM new_events AS e
					 UNION ALL
					 SELECT e.track_id, e."timestamp", e.event_type, -1
					   FROM old_events AS e) AS x
			  WHERE x.track_id IS NOT NULL
				AND x.event_type IN ('play', 'like', 'skip')
			  GROUP BY 1, 2) AS g;
	RETURN NULL;
END;
$$;

CREATE TRIGGER sessions_weekly_insert
	AFTER INSERT ON pozytywka.sessions
	REFERENCING NEW TABLE AS new_events
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.sessions_inserted();
CREATE TRIGGER sessions_weekly_update
	AFTER UPDATE ON pozytywka.sessions
	REFERENCING OLD TABLE AS old_events NEW TABLE AS new_events
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.sessions_updated();
CREATE TRIGGER sessions_weekly_delete
	AFTER DELETE ON pozytywka.sessions
	REFERENCING OLD TABLE AS old_events
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.sessions_deleted();

CREATE FUNCTION pozytywka.sessions_truncated()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	TRUNCATE pozytywka.weekly_stats;
	RETURN NULL;
END;
$$;

CREATE TRIGGER sessions_weekly_truncate
	AFTER TRUNCATE ON pozytywka.sessions
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.sessions_truncated();

-- Full rebuild of the aggregate from the raw events.  Takes a SHARE lock on
-- sessions (writers wait, readers do not) so the result is exact.
CREATE FUNCTION @extschema@.rebuild_weekly_stats()
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	n bigint;
BEGIN
	LOCK TABLE pozytywka.sessions IN SHARE MODE;
	DELETE FROM pozytywka.weekly_stats;
	INSERT INTO pozytywka.weekly_stats (track_id, week, plays, likes, skips)
	SELECT track_id, date_trunc('week', "timestamp")::date,
		   count(*) FILTER (WHERE event_type = 'play'),
		   count(*) FILTER (WHERE event_type = 'like'),
		   count(*) FILTER (WHERE event_type = 'skip')
	  FROM pozytywka.sessions
	 WHERE track_id IS NOT NULL AND event_type IN ('play', 'like', 'skip')
	 GROUP BY 1, 2;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END;
$$;
COMMENT ON FUNCTION @extschema@.rebuild_weekly_stats() IS
	'Recompute pozytywka.weekly_stats from pozytywka.sessions; returns the number of (track, week) rows';

-- What every model reads: the aggregate kept from sessions plus the user's
-- pre-aggregated history, side by side.  When the event log is sharded,
-- each shard keeps its own weekly_stats and this is the place that unions
-- them.
CREATE VIEW pozytywka.weekly_rows AS
SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_stats
UNION ALL
SELECT track_id, week, plays, likes, skips FROM pozytywka.imported_weekly_stats;

-- The same, one row per (track, week).  The models read weekly_rows with a
-- condition on the weeks (pushed into both tables' indexes) and add up a
-- week's rows in their own aggregates (weekly_series, lstm_window).
CREATE VIEW pozytywka.weekly_history AS
SELECT track_id, week,
	   sum(plays)::bigint AS plays,
	   sum(likes)::bigint AS likes,
	   sum(skips)::bigint AS skips
  FROM pozytywka.weekly_rows
 GROUP BY track_id, week;

-- Scores with the current weights.
CREATE VIEW pozytywka.weekly_scores AS
SELECT h.track_id, h.week, h.plays, h.likes, h.skips,
	   s.w_play * h.plays::float8 + s.w_like * h.likes::float8 - s.w_skip * h.skips::float8 AS score
  FROM pozytywka.weekly_history AS h
 CROSS JOIN pozytywka.effective_settings AS s;

CREATE FUNCTION @extschema@.set_score_weights(w_play double precision,
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
CREATE FUNCTION @extschema@.latest_complete_week()
RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT greatest((SELECT max(week) - 7 FROM pozytywka.weekly_stats),
					(SELECT max(week) FROM pozytywka.imported_weekly_stats));
$$;

-- The first week of data (event log or imported weekly counts); NULL when
-- there is none.  Forecast origins and backtest weeks start after it.
CREATE FUNCTION pozytywka.first_week()
RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT least((SELECT min(week) FROM pozytywka.weekly_stats),
				 (SELECT min(week) FROM pozytywka.imported_weekly_stats));
$$;

-- Scores of one week, best first (default: the latest complete week).
CREATE FUNCTION @extschema@.weekly_popularity(of_week date DEFAULT NULL)
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
