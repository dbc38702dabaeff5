-- part 40: the LSTM — model registry, PyTorch import/export, the raw
-- network, training in the database and prediction.  The numerical work is
-- in src/core/lstm*.c (glue: src/lstm.c); see the README, section LSTM.

-- Trained (or imported) models.  At most one model per kind is active; the
-- partial unique index enforces it and lstm_activate() switches models in
-- one transaction, so a concurrent reader sees the old or the new active
-- model, never none or two.
CREATE TABLE pozytywka.models (
	model_id	bigserial PRIMARY KEY,
	kind		text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]*$'),
	hyperparams jsonb NOT NULL DEFAULT '{}',
	normalisation jsonb,
	weights		bytea NOT NULL,
	trained_through date,
	metrics		jsonb NOT NULL DEFAULT '{}',
	created_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	is_active	boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX models_one_active_per_kind ON pozytywka.models (kind) WHERE is_active;
SELECT pg_catalog.pg_extension_config_dump('pozytywka.models', '');
SELECT pg_catalog.pg_extension_config_dump('pozytywka.models_model_id_seq', '');

-- C building blocks (internal).
CREATE FUNCTION pozytywka.lstm_weights_from_json(model jsonb)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pz_lstm_fn_from_json'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION pozytywka.lstm_weights_to_json(weights bytea)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pz_lstm_fn_to_json'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION pozytywka.lstm_weights_info(weights bytea)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pz_lstm_fn_info'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION pozytywka.lstm_weights_forward(weights bytea, input double precision[])
RETURNS double precision
AS 'MODULE_PATHNAME', 'pz_lstm_fn_forward'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION pozytywka.lstm_fit(raw double precision[], next_score double precision[],
								   target_week integer[], age double precision[],
								   hidden integer, layers integer, epochs integer,
								   batch_size integer, learning_rate double precision,
								   dropout double precision, patience integer,
								   validation_weeks integer, seed bigint, weighted boolean,
								   active_weights bytea, active_mean double precision[],
								   active_std double precision[],
								   active_target_mean double precision,
								   active_target_std double precision,
								   OUT weights bytea, OUT normalisation jsonb, OUT metrics jsonb)
AS 'MODULE_PATHNAME', 'pz_lstm_fn_fit'
LANGUAGE C VOLATILE;

CREATE FUNCTION pozytywka.lstm_apply(weights bytea, mean double precision[],
									 std double precision[], target_mean double precision,
									 target_std double precision, raw double precision[],
									 age double precision[])
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'pz_lstm_fn_apply'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- The registry row of an LSTM model: the given id, or the active model.
CREATE FUNCTION pozytywka.lstm_model(id bigint, must_be_active boolean)
RETURNS pozytywka.models
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	m pozytywka.models;
BEGIN
	IF id IS NULL THEN
		SELECT * INTO m FROM pozytywka.models WHERE kind = 'lstm' AND is_active;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'there is no active LSTM model'
				USING ERRCODE = 'no_data_found',
					  HINT = 'Train one with lstm_train(), or import one with lstm_import() and activate it with lstm_activate().';
		END IF;
		RETURN m;
	END IF;
	SELECT * INTO m FROM pozytywka.models WHERE model_id = id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'LSTM model % does not exist', id
			USING ERRCODE = 'undefined_object';
	END IF;
	IF m.kind <> 'lstm' THEN
		RAISE EXCEPTION 'model % is a % model, not an LSTM', id, m.kind
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF must_be_active AND NOT m.is_active THEN
		RAISE EXCEPTION 'LSTM model % is not active', id
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = format('Activate it with lstm_activate(%s), or omit the model id to use the active model.', id);
	END IF;
	RETURN m;
END;
$$;

