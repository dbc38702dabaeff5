-- a bulk load of 200 events in one statement (one grouped upsert)
\set b random(1, 1000000)
INSERT INTO pozytywka.sessions (session_id, "timestamp", user_id, track_id, event_type)
SELECT 300000 + :b * 200 + g, timestamp '2024-01-01' + ((:b + g) % 91) * interval '1 day',
       g, 't' || (1 + (:b * g) % 300), 'play'
  FROM generate_series(1, 200) AS g
ON CONFLICT DO NOTHING;
