-- part 45: cached forecasts and the automatic model choice.
--
-- A forecast from week as_of depends only on the weekly history up to
-- as_of and on the settings, so it is cached per (model, as_of) and
-- invalidated exactly when that changes: the triggers below drop the
-- cached runs whose as_of is at or after the earliest week a statement
-- touched, and every run when the settings change.  The current week's
-- events therefore never invalidate the forecast from the latest complete
-- week.

CREATE TABLE pozytywka.forecast_runs (
	model		text NOT NULL,
	as_of		date NOT NULL,
	computed_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	seconds		double precision,
	PRIMARY KEY (model, as_of)
);
CREATE INDEX forecast_runs_as_of_idx ON pozytywka.forecast_runs (as_of);

CREATE TABLE pozytywka.forecast_cache (
	model		text NOT NULL,
	as_of		date NOT NULL,
	track_id	text NOT NULL,
	predicted_score double precision NOT NULL,
	PRIMARY KEY (model, as_of, track_id),
	FOREIGN KEY (model, as_of) REFERENCES pozytywka.forecast_runs ON DELETE CASCADE
);

-- The automatic choice made for an origin week (see auto_model()).
CREATE TABLE pozytywka.auto_choice (
	as_of		date PRIMARY KEY,
	model		text NOT NULL,
	scores		jsonb NOT NULL,
	computed_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);

-- The lock is taken in a statement of its own: it waits for a refresh in
-- progress (cache_forecasts() holds SHARE ROW EXCLUSIVE) to commit, and the
-- DELETEs after it, with a snapshot taken after the wait (READ COMMITTED),
-- see and drop the rows that refresh just wrote.  (A DELETE alone could take
-- its snapshot before waiting for the lock and miss them: a lost
-- invalidation, found by test/shell/concurrency.sh.)
CREATE FUNCTION pozytywka.invalidate_forecasts(from_week date)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	LOCK TABLE pozytywka.forecast_runs IN ROW EXCLUSIVE MODE;
	DELETE FROM pozytywka.forecast_runs AS r WHERE r.as_of >= from_week;
	-- the choice for as_of is backtested on weeks up to as_of
	DELETE FROM pozytywka.auto_choice AS c WHERE c.as_of >= from_week;
	DELETE FROM pozytywka.lstm_inputs AS i WHERE i.as_of >= from_week;
END;
$$;

-- Forecasts of trained models (and of the ensembles and automatic choices
-- built on them) depend on the active model and on the catalogue (a
-- track's age comes from its release date): drop them when either changes.
CREATE FUNCTION pozytywka.invalidate_model_forecasts(inputs_too boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	LOCK TABLE pozytywka.forecast_runs IN ROW EXCLUSIVE MODE;
	DELETE FROM pozytywka.forecast_runs AS r
	 USING pozytywka.model_kinds AS k
	 WHERE k.name = r.model AND k.family IN ('neural', 'ensemble');
	DELETE FROM pozytywka.auto_choice;
	IF inputs_too THEN
		DELETE FROM pozytywka.lstm_inputs;
	END IF;
END;
$$;

CREATE FUNCTION pozytywka.models_changed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	PERFORM pozytywka.invalidate_model_forecasts(TG_TABLE_NAME = 'tracks');
	RETURN NULL;
END;
$$;

CREATE TRIGGER models_invalidate AFTER UPDATE OR DELETE OR TRUNCATE ON pozytywka.models
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.models_changed();
CREATE TRIGGER tracks_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pozytywka.tracks
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.models_changed();

CREATE FUNCTION pozytywka.history_changed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	from_week date;
BEGIN
	IF TG_OP = 'TRUNCATE' THEN
		from_week := '-infinity';
	ELSIF TG_OP = 'INSERT' THEN
		SELECT min(n.week) INTO from_week FROM new_rows AS n;
	ELSIF TG_OP = 'DELETE' THEN
		SELECT min(o.week) INTO from_week FROM old_rows AS o;
	ELSE
		SELECT least((SELECT min(n.week) FROM new_rows AS n),
					 (SELECT min(o.week) FROM old_rows AS o)) INTO from_week;
	END IF;
	-- Events of the newest week of the event log cannot change a forecast:
	-- forecasts start from complete weeks only.  Skipping them keeps live
	-- ingestion from ever waiting on a forecast refresh (which holds a lock
	-- on forecast_runs, see cache_forecasts()).
	IF TG_TABLE_NAME = 'weekly_stats'
	   AND from_week > (SELECT max(w.week) - 7 FROM pozytywka.weekly_stats AS w) THEN
		RETURN NULL;
	END IF;
	IF from_week IS NOT NULL THEN
		PERFORM pozytywka.invalidate_forecasts(from_week);
	END IF;
	RETURN NULL;
END;
$$;

CREATE TRIGGER weekly_stats_invalidate_insert AFTER INSERT ON pozytywka.weekly_stats
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.history_changed();
CREATE TRIGGER weekly_stats_invalidate_update AFTER UPDATE ON pozytywka.weekly_stats
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.history_changed();
CREATE TRIGGER weekly_stats_invalidate_delete AFTER DELETE ON pozytywka.weekly_stats
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.history_changed();
CREATE TRIGGER weekly_stats_invalidate_truncate AFTER TRUNCATE ON pozytywka.weekly_stats
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.history_changed();
CREATE TRIGGER imported_invalidate_insert AFTER INSERT ON pozytywka.imported_weekly_stats
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.history_changed();
CREATE TRIGGER imported_invalidate_update AFTER UPDATE ON pozytywka.imported_weekly_stats
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.history_changed();
CREATE TRIGGER imported_invalidate_delete AFTER DELETE ON pozytywka.imported_weekly_stats
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.history_changed();
CREATE TRIGGER imported_invalidate_truncate AFTER TRUNCATE ON pozytywka.imported_weekly_stats
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.history_changed();

CREATE FUNCTION pozytywka.settings_changed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	PERFORM pozytywka.invalidate_forecasts('-infinity');
	RETURN NULL;
END;
$$;

CREATE TRIGGER settings_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON pozytywka.settings
	FOR EACH STATEMENT EXECUTE FUNCTION pozytywka.settings_changed();