-- Make a model the active one of its kind (and the previous one inactive),
-- atomically: both updates commit together, and an advisory lock per kind
-- serialises concurrent activations.
CREATE FUNCTION @extschema@.lstm_activate(model_id bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	m pozytywka.models;
BEGIN
	IF model_id IS NULL THEN
		RAISE EXCEPTION 'model_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	m := pozytywka.lstm_model(model_id, false);
	PERFORM pozytywka.lstm_weights_info(m.weights);		-- refuses corrupt weights
	PERFORM pg_advisory_xact_lock(hashtext('pozytywka.models'), hashtext(m.kind));
	UPDATE pozytywka.models AS x SET is_active = false
	 WHERE x.kind = m.kind AND x.is_active AND x.model_id <> m.model_id;
	UPDATE pozytywka.models AS x SET is_active = true WHERE x.model_id = m.model_id;
END;
$$;

-- Load weights trained elsewhere, in PyTorch's state_dict layout (see the
-- README for the JSON schema and Keras).  The model is registered inactive.
CREATE FUNCTION @extschema@.lstm_import(model jsonb)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	w bytea;
	md jsonb;
	through date;
	id bigint;
BEGIN
	IF model IS NULL THEN
		RAISE EXCEPTION 'model must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	md := model -> 'metadata';
	IF md IS NOT NULL AND jsonb_typeof(md) <> 'object' THEN
		RAISE EXCEPTION '"metadata" must be a JSON object, not %', jsonb_typeof(md)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF md ? 'normalisation' AND jsonb_typeof(md -> 'normalisation') NOT IN ('object', 'null') THEN
		RAISE EXCEPTION '"metadata.normalisation" must be a JSON object'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF md ? 'trained_through' AND jsonb_typeof(md -> 'trained_through') <> 'null' THEN
		IF jsonb_typeof(md -> 'trained_through') <> 'string'
		   OR NOT pozytywka.pg_input_is_valid_date(md ->> 'trained_through') THEN
			RAISE EXCEPTION '"metadata.trained_through" must be a date string (YYYY-MM-DD)'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		through := (md ->> 'trained_through')::date;
	END IF;
	w := pozytywka.lstm_weights_from_json(model);
	INSERT INTO pozytywka.models (kind, hyperparams, normalisation, weights, trained_through, metrics)
	VALUES ('lstm',
			pozytywka.lstm_weights_info(w)
				|| coalesce(CASE WHEN jsonb_typeof(md -> 'hyperparams') = 'object' THEN md -> 'hyperparams' END, '{}')
				|| jsonb_build_object('source', 'lstm_import'),
			CASE WHEN jsonb_typeof(md -> 'normalisation') = 'object' THEN md -> 'normalisation' END,
			w, through,
			coalesce(CASE WHEN jsonb_typeof(md -> 'metrics') = 'object' THEN md -> 'metrics' END, '{}'))
	RETURNING models.model_id INTO id;
	RETURN id;
END;
$$;

-- The plain-SQL stand-in for pg_input_is_valid (PostgreSQL 16+).
CREATE FUNCTION pozytywka.pg_input_is_valid_date(s text)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	PERFORM s::date;
	RETURN s ~ '^\d{4}-\d{2}-\d{2}$';
EXCEPTION WHEN OTHERS THEN
	RETURN false;
END;
$$;

