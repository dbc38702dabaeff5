-- Cached forecasts: computed once, reused, dropped exactly when the history
-- they depend on (or the settings) change.  The dashboard's list.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS pozytywka CASCADE;
CREATE EXTENSION pozytywka;
RESET client_min_messages;
\set SHOW_CONTEXT never

INSERT INTO pozytywka.imported_weekly_stats (track_id, week, plays)
SELECT 't' || t, date '2024-01-01' + 7 * w, 1 + (t * 7 + w * 3) % 11
  FROM generate_series(1, 30) AS t, generate_series(0, 9) AS w;
SELECT latest_complete_week();

SELECT model, as_of, cached FROM refresh_forecasts() ORDER BY model;
SELECT model, as_of, count(*) AS tracks
  FROM pozytywka.forecast_cache GROUP BY 1, 2 ORDER BY 1, 2;
-- a second refresh finds everything cached
SELECT bool_or(cached) AS recomputed FROM refresh_forecasts() WHERE model NOT LIKE 'auto%';
-- the cached list equals a fresh computation
SELECT count(*) AS differences FROM (
	(SELECT track_id, predicted_score FROM pozytywka.model_forecasts('trend', '2024-03-04')
	 EXCEPT SELECT track_id, predicted_score FROM pozytywka.compute_forecasts('trend', '2024-03-04'))
	UNION ALL
	(SELECT track_id, predicted_score FROM pozytywka.compute_forecasts('trend', '2024-03-04')
	 EXCEPT SELECT track_id, predicted_score FROM pozytywka.model_forecasts('trend', '2024-03-04'))) AS d;
SELECT model FROM pozytywka.auto_choice WHERE as_of = '2024-03-04';

-- a change in a later week keeps the forecasts from earlier weeks
SELECT count(*) AS runs_before FROM pozytywka.forecast_runs;
INSERT INTO pozytywka.imported_weekly_stats VALUES ('t1', '2024-03-11', 5, 0, 0);
SELECT count(*) AS runs_after_later_week FROM pozytywka.forecast_runs;
-- a change in an old week drops every forecast made from it or later
UPDATE pozytywka.imported_weekly_stats SET plays = plays + 100
 WHERE track_id = 't5' AND week = '2024-02-26';
SELECT min(as_of), max(as_of), count(*) FROM pozytywka.forecast_runs;
SELECT count(*) AS choices_left FROM pozytywka.auto_choice WHERE as_of >= '2024-02-26';
-- settings drop them all
SELECT set_score_weights(1, 1, 1);
SELECT count(*) AS runs_after_settings FROM pozytywka.forecast_runs;
SELECT set_score_weights(1.0, 0.8, 0.5);

-- events of the newest week of the event log never invalidate: forecasts
-- start from complete weeks only
TRUNCATE pozytywka.imported_weekly_stats;
INSERT INTO pozytywka.sessions (session_id, "timestamp", user_id, track_id, event_type)
SELECT w, timestamp '2024-01-01' + w * interval '7 days' + t * interval '1 minute', 1, 't' || t, 'play'
  FROM generate_series(0, 4) AS w, generate_series(1, 5 + w) AS t;
SELECT latest_complete_week();
SELECT count(*) > 0 AS cached FROM refresh_forecasts(NULL, ARRAY['naive']);
INSERT INTO pozytywka.sessions VALUES (99, '2024-02-01 12:00', 1, 't1', 'play');
SELECT count(*) AS naive_runs_kept FROM pozytywka.forecast_runs WHERE model = 'naive';
INSERT INTO pozytywka.sessions VALUES (98, '2024-01-24 12:00', 1, 't1', 'play');
-- not merged yet: the cached run is behind, so the list is computed (t1's
-- late play counts at once) ...
SELECT pozytywka.pending_through(latest_complete_week()) AS pending;
SELECT track_id, predicted_score FROM top_tracks_next_week(10, 'naive') WHERE track_id = 't1';
-- ... and the merge drops the run
SELECT merge_events() > 0 AS merged;
SELECT count(*) AS naive_runs_after_late_event FROM pozytywka.forecast_runs WHERE model = 'naive';
SELECT track_id, predicted_score FROM top_tracks_next_week(10, 'naive') WHERE track_id = 't1';

-- the dashboard's list
SELECT refresh_top_tracks(3, 'naive');
SELECT rank, track_id, model, as_of, for_week, weights FROM next_week_top_tracks ORDER BY rank;

-- pg_cron is not installed in this database: a clear error with a hint
\set SHOW_CONTEXT never
SELECT schedule_weekly_refresh();
