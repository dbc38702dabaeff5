-- part 80: the weekly job — cached forecasts, the dashboard's top list, and
-- its schedule with pg_cron.

-- Compute and cache, for the origin week as_of (default: the latest
-- complete week), the forecasts of the given model kinds (default: every
-- kind and then the automatic choice).  Returns what was done.
CREATE FUNCTION @extschema@.refresh_forecasts(origin date DEFAULT NULL,
											  models text[] DEFAULT NULL)
RETURNS TABLE (model text, as_of date, cached boolean, seconds double precision)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	o date := pozytywka.resolve_as_of(origin);
	kinds text[];
	k text;
	fresh boolean;
BEGIN
	PERFORM pozytywka.require_primary('refresh_forecasts');
	IF models IS NULL THEN
		SELECT array_agg(m.name ORDER BY m.name) INTO kinds FROM pozytywka.model_kinds AS m;
	ELSE
		SELECT array_agg(pozytywka.resolve_model(x, o)) INTO kinds FROM unnest(models) AS x;
	END IF;
	FOREACH k IN ARRAY coalesce(kinds, '{}') LOOP
		CONTINUE WHEN NOT pozytywka.model_available(k, o);
		fresh := pozytywka.cache_forecasts(k, o);
		RETURN QUERY SELECT k, o, fresh, r.seconds
					   FROM pozytywka.forecast_runs AS r WHERE r.model = k AND r.as_of = o;
	END LOOP;
	-- the network's inputs, so the list straight from a newly activated
	-- model only runs the network
	IF 'lstm' = ANY (coalesce(kinds, '{}')) THEN
		PERFORM pozytywka.cache_lstm_inputs(o);
	END IF;
	-- the automatic choice backtests every candidate: part of a full refresh
	IF models IS NULL THEN
		RETURN QUERY SELECT 'auto -> ' || pozytywka.cache_auto_choice(o), o, true, NULL::float8;
		-- and, from the same backtest forecasts, each candidate's interval and
		-- p_top for lists of settings.auto_n (part 52)
		PERFORM pozytywka.cache_calibration(m.name, s.auto_n, o)
		   FROM pozytywka.model_kinds AS m, pozytywka.effective_settings AS s
		  WHERE m.auto_candidate AND pozytywka.model_available(m.name, o)
		  ORDER BY m.name;
	END IF;
END;
$$;
COMMENT ON FUNCTION @extschema@.refresh_forecasts(date, text[]) IS
	'Compute and cache next week''s forecasts (and the automatic model choice) from the latest complete week';

-- The dashboard's list: the last computed next-week top list.  Replaced
-- atomically by refresh_top_tracks(): readers see the old list or the new.
CREATE TABLE pozytywka.top_tracks_snapshot (
	rank		integer PRIMARY KEY,
	track_id	text NOT NULL,
	track_name	text,
	artist_name text,
	predicted_score double precision,
	last_week_score double precision,
	model		text NOT NULL,
	as_of		date NOT NULL,
	for_week	date NOT NULL,
	weights		jsonb NOT NULL,
	computed_at timestamptz NOT NULL,
	-- 0.2.0: the 80% interval and the probability of the real top n
	lower		double precision,
	upper		double precision,
	p_top		double precision
);

CREATE VIEW @extschema@.next_week_top_tracks AS
SELECT s.rank, s.track_id, s.track_name, s.artist_name, s.predicted_score,
	   s.last_week_score, s.model, s.as_of, s.for_week, s.weights, s.computed_at,
	   s.lower, s.upper, s.p_top,
	   -- 0.2.0, for people (appended: CREATE OR REPLACE VIEW may add columns
	   -- at the end): scores and interval to one decimal, p_top in percent
	   pg_catalog.round(s.predicted_score::numeric, 1) AS predicted_score_rounded,
	   pg_catalog.round(s.lower::numeric, 1) AS lower_rounded,
	   pg_catalog.round(s.upper::numeric, 1) AS upper_rounded,
	   pg_catalog.round(s.p_top OPERATOR(pg_catalog.*) 100.0::double precision)::integer AS p_top_percent
  FROM pozytywka.top_tracks_snapshot AS s;
COMMENT ON VIEW @extschema@.next_week_top_tracks IS
	'Next week''s top list as of the last refresh_top_tracks() (the weekly job); for dashboards; the *_rounded and p_top_percent columns are for showing to people';