-- The weights as a PyTorch state_dict, plus "metadata" (ignored by
-- load_state_dict(strict=False) users; pop it first with strict=True).
CREATE FUNCTION @extschema@.lstm_export(model_id bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	m pozytywka.models;
BEGIN
	IF model_id IS NULL THEN
		RAISE EXCEPTION 'model_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	m := pozytywka.lstm_model(model_id, false);
	RETURN pozytywka.lstm_weights_to_json(m.weights)
		|| jsonb_build_object('metadata', jsonb_strip_nulls(jsonb_build_object(
			'format', 'pozytywka-lstm-state-dict-v1',
			'model_id', m.model_id,
			'kind', m.kind,
			'architecture', 'nn.LSTM(input_size, hidden_size, num_layers, batch_first=True) named lstm; nn.Linear(hidden_size, 1) named linear on the last time step',
			'hyperparams', m.hyperparams,
			'normalisation', m.normalisation,
			'trained_through', m.trained_through,
			'metrics', m.metrics,
			'is_active', m.is_active,
			'created_at', m.created_at)));
END;
$$;

-- The raw network on one window (rows = time steps, columns = features),
-- no scaling: for checking parity with another framework.
CREATE FUNCTION @extschema@.lstm_forward(model_id bigint, input double precision[])
RETURNS double precision
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	IF model_id IS NULL THEN
		RAISE EXCEPTION 'model_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF input IS NULL THEN
		RAISE EXCEPTION 'input must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	RETURN pozytywka.lstm_weights_forward((pozytywka.lstm_model(model_id, false)).weights, input);
END;
$$;

-- lstm_window(week, score, plays, likes, skips, as_of, win): a track's raw
-- input window float8[win][4] (score, plays, likes, skips per week) of the
-- win weeks ending at as_of, oldest first, 0 for quiet weeks and before the
-- track's first week; rows of the same week are added.
CREATE FUNCTION pozytywka.lstm_window_transfn(internal, date, double precision, double precision,
											  double precision, double precision, date, integer)
RETURNS internal
AS 'MODULE_PATHNAME', 'pz_lstm_window_transfn'
LANGUAGE C IMMUTABLE;

CREATE FUNCTION pozytywka.lstm_window_finalfn(internal)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'pz_lstm_window_finalfn'
LANGUAGE C IMMUTABLE;

CREATE AGGREGATE pozytywka.lstm_window(week date, score double precision, plays double precision,
									   likes double precision, skips double precision,
									   as_of date, win integer) (
	SFUNC = pozytywka.lstm_window_transfn,
	STYPE = internal,
	FINALFUNC = pozytywka.lstm_window_finalfn,
	SSPACE = 280
);

-- Raw windows of the given tracks for as_of (see lstm_window), and each
-- track's age in weeks at as_of (-1 when its release date is unknown).
CREATE FUNCTION pozytywka.lstm_windows(track_ids text[], as_of date, win integer)
RETURNS TABLE (track_id text, raw double precision[], age double precision)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	WITH cfg AS (SELECT * FROM pozytywka.effective_settings),
	rows_in_window AS (
		SELECT h.track_id, h.week, h.plays, h.likes, h.skips
		  FROM pozytywka.weekly_rows AS h
		 WHERE h.track_id = ANY (track_ids) AND h.week <= as_of AND h.week > as_of - 7 * win
	), windows AS (
		SELECT r.track_id,
			   pozytywka.lstm_window(r.week, cfg.w_play * r.plays + cfg.w_like * r.likes - cfg.w_skip * r.skips,
									 r.plays, r.likes, r.skips, as_of, win) AS raw
		  FROM rows_in_window AS r CROSS JOIN cfg
		 GROUP BY r.track_id
	)
	SELECT t.id,
		   coalesce(w.raw, array_fill(0::float8, ARRAY[win, 4])),
		   coalesce((as_of - tr.release_date) / 7.0, -1)::float8
	  FROM (SELECT DISTINCT u.id FROM unnest(track_ids) AS u(id)) AS t
	  LEFT JOIN windows AS w ON w.track_id = t.id
	  LEFT JOIN pozytywka.tracks AS tr ON tr.id = t.id;
$$;

-- The windows of every candidate track (the tracks of
-- pozytywka.candidate_series(as_of)).  Without max_candidates a candidate is
-- simply a track with data in the last candidate_weeks weeks, so one
-- aggregate over those weeks' rows gives both the set and the windows,
-- without building every track's full history first.
CREATE FUNCTION pozytywka.lstm_candidate_windows(as_of date, win integer)
RETURNS TABLE (track_id text, raw double precision[], age double precision)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	cfg record;
	span integer;
BEGIN
	SELECT * INTO STRICT cfg FROM pozytywka.effective_settings;
	IF cfg.max_candidates IS NOT NULL THEN
		RETURN QUERY
		SELECT * FROM pozytywka.lstm_windows(ARRAY(SELECT c.track_id FROM pozytywka.candidate_series(as_of) AS c),
											 as_of, win);
		RETURN;
	END IF;
	span := greatest(win, least(cfg.candidate_weeks, cfg.history_weeks));
	RETURN QUERY
	WITH rows_in_span AS (
		SELECT h.track_id, h.week, h.plays, h.likes, h.skips
		  FROM pozytywka.weekly_rows AS h
		 WHERE h.week <= as_of AND h.week > as_of - 7 * span
	), windows AS (
		SELECT r.track_id,
			   pozytywka.lstm_window(r.week, cfg.w_play * r.plays + cfg.w_like * r.likes - cfg.w_skip * r.skips,
									 r.plays, r.likes, r.skips, as_of, win) AS raw
		  FROM rows_in_span AS r
		 GROUP BY r.track_id
		HAVING max(r.week) > as_of - 7 * least(cfg.candidate_weeks, cfg.history_weeks)
	)
	SELECT w.track_id,
		   coalesce(w.raw, array_fill(0::float8, ARRAY[win, 4])),
		   coalesce((as_of - tr.release_date) / 7.0, -1)::float8
	  FROM windows AS w
	  LEFT JOIN pozytywka.tracks AS tr ON tr.id = w.track_id;
END;
$$;

-- The candidates' input windows for an origin, kept so that the list
-- straight from the network only runs the network: building 20,000 windows
-- from the weekly rows takes longer than the forward pass.  Written by
-- cache_lstm_inputs(); dropped with the cached forecasts whenever the
-- history up to as_of, the settings or the catalogue change (part 45).
CREATE TABLE pozytywka.lstm_inputs (
	as_of		date NOT NULL,
	window_weeks integer NOT NULL,
	track_ids	text[] NOT NULL,
	windows		double precision[] NOT NULL,
	ages		double precision[] NOT NULL,
	computed_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	PRIMARY KEY (as_of, window_weeks)
);
-- megabytes of floats that compress poorly: store them as they are
ALTER TABLE pozytywka.lstm_inputs ALTER COLUMN windows SET STORAGE EXTERNAL,
	ALTER COLUMN ages SET STORAGE EXTERNAL, ALTER COLUMN track_ids SET STORAGE EXTERNAL;

-- Cache the active model's inputs for as_of (the latest complete week by
-- default) unless cached, no model is active or the caller may not write.
-- Same lock protocol as cache_forecasts().
CREATE FUNCTION pozytywka.cache_lstm_inputs(as_of date DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	m pozytywka.models;
	win integer;
BEGIN
	SELECT * INTO m FROM pozytywka.models AS x
	 WHERE x.kind = 'lstm' AND x.is_active AND x.normalisation ->> 'feature_version' = '1';
	IF m.model_id IS NULL OR NOT has_table_privilege('pozytywka.lstm_inputs', 'INSERT') THEN
		RETURN false;
	END IF;
	as_of := pozytywka.resolve_as_of(as_of);
	IF NOT pozytywka.merge_before_caching(as_of) THEN
		RETURN false;
	END IF;
	win := pozytywka.lstm_model_window(m);
	LOCK TABLE pozytywka.forecast_runs IN SHARE ROW EXCLUSIVE MODE;
	IF EXISTS (SELECT 1 FROM pozytywka.lstm_inputs AS i
				WHERE i.as_of = cache_lstm_inputs.as_of AND i.window_weeks = win) THEN
		RETURN false;
	END IF;
	INSERT INTO pozytywka.lstm_inputs (as_of, window_weeks, track_ids, windows, ages)
	SELECT cache_lstm_inputs.as_of, win, array_agg(w.track_id), array_agg(w.raw), array_agg(w.age)
	  FROM pozytywka.lstm_candidate_windows(as_of, win) AS w
	HAVING count(*) > 0;
	RETURN FOUND;
END;
$$;

-- Next week's predicted score of every candidate track (the tracks of
-- pozytywka.candidate_series(as_of)) in one pass of the network, from the
-- cached inputs when there are.
CREATE FUNCTION @extschema@.lstm_predict_all(model_id bigint DEFAULT NULL, as_of date DEFAULT NULL)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	m pozytywka.models;
	win integer;
	ids text[];
	raws double precision[];
	ages double precision[];
	preds double precision[];
