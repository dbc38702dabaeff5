-- New (track, week) keys created by many writers at once: 8 consecutive
-- transactions share a week, so concurrent clients create the same keys.
-- (Needs the sequence pz_keyseq.)
SELECT nextval('pz_keyseq') AS s \gset
INSERT INTO pozytywka.sessions (session_id, "timestamp", user_id, track_id, event_type)
SELECT :s * 10 + g, timestamp '1900-01-01' + (:s / 8) * interval '7 days' + g * interval '1 second', 1, 't' || g, 'play'
  FROM generate_series(1, 4) AS g;