CREATE FUNCTION @extschema@.refresh_top_tracks(n integer DEFAULT 50,
											   model_type text DEFAULT 'auto')
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	origin date := pozytywka.resolve_as_of(NULL);
	rows integer;
BEGIN
	PERFORM pozytywka.require_primary('refresh_top_tracks');
	PERFORM pozytywka.check_list_size(n);
	IF model_type IS NULL THEN
		PERFORM pozytywka.resolve_model(NULL, NULL);
	END IF;
	IF lower(model_type) = 'auto' THEN
		PERFORM pozytywka.cache_auto_choice(origin);
	END IF;
	PERFORM pozytywka.cache_forecasts(pozytywka.resolve_model(model_type, origin), origin);
	PERFORM pozytywka.cache_calibration(pozytywka.resolve_model(model_type, origin), n, origin);
	DELETE FROM pozytywka.top_tracks_snapshot;
	INSERT INTO pozytywka.top_tracks_snapshot (rank, track_id, track_name, artist_name,
											   predicted_score, last_week_score, model, as_of,
											   for_week, weights, computed_at, lower, upper, p_top)
	SELECT t.rank, t.track_id, t.track_name, t.artist_name, t.predicted_score,
		   t.last_week_score, t.model, origin, origin + 7,
		   (SELECT jsonb_build_object('w_play', s.w_play, 'w_like', s.w_like, 'w_skip', s.w_skip)
			  FROM pozytywka.effective_settings AS s),
		   now(), t.lower, t.upper, t.p_top
	  FROM @extschema@.top_tracks_next_week(n, model_type, origin) AS t;
	GET DIAGNOSTICS rows = ROW_COUNT;
	RETURN rows;
END;
$$;
COMMENT ON FUNCTION @extschema@.refresh_top_tracks(integer, text) IS
	'Recompute the list behind the view next_week_top_tracks';

-- What the weekly pg_cron job runs: retrain the neural model when one is
-- registered (see lstm_train), cache every model's forecasts and the
-- automatic choice, and refresh the dashboard's list.
CREATE FUNCTION @extschema@.weekly_refresh(retrain boolean DEFAULT true)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	started timestamptz := clock_timestamp();
	trained jsonb;
	n_models integer;
	n_rows integer;
BEGIN
	PERFORM pozytywka.require_primary('weekly_refresh');
	IF retrain AND to_regprocedure('pozytywka.weekly_retrain()') IS NOT NULL THEN
		EXECUTE 'SELECT pozytywka.weekly_retrain()' INTO trained;
	END IF;
	SELECT count(*) INTO n_models FROM @extschema@.refresh_forecasts();
	n_rows := @extschema@.refresh_top_tracks();
	RETURN jsonb_build_object('as_of', pozytywka.resolve_as_of(NULL),
							  'retrained', trained,
							  'models_refreshed', n_models,
							  'top_list_rows', n_rows,
							  'seconds', extract(epoch FROM clock_timestamp() - started));
END;
$$;

