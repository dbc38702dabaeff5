-- part 20: weekly series, the model registry and the baseline models.

CREATE FUNCTION @extschema@.series_mean(series double precision[], weeks integer)
RETURNS double precision
AS 'MODULE_PATHNAME', 'pz_series_mean'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.series_mean(double precision[], integer) IS
	'Mean of the last weeks values of series (all of them when shorter)';

CREATE FUNCTION @extschema@.series_ewma(series double precision[], alpha double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'pz_series_ewma'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.series_ewma(double precision[], double precision) IS
	'Exponentially weighted mean of series (smoothing factor alpha in (0, 1])';

CREATE FUNCTION @extschema@.series_trend(series double precision[], weeks integer)
RETURNS double precision
AS 'MODULE_PATHNAME', 'pz_series_trend'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.series_trend(double precision[], integer) IS
	'Least-squares line through the last weeks values, one step ahead';

-- weekly_series(week, value, as_of, n_weeks): a track's dense weekly series
-- of the n_weeks weeks ending at as_of, from its first week with data in
-- that window; values of the same week are added (so the event-log
-- aggregate and imported weekly counts need no GROUP BY of their union).
CREATE FUNCTION pozytywka.weekly_series_transfn(internal, date, double precision, date, integer)
RETURNS internal
AS 'MODULE_PATHNAME', 'pz_weekly_series_transfn'
LANGUAGE C IMMUTABLE;

CREATE FUNCTION pozytywka.weekly_series_finalfn(internal)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'pz_weekly_series_finalfn'
LANGUAGE C IMMUTABLE;

CREATE AGGREGATE @extschema@.weekly_series(week date, value double precision,
										   as_of date, n_weeks integer) (
	SFUNC = pozytywka.weekly_series_transfn,
	STYPE = internal,
	FINALFUNC = pozytywka.weekly_series_finalfn,
	SSPACE = 480
);

-- Every candidate track's dense weekly score series ending at the week
-- as_of: one value a week from the track's first week inside the history
-- window (settings.history_weeks) to as_of, 0 where it had no events.  A
-- candidate had events in one of the last settings.candidate_weeks weeks;
-- settings.max_candidates, when set, keeps only the tracks with the best
-- total score over those weeks (a bound for very large catalogues: a track
-- outside it cannot enter the list, whatever its forecast).
CREATE FUNCTION pozytywka.candidate_series(as_of date)
RETURNS TABLE (track_id text, first_week date, series double precision[])
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	cfg record;
BEGIN
	SELECT * INTO STRICT cfg FROM pozytywka.effective_settings;
	RETURN QUERY
	WITH rows_in_window AS (
		SELECT h.track_id, h.week, h.plays, h.likes, h.skips
		  FROM pozytywka.weekly_rows AS h
		 WHERE h.week <= as_of AND h.week > as_of - 7 * cfg.history_weeks
	), per_track AS (
		SELECT r.track_id,
			   @extschema@.weekly_series(r.week,
										 cfg.w_play * r.plays + cfg.w_like * r.likes - cfg.w_skip * r.skips,
										 as_of, cfg.history_weeks) AS series,
			   max(r.week) AS last_active
		  FROM rows_in_window AS r
		 GROUP BY r.track_id
	)
	SELECT p.track_id, as_of - 7 * (cardinality(p.series) - 1), p.series
	  FROM per_track AS p
	 WHERE p.last_active > as_of - 7 * cfg.candidate_weeks
	 ORDER BY CASE WHEN cfg.max_candidates IS NULL THEN 0
				   ELSE -@extschema@.series_mean(p.series, cfg.candidate_weeks) END,
			  p.track_id COLLATE "C"
	 LIMIT cfg.max_candidates;
END;
$$;

-- The model registry: one row per model kind that top_tracks_next_week,
-- backtest_top_tracks and predict can run.  A model kind is a function
--     f(as_of date) RETURNS TABLE (track_id text, predicted_score float8)
-- that forecasts the score of the week after as_of for the candidate
-- tracks, using no data after as_of.  Adding a model is one INSERT here.
CREATE TABLE pozytywka.model_kinds (
	name		text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]*$'),
	forecast_function regprocedure NOT NULL,
	description text NOT NULL,
	-- 'baseline' models are always available; others may need a trained
	-- model or enough history (checked by the function itself)
	family		text NOT NULL CHECK (family IN ('baseline', 'statistical', 'neural', 'ensemble')),
	-- does 'auto' consider it?
	auto_candidate boolean NOT NULL DEFAULT true,
	-- f(as_of date) RETURNS boolean: can it forecast from as_of (a trained
	-- model exists, ...)?  NULL: always.
	available_function regprocedure
);

