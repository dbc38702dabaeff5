-- The importer's SQL side: faults in the exports are repaired or rejected
-- with a reason, never silently dropped, and a reload changes nothing.
-- The rows are staged here as pozytywka-import stages them (its C parser
-- turns each line into such a row; see test/unit/test_import_line.c for
-- the parser itself and test/shell/import_*.sh for the whole command).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS pozytywka CASCADE;
CREATE EXTENSION pozytywka;
RESET client_min_messages;
\set SHOW_CONTEXT never

CREATE TEMP TABLE pz_import_lines (
	line_no bigint NOT NULL, line text, reason text,
	session_id bigint, ts timestamp, user_id integer, track_id text,
	event_type pozytywka.event_type, repaired boolean NOT NULL DEFAULT false);
-- lines the parser rejected arrive with their reason; a play/skip/like
-- without a track carries its line (the SQL side may still reject it)
INSERT INTO pz_import_lines (line_no, line, reason, session_id, ts, user_id, track_id, event_type) VALUES
	(1, NULL, NULL, 1, '2023-10-25T10:13:55.258944', 601, 'T1', 'play'),
	(2, '{"session_id": 1, "track_id": null, "event_type": "skip"}', NULL, 1, '2023-10-25T10:15:29', 601, NULL, 'skip'),
	(3, NULL, NULL, 1, '2023-10-25T10:15:34', NULL, NULL, 'advertisement'),
	(4, NULL, NULL, 1, '2023-10-25T10:16:00', 601, 'T2', 'play'),
	(5, '{"session_id": 1, "track_id": null, "event_type": "LIKE"}', NULL, 1, '2023-10-25T10:17:00', 601, NULL, 'like'),
	(6, '{"session_id": 2, "track_id": null, "event_type": "like"}', NULL, 2, '2023-10-26T08:00:00', 602, NULL, 'like'),
	(7, '{"session_id": 2, "track_id": null, "event_type": "play"}', NULL, 2, '2023-10-26T08:01:00', 602, NULL, 'play'),
	(8, '{"session_id": 2, "track_id": null, "event_type": "skip"}', NULL, 2, '2023-10-26T08:02:00', 602, NULL, 'skip'),
	(9, '{"session_id": 2, "event_type": null}', 'event_type missing', NULL, NULL, NULL, NULL, NULL),
	(10, '{"session_id": 2, "event_type": "dance"}', 'unknown event type "dance"', NULL, NULL, NULL, NULL, NULL),
	(11, '{"session_id": 2, "timestamp": "2023-02-30T08:05:00"}', 'field "timestamp": expected timestamp, got "2023-02-30T08:05:00"', NULL, NULL, NULL, NULL, NULL),
	(12, NULL, NULL, 2, '2023-10-26T08:08:00', 602, 'Poznań', 'play'),
	(13, NULL, NULL, 2, '2023-10-26T08:08:00', 602, 'Poznań', 'play'),
	(14, NULL, NULL, 3, '2023-10-27T09:00:00', NULL, 'T9', 'play'),
	(15, 'this is not json', 'malformed JSON: unexpected token at offset 0', NULL, NULL, NULL, NULL, NULL),
	(16, '', 'empty line', NULL, NULL, NULL, NULL, NULL),
	(17, NULL, NULL, 4, '2023-10-27T09:00:00', 7, 'T3', 'buy_premium');

SELECT * FROM pozytywka.import_file('sessions', 'test file');
SELECT session_id, "timestamp", user_id, track_id, event_type
  FROM pozytywka.sessions ORDER BY session_id, "timestamp", event_type;
SELECT line_no, line, reason FROM pozytywka.import_rejects ORDER BY line_no;
SELECT * FROM pozytywka.weekly_history ORDER BY track_id, week;
SELECT kind, source, lines, loaded, repaired, rejected, duplicates,
	   lines = loaded + repaired + rejected AS every_line_counted
  FROM pozytywka.import_runs ORDER BY run_id;

-- loading the same file again changes nothing: every accepted line is a
-- duplicate, no reject is recorded twice
UPDATE pz_import_lines SET repaired = false;
UPDATE pz_import_lines SET track_id = NULL, reason = NULL
 WHERE line_no IN (2, 5, 6, 7, 8);
UPDATE pz_import_lines SET user_id = NULL WHERE line_no = 3;
SELECT * FROM pozytywka.import_file('sessions', 'test file again');
SELECT count(*) AS events FROM pozytywka.sessions;
SELECT count(*) AS rejects FROM pozytywka.import_rejects;

-- catalogue files: typed checks, YYYY / YYYY-MM / YYYY-MM-DD release dates,
-- 0/1 booleans, last line of a repeated id wins
DELETE FROM pz_import_lines;
INSERT INTO pz_import_lines (line_no, line, reason) VALUES
	(1, '{"id": "t1", "name": "One", "popularity": 10, "explicit": 0, "id_artist": "a1", "release_date": "1999", "tempo": 120.5}', NULL),
	(2, '{"id": "t2", "name": "Two", "popularity": 20, "explicit": 1, "id_artist": "a1", "release_date": "2001-06", "danceability": 0.5}', NULL),
	(3, '{"id": "t3", "name": "Three", "explicit": true, "release_date": "2010-02-28", "key": 7}', NULL),
	(4, '{"id": "t4", "name": "Bad date", "release_date": "2010-02-30"}', NULL),
	(5, '{"id": "t5", "name": "Bad popularity", "popularity": "high"}', NULL),
	(6, '{"id": -1, "name": "Bad id"}', NULL),
	(7, '{"name": "No id"}', NULL),
	(8, '{"id": "t1", "name": "One (remaster)", "popularity": 11, "explicit": 0, "id_artist": "a1", "release_date": "1999"}', NULL),
	(9, '{"id": "t6", "tempo": 1e-400}', 'field "tempo": number out of range: 1e-400'),
	(10, '{"id": "t7", "tempo": 1e-301}', NULL),
	(11, '{"id": "t2", "name": "Two", "popularity": 20, "explicit": 1, "id_artist": "a1", "release_date": "2001-06", "danceability": 0.5}', NULL);
SELECT * FROM pozytywka.import_file('tracks', 'tracks test');
SELECT id, name, popularity, explicit, release_date, release_date_precision, key, tempo
  FROM pozytywka.tracks ORDER BY id;
SELECT line_no, reason FROM pozytywka.import_rejects WHERE kind = 'tracks' ORDER BY line_no;
SELECT * FROM pozytywka.import_file('tracks', 'tracks test again');

-- the former entry point answers the same
SELECT * FROM import_staged('tracks', 'tracks test, third time');

-- bad calls
SELECT * FROM pozytywka.import_file('playlists', 'x');
SELECT * FROM pozytywka.import_file(NULL, 'x');
SELECT * FROM pozytywka.import_file('tracks', NULL);
DROP TABLE pz_import_lines;
SELECT * FROM pozytywka.import_file('tracks', 'x');
