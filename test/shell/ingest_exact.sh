#!/usr/bin/env bash
# Exactness of the weekly aggregate under concurrent writers (issue 11).
#  1. 8 pgbench clients create the same new (track, week) keys at once
#     (test/hardening/pgbench/new_keys.sql): before the fix, a key that
#     another writer committed between a writer's UPDATE and its INSERT was
#     skipped and its events lost (~500 of 28,000 plays in 10 s here)
#  2. a random mix of inserts, duplicate inserts, changes of type and week,
#     deletes and rolled-back transactions from 6 clients beside 2 more
#     key creators (test/hardening/pgbench/mixed_writer.sql)
#  3. an event table of the service's own (its column names and event
#     values, timestamptz, partitioned by month), attached with rows in it:
#     8 clients insert through the parent and into a partition, change
#     values and times across partitions, delete, roll back, truncate a
#     partition and merge (test/hardening/pgbench/attached_writer.sql);
#     twice, with two random seeds
# After each: no client failed, and the aggregate equals a fresh GROUP BY,
# both before the merge (the live view: merged rows plus pending deltas) and
# merged.
# PZ_EXACT_SECONDS (default 10) is the length of each phase.
set -u
cd "$(dirname "$0")/../.."
. test/hardening/lib.sh
DB=pz_exact
SECS=${PZ_EXACT_SECONDS:-10}
PG=test/hardening/pgbench
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
q() { psql -X -At -v ON_ERROR_STOP=1 -d $DB -c "$1"; }
tmp=$(mktemp -d /tmp/pz_exact.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
dropdb --if-exists $DB 2>/dev/null
createdb $DB && q "CREATE EXTENSION pozytywka" >/dev/null && q "CREATE SEQUENCE pz_keyseq" >/dev/null ||
	{ echo "Bail out! no database"; exit 1; }

# bench NAME CLIENTS SCRIPT: pgbench for SECS seconds; prints a summary line
bench() {
	pgbench -n -h 127.0.0.1 -p "$PGPORT" -U "$PGUSER" -T "$SECS" -c "$2" -j "$2" -f "$PG/$3" $DB >"$tmp/$1.out" 2>&1
	echo $? >"$tmp/$1.rc"
}
# pgbench_ok NAME: exit 0, transactions ran, none failed
pgbench_ok() {
	local rc tx failed
	rc=$(cat "$tmp/$1.rc")
	tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$tmp/$1.out")
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$tmp/$1.out")
	[ "$rc" = 0 ] && [ "${failed:-0}" = 0 ] && [ "${tx:-0}" -gt 0 ] && ! grep -q 'aborted\|ERROR' "$tmp/$1.out"
	ok $? "pgbench $1: exit $rc, ${tx:-0} transactions, ${failed:-0} failed"
	grep -E 'aborted|ERROR' "$tmp/$1.out" | head -5 | sed 's/^/#   /'
}
# exact LABEL: the live view (unmerged), then the merged aggregate, equal a
# fresh GROUP BY
exact() {
	local d pending
	pending=$(q "SELECT count(*) FROM pozytywka.weekly_deltas")
	d=$(aggregate_diff $DB)
	[ "$d" = 0 ] && [ "$pending" -gt 0 ]
	ok $? "$1: before the merge ($pending deltas pending), weekly_history equals a fresh GROUP BY ($d rows differ; $(q "SELECT count(*) FROM pozytywka.sessions") events)"
	q "SELECT merge_events()" >/dev/null
	d=$(aggregate_diff $DB merged)
	[ "$d" = 0 ]
	ok $? "$1: merged, weekly_stats equals a fresh GROUP BY ($d rows differ)"
}

bench keys 8 new_keys.sql
pgbench_ok keys
exact "8 writers creating the same new keys"

bench mixed 6 mixed_writer.sql &
bench keys2 2 new_keys.sql &
wait
pgbench_ok mixed
pgbench_ok keys2
exact "inserts, updates, deletes and rollbacks from 8 writers"

# 3. the service's own partitioned table
q "CREATE SCHEMA app;
   CREATE TABLE app.events (at timestamptz NOT NULL, song integer, action text, who integer) PARTITION BY RANGE (at);
   CREATE TABLE app.events_2024_01 PARTITION OF app.events FOR VALUES FROM ('2024-01-01 00:00+00') TO ('2024-02-01 00:00+00');
   CREATE TABLE app.events_2024_02 PARTITION OF app.events FOR VALUES FROM ('2024-02-01 00:00+00') TO ('2024-03-01 00:00+00');
   CREATE TABLE app.events_2024_03 PARTITION OF app.events FOR VALUES FROM ('2024-03-01 00:00+00') TO ('2024-04-01 00:00+00');
   CREATE TABLE app.events_rest PARTITION OF app.events DEFAULT;
   INSERT INTO app.events SELECT timestamptz '2024-01-01 00:00+00' + i * interval '17 minutes', i % 50,
          (ARRAY['stream_complete', 'thumbs_up', 'skip_fwd', 'ad_shown'])[1 + i % 4], i % 100 FROM generate_series(1, 20000) AS i;
   TRUNCATE pozytywka.sessions;" >/dev/null &&
	q "SELECT attach_events('app.events', 'at', 'song', 'action', 'who', '{stream_complete}', '{thumbs_up}',
	                        '{skip_fwd}', keep_history => false)" >/dev/null
