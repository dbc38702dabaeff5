-- A random mix against the event table: inserts of new and existing keys,
-- changes of event type and week, deletes, and a rolled-back transaction.
-- Events are a function of (s, g) so that a re-insert is a duplicate; a
-- changed event moves to a random session so that it collides with nothing.
\set s random(1, 20000)
\set u random(1, 20000)
\set v random(1, 20000)
\set r random(1, 20000)
\set w random(1, 1000000)
INSERT INTO pozytywka.sessions (session_id, "timestamp", user_id, track_id, event_type)
SELECT :s, timestamp '2024-01-01' + ((:s + g) % 120) * interval '1 day' + g * interval '1 second', 1,
       't' || ((:s * 7 + g) % 40), (ARRAY['play', 'play', 'skip', 'like', 'advertisement']::pozytywka.event_type[])[1 + (:s + g) % 5]
  FROM generate_series(1, 3) AS g
ON CONFLICT DO NOTHING;
UPDATE pozytywka.sessions
   SET event_type = CASE event_type WHEN 'play' THEN 'like' WHEN 'like' THEN 'skip' ELSE 'play' END::pozytywka.event_type,
       "timestamp" = "timestamp" + interval '7 days',
       session_id = session_id + :w::bigint * 100000
 WHERE session_id = :u;
DELETE FROM pozytywka.sessions WHERE session_id = :v;
BEGIN;
INSERT INTO pozytywka.sessions (session_id, "timestamp", user_id, track_id, event_type)
VALUES (:r + 1000000, timestamp '2024-02-01', 1, 't' || (:r % 40), 'play');
DELETE FROM pozytywka.sessions WHERE session_id = :r;
ROLLBACK;
