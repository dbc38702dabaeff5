-- part 43: training an LSTM in the database, and the model kind 'lstm'
-- (its forecast, when it is available, the weekly retraining).

-- Train a global LSTM on every track's weekly history; see the README.
CREATE FUNCTION @extschema@.lstm_train(window_weeks integer DEFAULT 8,
									   hidden integer DEFAULT 32,
									   layers integer DEFAULT 1,
									   epochs integer DEFAULT 30,
									   batch_size integer DEFAULT 256,
									   learning_rate double precision DEFAULT 1e-3,
									   dropout double precision DEFAULT 0,
									   patience integer DEFAULT 5,
									   validation_weeks integer DEFAULT 4,
									   seed bigint DEFAULT 42,
									   weighted boolean DEFAULT true,
									   activate text DEFAULT 'if_better',
									   as_of date DEFAULT NULL,
									   max_windows integer DEFAULT 200000)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	active pozytywka.models;
	fit record;
	v_raw double precision[];
	v_next double precision[];
	v_week integer[];
	v_age double precision[];
	n integer;
	id bigint;
	better boolean;
BEGIN
	PERFORM pozytywka.require_primary('lstm_train');
	IF window_weeks IS NULL OR hidden IS NULL OR layers IS NULL OR epochs IS NULL
	   OR batch_size IS NULL OR learning_rate IS NULL OR dropout IS NULL OR patience IS NULL
	   OR validation_weeks IS NULL OR seed IS NULL OR weighted IS NULL OR activate IS NULL
	   OR max_windows IS NULL THEN
		RAISE EXCEPTION 'lstm_train arguments must not be NULL (only as_of may be)'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF window_weeks < 1 OR window_weeks > 520 THEN
		RAISE EXCEPTION 'window_weeks must be between 1 and 520, not %', window_weeks
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF hidden < 1 OR hidden > 1024 THEN
		RAISE EXCEPTION 'hidden must be between 1 and 1024, not %', hidden
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF layers < 1 OR layers > 8 THEN
		RAISE EXCEPTION 'layers must be between 1 and 8, not %', layers
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF epochs < 0 OR epochs > 100000 THEN
		RAISE EXCEPTION 'epochs must be between 0 and 100000, not %', epochs
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF learning_rate = 'NaN'::float8 OR learning_rate <= 0 OR learning_rate > 10 THEN
		RAISE EXCEPTION 'learning_rate must be a number in (0, 10], not %', learning_rate
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF activate NOT IN ('if_better', 'always', 'never') THEN
		RAISE EXCEPTION 'activate must be ''if_better'', ''always'' or ''never'', not ''%''', activate
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF max_windows < 1 OR max_windows > 5000000 THEN
		RAISE EXCEPTION 'max_windows must be between 1 and 5000000, not %', max_windows
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	as_of := pozytywka.resolve_as_of(as_of);

	-- every window of window_weeks weeks that ends in a week with data of
	-- its track (zeros before the track's first week) and whose next week
	-- is known; the most recent max_windows of them
	WITH cfg AS (SELECT * FROM pozytywka.effective_settings),
	h AS (
		SELECT h.track_id, h.week, h.plays, h.likes, h.skips
		  FROM pozytywka.weekly_history AS h
		 WHERE h.week <= as_of
	),
	firsts AS (SELECT h.track_id, min(h.week) AS fw FROM h GROUP BY h.track_id),
	dense AS (
		SELECT f.track_id, f.fw, g.week::date AS week,
			   coalesce(h.plays, 0)::float8 AS p, coalesce(h.likes, 0)::float8 AS l,
			   coalesce(h.skips, 0)::float8 AS s
		  FROM firsts AS f
		 CROSS JOIN LATERAL generate_series(f.fw - 7 * (window_weeks - 1), as_of, interval '7 days') AS g(week)
		  LEFT JOIN h ON h.track_id = f.track_id AND h.week = g.week::date
	),
	scored AS (
		SELECT d.*, cfg.w_play * d.p + cfg.w_like * d.l - cfg.w_skip * d.s AS score
		  FROM dense AS d CROSS JOIN cfg
	),
	win AS (
		SELECT sc.track_id, sc.week, sc.fw,
			   array_agg(ARRAY[sc.score, sc.p, sc.l, sc.s]) OVER w AS raw,
			   count(*) OVER w AS len,
			   lead(sc.score) OVER (PARTITION BY sc.track_id ORDER BY sc.week) AS next_score
		  FROM scored AS sc
		WINDOW w AS (PARTITION BY sc.track_id ORDER BY sc.week
					 ROWS BETWEEN window_weeks - 1 PRECEDING AND CURRENT ROW)
	),
	sel AS (
		SELECT w.track_id, w.week, w.raw, w.next_score,
			   ((w.week + 7) - date '2000-01-03') / 7 AS target_week,
			   coalesce((w.week - tr.release_date) / 7.0, -1)::float8 AS age
		  FROM win AS w
		  LEFT JOIN pozytywka.tracks AS tr ON tr.id = w.track_id
		 WHERE w.len = window_weeks AND w.next_score IS NOT NULL AND w.week >= w.fw
		 ORDER BY w.week DESC, w.track_id
		 LIMIT max_windows
	)
	SELECT array_agg(sel.raw ORDER BY sel.week, sel.track_id),
		   array_agg(sel.next_score ORDER BY sel.week, sel.track_id),
		   array_agg(sel.target_week ORDER BY sel.week, sel.track_id),
		   array_agg(sel.age ORDER BY sel.week, sel.track_id),
		   count(*)
	  INTO v_raw, v_next, v_week, v_age, n
	  FROM sel;
	IF n = 0 THEN
		RAISE EXCEPTION 'not enough history to train: no track has % weeks of history followed by a known week up to %',
			window_weeks, as_of
			USING ERRCODE = 'no_data_found';
	END IF;

	SELECT * INTO active FROM pozytywka.models AS x WHERE x.kind = 'lstm' AND x.is_active;
	IF active.model_id IS NOT NULL
	   AND NOT (active.normalisation ->> 'feature_version' = '1'
				AND active.normalisation ->> 'window' = window_weeks::text) THEN
		active := NULL;			-- not comparable on these windows
	END IF;
	SELECT * INTO fit FROM pozytywka.lstm_fit(v_raw, v_next, v_week, v_age, hidden, layers, epochs,
		batch_size, learning_rate, dropout, patience, validation_weeks, seed, weighted,
		active.weights,
		CASE WHEN active.model_id IS NOT NULL THEN
			ARRAY(SELECT v::float8 FROM jsonb_array_elements_text(active.normalisation -> 'mean') AS v) END,
		CASE WHEN active.model_id IS NOT NULL THEN
			ARRAY(SELECT v::float8 FROM jsonb_array_elements_text(active.normalisation -> 'std') AS v) END,
		(active.normalisation ->> 'target_mean')::float8,
		(active.normalisation ->> 'target_std')::float8);

	INSERT INTO pozytywka.models (kind, hyperparams, normalisation, weights, trained_through, metrics)
	VALUES ('lstm',
			jsonb_build_object('window_weeks', window_weeks, 'hidden', hidden, 'layers', layers,
							   'epochs', epochs, 'batch_size', batch_size,
							   'learning_rate', learning_rate, 'dropout', dropout,
							   'patience', patience, 'validation_weeks', validation_weeks,
							   'seed', seed, 'weighted', weighted, 'max_windows', max_windows,
							   'optimizer', 'adam', 'loss', CASE WHEN weighted THEN 'weighted_mse' ELSE 'mse' END,
							   'input_size', 5, 'source', 'lstm_train'),
			fit.normalisation, fit.weights, as_of,
			fit.metrics || jsonb_build_object('compared_with_model', active.model_id))
	RETURNING models.model_id INTO id;

	better := active.model_id IS NULL
		OR (fit.metrics ->> 'active_val_mse_log1p') IS NULL
		OR (fit.metrics ->> 'val_mse_log1p')::float8 < (fit.metrics ->> 'active_val_mse_log1p')::float8;
	IF activate = 'always' OR (activate = 'if_better' AND better) THEN
		PERFORM @extschema@.lstm_activate(id);
		PERFORM pozytywka.cache_lstm_inputs(NULL);
		RAISE NOTICE 'lstm_train: model % stored and activated (validation MSE of log1p score %, overlap@50 %)',
			id, fit.metrics ->> 'val_mse_log1p', fit.metrics ->> 'val_overlap_at_50';
	ELSE
		RAISE NOTICE 'lstm_train: model % stored, not activated (validation MSE of log1p score % vs active model %: %)',
			id, fit.metrics ->> 'val_mse_log1p', active.model_id, fit.metrics ->> 'active_val_mse_log1p';
	END IF;
	RETURN id;
END;
$$;

-- As a model kind for top_tracks_next_week / backtest_top_tracks / predict:
-- the active LSTM model.
CREATE FUNCTION pozytywka.forecast_lstm(as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT p.track_id, p.predicted_score FROM @extschema@.lstm_predict_all(NULL, as_of) AS p;
$$;

-- The kind is available from as_of when the active model was trained on
-- data up to as_of at most: a forecast from an earlier week would be
-- in-sample for it (so 'auto' never scores the LSTM on weeks it has seen).
CREATE FUNCTION pozytywka.lstm_available(as_of date)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT EXISTS (SELECT 1 FROM pozytywka.models AS m
					WHERE m.kind = 'lstm' AND m.is_active
					  AND m.normalisation ->> 'feature_version' = '1'
					  AND m.trained_through <= as_of);
$$;

INSERT INTO pozytywka.model_kinds (name, forecast_function, description, family, available_function) VALUES
	('lstm', 'pozytywka.forecast_lstm(date)',
	 'global LSTM over all tracks'' weekly history (the active model of lstm_train / lstm_activate)',
	 'neural', 'pozytywka.lstm_available(date)');

-- Called by weekly_refresh(): when an LSTM model is active, train a new one
-- on the data up to the latest complete week with the same hyper-parameters
-- and activate it if it is better on validation.  NULL when there is none.
CREATE FUNCTION pozytywka.weekly_retrain()
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	m pozytywka.models;
	hp jsonb;
	id bigint;
BEGIN
	SELECT * INTO m FROM pozytywka.models AS x
	 WHERE x.kind = 'lstm' AND x.is_active AND x.hyperparams ->> 'source' = 'lstm_train';
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	hp := m.hyperparams;
	id := @extschema@.lstm_train(
		window_weeks => (hp ->> 'window_weeks')::integer,
		hidden => (hp ->> 'hidden')::integer,
		layers => (hp ->> 'layers')::integer,
		epochs => (hp ->> 'epochs')::integer,
		batch_size => (hp ->> 'batch_size')::integer,
		learning_rate => (hp ->> 'learning_rate')::float8,
		dropout => (hp ->> 'dropout')::float8,
		patience => (hp ->> 'patience')::integer,
		validation_weeks => (hp ->> 'validation_weeks')::integer,
		seed => (hp ->> 'seed')::bigint,
		weighted => (hp ->> 'weighted')::boolean,
		activate => 'if_better',
		max_windows => (hp ->> 'max_windows')::integer);
	RETURN (SELECT jsonb_build_object('model_id', x.model_id, 'activated', x.is_active,
									  'previous_model_id', m.model_id,
									  'val_mse_log1p', x.metrics -> 'val_mse_log1p',
									  'val_overlap_at_50', x.metrics -> 'val_overlap_at_50')
			  FROM pozytywka.models AS x WHERE x.model_id = id);
END;
$$;
