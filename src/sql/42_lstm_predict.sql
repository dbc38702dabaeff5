-- part 42: prediction with an LSTM model, for every candidate at once or
-- for one track.

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
