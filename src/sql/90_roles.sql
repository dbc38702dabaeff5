-- part 90: roles — what a dashboard, a loader and an operator need, each
-- granted in one call, and nothing for anyone else.
--
--   dashboard: reads next_week_top_tracks and calls the read functions
--              (top list, backtest, predict, weekly popularity, the LSTM's
--              read functions, the pictures: track_sparkline, report_html); cannot change events, settings, models or
--              the cache, and cannot see users, raw events or import
--              rejects (personal data)
--   loader:    runs pozytywka-import and inserts/updates/deletes events,
--              the catalogue and weekly counts; nothing derived
--   operator:  what the weekly job does: refresh the cached forecasts and
--              the dashboard's list, train/activate/import models, change
--              the score weights; plus everything the dashboard may read
--   owner:     everything else (demo data, rebuilding the aggregate,
--              scheduling with pg_cron, registering model kinds, granting)
--
-- EXECUTE is revoked from PUBLIC on every function except the pure
-- computations on arrays (series_*, arima_*, auto_arima, weekly_series),
-- and granted per role by the functions below.  The derived data is never
-- written with the writer's rights: a write to an event table appends
-- deltas through the capture trigger (C, needs no privilege on them), and
-- merge_events(), which folds them into weekly_stats, and the triggers that
-- invalidate the forecast cache are SECURITY DEFINER (owned by the
-- extension's owner, search_path pinned to pg_catalog, pg_temp), so the
-- loader needs no write access to any of it.  Every other function is
-- SECURITY INVOKER: a caller can do exactly what its table privileges
-- allow.  The read functions write the forecast cache only when the caller
-- may (see cache_forecasts), so a dashboard gets the same answers, computed
-- instead of cached.
--
-- The grant functions GRANT as the caller: only a role that can grant on
-- pozytywka's objects (its owner, a member of the owner role, a superuser)
-- may run them.

CREATE FUNCTION pozytywka.check_can_grant(grantee name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	IF grantee IS NULL THEN
		RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles AS r WHERE r.rolname = grantee) THEN
		RAISE EXCEPTION 'role "%" does not exist', grantee
			USING ERRCODE = 'undefined_object',
				  HINT = 'CREATE ROLE first (NOLOGIN for a group role, LOGIN for a user).';
	END IF;
	-- GRANT by a role without the grant option only warns; refuse instead
	IF NOT pg_has_role(current_user,
					   (SELECT n.nspowner FROM pg_namespace AS n WHERE n.nspname = 'pozytywka'),
					   'USAGE') THEN
		RAISE EXCEPTION 'permission denied: only the owner of pozytywka (or a member of its role) can grant access to it'
			USING ERRCODE = 'insufficient_privilege';
	END IF;
END;
$$;
REVOKE ALL ON FUNCTION pozytywka.check_can_grant(name) FROM PUBLIC;

-- The functions (members of the extension) that a role kind may execute.
-- dashboard: the read API and every internal helper of the schema
-- pozytywka except those that write or maintain (the read path calls the
-- helpers as the caller); loader: the importer's; operator: the
-- dashboard's plus the weekly job's and the model management.
CREATE FUNCTION pozytywka.role_functions(role_kind text)
RETURNS SETOF regprocedure
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	WITH f AS (
		SELECT p.oid, p.proname::text AS name, n.nspname::text AS nsp,
			   p.prorettype = 'trigger'::regtype AS is_trigger
		  FROM pg_depend AS d
		  JOIN pg_proc AS p ON p.oid = d.objid
		  JOIN pg_namespace AS n ON n.oid = p.pronamespace
		 WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
		   AND d.refclassid = 'pg_extension'::regclass
		   AND d.refobjid = (SELECT e.oid FROM pg_extension AS e WHERE e.extname = 'pozytywka')
	), dashboard AS (
		SELECT f.oid FROM f
		 WHERE (f.nsp = 'pozytywka' AND NOT f.is_trigger
				AND f.name NOT IN ('invalidate_forecasts',
								   'invalidate_model_forecasts', 'cache_lstm_inputs',
								   'weekly_retrain', 'lstm_fit', 'check_can_grant',
								   'role_functions', 'grant_role_functions',
								   'import_checked', 'import_file', 'import_value_ok', 'try_jsonb',
								   'day_exists', 'demo_artists', 'demo_tracks',
								   'demo_users', 'demo_events', 'check_model_kind',
								   'append_relation', 'add_capture_triggers',
								   'drop_capture_triggers', 'sync_event_partitions',
								   'on_ddl_command_end', 'on_sql_drop', 'rebuild_source',
								   'sync_shards', 'rebuild_shard_views',
								   'cron_schedule_as', 'cron_unschedule', 'api_function_name'))
			OR f.name IN ('top_tracks_next_week', 'backtest_top_tracks', 'backtest_summary',
						  'predict', 'weekly_popularity', 'latest_complete_week',
						  'lstm_export', 'lstm_forward', 'lstm_predict', 'lstm_predict_all',
						  'explain_choice', 'backtest_reliability',
						  'track_sparkline', 'report_html',
						  -- a read with changes pending folds them before caching
						  'merge_events')
	)
	SELECT f.oid::regprocedure FROM f
	 WHERE CASE role_kind
		   WHEN 'dashboard' THEN f.oid IN (SELECT dashboard.oid FROM dashboard)
		   WHEN 'loader' THEN f.name IN ('import_staged', 'import_file', 'import_checked', 'import_value_ok',
										 'try_jsonb', 'day_exists')
		   WHEN 'operator' THEN f.oid IN (SELECT dashboard.oid FROM dashboard)
				OR f.name IN ('refresh_forecasts', 'refresh_top_tracks', 'weekly_refresh',
							  'weekly_retrain', 'cache_lstm_inputs', 'lstm_train', 'lstm_fit',
							  'lstm_activate', 'lstm_import', 'set_score_weights')
		   END
	 ORDER BY 1;
$$;
REVOKE ALL ON FUNCTION pozytywka.role_functions(text) FROM PUBLIC;

CREATE FUNCTION pozytywka.grant_role_functions(grantee name, role_kind text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT * FROM pozytywka.role_functions(role_kind) LOOP
		EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %I', f, grantee);
	END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION pozytywka.grant_role_functions(name, text) FROM PUBLIC;

CREATE FUNCTION @extschema@.grant_dashboard_access(grantee name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	PERFORM pozytywka.check_can_grant(grantee);
	EXECUTE format('GRANT USAGE ON SCHEMA pozytywka, @extschema@ TO %I', grantee);
	EXECUTE format('GRANT SELECT ON @extschema@.next_week_top_tracks TO %I', grantee);
	-- what the read functions read: weekly history, settings, the model
	-- registry, the cache, the catalogue (names in the list)
	EXECUTE format('GRANT SELECT ON pozytywka.weekly_stats, pozytywka.weekly_deltas,
		pozytywka.event_sources, pozytywka.imported_weekly_stats, pozytywka.weekly_rows, pozytywka.weekly_history, pozytywka.weekly_scores, pozytywka.settings,
		pozytywka.effective_settings, pozytywka.model_kinds, pozytywka.auto_preference,
		pozytywka.auto_choice, pozytywka.forecast_runs, pozytywka.forecast_cache,
		pozytywka.forecast_calibration, pozytywka.lstm_inputs, pozytywka.ensemble_members, pozytywka.models,
		pozytywka.tracks, pozytywka.artists, pozytywka.top_tracks_snapshot TO %I', grantee);
	-- the read API and the helpers it runs as the caller (and the model
	-- functions registered in model_kinds: run it again after registering one)
	PERFORM pozytywka.grant_role_functions(grantee, 'dashboard');
END;
$$;
REVOKE ALL ON FUNCTION @extschema@.grant_dashboard_access(name) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.grant_dashboard_access(name) IS
	'Let a role read next_week_top_tracks and call the read functions (top list, backtest, predict); nothing else';

CREATE FUNCTION @extschema@.grant_loader_access(grantee name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	PERFORM pozytywka.check_can_grant(grantee);
	EXECUTE format('GRANT USAGE ON SCHEMA pozytywka, @extschema@ TO %I', grantee);
	-- the data it loads
	EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON pozytywka.sessions,
		pozytywka.artists, pozytywka.tracks, pozytywka.users, pozytywka.track_storage,
		pozytywka.imported_weekly_stats TO %I', grantee);
	-- the aggregate is read, never written: writes append deltas through
	-- the capture trigger, merge_events() (SECURITY DEFINER) folds them and
	-- the cache's invalidation follows; the loader writes nothing derived
	EXECUTE format('GRANT SELECT ON pozytywka.weekly_stats, pozytywka.weekly_deltas,
		pozytywka.event_sources TO %I', grantee);
	-- the importer's bookkeeping
	EXECUTE format('GRANT SELECT ON pozytywka.import_fields TO %I', grantee);
	EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pozytywka.import_runs, pozytywka.import_rejects TO %I', grantee);
	EXECUTE format('GRANT USAGE ON SEQUENCE pozytywka.import_runs_run_id_seq,
		pozytywka.import_rejects_reject_id_seq TO %I', grantee);
	PERFORM pozytywka.grant_role_functions(grantee, 'loader');
END;
$$;
REVOKE ALL ON FUNCTION @extschema@.grant_loader_access(name) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.grant_loader_access(name) IS
	'Let a role run pozytywka-import and insert, update and delete events, the catalogue and weekly counts; nothing derived';

CREATE FUNCTION @extschema@.grant_operator_access(grantee name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	PERFORM pozytywka.check_can_grant(grantee);
	-- what the dashboard reads and calls
	PERFORM @extschema@.grant_dashboard_access(grantee);
	-- the weekly job: cache the forecasts and the automatic choice, the
	-- network's inputs, the dashboard's list
	EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON pozytywka.forecast_runs,
		pozytywka.forecast_cache, pozytywka.forecast_calibration, pozytywka.auto_choice,
		pozytywka.lstm_inputs, pozytywka.top_tracks_snapshot TO %I', grantee);
	-- models: train, import, activate
	EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pozytywka.models TO %I', grantee);
	EXECUTE format('GRANT USAGE ON SEQUENCE pozytywka.models_model_id_seq TO %I', grantee);
	-- the score weights (set_score_weights)
	EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pozytywka.settings TO %I', grantee);
	PERFORM pozytywka.grant_role_functions(grantee, 'operator');
END;
$$;
REVOKE ALL ON FUNCTION @extschema@.grant_operator_access(name) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.grant_operator_access(name) IS
	'Let a role run the weekly refresh, train, import and activate models and set the score weights (and read what the dashboard reads)';

CREATE FUNCTION @extschema@.revoke_pozytywka_access(grantee name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	f regprocedure;
BEGIN
	PERFORM pozytywka.check_can_grant(grantee);
	EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA pozytywka FROM %I', grantee);
	EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA pozytywka FROM %I', grantee);
	EXECUTE format('REVOKE SELECT ON @extschema@.next_week_top_tracks FROM %I', grantee);
	EXECUTE format('REVOKE USAGE ON SCHEMA pozytywka FROM %I', grantee);
	FOR f IN SELECT * FROM pozytywka.role_functions('operator')
			 UNION SELECT * FROM pozytywka.role_functions('loader') LOOP
		EXECUTE format('REVOKE EXECUTE ON ROUTINE %s FROM %I', f, grantee);
	END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION @extschema@.revoke_pozytywka_access(name) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.revoke_pozytywka_access(name) IS
	'Undo grant_dashboard_access / grant_loader_access / grant_operator_access for a role';

-- The triggers that maintain derived data run as the extension's owner:
-- a loader's INSERT into sessions updates weekly_stats and invalidates the
-- cache without the loader holding any right on them.  Trigger functions
-- cannot be called directly; their search_path is pinned.
DO $$
DECLARE
	f pg_catalog.regprocedure;
BEGIN
	FOR f IN
		SELECT p.oid::pg_catalog.regprocedure
		  FROM pg_catalog.pg_depend AS d
		  JOIN pg_catalog.pg_proc AS p ON p.oid OPERATOR(pg_catalog.=) d.objid
		 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
		   AND d.deptype OPERATOR(pg_catalog.=) 'e'::pg_catalog."char"
		   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
		   AND d.refobjid OPERATOR(pg_catalog.=)
			   (SELECT e.oid FROM pg_catalog.pg_extension AS e
				 WHERE e.extname OPERATOR(pg_catalog.=) 'pozytywka'::pg_catalog.name)
		   AND p.prorettype OPERATOR(pg_catalog.=) 'pg_catalog.trigger'::pg_catalog.regtype
		   -- the capture trigger (C) needs no privilege: it stays the writer's
		   AND p.prolang OPERATOR(pg_catalog.<>) (SELECT l.oid FROM pg_catalog.pg_language AS l
													WHERE l.lanname OPERATOR(pg_catalog.=) 'c'::pg_catalog.name)
	LOOP
		EXECUTE pg_catalog.format('ALTER FUNCTION %s SECURITY DEFINER', f);
	END LOOP;
END
$$;

-- No EXECUTE for PUBLIC, except the pure computations on arrays.
DO $$
DECLARE
	f pg_catalog.regprocedure;
BEGIN
	FOR f IN
		SELECT p.oid::pg_catalog.regprocedure
		  FROM pg_catalog.pg_depend AS d
		  JOIN pg_catalog.pg_proc AS p ON p.oid OPERATOR(pg_catalog.=) d.objid
		 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
		   AND d.deptype OPERATOR(pg_catalog.=) 'e'::pg_catalog."char"
		   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
		   AND d.refobjid OPERATOR(pg_catalog.=)
			   (SELECT e.oid FROM pg_catalog.pg_extension AS e
				 WHERE e.extname OPERATOR(pg_catalog.=) 'pozytywka'::pg_catalog.name)
		   AND NOT (p.proname OPERATOR(pg_catalog.=) ANY
					('{series_mean,series_ewma,series_trend,arima_fit,arima_forecast,arima_forecast_interval,auto_arima,weekly_series,week_of}'::pg_catalog.name[]))
	LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON ROUTINE %s FROM PUBLIC', f);
	END LOOP;
END
$$;
