-- Weekly popularity: the aggregate follows every kind of change to sessions.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS pozytywka CASCADE;
CREATE EXTENSION pozytywka;
RESET client_min_messages;
\set SHOW_CONTEXT never

-- the checks used throughout: the live view (merged rows plus pending
-- deltas) and, after a merge, the merged aggregate alone equal a fresh
-- GROUP BY
CREATE FUNCTION fresh_group_by() RETURNS TABLE (track_id text, week date, plays bigint,
												likes bigint, skips bigint)
LANGUAGE sql AS $$
	SELECT track_id, date_trunc('week', "timestamp")::date,
		   count(*) FILTER (WHERE event_type = 'play'),
		   count(*) FILTER (WHERE event_type = 'like'),
		   count(*) FILTER (WHERE event_type = 'skip')
	  FROM pozytywka.sessions
	 WHERE track_id IS NOT NULL AND event_type IN ('play', 'like', 'skip')
	 GROUP BY 1, 2;
$$;
CREATE FUNCTION live_is_exact() RETURNS boolean LANGUAGE sql AS $$
	SELECT NOT EXISTS (
		(SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_history
		 EXCEPT SELECT * FROM fresh_group_by())
		UNION ALL
		(SELECT * FROM fresh_group_by()
		 EXCEPT SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_history));
$$;
CREATE FUNCTION merged_is_exact() RETURNS boolean LANGUAGE sql AS $$
	SELECT NOT EXISTS (SELECT 1 FROM pozytywka.weekly_deltas)
	   AND NOT EXISTS (
		(SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_stats
		 EXCEPT SELECT * FROM fresh_group_by())
		UNION ALL
		(SELECT * FROM fresh_group_by()
		 EXCEPT SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_stats));
$$;

-- Sunday 2024-01-07 23:59 belongs to the week of Monday 2024-01-01;
-- Monday 2024-01-08 00:00 starts the next week.
INSERT INTO pozytywka.sessions (session_id, "timestamp", user_id, track_id, event_type) VALUES
	(1, '2024-01-01 10:00', 1, 'A', 'play'),
	(1, '2024-01-01 10:03', 1, 'A', 'like'),
	(1, '2024-01-01 10:04', 1, 'B', 'play'),
	(1, '2024-01-01 10:05', 1, 'B', 'skip'),
	(1, '2024-01-01 10:06', 1, NULL, 'advertisement'),
	(2, '2024-01-07 23:59', 2, 'A', 'play'),
	(3, '2024-01-08 00:00', 2, 'A', 'play'),
	(3, '2024-01-08 00:01', 2, 'C', 'buy_premium');
-- writers only append deltas: nothing merged yet, the view is exact anyway
SELECT count(*) AS merged_rows FROM pozytywka.weekly_stats;
SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_deltas ORDER BY track_id, week;
SELECT * FROM pozytywka.weekly_history ORDER BY track_id, week;
SELECT live_is_exact();
SELECT merge_events() AS folded;
SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_stats ORDER BY track_id, week;
SELECT merged_is_exact();
SELECT merge_events() AS folded_again;

-- scores with the default weights 1.0 / 0.8 / 0.5
SELECT track_id, week, score FROM pozytywka.weekly_scores ORDER BY track_id, week;

-- an update that moves an event to another track and week
UPDATE pozytywka.sessions SET track_id = 'B', "timestamp" = '2024-01-09'
 WHERE session_id = 2;
SELECT * FROM pozytywka.weekly_history ORDER BY track_id, week;
SELECT live_is_exact();
SELECT merge_events() AS folded;
SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_stats ORDER BY track_id, week;
SELECT merged_is_exact();

-- deleting the last events of a (track, week) removes its row
DELETE FROM pozytywka.sessions WHERE track_id = 'B';
SELECT * FROM pozytywka.weekly_history ORDER BY track_id, week;
SELECT live_is_exact();
SELECT merge_events() AS folded;
SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_stats ORDER BY track_id, week;
SELECT merged_is_exact();

-- a rolled-back statement leaves nothing behind
BEGIN;
INSERT INTO pozytywka.sessions VALUES (50, '2024-01-02', 1, 'Z', 'play');
SELECT count(*) AS pending_inside FROM pozytywka.weekly_deltas;
ROLLBACK;
SELECT count(*) AS pending_after FROM pozytywka.weekly_deltas;

-- bulk load: one statement, many rows
INSERT INTO pozytywka.sessions (session_id, "timestamp", user_id, track_id, event_type)
SELECT 100 + i / 10, timestamp '2024-01-15' + i * interval '1 minute', 7,
	   'T' || (i % 7), (ARRAY['play', 'play', 'like', 'skip'])[1 + i % 4]::pozytywka.event_type
  FROM generate_series(1, 5000) AS i;
SELECT count(*) AS delta_rows FROM pozytywka.weekly_deltas;
SELECT count(*), sum(plays), sum(likes), sum(skips) FROM pozytywka.weekly_history;
SELECT live_is_exact();
SELECT merge_events() AS folded;
SELECT merged_is_exact();

-- weights are settings: changing them changes every score, no reload
SELECT set_score_weights(2, 0, 1);
SELECT track_id, week, plays, likes, skips, score FROM weekly_popularity('2024-01-01');
SELECT set_score_weights(1.0, 0.8, 0.5);
SELECT set_score_weights(NULL, 1, 1);
SELECT set_score_weights('NaN', 1, 1);

-- a full rebuild gives the same aggregate
CREATE TEMP TABLE before_rebuild AS SELECT * FROM pozytywka.weekly_stats;
SELECT rebuild_weekly_stats() > 0 AS rebuilt;
SELECT count(*) AS differences FROM (
	(SELECT * FROM before_rebuild EXCEPT SELECT * FROM pozytywka.weekly_stats)
	UNION ALL
	(SELECT * FROM pozytywka.weekly_stats EXCEPT SELECT * FROM before_rebuild)) AS d;

-- TRUNCATE empties the aggregate (pozytywka.sessions does not keep history)
INSERT INTO pozytywka.sessions VALUES (51, '2024-01-02', 1, 'Z', 'play');
TRUNCATE pozytywka.sessions;
SELECT count(*) FROM pozytywka.weekly_stats;
SELECT count(*) FROM pozytywka.weekly_history;

-- the aggregate refuses to go negative (it would mean it had drifted)
INSERT INTO pozytywka.weekly_stats VALUES ('X', '2024-01-01', -1, 0, 0, 1);

-- the week of an event: the Monday of its date (timestamptz: in UTC)
SELECT pozytywka.week_of(timestamp '2024-01-07 23:59:59.999999') AS sunday,
	   pozytywka.week_of(timestamp '2024-01-08 00:00') AS monday,
	   pozytywka.week_of(timestamptz '2024-01-08 00:30+02') AS utc_sunday,
	   pozytywka.week_of(date '1999-12-31') AS before_2000,
	   pozytywka.week_of(timestamp '1900-01-01 12:00') AS year_1900,
	   pozytywka.week_of(timestamp 'infinity') AS infinite;

-- pre-aggregated history: weeks must be Mondays; it adds to the event log
INSERT INTO pozytywka.imported_weekly_stats VALUES ('A', '2024-01-02', 1, 0, 0);
INSERT INTO pozytywka.imported_weekly_stats VALUES ('A', '2024-01-01', 10, 2, 1);
INSERT INTO pozytywka.sessions VALUES (9, '2024-01-03', 1, 'A', 'play');
SELECT * FROM pozytywka.weekly_history ORDER BY track_id, week;
SELECT latest_complete_week();
