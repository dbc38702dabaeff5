-- part 53: how good the lists were — each list's rows with their outcome,
-- the accuracy of a list (overlap, new entries caught, Brier score), the
-- reliability table and why 'auto' chose its model.

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