ok $? "attached a partitioned table of 20,000 events"
app_diff() {
	local rel="SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_history"
	[ "$1" = merged ] && rel="SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_stats
		UNION ALL SELECT 'pending delta', NULL, NULL, NULL, NULL FROM pozytywka.weekly_deltas"
	q "WITH agg AS ($rel), fresh AS (SELECT song::text, pozytywka.week_of(at), count(*) FILTER (WHERE action = 'stream_complete'),
	     count(*) FILTER (WHERE action = 'thumbs_up'), count(*) FILTER (WHERE action = 'skip_fwd')
	     FROM app.events WHERE song IS NOT NULL AND action IN ('stream_complete', 'thumbs_up', 'skip_fwd') GROUP BY 1, 2)
	   SELECT count(*) FROM ((TABLE agg EXCEPT ALL TABLE fresh) UNION ALL (TABLE fresh EXCEPT ALL TABLE agg)) AS d"
}
d=$(app_diff live)
[ "$d" = 0 ]
ok $? "right after attach, weekly_history equals a fresh GROUP BY of the table ($d rows differ)"
for seed in 11 12; do
	# a TRUNCATE of a partition beside multi-statement transactions over
	# all partitions can deadlock in any database: clients retry, as an
	# application would (the retries are printed)
	pgbench -n -h 127.0.0.1 -p "$PGPORT" -U "$PGUSER" -T "$SECS" -c 8 -j 8 --random-seed=$seed \
		--max-tries=20 --failures-detailed -f "$PG/attached_writer.sql" $DB >"$tmp/attached$seed.out" 2>&1
	echo $? >"$tmp/attached$seed.rc"
	pgbench_ok attached$seed
	grep -E '^number of (transactions retried|deadlock failures|serialization failures)' "$tmp/attached$seed.out" | sed 's/^/#   /'
	pending=$(q "SELECT count(*) FROM pozytywka.weekly_deltas")
	d=$(app_diff live)
	[ "$d" = 0 ]
	ok $? "seed $seed, before the merge ($pending deltas pending): weekly_history equals a fresh GROUP BY ($d rows differ; $(q "SELECT count(*) FROM app.events") events)"
	q "SELECT merge_events()" >/dev/null
	d=$(app_diff merged)
	[ "$d" = 0 ]
	ok $? "seed $seed, merged: weekly_stats equals a fresh GROUP BY ($d rows differ)"
done
dropdb $DB