BEGIN
	m := pozytywka.lstm_model(model_id, true);
	as_of := pozytywka.resolve_as_of(as_of);
	win := pozytywka.lstm_model_window(m);
	-- cached inputs are read in one statement (no copy into variables)
	RETURN QUERY
	SELECT u.t, u.p
	  FROM pozytywka.lstm_inputs AS i,
		   LATERAL unnest(i.track_ids, pozytywka.lstm_apply_model(m, i.windows, i.ages)) AS u(t, p)
	 WHERE i.as_of = lstm_predict_all.as_of AND i.window_weeks = win
	   AND NOT pozytywka.pending_through(lstm_predict_all.as_of);
	IF FOUND THEN
		RETURN;
	END IF;
	SELECT array_agg(w.track_id), array_agg(w.raw), array_agg(w.age)
	  INTO ids, raws, ages
	  FROM pozytywka.lstm_candidate_windows(as_of, win) AS w;
	IF ids IS NULL THEN
		RETURN;
	END IF;
	preds := pozytywka.lstm_apply_model(m, raws, ages);
	RETURN QUERY SELECT u.t, u.p FROM unnest(ids, preds) AS u(t, p);
END;
$$;

-- The window length of a model and a check that lstm_predict can use it.
CREATE FUNCTION pozytywka.lstm_model_window(m pozytywka.models)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	IF m.normalisation IS NULL OR (m.normalisation ->> 'feature_version') IS DISTINCT FROM '1'
	   OR jsonb_typeof(m.normalisation -> 'window') <> 'number' THEN
		RAISE EXCEPTION 'LSTM model % has no pozytywka normalisation, so lstm_predict cannot build its inputs', m.model_id
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Models from lstm_train() have one; imported networks can be run with lstm_forward().';
	END IF;
	RETURN (m.normalisation ->> 'window')::integer;
