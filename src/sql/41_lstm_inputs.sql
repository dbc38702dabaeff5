-- part 41: the LSTM's inputs — each track's window of weekly rows, and
-- their cache for the candidates of an origin week.

-- lstm_window(week, score, plays, likes, skips, as_of, win): a track's raw
-- input window float8[win][4] (score, plays, likes, skips per week) of the
-- win weeks ending at as_of, oldest first, 0 for quiet weeks and before the
-- track's first week; rows of the same week are added.
CREATE FUNCTION pozytywka.lstm_window_transfn(internal, date, double precision, double precision,
											  double precision, double precision, date, integer)
RETURNS internal
AS 'MODULE_PATHNAME', 'pz_lstm_window_transfn'
LANGUAGE C IMMUTABLE;

CREATE FUNCTION pozytywka.lstm_window_finalfn(internal)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'pz_lstm_window_finalfn'
LANGUAGE C IMMUTABLE;

CREATE AGGREGATE pozytywka.lstm_window(week date, score double precision, plays double precision,
									   likes double precision, skips double precision,
									   as_of date, win integer) (
	SFUNC = pozytywka.lstm_window_transfn,
	STYPE = internal,
	FINALFUNC = pozytywka.lstm_window_finalfn,
	SSPACE = 280
);

-- Raw windows of the given tracks for as_of (see lstm_window), and each
-- track's age in weeks at as_of (-1 when its release date is unknown).
CREATE FUNCTION pozytywka.lstm_windows(track_ids text[], as_of date, win integer)
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
CREATE FUNCTION pozytywka.lstm_candidate_windows(as_of date, win integer)
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

-- The candidates' input windows for an origin, kept so that the list
-- straight from the network only runs the network: building 20,000 windows
-- from the weekly rows takes longer than the forward pass.  Written by
-- cache_lstm_inputs(); dropped with the cached forecasts whenever the
-- history up to as_of, the settings or the catalogue change (part 45).
CREATE TABLE pozytywka.lstm_inputs (
	as_of		date NOT NULL,
	window_weeks integer NOT NULL,
	track_ids	text[] NOT NULL,
	windows		double precision[] NOT NULL,
	ages		double precision[] NOT NULL,
	computed_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	PRIMARY KEY (as_of, window_weeks)
);
-- megabytes of floats that compress poorly: store them as they are
ALTER TABLE pozytywka.lstm_inputs ALTER COLUMN windows SET STORAGE EXTERNAL,
	ALTER COLUMN ages SET STORAGE EXTERNAL, ALTER COLUMN track_ids SET STORAGE EXTERNAL;

-- Cache the active model's inputs for as_of (the latest complete week by
-- default) unless cached, no model is active or the caller may not write.
-- Same lock protocol as cache_forecasts().
CREATE FUNCTION pozytywka.cache_lstm_inputs(as_of date DEFAULT NULL)
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
