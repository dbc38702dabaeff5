-- part 50: the forecasts of a model kind — the origin week, the model a
-- request names, computing and caching each kind's forecasts, and the
-- overlap of a kind's list with the real top n.

-- The week a forecast starts from.  NULL means the latest complete week
-- (latest_complete_week()); any other date names the week that contains
-- it (weeks start on Monday).  It must lie inside the data.
CREATE FUNCTION pozytywka.resolve_as_of(as_of date)
RETURNS date
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	latest date := @extschema@.latest_complete_week();
	first_week date;
	w date;
BEGIN
	first_week := pozytywka.first_week();
	-- one (partial) week of events: the week before it is complete but empty
	IF latest IS NULL OR latest < first_week THEN
		RAISE EXCEPTION 'there is no complete week of data yet'
			USING ERRCODE = 'no_data_found',
				  HINT = 'Load events into pozytywka.sessions (pozytywka-import, generate_demo_data()) or weekly counts into pozytywka.imported_weekly_stats.';
	END IF;
	IF as_of IS NULL THEN
		RETURN latest;
	END IF;
	IF as_of::text IN ('infinity', '-infinity') THEN
		RAISE EXCEPTION 'as_of must be a finite date'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	w := date_trunc('week', as_of)::date;
	IF w < first_week OR w > latest THEN
		RAISE EXCEPTION 'as_of % is outside the data', as_of
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('The data cover the complete weeks from %s to %s (weeks start on Monday).',
								  first_week, latest);
	END IF;
	RETURN w;
END;
$$;

-- Which model kind a model_type names.  'auto' is resolved by
-- pozytywka.auto_model(); anything else must be a registered kind.
CREATE FUNCTION pozytywka.resolve_model(model_type text, as_of date)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	kind text;
BEGIN
	IF model_type IS NULL THEN
		RAISE EXCEPTION 'model_type must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Use ''auto'' to let pozytywka choose.';
	END IF;
	IF lower(model_type) = 'auto' THEN
		RETURN pozytywka.auto_model(as_of);
	END IF;
	SELECT m.name INTO kind FROM pozytywka.model_kinds AS m WHERE m.name = lower(model_type);
	IF kind IS NULL THEN
		RAISE EXCEPTION 'unknown model type "%"', model_type
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Known model types: auto, ' ||
					  (SELECT string_agg(m.name, ', ' ORDER BY m.name) FROM pozytywka.model_kinds AS m) || '.';
	END IF;
	RETURN kind;
END;
$$;

-- The actual top-n of one week (ties by track_id).
CREATE FUNCTION pozytywka.actual_top(n integer, of_week date)
RETURNS TABLE (track_id text, score double precision)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT ws.track_id, ws.score
	  FROM pozytywka.weekly_scores AS ws
	 WHERE ws.week = of_week
	 ORDER BY ws.score DESC, ws.track_id
	 LIMIT n;
$$;

-- Forecasts of one model kind for the week after as_of (as_of resolved),
-- computed now.
CREATE FUNCTION pozytywka.compute_forecasts(kind text, as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	fn regprocedure;
BEGIN
	SELECT m.forecast_function INTO STRICT fn FROM pozytywka.model_kinds AS m WHERE m.name = kind;
	RETURN QUERY EXECUTE format('SELECT f.track_id, f.predicted_score::float8 FROM %s AS f WHERE f.predicted_score IS NOT NULL',
								regexp_replace(fn::text, '\(date\)$', '($1)'))
		USING as_of;
END;
$$;

-- The same, from the cache when it holds them.
CREATE FUNCTION pozytywka.model_forecasts(kind text, as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	-- while changes of weeks up to as_of are pending, the cache is behind
	IF NOT pozytywka.pending_through(model_forecasts.as_of)
	   AND EXISTS (SELECT 1 FROM pozytywka.forecast_runs AS r
				WHERE r.model = kind AND r.as_of = model_forecasts.as_of) THEN
		RETURN QUERY SELECT c.track_id, c.predicted_score
					   FROM pozytywka.forecast_cache AS c
					  WHERE c.model = kind AND c.as_of = model_forecasts.as_of;
	ELSE
		RETURN QUERY SELECT * FROM pozytywka.compute_forecasts(kind, as_of);
	END IF;
END;
$$;

-- Compute and cache one model's forecasts from as_of, unless cached or the
-- caller may not write the cache.  The lock makes a concurrent change of
-- the history wait until the new cache rows are committed, so that its
-- invalidation sees (and drops) them; the forecasts are computed after the
-- lock is held, from a snapshot that includes every committed change.
CREATE FUNCTION pozytywka.cache_forecasts(kind text, as_of date)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	started timestamptz := clock_timestamp();
BEGIN
	IF NOT has_table_privilege('pozytywka.forecast_cache', 'INSERT')
	   OR NOT pozytywka.merge_before_caching(as_of) THEN
		RETURN false;
	END IF;
	LOCK TABLE pozytywka.forecast_runs IN SHARE ROW EXCLUSIVE MODE;
	IF EXISTS (SELECT 1 FROM pozytywka.forecast_runs AS r
				WHERE r.model = kind AND r.as_of = cache_forecasts.as_of) THEN
		RETURN false;
	END IF;
	INSERT INTO pozytywka.forecast_runs (model, as_of) VALUES (kind, as_of);
	INSERT INTO pozytywka.forecast_cache (model, as_of, track_id, predicted_score)
	SELECT kind, as_of, f.track_id, f.predicted_score
	  FROM pozytywka.compute_forecasts(kind, as_of) AS f;
	UPDATE pozytywka.forecast_runs AS r
	   SET seconds = extract(epoch FROM clock_timestamp() - started)
	 WHERE r.model = kind AND r.as_of = cache_forecasts.as_of;
	RETURN true;
END;
$$;

-- The overlap of one model's top-n forecast from week t-1 with the actual
-- top-n of week t (NULL when week t had no tracks with events).
CREATE FUNCTION pozytywka.overlap_at(kind text, n integer, target date)
RETURNS TABLE (overlap double precision, hits integer, actual_n integer)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	WITH predicted AS (
		SELECT f.track_id
		  FROM pozytywka.model_forecasts(kind, target - 7) AS f
		  LEFT JOIN pozytywka.weekly_scores AS lw
			ON lw.track_id = f.track_id AND lw.week = target - 7
		 ORDER BY f.predicted_score DESC, lw.score DESC NULLS LAST, f.track_id
		 LIMIT n
	), actual AS (
		SELECT a.track_id FROM pozytywka.actual_top(n, target) AS a
	)
	SELECT CASE WHEN count(*) = 0 THEN NULL
				ELSE (count(p.track_id))::float8 / count(*) END,
		   count(p.track_id)::integer,
		   count(*)::integer
	  FROM actual LEFT JOIN predicted AS p ON p.track_id = actual.track_id;
$$;
