-- generate_demo_data(): determinism, the weekly aggregate, bad input.
-- Everything runs in one transaction that is rolled back at the end, so the
-- tables are left as the previous tests left them.
CREATE EXTENSION IF NOT EXISTS pozytywka;
BEGIN;
\set ON_ERROR_ROLLBACK on
CREATE FUNCTION pg_temp.try(cmd text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE cmd;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END;
$$;
-- checksums of everything generated
CREATE FUNCTION pg_temp.checksums() RETURNS TABLE (what text, md5 text)
LANGUAGE sql AS $$
	SELECT 'weekly_stats', md5(string_agg(format('%s %s %s %s %s', track_id, week, plays, likes, skips), ',' ORDER BY track_id, week))
	  FROM pozytywka.weekly_stats
	UNION ALL
	SELECT 'sessions', md5(string_agg(format('%s %s %s %s %s', session_id, "timestamp", user_id, track_id, event_type), ',' ORDER BY session_id, "timestamp", event_type))
	  FROM pozytywka.sessions
	UNION ALL
	SELECT 'catalogue', md5((SELECT string_agg(t::text, ',' ORDER BY t.id) FROM pozytywka.tracks AS t) ||
							(SELECT string_agg(a::text, ',' ORDER BY a.id) FROM pozytywka.artists AS a) ||
							(SELECT string_agg(u::text, ',' ORDER BY u.user_id) FROM pozytywka.users AS u));
$$;

SELECT * FROM generate_demo_data(weeks => 6, events_per_week => 3000, tracks => 200,
								  artists => 30, users => 300, seed => 1, truncate => true);
CREATE TEMP TABLE run1 AS SELECT * FROM pg_temp.checksums();

-- the weeks: 6 complete ones ending with the last before 2026-03-04, plus Monday and Tuesday
SELECT min("timestamp")::date AS first_day, max("timestamp")::date AS last_day,
	   latest_complete_week() FROM pozytywka.sessions;
SELECT week, count(*) AS tracks, sum(plays) > 0 AS has_plays
  FROM pozytywka.weekly_stats GROUP BY week ORDER BY week;

-- the aggregate kept by the triggers equals a fresh GROUP BY over the events
SELECT count(*) AS differences FROM (
	(SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_stats
	 EXCEPT
	 SELECT track_id, date_trunc('week', "timestamp")::date,
			count(*) FILTER (WHERE event_type = 'play'),
			count(*) FILTER (WHERE event_type = 'like'),
			count(*) FILTER (WHERE event_type = 'skip')
	   FROM pozytywka.sessions WHERE event_type IN ('play', 'like', 'skip') GROUP BY 1, 2)
	UNION ALL
	(SELECT track_id, date_trunc('week', "timestamp")::date,
			count(*) FILTER (WHERE event_type = 'play'),
			count(*) FILTER (WHERE event_type = 'like'),
			count(*) FILTER (WHERE event_type = 'skip')
	   FROM pozytywka.sessions WHERE event_type IN ('play', 'like', 'skip') GROUP BY 1, 2
	 EXCEPT
	 SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_stats)) AS d;

-- a consistent catalogue and log
SELECT count(*) FILTER (WHERE s.track_id IS NOT NULL AND t.id IS NULL) AS events_of_unknown_tracks,
	   count(*) FILTER (WHERE s.user_id NOT BETWEEN 1 AND 300) AS unknown_users,
	   count(*) FILTER (WHERE s.track_id IS NULL) = count(*) FILTER (WHERE s.event_type IN ('advertisement', 'buy_premium'))
		   AS track_only_for_play_skip_like
  FROM pozytywka.sessions AS s LEFT JOIN pozytywka.tracks AS t ON t.id = s.track_id;
SELECT count(*) FILTER (WHERE a.id IS NULL) AS tracks_without_artist,
	   count(DISTINCT t.release_date_precision) AS precisions,
	   bool_and(t.popularity BETWEEN 0 AND 100) AS popularity_ok,
	   bool_and(cardinality(a.genres) BETWEEN 1 AND 3) AS genres_ok
  FROM pozytywka.tracks AS t LEFT JOIN pozytywka.artists AS a ON a.id = t.id_artist;
SELECT count(*) AS events_before_release
  FROM pozytywka.sessions AS s JOIN pozytywka.tracks AS t ON t.id = s.track_id
 WHERE s."timestamp" < t.release_date;
-- every session's events have distinct, increasing timestamps inside one week
SELECT count(*) AS sessions_spanning_weeks FROM (
	SELECT session_id FROM pozytywka.sessions GROUP BY session_id
	HAVING count(DISTINCT date_trunc('week', "timestamp")) > 1) AS x;

-- same seed, same data
SELECT count(*) FROM generate_demo_data(weeks => 6, events_per_week => 3000, tracks => 200,
										artists => 30, users => 300, seed => 1, truncate => true);
SELECT r.what, r.md5 = c.md5 AS identical
  FROM run1 AS r JOIN pg_temp.checksums() AS c USING (what) ORDER BY 1;
-- another seed, other data
SELECT count(*) FROM generate_demo_data(weeks => 6, events_per_week => 3000, tracks => 200,
										artists => 30, users => 300, seed => 2, truncate => true);
SELECT r.what, r.md5 = c.md5 AS identical
  FROM run1 AS r JOIN pg_temp.checksums() AS c USING (what) ORDER BY 1;

-- an explicit start date: the Monday of its week
SELECT count(*) FROM generate_demo_data(weeks => 3, events_per_week => 1000, tracks => 50,
										artists => 5, users => 20, start_date => '2024-12-18',
										truncate => true);
SELECT min("timestamp")::date AS first_day, latest_complete_week() FROM pozytywka.sessions;

-- bad input
SELECT pg_temp.try('SELECT generate_demo_data(weeks => NULL)');
SELECT pg_temp.try('SELECT generate_demo_data(events_per_week => NULL)');
SELECT pg_temp.try('SELECT generate_demo_data(seed => NULL)');
SELECT pg_temp.try('SELECT generate_demo_data(truncate => NULL)');
SELECT pg_temp.try('SELECT generate_demo_data(weeks => 0)');
SELECT pg_temp.try('SELECT generate_demo_data(weeks => -3)');
SELECT pg_temp.try('SELECT generate_demo_data(events_per_week => 0)');
SELECT pg_temp.try('SELECT generate_demo_data(tracks => 0)');
SELECT pg_temp.try('SELECT generate_demo_data(artists => 0)');
SELECT pg_temp.try('SELECT generate_demo_data(tracks => 100, artists => 101)');
SELECT pg_temp.try('SELECT generate_demo_data(users => -1)');
SELECT pg_temp.try('SELECT generate_demo_data(weeks => 100000)');
SELECT pg_temp.try('SELECT generate_demo_data(events_per_week => 1000000000000)');
SELECT pg_temp.try('SELECT generate_demo_data(tracks => 2000000000)');
SELECT pg_temp.try('SELECT generate_demo_data(weeks => 520, events_per_week => 10000000)');
SELECT pg_temp.try('SELECT generate_demo_data(start_date => ''infinity'')');
SELECT pg_temp.try('SELECT generate_demo_data(start_date => ''0001-01-01'')');
-- the tables hold data: refused unless truncate => true
SELECT pg_temp.try('SELECT generate_demo_data(weeks => 2, events_per_week => 500, tracks => 20, artists => 2, users => 5)');
-- the internal functions check their arguments too
SELECT pg_temp.try('SELECT count(*) FROM pozytywka.demo_events(2, 2, 500, 20, 2, 5, 1, ''2025-03-03'', 3)');
SELECT pg_temp.try('SELECT count(*) FROM pozytywka.demo_events(2, 2, 500, 20, 2, 5, 1, ''2025-03-04'', 0)');
SELECT pg_temp.try('SELECT count(*) FROM pozytywka.demo_events(2, 2, 500, 20, 2, 5, 1, NULL, 0)');
SELECT pg_temp.try('SELECT count(*) FROM pozytywka.demo_tracks(2, 9, 500, 20, 2, 5, 1, ''2025-03-03'')');
SELECT count(*) AS partial_week_events FROM pozytywka.demo_events(2, 2, 500, 20, 2, 5, 1, '2025-03-03', 2);
ROLLBACK;
