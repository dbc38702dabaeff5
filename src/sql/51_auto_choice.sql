-- part 51: the automatic choice ('auto') — each kind's backtest score and
-- the kind chosen for an origin week, cached.

-- The rule behind model_type 'auto' for an origin week as_of: every model
-- kind marked auto_candidate is backtested on the settings.auto_weeks weeks
-- up to as_of (rolling origin: each week predicted from the week before,
-- so nothing after as_of is used) by its mean overlap@auto_n; the best mean
-- wins, ties to the earlier kind in auto_preference, whose first kind
-- (persistence: 'naive') is the default.  settings.auto_margin (default 0)
-- makes every other kind beat the default by more than that margin: a
-- price of switching for users who prefer a stable choice.  8 weeks and no
-- margin were the best of 4-16 weeks and margins 0-0.03 on 25 chart-like
-- datasets and the real 2023 export (bench/charts_accuracy.md): a shorter
-- window chases noise, a margin kept persistence where the pooled model
-- was steadily (if slightly) better.  With fewer than 2 backtest weeks
-- the first available kind of auto_preference is used.  The choice is
-- cached in pozytywka.auto_choice (by refresh_forecasts() and the backtest)
-- until the history up to as_of changes.
CREATE TABLE pozytywka.auto_preference (
	position	integer PRIMARY KEY,
	name		text NOT NULL UNIQUE
);
-- The default first, then the simpler kinds (they win ties).  Kinds not
-- listed come last.
INSERT INTO pozytywka.auto_preference VALUES
	(100, 'naive'), (200, 'ewma'), (300, 'mean4'), (400, 'mean8'), (500, 'trend'),
	(600, 'pooled'), (700, 'ensemble'), (800, 'lstm'), (900, 'arima');

-- Can this kind forecast from as_of? (a trained model, enough history...)
CREATE FUNCTION pozytywka.model_available(kind text, as_of date)
RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	fn regprocedure;
	ok boolean;
BEGIN
	SELECT m.available_function INTO fn FROM pozytywka.model_kinds AS m WHERE m.name = kind;
	IF fn IS NULL THEN
		RETURN true;
	END IF;
	EXECUTE format('SELECT %s', regexp_replace(fn::text, '\(date\)$', '($1)')) INTO ok USING as_of;
	RETURN coalesce(ok, false);
END;
$$;

-- Each candidate kind's backtest score for the choice at as_of: its mean
-- overlap, and that mean less the switching margin for every kind but the
-- default (what the choice compares).
CREATE FUNCTION pozytywka.auto_scores(as_of date)
RETURNS TABLE (model text, preference integer, mean_overlap double precision, weeks integer,
			   score double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	cfg record;
	first_week date := pozytywka.first_week();
	targets date[];
	default_kind text;
BEGIN
	SELECT * INTO STRICT cfg FROM pozytywka.effective_settings;
	SELECT p.name INTO default_kind FROM pozytywka.auto_preference AS p ORDER BY p.position LIMIT 1;
	-- target weeks t <= as_of whose origin t-1 is a week of data
	SELECT coalesce(array_agg(g.t::date ORDER BY g.t), '{}') INTO targets
	  FROM generate_series(as_of - 7 * (cfg.auto_weeks - 1), as_of, interval '7 days') AS g (t)
	 WHERE g.t::date - 7 >= first_week;
	RETURN QUERY
	SELECT s.name, s.position, s.mean, s.n,
		   s.mean - CASE WHEN s.name = default_kind THEN 0 ELSE cfg.auto_margin END
	  FROM (SELECT m.name, coalesce(p.position, 10000) AS position,
				   CASE WHEN cardinality(targets) >= 2
						THEN (SELECT avg(o.overlap) FROM unnest(targets) AS t (week),
								   LATERAL pozytywka.overlap_at(m.name, cfg.auto_n, t.week) AS o) END AS mean,
				   cardinality(targets) AS n
			  FROM pozytywka.model_kinds AS m
			  LEFT JOIN pozytywka.auto_preference AS p ON p.name = m.name
			 WHERE m.auto_candidate AND pozytywka.model_available(m.name, as_of)) AS s;
END;
$$;

CREATE FUNCTION pozytywka.auto_model(as_of date)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	chosen text;
BEGIN
	IF NOT pozytywka.pending_through(auto_model.as_of) THEN
		SELECT c.model INTO chosen FROM pozytywka.auto_choice AS c WHERE c.as_of = auto_model.as_of;
	END IF;
	IF chosen IS NULL THEN
		SELECT a.model INTO chosen FROM pozytywka.auto_scores(auto_model.as_of) AS a
		 ORDER BY a.score DESC NULLS LAST, a.preference, a.model LIMIT 1;
	END IF;
	RETURN chosen;
END;
$$;

-- Cache the forecasts of every auto candidate for the origins the choice at
-- as_of needs, then the choice itself.  Used by refresh_forecasts() and the
-- backtest; returns the chosen kind.
CREATE FUNCTION pozytywka.cache_auto_choice(as_of date)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	cfg record;
	chosen text;
	scores jsonb;
BEGIN
	IF NOT pozytywka.merge_before_caching(as_of) THEN
		RETURN pozytywka.auto_model(as_of);
	END IF;
	SELECT c.model INTO chosen FROM pozytywka.auto_choice AS c WHERE c.as_of = cache_auto_choice.as_of;
	IF chosen IS NOT NULL THEN
		RETURN chosen;
	END IF;
	SELECT * INTO STRICT cfg FROM pozytywka.effective_settings;
	PERFORM pozytywka.cache_forecasts(m.name, g.t::date - 7)
	   FROM pozytywka.model_kinds AS m,
			generate_series(as_of - 7 * (cfg.auto_weeks - 1), as_of, interval '7 days') AS g (t)
	  WHERE m.auto_candidate
		AND pozytywka.model_available(m.name, as_of)
		AND g.t::date - 7 >= pozytywka.first_week();
	SELECT (array_agg(a.model ORDER BY a.score DESC NULLS LAST, a.preference, a.model))[1],
		   jsonb_object_agg(a.model, a.mean_overlap)
	  INTO chosen, scores
	  FROM pozytywka.auto_scores(as_of) AS a;
	IF chosen IS NOT NULL AND has_table_privilege('pozytywka.auto_choice', 'INSERT') THEN
		INSERT INTO pozytywka.auto_choice (as_of, model, scores)
		VALUES (as_of, chosen, scores)
		ON CONFLICT DO NOTHING;
	END IF;
	RETURN chosen;
END;
$$;
