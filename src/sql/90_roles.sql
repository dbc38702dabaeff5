-- part 90: roles — what a dashboard and a loader need, granted in one call.
--
-- Every function of pozytywka is SECURITY INVOKER with a pinned
-- search_path: a caller can do exactly what its table privileges allow.
-- The read functions (top_tracks_next_week, backtest_top_tracks,
-- backtest_summary, predict, weekly_popularity) only need SELECT; they
-- write the forecast cache only when the caller may (see cache_forecasts),
-- so a read-only role gets the same answers, computed instead of cached.
--
--   dashboard: reads next_week_top_tracks and calls the read functions;
--              cannot change events, settings, models or the cache, and
--              cannot see users, raw events or import rejects (personal data)
--   loader:    runs pozytywka-import and inserts/updates/deletes events and
--              weekly counts.  Its writes append deltas to the aggregate
--              (the capture trigger needs no privilege on it); the merge,
--              SECURITY DEFINER, folds them and invalidates the cache.
--
-- These functions GRANT as the caller: only a role that can grant on
-- pozytywka's objects (its owner, a member of the owner role, a superuser)
-- may run them; EXECUTE is revoked from PUBLIC.

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
	EXECUTE format('GRANT EXECUTE ON FUNCTION
		@extschema@.top_tracks_next_week(integer, text, date),
		@extschema@.backtest_top_tracks(integer, integer, text),
		@extschema@.backtest_summary(integer, integer, text),
		@extschema@.predict(jsonb),
		@extschema@.explain_choice(date),
		@extschema@.backtest_reliability(integer, integer, text),
		@extschema@.weekly_popularity(date),
		@extschema@.latest_complete_week() TO %I', grantee);
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
	-- the aggregate is read, never written: writers only append deltas
	-- (the capture trigger needs no privilege), merge_events() folds them
	EXECUTE format('GRANT SELECT ON pozytywka.weekly_stats, pozytywka.weekly_deltas,
		pozytywka.event_sources TO %I', grantee);
	EXECUTE format('GRANT SELECT, DELETE ON pozytywka.forecast_runs, pozytywka.forecast_cache,
		pozytywka.forecast_calibration, pozytywka.auto_choice, pozytywka.lstm_inputs TO %I', grantee);
	-- the importer's bookkeeping
	EXECUTE format('GRANT SELECT ON pozytywka.import_fields TO %I', grantee);
	EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pozytywka.import_runs, pozytywka.import_rejects TO %I', grantee);
	EXECUTE format('GRANT USAGE ON SEQUENCE pozytywka.import_runs_run_id_seq,
		pozytywka.import_rejects_reject_id_seq TO %I', grantee);
	EXECUTE format('GRANT EXECUTE ON FUNCTION @extschema@.import_staged(text, text) TO %I', grantee);
	-- training: lstm_train reads the history and registers (and may
	-- activate) a model; the weekly job refreshes the cache and the list
	EXECUTE format('GRANT SELECT ON pozytywka.settings, pozytywka.effective_settings,
		pozytywka.model_kinds, pozytywka.auto_preference, pozytywka.ensemble_members,
		pozytywka.weekly_rows, pozytywka.weekly_history, pozytywka.weekly_scores TO %I', grantee);
	EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pozytywka.models TO %I', grantee);
	EXECUTE format('GRANT USAGE ON SEQUENCE pozytywka.models_model_id_seq TO %I', grantee);
	EXECUTE format('GRANT INSERT, UPDATE ON pozytywka.forecast_runs, pozytywka.forecast_cache,
		pozytywka.forecast_calibration, pozytywka.auto_choice, pozytywka.lstm_inputs TO %I', grantee);
	EXECUTE format('GRANT SELECT, INSERT, DELETE ON pozytywka.top_tracks_snapshot TO %I', grantee);
END;
$$;
REVOKE ALL ON FUNCTION @extschema@.grant_loader_access(name) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.grant_loader_access(name) IS
	'Let a role run pozytywka-import, insert, update and delete events and weekly counts, train models and run the weekly refresh';

CREATE FUNCTION @extschema@.revoke_pozytywka_access(grantee name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	PERFORM pozytywka.check_can_grant(grantee);
	EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA pozytywka FROM %I', grantee);
	EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA pozytywka FROM %I', grantee);
	EXECUTE format('REVOKE SELECT ON @extschema@.next_week_top_tracks FROM %I', grantee);
	EXECUTE format('REVOKE USAGE ON SCHEMA pozytywka FROM %I', grantee);
END;
$$;
REVOKE ALL ON FUNCTION @extschema@.revoke_pozytywka_access(name) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.revoke_pozytywka_access(name) IS
	'Undo grant_dashboard_access / grant_loader_access for a role';