-- Registering a kind is checked: whatever a row names is run by every top
-- list, backtest and the weekly job.  The forecast function must be
-- f(as_of date) RETURNS TABLE (track_id text, predicted_score double
-- precision), the availability function f(as_of date) RETURNS boolean, and
-- neither SECURITY DEFINER (a model runs with the rights of whoever asks
-- for the list).  Only the extension's owner can write this table: it is
-- granted to no role (see part 90).
CREATE FUNCTION pozytywka.check_model_kind()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	f record;
BEGIN
	SELECT p.prokind, p.pronargs, p.proargtypes, p.proretset, p.prorettype, p.prosecdef,
		   p.proargmodes, p.proallargtypes, p.proargnames
	  INTO f
	  FROM pg_proc AS p WHERE p.oid = NEW.forecast_function;
	IF NOT (f.prokind = 'f' AND f.pronargs = 1 AND f.proargtypes[0] = 'date'::regtype
			AND f.proretset AND NOT f.prosecdef
			AND f.proargmodes IS NOT NULL AND cardinality(f.proargmodes) = 3
			AND f.proargmodes[1] = 'i' AND f.proargmodes[2] IN ('o', 't') AND f.proargmodes[3] IN ('o', 't')
			AND f.proallargtypes = ARRAY['date'::regtype, 'text'::regtype, 'float8'::regtype]::oid[]
			AND f.proargnames[2:3] = ARRAY['track_id', 'predicted_score']) THEN
		RAISE EXCEPTION 'model kind "%": % is not f(as_of date) RETURNS TABLE (track_id text, predicted_score double precision)',
			NEW.name, NEW.forecast_function
			USING ERRCODE = 'invalid_function_definition',
				  HINT = 'A forecast function takes the origin week and returns one predicted score per track; it must not be SECURITY DEFINER.';
	END IF;
	IF NEW.available_function IS NOT NULL THEN
		SELECT p.prokind, p.pronargs, p.proargtypes, p.proretset, p.prorettype, p.prosecdef
		  INTO f
		  FROM pg_proc AS p WHERE p.oid = NEW.available_function;
		IF NOT (f.prokind = 'f' AND f.pronargs = 1 AND f.proargtypes[0] = 'date'::regtype
				AND NOT f.proretset AND f.prorettype = 'boolean'::regtype AND NOT f.prosecdef) THEN
			RAISE EXCEPTION 'model kind "%": % is not f(as_of date) RETURNS boolean',
				NEW.name, NEW.available_function
				USING ERRCODE = 'invalid_function_definition';
		END IF;
	END IF;
	RETURN NEW;
END;
$$;
CREATE TRIGGER model_kinds_check BEFORE INSERT OR UPDATE ON pozytywka.model_kinds
	FOR EACH ROW EXECUTE FUNCTION pozytywka.check_model_kind();

CREATE FUNCTION pozytywka.forecast_naive(as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT c.track_id, c.series[cardinality(c.series)]
	  FROM pozytywka.candidate_series(as_of) AS c;
$$;

CREATE FUNCTION pozytywka.forecast_mean4(as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT c.track_id, @extschema@.series_mean(c.series, 4)
	  FROM pozytywka.candidate_series(as_of) AS c;
$$;

CREATE FUNCTION pozytywka.forecast_mean8(as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT c.track_id, @extschema@.series_mean(c.series, 8)
	  FROM pozytywka.candidate_series(as_of) AS c;
$$;

CREATE FUNCTION pozytywka.forecast_ewma(as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT c.track_id, @extschema@.series_ewma(c.series, 0.5)
	  FROM pozytywka.candidate_series(as_of) AS c;
$$;

CREATE FUNCTION pozytywka.forecast_trend(as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT c.track_id, @extschema@.series_trend(c.series, 4)
	  FROM pozytywka.candidate_series(as_of) AS c;
$$;

INSERT INTO pozytywka.model_kinds (name, forecast_function, description, family) VALUES
	('naive', 'pozytywka.forecast_naive(date)',
	 'persistence: next week scores like the last observed week', 'baseline'),
	('mean4', 'pozytywka.forecast_mean4(date)',
	 'mean of the last 4 weeks', 'baseline'),
	('mean8', 'pozytywka.forecast_mean8(date)',
	 'mean of the last 8 weeks (the prototype''s candidate ranking)', 'baseline'),
	('ewma', 'pozytywka.forecast_ewma(date)',
	 'exponentially weighted mean, alpha = 0.5', 'baseline'),
	('trend', 'pozytywka.forecast_trend(date)',
	 'least-squares line through the last 4 weeks, one week ahead', 'baseline');
