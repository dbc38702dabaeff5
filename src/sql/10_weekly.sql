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
CREATE VIEW pozytywka.weekly_rows AS
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
CREATE VIEW pozytywka.weekly_history AS
SELECT track_id, week,
	   pg_catalog.sum(plays)::bigint AS plays,
	   pg_catalog.sum(likes)::bigint AS likes,
	   pg_catalog.sum(skips)::bigint AS skips
  FROM pozytywka.weekly_rows
 GROUP BY track_id, week
HAVING pg_catalog.sum(plays) <> 0::numeric OR pg_catalog.sum(likes) <> 0::numeric
	OR pg_catalog.sum(skips) <> 0::numeric;

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
					(SELECT max(week) - 7 FROM pozytywka.weekly_deltas),
					(SELECT max(week) FROM pozytywka.imported_weekly_stats),
					(SELECT max(sh.week) FROM pozytywka.shard_state AS sh WHERE sh.kind = 'latest'));
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
				 (SELECT min(week) FROM pozytywka.weekly_deltas),
				 (SELECT min(week) FROM pozytywka.imported_weekly_stats),
				 (SELECT min(sh.week) FROM pozytywka.shard_state AS sh WHERE sh.kind = 'first'));
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
