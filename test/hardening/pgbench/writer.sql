-- live ingestion and corrections: one event in, one session's event types
-- changed, one session deleted.  An event is a function of (s, t) so that
-- re-inserting is a duplicate.  A correction rotates an event's type only
-- where the rotated event is not there already: once a corrected event was
-- inserted again, (s, t) has two rows, and rotating both collided row by row
-- under the (non-deferred) unique index -- a duplicate-key error that is the
-- script's, not the extension's.
\set s random(1, 200000)
\set t random(1, 300)
\set u random(1, 200000)
\set v random(1, 200000)
INSERT INTO pozytywka.sessions (session_id, "timestamp", user_id, track_id, event_type)
VALUES (:s, timestamp '2024-01-01' + (:s % 91) * interval '1 day' + (:s % 86400) * interval '1 second',
        :s % 500, 't' || :t, (ARRAY['play', 'play', 'skip', 'like']::pozytywka.event_type[])[1 + :s % 4])
ON CONFLICT DO NOTHING;
UPDATE pozytywka.sessions AS e
   SET event_type = CASE e.event_type WHEN 'play' THEN 'like' WHEN 'like' THEN 'skip' ELSE 'play' END::pozytywka.event_type
 WHERE e.session_id = :u
   AND NOT EXISTS (SELECT FROM pozytywka.sessions AS o
                    WHERE o.session_id = e.session_id AND o."timestamp" = e."timestamp"
                      AND o.track_id = e.track_id AND o.user_id = e.user_id
                      AND o.event_type = CASE e.event_type WHEN 'play' THEN 'like' WHEN 'like' THEN 'skip' ELSE 'play' END::pozytywka.event_type);
DELETE FROM pozytywka.sessions WHERE session_id = :v;
