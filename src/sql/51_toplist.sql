-- part 51: the top list, its backtest, and the former microservice's
-- predict().

CREATE FUNCTION pozytywka.check_list_size(n integer)
RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
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
			   model text, lower double precision, upper double precision,
			   p_top double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	origin date;
	kind text;
	cal record;
BEGIN
	PERFORM pozytywka.check_list_size(n);
	IF model_type IS NULL THEN
		PERFORM pozytywka.resolve_model(NULL, NULL);
	END IF;
	origin := pozytywka.resolve_as_of(as_of);
	kind := pozytywka.resolve_model(model_type, origin);
	-- the 80% interval and p_top: from the model's own backtest up to
	-- origin (pozytywka.model_calibration, part 52)
	SELECT * INTO cal FROM pozytywka.model_calibration(kind, n, origin);
	-- Only the tracks that can make the list (the n best forecasts and any
	-- tied with the n-th) are joined with last week's scores and the
	-- catalogue, so a cached list costs little more than reading the cache.
	RETURN QUERY
	WITH f AS MATERIALIZED (
		SELECT mf.track_id, mf.predicted_score FROM pozytywka.model_forecasts(kind, origin) AS mf
	), cut AS (
		SELECT f.predicted_score FROM f ORDER BY f.predicted_score DESC OFFSET n - 1 LIMIT 1
	), top AS (
		SELECT f.track_id, f.predicted_score
		  FROM f
		 WHERE f.predicted_score >= coalesce((SELECT cut.predicted_score FROM cut), '-infinity')
	), lw AS (
		SELECT h.track_id,
			   sum(s.w_play * h.plays + s.w_like * h.likes - s.w_skip * h.skips) AS score
		  FROM pozytywka.weekly_rows AS h, pozytywka.effective_settings AS s
		 WHERE h.week = origin AND h.track_id IN (SELECT top.track_id FROM top)
		 GROUP BY h.track_id
	)
	SELECT l.rank, l.track_id, l.track_name, l.artist_name, l.predicted_score, l.last_week_score,
		   kind, pozytywka.interval_bound(l.predicted_score, cal.lower_q),
		   pozytywka.interval_bound(l.predicted_score, cal.upper_q), cal.p_by_rank[l.rank]
	  FROM (SELECT (row_number() OVER (ORDER BY top.predicted_score DESC,
											 lw.score DESC NULLS LAST, top.track_id))::integer AS rank,
				   top.track_id, t.name AS track_name, a.name AS artist_name, top.predicted_score,
				   coalesce(lw.score, 0) AS last_week_score
			  FROM top
			  LEFT JOIN lw ON lw.track_id = top.track_id
			  LEFT JOIN pozytywka.tracks AS t ON t.id = top.track_id
			  LEFT JOIN pozytywka.artists AS a ON a.id = t.id_artist
			 ORDER BY top.predicted_score DESC, lw.score DESC NULLS LAST, top.track_id
			 LIMIT n) AS l
	 ORDER BY l.rank;
END;
$$;
COMMENT ON FUNCTION @extschema@.top_tracks_next_week(integer, text, date) IS
	'The predicted top-n tracks of the week after as_of (default: the latest complete week), with an 80% prediction interval and the probability of the real top n';

-- Rolling-origin backtest: for each of the last `weeks` complete weeks t,
-- forecast from the week before t (using nothing from t on) and compare
-- the predicted top-n with the actual top-n of t.
-- overlap = |predicted ∩ actual| / |actual|  (|actual| = n unless week t
-- had fewer than n tracks with events); entries_caught = the share of
-- week t's new entries (real top n of t not in the real top n of t-1,
-- new_entries of them) that the list predicted (NULL when none); brier =
-- Brier score of the list rows' p_top, brier_persistence = that of
-- persistence's implied 0/1 (in last week's top n) on the same rows;
-- coverage = share of rows whose real score fell in the 80% interval.
-- model_type 'all' runs every registered model kind and 'auto'.
CREATE FUNCTION @extschema@.backtest_top_tracks(n integer DEFAULT 50,
												weeks integer DEFAULT 8,
												model_type text DEFAULT 'auto')
