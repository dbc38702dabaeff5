-- part 40: the LSTM's models — the registry, PyTorch import/export and the
-- raw network.  The numerical work is in src/core/lstm*.c (glue:
-- src/lstm.c); see the README, section LSTM.

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
