-- A random mix against an attached, partitioned event table of the
-- service's own (app.events, see test/shell/ingest_exact.sh): inserts
-- through the parent and straight into a partition, changes of value and
-- time (across partitions), deletes, a rolled-back transaction, now and
-- then the TRUNCATE of a partition and a merge.
\set s random(1, 1000000000)
\set d random(0, 89)
\set t random(1, 50)
\set op random(1, 1000)
INSERT INTO app.events (at, song, action, who)
SELECT timestamptz '2024-01-01 00:00+00' + ((:d + g) % 90) * interval '1 day' + (:s % 86400) * interval '1 second',
       (:t * 7 + g) % 50, (ARRAY['stream_complete', 'stream_complete', 'thumbs_up', 'skip_fwd', 'ad_shown'])[1 + (:s + g) % 5], :s % 100
  FROM generate_series(1, 4) AS g;
INSERT INTO app.events_2024_02 (at, song, action, who)
VALUES (timestamptz '2024-02-01 00:00+00' + (:s % 2000000) * interval '1 second', :t, 'stream_complete', 1);
UPDATE app.events
   SET action = CASE action WHEN 'stream_complete' THEN 'thumbs_up' WHEN 'thumbs_up' THEN 'skip_fwd' ELSE 'stream_complete' END,
       at = at + (:d % 3 - 1) * interval '10 days'
 WHERE who = :s % 100 AND song = :t % 50 AND at BETWEEN timestamptz '2024-01-12 00:00+00' AND timestamptz '2024-03-18 00:00+00';
DELETE FROM app.events WHERE who = (:s + 1) % 100 AND song = (:t + 1) % 50;
BEGIN;
INSERT INTO app.events (at, song, action, who) VALUES (timestamptz '2024-01-15 00:00+00', :t, 'stream_complete', 7);
DELETE FROM app.events WHERE song = :t % 50 AND who = 8;
ROLLBACK;
\if :op <= 2
TRUNCATE app.events_2024_03;
\elif :op <= 40
SELECT merge_events(false);
\endif
