-- Property test: after any sequence of random inserts, bulk loads, updates
-- (of track, time and type), deletes and truncates, the weekly aggregate
-- equals a fresh GROUP BY over the events.
BEGIN;
SELECT plan(64);

TRUNCATE pozytywka.sessions;
SELECT setseed(0.4242);

CREATE TEMP TABLE ops_log (round int, op text, rows_touched bigint);

CREATE FUNCTION pg_temp.aggregate_matches() RETURNS boolean LANGUAGE sql AS $$
	WITH fresh AS (
		SELECT track_id, date_trunc('week', "timestamp")::date AS week,
			   count(*) FILTER (WHERE event_type = 'play') AS plays,
			   count(*) FILTER (WHERE event_type = 'like') AS likes,
			   count(*) FILTER (WHERE event_type = 'skip') AS skips
		  FROM pozytywka.sessions
		 WHERE track_id IS NOT NULL AND event_type IN ('play', 'like', 'skip')
		 GROUP BY 1, 2
		HAVING count(*) FILTER (WHERE event_type IN ('play', 'like', 'skip')) > 0)
	SELECT NOT EXISTS (SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_history
					   EXCEPT SELECT * FROM fresh)
	   AND NOT EXISTS (SELECT * FROM fresh
					   EXCEPT SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_history);
$$;

CREATE FUNCTION pg_temp.random_op(round int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r float8 := random();
	n bigint;
	op text;
BEGIN
	IF r < 0.35 THEN
		op := 'bulk insert';
		INSERT INTO pozytywka.sessions (session_id, "timestamp", user_id, track_id, event_type)
		SELECT (random() * 1e9)::bigint,
			   timestamp '2024-01-01' + random() * interval '60 days',
			   (random() * 50)::int,
			   CASE WHEN random() < 0.05 THEN NULL ELSE 't' || (random() * 30)::int END,
			   (ARRAY['play', 'play', 'play', 'skip', 'like', 'advertisement', 'buy_premium'])
				   [1 + floor(random() * 7)::int]::pozytywka.event_type
		  FROM generate_series(1, 1 + (random() * 400)::int)
		ON CONFLICT DO NOTHING;
	ELSIF r < 0.55 THEN
		op := 'update track';
		UPDATE pozytywka.sessions SET track_id = 't' || (random() * 30)::int
		 WHERE random() < 0.1;
	ELSIF r < 0.7 THEN
		op := 'update time and type';
		UPDATE pozytywka.sessions
		   SET "timestamp" = "timestamp" + (random() - 0.5) * interval '20 days',
			   event_type = (ARRAY['play', 'skip', 'like'])[1 + floor(random() * 3)::int]::pozytywka.event_type
		 WHERE random() < 0.1;
	ELSIF r < 0.9 THEN
		op := 'delete';
		DELETE FROM pozytywka.sessions WHERE random() < 0.15;
	ELSIF r < 0.93 THEN
		op := 'single-row insert';
		INSERT INTO pozytywka.sessions VALUES (round, timestamp '2024-02-01' + round * interval '1 hour', 1, 't1', 'like');
	ELSIF r < 0.97 THEN
		op := 'merge';
		PERFORM merge_events();
	ELSE
		op := 'truncate';
		TRUNCATE pozytywka.sessions;
	END IF;
	GET DIAGNOSTICS n = ROW_COUNT;
	INSERT INTO ops_log VALUES (round, op, n);
	RETURN op;
END;
$$;

-- one change, then the check, strictly in that order
CREATE FUNCTION pg_temp.step(round int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	op text := pg_temp.random_op(round);
BEGIN
	RETURN ok(pg_temp.aggregate_matches(), 'round ' || round || ': ' || op || ' keeps the aggregate exact');
END;
$$;

SELECT pg_temp.step(i) FROM generate_series(1, 60) AS i;

SELECT cmp_ok((SELECT count(DISTINCT op) FROM ops_log), '>=', 5::bigint,
			  'the random sequence exercised at least 5 kinds of change');
SELECT cmp_ok((SELECT count(*) FROM pozytywka.weekly_history), '>', 0::bigint,
			  'the aggregate is not trivially empty at the end');

SELECT ok((SELECT count(*) FROM ops_log WHERE op = 'merge') > 0
		  AND EXISTS (SELECT 1 FROM pozytywka.weekly_deltas),
		  'merges ran between the changes, and changes are pending at the end');
SELECT merge_events();
SELECT ok(NOT EXISTS (SELECT 1 FROM pozytywka.weekly_deltas)
		  AND NOT EXISTS ((SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_stats
						   EXCEPT SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_history)
						  UNION ALL
						  (SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_history
						   EXCEPT SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_stats)),
		  'merged, weekly_stats alone equals the exact view');

SELECT * FROM finish();
ROLLBACK;
