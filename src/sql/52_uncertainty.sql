-- part 52: how sure the list is, and how good it was — the 80% prediction
-- interval and the probability of the real top n of every list row (split
-- conformal, from the model's own backtest), the new entries a list caught,
-- and why 'auto' chose its model.
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

-- One model kind's list for week target (forecast from target-7) with its
-- interval and p_top (calibrated on weeks up to target-7) and the outcome.
CREATE FUNCTION pozytywka.list_rows(kind text, n integer, target date)
RETURNS TABLE (rank integer, track_id text, predicted_score double precision,
			   lower double precision, upper double precision, p_top double precision,
			   actual_score double precision, hit boolean, was_top boolean)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	cal record;
BEGIN
	SELECT * INTO cal FROM pozytywka.model_calibration(kind, n, target - 7);
	RETURN QUERY
	SELECT l.rank, l.track_id, l.predicted_score,
		   pozytywka.interval_bound(l.predicted_score, cal.lower_q),
		   pozytywka.interval_bound(l.predicted_score, cal.upper_q),
		   cal.p_by_rank[l.rank], l.actual_score, l.hit, l.was_top
	  FROM pozytywka.scored_list(kind, n, target) AS l;
END;
$$;

-- How good kind's list for week target was: overlap with the real top n,
-- the share of the week's new entries (real top n of target not in the
-- real top n of target-7) it caught, and, when calibrated, the Brier score
-- of its p_top over its rows, that of persistence's implied probability
-- (1 for last week's top n, else 0) on the same rows, and the share of
-- rows whose real score fell inside the 80% interval.
CREATE FUNCTION pozytywka.list_accuracy(kind text, n integer, target date, calibrated boolean)
RETURNS TABLE (overlap double precision, hits integer, actual_n integer,
			   entries_caught double precision, new_entries integer, brier double precision,
			   brier_persistence double precision, coverage double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	RETURN QUERY
	WITH l AS MATERIALIZED (
		SELECT r.rank, r.track_id, r.lower, r.upper, r.p_top, r.actual_score, r.hit, r.was_top
		  FROM pozytywka.list_rows(kind, n, target) AS r
		 WHERE calibrated
		 UNION ALL
		SELECT s.rank, s.track_id, NULL, NULL, NULL, s.actual_score, s.hit, s.was_top
		  FROM pozytywka.scored_list(kind, n, target) AS s
		 WHERE NOT calibrated
	), actual AS MATERIALIZED (
		SELECT a.track_id FROM pozytywka.actual_top(n, target) AS a
	), entries AS MATERIALIZED (
		SELECT actual.track_id FROM actual
		EXCEPT
		SELECT a.track_id FROM pozytywka.actual_top(n, target - 7) AS a
	), counts AS (
		SELECT (SELECT count(*) FROM actual)::integer AS actual_n,
			   (SELECT count(*) FROM entries)::integer AS new_entries,
			   (SELECT count(*) FROM l WHERE l.hit)::integer AS hits,
			   (SELECT count(*) FROM l WHERE l.track_id IN (SELECT entries.track_id FROM entries))::integer
				   AS entries_hit
	)
	SELECT CASE WHEN c.actual_n > 0 THEN c.hits::float8 / c.actual_n END,
		   c.hits, c.actual_n,
		   CASE WHEN c.new_entries > 0 THEN c.entries_hit::float8 / c.new_entries END,
		   c.new_entries,
		   (SELECT avg((l.p_top - CASE WHEN l.hit THEN 1.0::float8 ELSE 0.0::float8 END) ^ 2.0::float8)
			  FROM l WHERE l.p_top IS NOT NULL),
		   (SELECT avg(CASE WHEN l.hit = l.was_top THEN 0.0::float8 ELSE 1.0::float8 END)
			  FROM l WHERE l.p_top IS NOT NULL),
		   (SELECT avg(CASE WHEN l.actual_score BETWEEN l.lower AND l.upper THEN 1.0::float8
							ELSE 0.0::float8 END)
			  FROM l WHERE l.lower IS NOT NULL)
	  FROM counts AS c;
END;
$$;

-- Reliability of p_top in the rolling backtest (the weeks and models of
-- backtest_top_tracks): the list rows binned by their p_top, and how many
-- of each bin made the real top n.  A calibrated list has observed close
-- to mean_p in every bin.
CREATE FUNCTION @extschema@.backtest_reliability(n integer DEFAULT 50,
												 weeks integer DEFAULT 8,
												 model_type text DEFAULT 'auto')
RETURNS TABLE (model text, p_from double precision, p_to double precision, list_rows integer,
			   mean_p double precision, observed double precision)
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
	targets date[] := '{}';
	asked text[] := '{}';
	useds text[] := '{}';
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
	IF pg_catalog.lower(model_type) = 'all' THEN
		SELECT array_agg(m.name ORDER BY m.name) || ARRAY['auto'] INTO kinds
		  FROM pozytywka.model_kinds AS m;
	ELSIF pg_catalog.lower(model_type) = 'auto' THEN
		kinds := ARRAY['auto'];
	ELSE
		kinds := ARRAY[pozytywka.resolve_model(model_type, latest)];
	END IF;
	FOR i IN REVERSE weeks - 1 .. 0 LOOP
		target := latest - 7 * i;
		CONTINUE WHEN target - 7 < first_week;
		FOREACH k IN ARRAY kinds LOOP
			used := CASE WHEN k = 'auto' THEN pozytywka.cache_auto_choice(target - 7) ELSE k END;
			CONTINUE WHEN NOT pozytywka.model_available(used, target - 7);
			PERFORM pozytywka.cache_forecasts(used, target - 7);
			PERFORM pozytywka.cache_calibration(used, n, target - 7);
			targets := targets || target;
			asked := asked || k;
			useds := useds || used;
		END LOOP;
	END LOOP;
	RETURN QUERY
	WITH r AS (
		SELECT p.k, l.p_top, l.hit
		  FROM unnest(targets, asked, useds) AS p (t, k, u),
			   LATERAL pozytywka.list_rows(p.u, n, p.t) AS l
		 WHERE l.p_top IS NOT NULL
	)
	SELECT r.k, b.bin / 10.0::float8, (b.bin + 1) / 10.0::float8, count(*)::integer, avg(r.p_top),
		   avg(CASE WHEN r.hit THEN 1.0::float8 ELSE 0.0::float8 END)
	  FROM r,
		   LATERAL (SELECT least(floor(r.p_top * 10.0::float8), 9.0::float8)::integer AS bin) AS b
	 GROUP BY r.k, b.bin
	 ORDER BY r.k, b.bin;
END;
$$;
COMMENT ON FUNCTION @extschema@.backtest_reliability(integer, integer, text) IS
	'Reliability table of p_top in the rolling backtest: list rows per probability bin, mean p_top and the share that made the real top n';

-- Why 'auto' chose its model at the origin week as_of (default: the latest
-- complete week): every registered kind's backtest score (mean overlap@auto_n
-- over the auto_weeks weeks up to as_of), the share of those weeks' new
-- entries its lists caught, how far behind the chosen kind it was, and the
-- reason in words.
CREATE FUNCTION @extschema@.explain_choice(as_of date DEFAULT NULL)
RETURNS TABLE (model text, chosen boolean, mean_overlap double precision,
			   entries_caught double precision, weeks integer, behind double precision,
			   reason text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	origin date := pozytywka.resolve_as_of(as_of);
	cfg record;
	winner text;
	default_kind text;
	targets date[];
	w record;
	runner record;
	why text;
BEGIN
	SELECT * INTO STRICT cfg FROM pozytywka.effective_settings;
	winner := pozytywka.auto_model(origin);
	SELECT p.name INTO default_kind FROM pozytywka.auto_preference AS p ORDER BY p.position LIMIT 1;
	SELECT coalesce(array_agg(g.t::date ORDER BY g.t), '{}') INTO targets
	  FROM generate_series(origin - 7 * (cfg.auto_weeks - 1), origin, interval '7 days') AS g (t)
	 WHERE g.t::date - 7 >= pozytywka.first_week();
	RETURN QUERY
	WITH s AS MATERIALIZED (
		SELECT a.model, a.preference, a.mean_overlap, a.weeks, a.score
		  FROM pozytywka.auto_scores(origin) AS a
	), e AS (
		SELECT s.model,
			   sum(x.entries_caught * x.new_entries)
				   / NULLIF(sum(x.new_entries) FILTER (WHERE x.entries_caught IS NOT NULL), 0) AS caught
		  FROM s, unnest(targets) AS t (week),
			   LATERAL pozytywka.list_accuracy(s.model, cfg.auto_n, t.week, false) AS x
		 WHERE cardinality(targets) >= 2
		 GROUP BY s.model
	), win AS (
		SELECT s.* FROM s WHERE s.model = winner
	), run AS (
		SELECT s.* FROM s WHERE s.model <> winner
		 ORDER BY s.score DESC NULLS LAST, s.preference, s.model LIMIT 1
	)
	SELECT m.name, m.name = winner, s.mean_overlap, e.caught, s.weeks,
		   (SELECT win.mean_overlap FROM win) - s.mean_overlap,
		   CASE
			 WHEN NOT m.auto_candidate THEN
				 'not considered: this kind is not an auto candidate (model_kinds.auto_candidate)'
			 WHEN s.model IS NULL THEN
				 format('not available from %s (no model trained on data up to that week, or too little history)', origin)
			 WHEN m.name = winner AND s.mean_overlap IS NULL THEN
				 format('chosen: fewer than 2 backtest weeks before %s, so the first available kind of auto_preference is used', origin)
			 WHEN m.name = winner AND NOT EXISTS (SELECT 1 FROM run) THEN
				 format('chosen: the only kind available (mean overlap@%s %s over %s weeks)', cfg.auto_n,
						round(s.mean_overlap::numeric, 3), s.weeks)
			 WHEN m.name = winner AND s.score > (SELECT run.score FROM run) THEN
				 format('chosen: the best mean overlap@%s over the %s weeks to %s, %s — %s ahead of %s (%s)%s',
						cfg.auto_n, s.weeks, origin, round(s.mean_overlap::numeric, 3),
						round((s.mean_overlap - (SELECT run.mean_overlap FROM run))::numeric, 3),
						(SELECT run.model FROM run), round((SELECT run.mean_overlap FROM run)::numeric, 3),
						CASE WHEN cfg.auto_margin > 0 AND m.name <> default_kind
							 THEN format(', more than the switching margin %s over %s', cfg.auto_margin, default_kind)
							 ELSE '' END)
			 WHEN m.name = winner THEN
				 format('chosen: tied with %s at mean overlap@%s %s; ties go to the simpler kind (auto_preference)%s',
						(SELECT run.model FROM run), cfg.auto_n, round(s.mean_overlap::numeric, 3),
						CASE WHEN cfg.auto_margin > 0 AND m.name = default_kind
							 THEN format(', and no other kind beat %s by more than the switching margin %s',
										 default_kind, cfg.auto_margin)
							 ELSE '' END)
			 WHEN s.mean_overlap IS NULL THEN
				 'not scored: fewer than 2 backtest weeks'
			 WHEN s.mean_overlap > (SELECT win.mean_overlap FROM win) THEN
				 format('not chosen: ahead of %s by %s, not more than the switching margin %s',
						winner, round((s.mean_overlap - (SELECT win.mean_overlap FROM win))::numeric, 3),
						cfg.auto_margin)
			 WHEN s.mean_overlap = (SELECT win.mean_overlap FROM win) THEN
				 format('not chosen: tied with %s, which comes first in auto_preference', winner)
			 ELSE
				 format('not chosen: mean overlap@%s %s, %s behind %s', cfg.auto_n,
						round(s.mean_overlap::numeric, 3),
						round(((SELECT win.mean_overlap FROM win) - s.mean_overlap)::numeric, 3), winner)
		   END
	  FROM pozytywka.model_kinds AS m
	  LEFT JOIN s ON s.model = m.name
	  LEFT JOIN e ON e.model = m.name
	 ORDER BY m.name = winner DESC, s.score DESC NULLS LAST, s.preference, m.name;
END;
$$;
COMMENT ON FUNCTION @extschema@.explain_choice(date) IS
	'Why model_type ''auto'' chose its model: each kind''s backtest overlap, new entries caught, and the reason in words';
