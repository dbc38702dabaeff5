-- part 25: the pooled log-autoregression model ('pooled').

CREATE FUNCTION pozytywka.left_pad(series double precision[], len integer)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'pz_left_pad'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION pozytywka.pooled_ar_forecast(series double precision[], predict boolean[],
											 train_weeks integer, ridge double precision)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'pz_pooled_ar_forecast'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- Every track's series of the history window (not only the candidates:
-- tracks that faded teach the model how tracks fade), as one matrix.
CREATE FUNCTION pozytywka.forecast_pooled(as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	cfg record;
	weeks integer;
BEGIN
	SELECT * INTO STRICT cfg FROM pozytywka.effective_settings;
	-- the model learns from the 12 origins before as_of; 26 weeks of
	-- history give every feature its full window, 66 the annual one too
	-- (a year before each of those origins) when there is more than a
	-- year, 111 the origins around the same week a year earlier too when
	-- there are two.  The year-long windows are this model's own:
	-- settings.history_weeks bounds the per-track models (ARIMA's cost
	-- grows with it); bounded by it, the annual feature never had data.
	weeks := CASE WHEN pozytywka.first_week() <= as_of - 7 * 110 THEN 111
				  WHEN pozytywka.first_week() <= as_of - 7 * 53 THEN 66
				  ELSE least(cfg.history_weeks, 26) END;
	RETURN QUERY
	WITH rows_in_window AS (
		SELECT h.track_id, h.week, h.plays, h.likes, h.skips
		  FROM pozytywka.weekly_rows AS h
		 WHERE h.week <= as_of AND h.week > as_of - 7 * weeks
	), per_track AS (
		SELECT r.track_id,
			   @extschema@.weekly_series(r.week,
										 cfg.w_play * r.plays + cfg.w_like * r.likes - cfg.w_skip * r.skips,
										 as_of, weeks) AS series,
			   max(r.week) > as_of - 7 * cfg.candidate_weeks AS candidate
		  FROM rows_in_window AS r
		 GROUP BY r.track_id
	), matrix AS (
		SELECT array_agg(p.track_id ORDER BY p.track_id) AS ids,
			   array_agg(pozytywka.left_pad(p.series, weeks) ORDER BY p.track_id) AS series,
			   array_agg(p.candidate ORDER BY p.track_id) AS candidates
		  FROM per_track AS p
	)
	SELECT f.track_id, f.predicted
	  FROM matrix,
		   unnest(matrix.ids,
				  pozytywka.pooled_ar_forecast(matrix.series, matrix.candidates,
											   least(12, weeks - 1), 1e-5)) AS f (track_id, predicted)
	 WHERE f.predicted IS NOT NULL
	   AND f.track_id IN (SELECT c.track_id FROM pozytywka.candidate_series(as_of) AS c);
END;
$$;

INSERT INTO pozytywka.model_kinds (name, forecast_function, description, family) VALUES
	('pooled', 'pozytywka.forecast_pooled(date)',
	 'pooled log-autoregression: one ridge regression over every track''s recent weeks, age and level, refitted at each origin',
	 'statistical');