END;
$$;

CREATE FUNCTION pozytywka.lstm_apply_model(m pozytywka.models, raws double precision[],
										   ages double precision[])
RETURNS double precision[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT pozytywka.lstm_apply(m.weights,
			ARRAY(SELECT v::float8 FROM jsonb_array_elements_text(m.normalisation -> 'mean') AS v),
			ARRAY(SELECT v::float8 FROM jsonb_array_elements_text(m.normalisation -> 'std') AS v),
			(m.normalisation ->> 'target_mean')::float8,
			(m.normalisation ->> 'target_std')::float8,
			raws, ages);
$$;

-- One track's predicted score for the week after the latest complete week.
CREATE FUNCTION @extschema@.lstm_predict(track_id text, model_id bigint DEFAULT NULL)
RETURNS double precision
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	m pozytywka.models;
	as_of date;
	win integer;
	w record;
BEGIN
	IF track_id IS NULL THEN
		RAISE EXCEPTION 'track_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	m := pozytywka.lstm_model(model_id, true);
	as_of := pozytywka.resolve_as_of(NULL);
	win := pozytywka.lstm_model_window(m);
	IF NOT EXISTS (SELECT 1 FROM pozytywka.weekly_history AS h
					WHERE h.track_id = lstm_predict.track_id AND h.week <= as_of) THEN
		RAISE EXCEPTION 'track "%" has no history up to %', track_id, as_of
			USING ERRCODE = 'no_data_found',
				  HINT = 'lstm_predict needs at least one week with events (or imported counts) of the track.';
	END IF;
	SELECT * INTO w FROM pozytywka.lstm_windows(ARRAY[lstm_predict.track_id], as_of, win);
	RETURN (pozytywka.lstm_apply_model(m, ARRAY[w.raw], ARRAY[w.age]))[1];
END;
$$;

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
