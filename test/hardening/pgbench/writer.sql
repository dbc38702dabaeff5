-- live ingestion and corrections: one event in, one session's event types
-- changed, one session deleted.  An event is a function of (s, t) so that
-- re-inserting is a duplicate and changing a type never collides.
\set s random(1, 200000)
\set t random(1, 300)
\set u random(1, 200000)
\set v random(1, 200000)
INSERT INTO pozytywka.sessions (session_id, "timestamp", user_id, track_id, event_type)
VALUES (:s, timestamp '2024-01-01' + (:s % 91) * interval '1 day' + (:s % 86400) * interval '1 second',
        :s % 500, 't' || :t, (ARRAY['play', 'play', 'skip', 'like']::pozytywka.event_type[])[1 + :s % 4])
ON CONFLICT DO NOTHING;
UPDATE pozytywka.sessions
   SET event_type = CASE event_type WHEN 'play' THEN 'like' WHEN 'like' THEN 'skip' ELSE 'play' END::pozytywka.event_type
 WHERE session_id = :u;
DELETE FROM pozytywka.sessions WHERE session_id = :v;
