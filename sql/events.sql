-- The service's own event table: attach_events() / detach_events().
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS pozytywka CASCADE;
DROP SCHEMA IF EXISTS app CASCADE;
CREATE EXTENSION pozytywka;
RESET client_min_messages;
\set SHOW_CONTEXT never

-- A table of the service's own: its column names, its event names, bigint
-- track ids, timestamptz, partitioned by month.
CREATE SCHEMA app;
CREATE TABLE app.events (
	happened_at timestamptz NOT NULL,
	song		bigint,
	action		text,
	listener	integer
) PARTITION BY RANGE (happened_at);
CREATE TABLE app.events_2024_01 PARTITION OF app.events
	FOR VALUES FROM ('2024-01-01 00:00+00') TO ('2024-02-01 00:00+00');
CREATE TABLE app.events_2024_02 PARTITION OF app.events
	FOR VALUES FROM ('2024-02-01 00:00+00') TO ('2024-03-01 00:00+00');
INSERT INTO app.events
SELECT timestamptz '2024-01-01 00:00+00' + i * interval '37 minutes', i % 5,
	   (ARRAY['stream_complete', 'stream_complete', 'thumbs_up', 'skip_fwd', 'ad_shown'])[1 + i % 7 % 5],
	   i % 11
  FROM generate_series(1, 2000) AS i;

-- the reference: a fresh GROUP BY over the table, weeks of UTC dates
CREATE FUNCTION app_fresh() RETURNS TABLE (track_id text, week date, plays bigint,
										   likes bigint, skips bigint)
LANGUAGE sql AS $$
	SELECT song::text, pozytywka.week_of(happened_at),
		   count(*) FILTER (WHERE action = 'stream_complete'),
		   count(*) FILTER (WHERE action = 'thumbs_up'),
		   count(*) FILTER (WHERE action IN ('skip_fwd', 'skip_back'))
	  FROM app.events
	 WHERE song IS NOT NULL AND action IN ('stream_complete', 'thumbs_up', 'skip_fwd', 'skip_back')
	 GROUP BY 1, 2;
$$;
CREATE FUNCTION app_exact() RETURNS boolean LANGUAGE sql AS $$
	SELECT NOT EXISTS ((SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_history
						EXCEPT SELECT * FROM app_fresh())
					   UNION ALL
					   (SELECT * FROM app_fresh()
						EXCEPT SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_history));
$$;

-- attach: the existing rows are aggregated, one partition per batch
SELECT attach_events('app.events', 'happened_at', 'song', 'action', 'listener',
					 play_values => '{stream_complete}', like_values => '{thumbs_up}',
					 skip_values => '{skip_fwd,skip_back}', keep_history => false) AS source_id;
SELECT source_id, relid, time_column, track_column, type_column, user_column, play_values,
	   like_values, skip_values, keep_history
  FROM pozytywka.event_sources ORDER BY source_id;
SELECT app_exact(), (SELECT count(*) FROM pozytywka.weekly_history) AS weeks_of_tracks;
-- only triggers were added to the user's tables
SELECT c.relname, count(*) AS triggers
  FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'app'::regnamespace GROUP BY 1 ORDER BY 1;

-- every change is followed: through the parent, straight into a partition,
-- an update that moves rows between partitions, deletes, other values
INSERT INTO app.events VALUES ('2024-02-10 12:00+00', 3, 'thumbs_up', 1);
INSERT INTO app.events_2024_01 VALUES ('2024-01-07 23:30-02', 4, 'stream_complete', 1);
UPDATE app.events SET happened_at = happened_at - interval '5 days'
 WHERE song = 2 AND listener = 3 AND happened_at >= '2024-01-10';
UPDATE app.events SET action = 'skip_back' WHERE song = 1 AND listener = 4;
DELETE FROM app.events WHERE song = 0 AND listener < 5;
INSERT INTO app.events VALUES ('2024-02-11 12:00+00', 3, 'ad_shown', 1), ('2024-02-11 12:00+00', NULL, 'stream_complete', 1);
SELECT app_exact();
SELECT merge_events() > 0 AS merged, app_exact();

-- a partition created later is followed; one attached with rows counts them
CREATE TABLE app.events_2024_03 PARTITION OF app.events
	FOR VALUES FROM ('2024-03-01 00:00+00') TO ('2024-04-01 00:00+00');
INSERT INTO app.events VALUES ('2024-03-05 08:00+00', 7, 'stream_complete', 2);
CREATE TABLE app.events_2024_04 (LIKE app.events);
INSERT INTO app.events_2024_04 VALUES ('2024-04-02 08:00+00', 7, 'stream_complete', 2),
	('2024-04-03 08:00+00', 8, 'thumbs_up', 2);
