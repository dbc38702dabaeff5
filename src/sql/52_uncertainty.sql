-- part 52: how sure the list is — the 80% prediction interval and the
-- probability of the real top n of every list row (split conformal, from
-- the model's own backtest), and their cache.  How good the lists were is
-- part 53.
--
-- Calibration of a model kind at an origin week as_of for a list of n: the
-- same backtest weeks t as the automatic choice (settings.auto_weeks up to
-- as_of; each list forecast from t-1 with nothing from t on), every row of
-- each of those lists:
--   residual = log1p(actual score of t) - log1p(predicted score)
--   hit      = the track was in the real top n of t
-- The 80% interval of a new row is predicted score x the residuals' split-
-- conformal 10% / 90% quantiles (on the log1p scale); p_top of rank r is
-- the share of rank-r rows that were hits, shrunk toward the overall share
-- and fitted non-increasing in rank (src/core/conformal.c).  Everything
-- comes from weeks up to as_of, so the backtest measures it out of sample.

CREATE FUNCTION pozytywka.conformal_interval(residuals double precision[], level double precision)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'pz_conformal_interval_sql'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pozytywka.conformal_interval(double precision[], double precision) IS
	'Split-conformal {lower, upper} quantiles of residuals for a central coverage level';

CREATE FUNCTION pozytywka.rank_probability(hits double precision[], counts double precision[],
										   prior_weight double precision)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'pz_rank_probability_sql'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pozytywka.rank_probability(double precision[], double precision[], double precision) IS
	'Probability of the real top n by predicted rank: shrunk hit rates fitted non-increasing (isotonic)';

-- score x exp(q) on the log1p scale, never negative (NULL without q or a
-- finite score), never an overflow (capped at exp(700))
CREATE FUNCTION pozytywka.interval_bound(score double precision, q double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN score < 'Infinity'::float8	-- NaN sorts above Infinity
				THEN GREATEST(pg_catalog.exp(LEAST(pg_catalog.ln(1.0::float8 + GREATEST(score, 0.0::float8)) + q,
												   700.0::float8))
							  - 1.0::float8, 0.0::float8) END;
$$;

-- Cached calibrations, dropped with the forecasts of the same (model, as_of)
-- (both depend on the history up to as_of, and on the active model).
CREATE TABLE pozytywka.forecast_calibration (
	model		text NOT NULL,
	as_of		date NOT NULL,
	n			integer NOT NULL,
	weeks		integer NOT NULL,
	residuals	integer NOT NULL,
	lower_q		double precision,
	upper_q		double precision,
	p_by_rank	double precision[],
	computed_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	PRIMARY KEY (model, as_of, n),
	FOREIGN KEY (model, as_of) REFERENCES pozytywka.forecast_runs ON DELETE CASCADE
);

-- The list of one model kind for week target, forecast from target-7 (the
-- ranking of top_tracks_next_week), with what happened in week target.
CREATE FUNCTION pozytywka.scored_list(kind text, n integer, target date)
RETURNS TABLE (rank integer, track_id text, predicted_score double precision,
			   actual_score double precision, hit boolean, was_top boolean)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	WITH predicted AS MATERIALIZED (
		SELECT f.track_id, f.predicted_score,
			   pg_catalog.row_number() OVER (ORDER BY f.predicted_score DESC, lw.score DESC NULLS LAST,
													f.track_id) AS rank
		  FROM pozytywka.model_forecasts(kind, target - 7) AS f
		  LEFT JOIN pozytywka.weekly_scores AS lw
			ON lw.track_id = f.track_id AND lw.week = target - 7
		 ORDER BY f.predicted_score DESC, lw.score DESC NULLS LAST, f.track_id
		 LIMIT n
	), actual AS MATERIALIZED (
		SELECT a.track_id FROM pozytywka.actual_top(n, target) AS a
	), prev AS MATERIALIZED (
		SELECT a.track_id FROM pozytywka.actual_top(n, target - 7) AS a
	)
	SELECT p.rank::integer, p.track_id, p.predicted_score, coalesce(w.score, 0.0::float8),
		   p.track_id IN (SELECT actual.track_id FROM actual),
		   p.track_id IN (SELECT prev.track_id FROM prev)
	  FROM predicted AS p
	  LEFT JOIN pozytywka.weekly_scores AS w ON w.track_id = p.track_id AND w.week = target;
$$;

-- The backtest weeks that calibrate kind at as_of (those of the automatic
-- choice where the kind could forecast).
CREATE FUNCTION pozytywka.calibration_targets(kind text, as_of date)
RETURNS date[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT coalesce(pg_catalog.array_agg(g.t::date ORDER BY g.t), '{}')
	  FROM pozytywka.effective_settings AS s,
		   pg_catalog.generate_series(as_of - 7 * (s.auto_weeks - 1), as_of, interval '7 days') AS g (t)
	 WHERE g.t::date - 7 >= pozytywka.first_week()
	   AND pozytywka.model_available(kind, g.t::date - 7);
$$;

CREATE FUNCTION pozytywka.compute_calibration(kind text, n integer, as_of date)
RETURNS TABLE (weeks integer, residuals integer, lower_q double precision,
			   upper_q double precision, p_by_rank double precision[])
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	targets date[] := pozytywka.calibration_targets(kind, as_of);
BEGIN
	IF cardinality(targets) < 2 THEN
		RETURN QUERY SELECT cardinality(targets), 0, NULL::float8, NULL::float8, NULL::float8[];
		RETURN;
	END IF;
	RETURN QUERY
	WITH r AS MATERIALIZED (
		SELECT l.rank, l.hit,
			   ln(1.0::float8 + greatest(l.actual_score, 0.0::float8))
				   - ln(1.0::float8 + greatest(l.predicted_score, 0.0::float8)) AS residual
		  FROM unnest(targets) AS t (week),
			   LATERAL pozytywka.scored_list(kind, n, t.week) AS l
	), by_rank AS (
		SELECT g.k, count(r.rank)::float8 AS c, (count(r.rank) FILTER (WHERE r.hit))::float8 AS h
		  FROM generate_series(1, n) AS g (k)
		  LEFT JOIN r ON r.rank = g.k
		 GROUP BY g.k
	), ci AS (
		-- a non-finite forecast has no usable residual (NaN sorts above Infinity)
		SELECT count(*) FILTER (WHERE r.residual > '-Infinity'::float8 AND r.residual < 'Infinity'::float8)::integer AS m,
			   CASE WHEN count(*) FILTER (WHERE r.residual > '-Infinity'::float8 AND r.residual < 'Infinity'::float8) > 0
					THEN pozytywka.conformal_interval(
							 array_agg(r.residual) FILTER (WHERE r.residual > '-Infinity'::float8
																AND r.residual < 'Infinity'::float8),
							 0.8::float8) END AS q
		  FROM r
	)
	SELECT cardinality(targets), ci.m, ci.q[1], ci.q[2],
		   CASE WHEN ci.m > 0
				THEN pozytywka.rank_probability((SELECT array_agg(b.h ORDER BY b.k) FROM by_rank AS b),
												(SELECT array_agg(b.c ORDER BY b.k) FROM by_rank AS b),
												1.0::float8) END
	  FROM ci;
END;
$$;

-- The kinds whose backtest calibrates kind, in order: its own, then (when
-- it has fewer than 2 backtest weeks — an LSTM trained on data up to
-- as_of never forecast the weeks before it out of sample) the pooled
-- model's, the global model it resembles most, then persistence's.
CREATE FUNCTION pozytywka.calibration_kinds(kind text)
RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT pg_catalog.array_agg(k.name ORDER BY k.pos)
	  FROM (SELECT DISTINCT ON (x.name) x.name, x.pos
			  FROM unnest(ARRAY[kind, 'pooled', 'naive']) WITH ORDINALITY AS x (name, pos)
			 WHERE x.name IN (SELECT m.name FROM pozytywka.model_kinds AS m)
			 ORDER BY x.name, x.pos) AS k;
$$;

-- The calibration behind kind's list of n from as_of (from the cache when
-- it holds it); model says whose backtest it is.  NULLs when no kind has
-- 2 backtest weeks.
CREATE FUNCTION pozytywka.model_calibration(kind text, n integer, as_of date)
RETURNS TABLE (model text, weeks integer, residuals integer, lower_q double precision,
			   upper_q double precision, p_by_rank double precision[])
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	k text;
	c record;
	found_it boolean;
	cached boolean := NOT pozytywka.pending_through(model_calibration.as_of);
BEGIN
	FOREACH k IN ARRAY pozytywka.calibration_kinds(kind) LOOP
		found_it := false;
		IF cached THEN
			SELECT fc.weeks, fc.residuals, fc.lower_q, fc.upper_q, fc.p_by_rank INTO c
			  FROM pozytywka.forecast_calibration AS fc
			 WHERE fc.model = k AND fc.as_of = model_calibration.as_of AND fc.n = model_calibration.n;
			found_it := FOUND;
		END IF;
		IF NOT found_it THEN
			SELECT * INTO c FROM pozytywka.compute_calibration(k, n, as_of);
		END IF;
		IF c.weeks >= 2 AND c.residuals > 0 THEN
			RETURN QUERY SELECT k, c.weeks, c.residuals, c.lower_q, c.upper_q, c.p_by_rank;
			RETURN;
		END IF;
	END LOOP;
	RETURN QUERY SELECT kind, 0, 0, NULL::float8, NULL::float8, NULL::float8[];
END;
$$;

-- Compute and cache the calibration (and the forecasts it needs) unless the
-- caller may not write the cache.  Used by the backtest and the weekly job.
CREATE FUNCTION pozytywka.cache_calibration(kind text, n integer, as_of date)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	k text;
	t date;
	w integer;
BEGIN
	IF NOT has_table_privilege('pozytywka.forecast_calibration', 'INSERT')
	   OR NOT pozytywka.merge_before_caching(as_of) THEN
		RETURN false;
	END IF;
	FOREACH k IN ARRAY pozytywka.calibration_kinds(kind) LOOP
		CONTINUE WHEN NOT pozytywka.model_available(k, as_of);
		PERFORM pozytywka.cache_forecasts(k, as_of);
		FOREACH t IN ARRAY pozytywka.calibration_targets(k, as_of) LOOP
			PERFORM pozytywka.cache_forecasts(k, t - 7);
		END LOOP;
		LOCK TABLE pozytywka.forecast_runs IN SHARE ROW EXCLUSIVE MODE;
		IF EXISTS (SELECT 1 FROM pozytywka.forecast_runs AS r
					WHERE r.model = k AND r.as_of = cache_calibration.as_of)
		   AND NOT EXISTS (SELECT 1 FROM pozytywka.forecast_calibration AS fc
							WHERE fc.model = k AND fc.as_of = cache_calibration.as_of
							  AND fc.n = cache_calibration.n) THEN
			INSERT INTO pozytywka.forecast_calibration (model, as_of, n, weeks, residuals, lower_q,
														upper_q, p_by_rank)
			SELECT k, as_of, n, c.weeks, c.residuals, c.lower_q, c.upper_q, c.p_by_rank
			  FROM pozytywka.compute_calibration(k, n, as_of) AS c;
		END IF;
		SELECT fc.weeks INTO w
		  FROM pozytywka.forecast_calibration AS fc
		 WHERE fc.model = k AND fc.as_of = cache_calibration.as_of AND fc.n = cache_calibration.n
		   AND fc.residuals > 0;
		EXIT WHEN coalesce(w, 0) >= 2;
	END LOOP;
	RETURN true;
END;
$$;