RETURNS TABLE (week date, model text, model_used text, overlap double precision,
			   hits integer, actual_n integer, entries_caught double precision,
			   new_entries integer, brier double precision,
			   brier_persistence double precision, coverage double precision)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
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
	first_week := pozytywka.first_week();
	IF lower(model_type) = 'all' THEN
		SELECT array_agg(m.name ORDER BY m.name) || ARRAY['auto'] INTO kinds
		  FROM pozytywka.model_kinds AS m;
	ELSIF lower(model_type) = 'auto' THEN
		kinds := ARRAY['auto'];
	ELSE
		kinds := ARRAY[pozytywka.resolve_model(model_type, latest)];
	END IF;

	FOR i IN REVERSE weeks - 1 .. 0 LOOP
		target := latest - 7 * i;
		-- the first week of data has no history to forecast from
		CONTINUE WHEN target - 7 < first_week;
		FOREACH k IN ARRAY kinds LOOP
			IF k = 'auto' THEN
				used := pozytywka.cache_auto_choice(target - 7);
			ELSE
				used := k;
			END IF;
			CONTINUE WHEN NOT pozytywka.model_available(used, target - 7);
			-- forecasts are cached (when the caller may write the cache), so
			-- repeated backtests and the automatic choice reuse them
			PERFORM pozytywka.cache_forecasts(used, target - 7);
			PERFORM pozytywka.cache_calibration(used, n, target - 7);
			RETURN QUERY
			SELECT target, k, used, o.overlap, o.hits, o.actual_n, o.entries_caught,
				   o.new_entries, o.brier, o.brier_persistence, o.coverage
			  FROM pozytywka.list_accuracy(used, n, target, true) AS o;
		END LOOP;
	END LOOP;
END;
$$;
COMMENT ON FUNCTION @extschema@.backtest_top_tracks(integer, integer, text) IS
	'Rolling-origin backtest of the top-n list: one row per week and model, overlap = share of the actual top-n that was predicted, entries_caught = share of the week''s new entries that was predicted, Brier scores of p_top and of persistence, coverage of the 80% interval';

-- Mean and worst overlap per model over the backtest weeks, the share of
-- all new entries caught, the mean Brier scores and interval coverage.
CREATE FUNCTION @extschema@.backtest_summary(n integer DEFAULT 50,
											 weeks integer DEFAULT 8,
											 model_type text DEFAULT 'all')
RETURNS TABLE (model text, weeks_tested integer, mean_overlap double precision,
			   min_overlap double precision, max_overlap double precision,
			   entries_caught double precision, brier double precision,
			   brier_persistence double precision, coverage double precision)
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT b.model, pg_catalog.count(b.overlap)::integer, pg_catalog.avg(b.overlap),
		   pg_catalog.min(b.overlap), pg_catalog.max(b.overlap),
		   -- every week's entries count alike: caught / all of them
		   pg_catalog.sum(b.entries_caught * b.new_entries)
			   / NULLIF(pg_catalog.sum(b.new_entries) FILTER (WHERE b.entries_caught IS NOT NULL), 0),
		   pg_catalog.avg(b.brier), pg_catalog.avg(b.brier_persistence), pg_catalog.avg(b.coverage)
	  FROM @extschema@.backtest_top_tracks(n, weeks, model_type) AS b
	 GROUP BY b.model
	 ORDER BY avg(b.overlap) DESC NULLS LAST, b.model;
$$;

-- The former Flask microservice's contract:
--   predict('{"model_type": "arima"}') -> {"model": "arima", "prediction": [track ids]}
-- plus "p_top": each listed track's probability of the real top n.
-- Optional keys: "n" (default 50), "as_of" (a date).  model_type defaults to "auto".
CREATE FUNCTION @extschema@.predict(request jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	req_model text := 'auto';
	req_n integer := 50;
	req_as_of date;
	unknown_keys text;
	result jsonb;
	probabilities jsonb;
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
		-- the pattern admits 2024-02-30: a day that does not exist is a
		-- malformed request too, not a date/time overflow (22008)
		BEGIN
			req_as_of := (request ->> 'as_of')::date;
		EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
			RAISE EXCEPTION 'as_of must be a date string YYYY-MM-DD, not %', request -> 'as_of'
				USING ERRCODE = 'invalid_parameter_value',
					  DETAIL = 'That day does not exist.';
		END;
	END IF;

	SELECT coalesce(jsonb_agg(t.track_id ORDER BY t.rank), '[]'::jsonb), min(t.model),
		   coalesce(jsonb_agg(t.p_top ORDER BY t.rank), '[]'::jsonb)
	  INTO result, used, probabilities
	  FROM @extschema@.top_tracks_next_week(req_n, req_model, req_as_of) AS t;
	RETURN jsonb_build_object('model', coalesce(used, pozytywka.resolve_model(req_model, NULL)),
							  'prediction', result, 'p_top', probabilities);
END;
$$;
COMMENT ON FUNCTION @extschema@.predict(jsonb) IS
	'The former microservice: {"model_type": "arima"|"lstm"|...} -> {"model": ..., "prediction": [track ids]}';