-- pg_cron runs a job as the role cron.job.username names, connecting as it
-- (PostgreSQL 15 lets only a LOGIN role connect, background worker or
-- not).  pozytywka's jobs run as a role of their own holding the
-- operator's rights (part 90), never as the superuser who scheduled them:
-- what a job runs (the model functions registered in model_kinds among it)
-- runs with no more rights than the weekly refresh needs.  The role is
-- created on first use, LOGIN without a password: pg_cron must be able to
-- connect as it (cron.use_background_workers = on, or a pg_hba.conf line
-- for it; see the README).  One job of a name per database: a job of that
-- name run by another role (as pozytywka 0.1.0 scheduled it, as the
-- scheduling user) is removed.
CREATE FUNCTION pozytywka.cron_schedule_as(job_name text, schedule text, command text,
										   run_as name)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	job bigint;
	other bigint;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_extension AS e WHERE e.extname = 'pg_cron') THEN
		RAISE EXCEPTION 'pg_cron is not installed in this database'
			USING ERRCODE = 'undefined_object',
				  HINT = format('Add pg_cron to shared_preload_libraries, set cron.database_name to this database, restart, then CREATE EXTENSION pg_cron; or schedule %s with any other scheduler.',
								command);
	END IF;
	IF schedule IS NULL OR run_as IS NULL THEN
		RAISE EXCEPTION 'schedule and run_as must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles AS r WHERE r.rolname = run_as) THEN
		EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS',
					   run_as);
		EXECUTE format('COMMENT ON ROLE %I IS %L', run_as,
					   'runs pozytywka''s pg_cron jobs with the operator''s rights (schedule_weekly_refresh, schedule_merge_events)');
		RAISE NOTICE 'created role "%" to run pozytywka''s scheduled jobs', run_as;
	ELSIF EXISTS (SELECT 1 FROM pg_roles AS r
				   WHERE r.rolname = run_as AND (r.rolsuper OR r.rolbypassrls)) THEN
		RAISE EXCEPTION 'a scheduled job must not run as "%", a superuser or a role that bypasses row security', run_as
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Name a role of its own (run_as); the default, pozytywka_job, is created with the operator''s rights only.';
	END IF;
	PERFORM @extschema@.grant_operator_access(run_as);
	FOR other IN EXECUTE 'SELECT j.jobid FROM cron.job AS j
						   WHERE j.jobname = $1 AND j.database = current_database() AND j.username <> $2'
				 USING job_name, run_as::text LOOP
		EXECUTE 'SELECT cron.unschedule($1)' USING other;
	END LOOP;
	EXECUTE 'SELECT cron.schedule_in_database($1, $2, $3, current_database(), $4)'
	   INTO job
	  USING job_name, schedule, command, run_as::text;
	RETURN job;
END;
$$;
REVOKE ALL ON FUNCTION pozytywka.cron_schedule_as(text, text, text, name) FROM PUBLIC;

-- Remove every job of that name in this database, whichever role runs it.
CREATE FUNCTION pozytywka.cron_unschedule(job_name text)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	job bigint;
	done boolean := false;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_extension AS e WHERE e.extname = 'pg_cron') THEN
		RAISE EXCEPTION 'pg_cron is not installed in this database'
			USING ERRCODE = 'undefined_object';
	END IF;
	FOR job IN EXECUTE 'SELECT j.jobid FROM cron.job AS j
						 WHERE j.jobname = $1 AND j.database = current_database()'
			   USING job_name LOOP
		EXECUTE 'SELECT cron.unschedule($1)' USING job;
		done := true;
	END LOOP;
	RETURN done;
END;
$$;
REVOKE ALL ON FUNCTION pozytywka.cron_unschedule(text) FROM PUBLIC;

-- The schema-qualified name of one of pozytywka's API functions, for a
-- job's command (exact: a look-alike in another schema is never run).
CREATE FUNCTION pozytywka.api_function_name(fn text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT quote_ident(n.nspname) || '.' || quote_ident(fn)
	  FROM pg_extension AS e
	  JOIN pg_namespace AS n ON n.oid = e.extnamespace
	 WHERE e.extname = 'pozytywka';
$$;
REVOKE ALL ON FUNCTION pozytywka.api_function_name(text) FROM PUBLIC;

-- Schedule weekly_refresh() with pg_cron, run as run_as (see
-- cron_schedule_as); calling it again updates the same job (idempotent).
-- Default: Mondays 03:00, after the week closed.
CREATE FUNCTION @extschema@.schedule_weekly_refresh(schedule text DEFAULT '0 3 * * 1',
													retrain boolean DEFAULT true,
													run_as name DEFAULT 'pozytywka_job')
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	IF retrain IS NULL THEN
		RAISE EXCEPTION 'retrain must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- a typed boolean: an untyped literal would prefer a look-alike
	-- weekly_refresh(text) that someone who can create in that schema adds
	RETURN pozytywka.cron_schedule_as('pozytywka-weekly-refresh', schedule,
									  format('SELECT %s(%s)', pozytywka.api_function_name('weekly_refresh'),
											 CASE WHEN retrain THEN 'true' ELSE 'false' END),
									  run_as);
END;
$$;
COMMENT ON FUNCTION @extschema@.schedule_weekly_refresh(text, boolean, name) IS
	'Schedule (or reschedule) the weekly refresh and retraining with pg_cron, run as a role with the operator''s rights (created if missing); returns the cron job id';

CREATE FUNCTION @extschema@.unschedule_weekly_refresh()
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	RETURN pozytywka.cron_unschedule('pozytywka-weekly-refresh');
END;
$$;
