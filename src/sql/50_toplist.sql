-- part 50: the top list, its backtest, and the former microservice's predict().

-- The week a forecast starts from.  NULL means the latest complete week
-- (latest_complete_week()); any other date names the week that contains
-- it (weeks start on Monday).  It must lie inside the data.
CREATE FUNCTION pozytywka.resolve_as_of(as_of date)
RETURNS date
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	latest date := @extschema@.latest_complete_week();
	first_week date;
	w date;
BEGIN
	IF latest IS NULL THEN
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
	first_week := least((SELECT min(week) FROM pozytywka.weekly_stats),
						(SELECT min(week) FROM pozytywka.imported_weekly_stats));
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

-- The rule behind model_type 'auto': the first model kind in
-- pozytywka.auto_preference that is registered and can forecast from as_of
-- (see the README).  The baselines are the last resort and always work.
CREATE TABLE pozytywka.auto_preference (
	position	integer PRIMARY KEY,
	name		text NOT NULL UNIQUE
);
INSERT INTO pozytywka.auto_preference VALUES (100, 'mean4'), (200, 'naive');

CREATE FUNCTION pozytywka.auto_model(as_of date)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT p.name
	  FROM pozytywka.auto_preference AS p
	  JOIN pozytywka.model_kinds AS m ON m.name = p.name
	 ORDER BY p.position
	 LIMIT 1;
$$;

