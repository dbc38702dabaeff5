-- The importer's SQL side: faults in the exports are repaired or rejected
-- with a reason, never silently dropped, and a reload changes nothing.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS pozytywka CASCADE;
CREATE EXTENSION pozytywka;
RESET client_min_messages;
\set SHOW_CONTEXT never

CREATE TEMP TABLE pz_import_lines (line_no bigserial, line text);
INSERT INTO pz_import_lines (line) VALUES
	('{"session_id": 1, "timestamp": "2023-10-25T10:13:55.258944", "user_id": 601, "track_id": "T1", "event_type": "play"}'),
	('{"session_id": 1, "timestamp": "2023-10-25T10:15:29", "user_id": 601, "track_id": null, "event_type": "skip"}'),
	('{"session_id": 1, "timestamp": "2023-10-25T10:15:34", "user_id": null, "track_id": null, "event_type": "advertisment"}'),
	('{"session_id": 1, "timestamp": "2023-10-25T10:16:00", "user_id": 601, "track_id": "T2", "event_type": "PLAY"}'),
	('{"session_id": 1, "timestamp": "2023-10-25T10:17:00", "user_id": 601, "track_id": null, "event_type": "LIKE"}'),
	('{"session_id": 2, "timestamp": "2023-10-26T08:00:00", "user_id": 602, "track_id": null, "event_type": "like"}'),
	('{"session_id": 2, "timestamp": "2023-10-26T08:01:00", "user_id": 602, "track_id": null, "event_type": "play"}'),
	('{"session_id": 2, "timestamp": "2023-10-26T08:02:00", "user_id": 602, "track_id": null, "event_type": "skip"}'),
	('{"session_id": 2, "timestamp": "2023-10-26T08:03:00", "user_id": 602, "track_id": "T1", "event_type": null}'),
	('{"session_id": 2, "timestamp": "2023-10-26T08:04:00", "user_id": 602, "track_id": "T1", "event_type": "dance"}'),
	('{"session_id": 2, "timestamp": "2023-02-30T08:05:00", "user_id": 602, "track_id": "T1", "event_type": "play"}'),
	('{"session_id": "x", "timestamp": "2023-10-26T08:06:00", "user_id": 602, "track_id": "T1", "event_type": "play"}'),
	('{"session_id": 2, "timestamp": "2023-10-26T08:07:00", "user_id": "602", "track_id": "T1", "event_type": "play"}'),
	('{"session_id": 2, "timestamp": "2023-10-26T08:08:00", "user_id": 602, "track_id": "Pozna\u0144", "event_type": "play"}'),
	('{"session_id": 2, "timestamp": "2023-10-26T08:08:00", "user_id": 602, "track_id": "Pozna\u0144", "event_type": "play"}'),
	('{"session_id": 3, "timestamp": "2023-10-27T09:00:00", "track_id": "T9", "event_type": "play"}'),
	('this is not json'),
	('[1, 2, 3]'),
	(''),
	('{"session_id": 4, "timestamp": "2023-10-27T09:00:00", "user_id": 7, "track_id": "T3", "event_type": "buy_premium"}');

SELECT * FROM import_staged('sessions', 'test file');
SELECT session_id, "timestamp", user_id, track_id, event_type
  FROM pozytywka.sessions ORDER BY session_id, "timestamp", event_type;
SELECT line_no, reason FROM pozytywka.import_rejects ORDER BY line_no;
SELECT * FROM pozytywka.weekly_history ORDER BY track_id, week;

-- loading the same file again changes nothing
SELECT * FROM import_staged('sessions', 'test file again');
SELECT count(*) AS events FROM pozytywka.sessions;
SELECT count(*) AS rejects FROM pozytywka.import_rejects;

-- catalogue files: typed checks, YYYY / YYYY-MM / YYYY-MM-DD release dates,
-- 0/1 booleans, last line of a repeated id wins
TRUNCATE pz_import_lines;
INSERT INTO pz_import_lines (line) VALUES
	('{"id": "t1", "name": "One", "popularity": 10, "explicit": 0, "id_artist": "a1", "release_date": "1999", "tempo": 120.5}'),
	('{"id": "t2", "name": "Two", "popularity": 20, "explicit": 1, "id_artist": "a1", "release_date": "2001-06", "danceability": 0.5}'),
	('{"id": "t3", "name": "Three", "explicit": true, "release_date": "2010-02-28", "key": 7}'),
	('{"id": "t4", "name": "Bad date", "release_date": "2010-02-30"}'),
	('{"id": "t5", "name": "Bad popularity", "popularity": "high"}'),
	('{"id": -1, "name": "Bad id"}'),
	('{"name": "No id"}'),
	('{"id": "t1", "name": "One (remaster)", "popularity": 11, "explicit": 0, "id_artist": "a1", "release_date": "1999"}');
SELECT * FROM import_staged('tracks', 'tracks test');
SELECT id, name, popularity, explicit, release_date, release_date_precision, key, tempo
  FROM pozytywka.tracks ORDER BY id;
SELECT line_no, reason FROM pozytywka.import_rejects WHERE kind = 'tracks' ORDER BY line_no;
SELECT * FROM import_staged('tracks', 'tracks test again');

-- bad calls
SELECT * FROM import_staged('playlists', 'x');
DROP TABLE pz_import_lines;
SELECT * FROM import_staged('tracks', 'x');