ALTER TABLE app.events ATTACH PARTITION app.events_2024_04
	FOR VALUES FROM ('2024-04-01 00:00+00') TO ('2024-05-01 00:00+00');
INSERT INTO app.events_2024_04 VALUES ('2024-04-04 08:00+00', 8, 'skip_fwd', 2);
SELECT app_exact();
-- detached (keep_history false): its rows stop counting, its changes too
ALTER TABLE app.events DETACH PARTITION app.events_2024_04;
INSERT INTO app.events_2024_04 VALUES ('2024-04-05 08:00+00', 8, 'skip_fwd', 2);
SELECT app_exact();
-- dropped partition: its events stop counting (the source is rebuilt)
DROP TABLE app.events_2024_03;
SELECT app_exact();
-- TRUNCATE of one partition
TRUNCATE app.events_2024_02;
SELECT app_exact();
SELECT merge_events() >= 0 AS merged, app_exact();

-- bad arguments
SELECT attach_events('app.events', 'happened_at', 'song', 'action');
SELECT attach_events('app.events_2024_01', 'happened_at', 'song', 'action');
SELECT attach_events('pozytywka.weekly_history', 'week', 'track_id', 'plays');
SELECT attach_events('app.events_2024_04', 'nope', 'song', 'action');
SELECT attach_events('app.events_2024_04', 'listener', 'song', 'action');
SELECT attach_events('app.events_2024_04', 'happened_at', 'song', 'action', play_values => '{a,NULL}');
SELECT attach_events('app.events_2024_04', 'happened_at', 'song', 'action', play_values => '{a}', like_values => '{a}');
SELECT attach_events('app.events_2024_04', NULL, 'song', 'action');
SELECT detach_events('app.events_2024_04');

-- keep_history: retention keeps the weeks, corrections still count
CREATE TABLE app.plain_log (at timestamp NOT NULL, track text, kind text);
CREATE INDEX ON app.plain_log (at);
INSERT INTO app.plain_log
SELECT timestamp '2023-06-05' + i * interval '1 day', 'k' || (i % 3), 'play'
  FROM generate_series(0, 99) AS i;
SELECT attach_events('app.plain_log', 'at', 'track', 'kind') > 1 AS attached;
CREATE TABLE kept AS
SELECT track_id, week, plays FROM pozytywka.weekly_history WHERE track_id LIKE 'k%';
-- retention: the 60 oldest days go; a correction: one recent event goes
DELETE FROM app.plain_log WHERE at < timestamp '2023-06-05' + interval '60 days';
DELETE FROM app.plain_log WHERE at = timestamp '2023-06-05' + interval '90 days';
SELECT count(*) AS weeks_changed, sum(k.plays - h.plays) AS plays_removed
  FROM kept AS k JOIN pozytywka.weekly_history AS h USING (track_id, week)
 WHERE k.plays <> h.plays;
SELECT (SELECT sum(plays) FROM kept) - (SELECT sum(plays) FROM pozytywka.weekly_history
										 WHERE track_id LIKE 'k%') AS total_removed;
-- truncate (keep_history): the weeks stay
TRUNCATE app.plain_log;
SELECT sum(plays) AS plays_kept FROM pozytywka.weekly_history WHERE track_id LIKE 'k%';
-- rebuild keeps what the table no longer has
SELECT rebuild_weekly_stats() > 0 AS rebuilt;
SELECT sum(plays) AS plays_after_rebuild FROM pozytywka.weekly_history WHERE track_id LIKE 'k%';

-- detach removes the table's share and its triggers, nothing else
SELECT detach_events('app.plain_log');
SELECT count(*) AS k_rows FROM pozytywka.weekly_history WHERE track_id LIKE 'k%';
SELECT count(*) AS plain_log_triggers FROM pg_trigger WHERE tgrelid = 'app.plain_log'::regclass;
SELECT detach_events('app.events');
SELECT count(*) AS app_triggers FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'app'::regnamespace;
SELECT count(*) AS rows_left FROM pozytywka.weekly_history;

-- a dropped keep_history table keeps its weeks, its source stays
SELECT attach_events('app.plain_log', 'at', 'track', 'kind') > 1 AS attached;
INSERT INTO app.plain_log VALUES ('2024-05-01', 'z', 'play');
DROP TABLE app.plain_log;
SELECT relid, relname FROM pozytywka.event_sources WHERE relname = 'app.plain_log';
SELECT track_id, week, plays FROM pozytywka.weekly_history WHERE track_id = 'z';

-- DROP EXTENSION leaves the user's tables
DROP EXTENSION pozytywka CASCADE;
SELECT count(*) AS events_left FROM app.events;
DROP SCHEMA app CASCADE;
CREATE EXTENSION pozytywka;