-- Forecasts of one model kind for the week after as_of (as_of resolved).
CREATE FUNCTION pozytywka.model_forecasts(kind text, as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	fn regprocedure;
BEGIN
	SELECT m.forecast_function INTO STRICT fn FROM pozytywka.model_kinds AS m WHERE m.name = kind;
	RETURN QUERY EXECUTE format('SELECT f.track_id, f.predicted_score::float8 FROM %s AS f',
								regexp_replace(fn::text, '\(date\)$', '($1)'))
		USING as_of;
END;
$$;

CREATE FUNCTION pozytywka.check_list_size(n integer)
RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF n IS NULL THEN
		RAISE EXCEPTION 'n must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF n <= 0 OR n > 100000 THEN
		RAISE EXCEPTION 'n must be between 1 and 100000, not %', n
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END;
$$;

-- The predicted top-n for the week after as_of.  Ties are broken by last
-- week's score, then by track_id, so the list is deterministic.
CREATE FUNCTION @extschema@.top_tracks_next_week(n integer DEFAULT 50,
												 model_type text DEFAULT 'auto',
												 as_of date DEFAULT NULL)
RETURNS TABLE (rank integer, track_id text, track_name text, artist_name text,
			   predicted_score double precision, last_week_score double precision,
			   model text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	origin date;
	kind text;
BEGIN
	PERFORM pozytywka.check_list_size(n);
	IF model_type IS NULL THEN
		PERFORM pozytywka.resolve_model(NULL, NULL);
	END IF;
	origin := pozytywka.resolve_as_of(as_of);
	kind := pozytywka.resolve_model(model_type, origin);
	RETURN QUERY
	WITH lw AS MATERIALIZED (
		SELECT ws.track_id, ws.score FROM pozytywka.weekly_scores AS ws WHERE ws.week = origin
	), f AS MATERIALIZED (
		SELECT mf.track_id, mf.predicted_score FROM pozytywka.model_forecasts(kind, origin) AS mf
	)
	SELECT (row_number() OVER (ORDER BY f.predicted_score DESC,
										 lw.score DESC NULLS LAST, f.track_id))::integer,
		   f.track_id, t.name, a.name, f.predicted_score, coalesce(lw.score, 0), kind
	  FROM f
	  LEFT JOIN lw ON lw.track_id = f.track_id
	  LEFT JOIN pozytywka.tracks AS t ON t.id = f.track_id
	  LEFT JOIN pozytywka.artists AS a ON a.id = t.id_artist
	 WHERE f.predicted_score IS NOT NULL
	 ORDER BY f.predicted_score DESC, lw.score DESC NULLS LAST, f.track_id
	 LIMIT n;
END;
$$;
COMMENT ON FUNCTION @extschema@.top_tracks_next_week(integer, text, date) IS
	'The predicted top-n tracks of the week after as_of (default: the latest complete week)';

-- The actual top-n of one week (ties by track_id).
CREATE FUNCTION pozytywka.actual_top(n integer, of_week date)
RETURNS TABLE (track_id text, score double precision)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT ws.track_id, ws.score
	  FROM pozytywka.weekly_scores AS ws
	 WHERE ws.week = of_week
	 ORDER BY ws.score DESC, ws.track_id
	 LIMIT n;
$$;

-- Rolling-origin backtest: for each of the last `weeks` complete weeks t,
-- forecast from the week before t (using nothing from t on) and compare
-- the predicted top-n with the actual top-n of t.
-- overlap = |predicted ∩ actual| / |actual|  (|actual| = n unless week t
-- had fewer than n tracks with events).  model_type 'all' runs every
-- registered model kind and 'auto'.
CREATE FUNCTION @extschema@.backtest_top_tracks(n integer DEFAULT 50,
												weeks integer DEFAULT 8,
												model_type text DEFAULT 'auto')
RETURNS TABLE (week date, model text, model_used text, overlap double precision,
			   hits integer, actual_n integer)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	latest date;
	first_week date;
	target date;
	kinds text[];
	k text;
	used text;
BEGIN
	PERFORM pozytywka.check_list_size(n);
	IF weeks IS NULL THEN
		RAISE EXCEPTION 'weeks must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF weeks <= 0 OR weeks > 520 THEN
		RAISE EXCEPTION 'weeks must be between 1 and 520, not %', weeks
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF model_type IS NULL THEN
		PERFORM pozytywka.resolve_model(NULL, NULL);
	END IF;
	latest := pozytywka.resolve_as_of(NULL);
	first_week := least((SELECT min(h.week) FROM pozytywka.weekly_stats AS h),
						(SELECT min(h.week) FROM pozytywka.imported_weekly_stats AS h));
	IF lower(model_type) = 'all' THEN
		SELECT array_agg(m.name ORDER BY m.name) || ARRAY['auto'] INTO kinds
		  FROM pozytywka.model_kinds AS m;
	ELSE
		PERFORM pozytywka.resolve_model(model_type, latest);
		kinds := ARRAY[lower(model_type)];
	END IF;

	FOR i IN REVERSE weeks - 1 .. 0 LOOP
		target := latest - 7 * i;
		-- the first week of data has no history to forecast from
		CONTINUE WHEN target - 7 < first_week;
		FOREACH k IN ARRAY kinds LOOP
			used := pozytywka.resolve_model(k, target - 7);
			RETURN QUERY
			WITH predicted AS (
				SELECT p.track_id
				  FROM @extschema@.top_tracks_next_week(n, used, target - 7) AS p
			), actual AS (
				SELECT a.track_id FROM pozytywka.actual_top(n, target) AS a
			)
			SELECT target, k, used,
				   CASE WHEN count(*) = 0 THEN NULL
						ELSE (count(*) FILTER (WHERE predicted.track_id IS NOT NULL))::float8 / count(*) END,
				   (count(*) FILTER (WHERE predicted.track_id IS NOT NULL))::integer,
				   count(*)::integer
			  FROM actual LEFT JOIN predicted ON predicted.track_id = actual.track_id;
		END LOOP;
	END LOOP;
END;
$$;
COMMENT ON FUNCTION @extschema@.backtest_top_tracks(integer, integer, text) IS
	'Rolling-origin backtest of the top-n list: one row per week and model, overlap = share of the actual top-n that was predicted';

-- Mean and worst overlap per model over the backtest weeks.
CREATE FUNCTION @extschema@.backtest_summary(n integer DEFAULT 50,
											 weeks integer DEFAULT 8,
											 model_type text DEFAULT 'all')
RETURNS TABLE (model text, weeks_tested integer, mean_overlap double precision,
			   min_overlap double precision, max_overlap double precision)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT b.model, count(b.overlap)::integer, avg(b.overlap), min(b.overlap), max(b.overlap)
	  FROM @extschema@.backtest_top_tracks(n, weeks, model_type) AS b
	 GROUP BY b.model
	 ORDER BY avg(b.overlap) DESC NULLS LAST, b.model;
$$;

-- The former Flask microservice's contract:
--   predict('{"model_type": "arima"}') -> {"model": "arima", "prediction": [track ids]}
-- Optional keys: "n" (default 50), "as_of" (a date).  model_type defaults to "auto".
CREATE FUNCTION @extschema@.predict(request jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	req_model text := 'auto';
	req_n integer := 50;
	req_as_of date;
	unknown_keys text;
	result jsonb;
	used text;
BEGIN
	IF request IS NULL THEN
		RAISE EXCEPTION 'request must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF jsonb_typeof(request) <> 'object' THEN
		RAISE EXCEPTION 'request must be a JSON object, not %', jsonb_typeof(request)
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Example: {"model_type": "arima"}';
	END IF;
	SELECT string_agg(key, ', ') INTO unknown_keys
	  FROM jsonb_object_keys(request) AS key
	 WHERE key NOT IN ('model_type', 'n', 'as_of');
	IF unknown_keys IS NOT NULL THEN
		RAISE EXCEPTION 'unknown key(s) in request: %', unknown_keys
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Known keys: model_type, n, as_of.';
	END IF;
	IF request ? 'model_type' THEN
		IF jsonb_typeof(request -> 'model_type') <> 'string' THEN
			RAISE EXCEPTION 'model_type must be a JSON string'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		req_model := request ->> 'model_type';
	END IF;
	IF request ? 'n' THEN
		IF jsonb_typeof(request -> 'n') <> 'number'
		   OR (request ->> 'n') !~ '^[0-9]{1,9}$' THEN
			RAISE EXCEPTION 'n must be a positive integer, not %', request -> 'n'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		req_n := (request ->> 'n')::integer;
	END IF;
	IF request ? 'as_of' THEN
		IF jsonb_typeof(request -> 'as_of') <> 'string'
		   OR (request ->> 'as_of') !~ '^\d{4}-\d{2}-\d{2}$' THEN
			RAISE EXCEPTION 'as_of must be a date string YYYY-MM-DD, not %', request -> 'as_of'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		req_as_of := (request ->> 'as_of')::date;
	END IF;

	SELECT coalesce(jsonb_agg(t.track_id ORDER BY t.rank), '[]'::jsonb), min(t.model)
	  INTO result, used
	  FROM @extschema@.top_tracks_next_week(req_n, req_model, req_as_of) AS t;
	RETURN jsonb_build_object('model', coalesce(used, pozytywka.resolve_model(req_model, NULL)),
							  'prediction', result);
END;
$$;
COMMENT ON FUNCTION @extschema@.predict(jsonb) IS
	'The former microservice: {"model_type": "arima"|"lstm"|...} -> {"model": ..., "prediction": [track ids]}';
