#!/usr/bin/env bash
# Several servers with postgres_fdw (issue 14): three shard servers (each its
# own cluster in its own mktemp -d, loopback only) keep the weekly aggregate
# of their own events — the demo data split by a hash of track_id — and a
# coordinator (a database of the runner's cluster) registers them with
# add_shard().  Checked against the same data on one server:
#  - the top list of every deterministic model kind, the automatic choice, a
#    backtest and predict() give exactly the single-server answer
#  - EXPLAIN VERBOSE: the week filter reaches the shards' remote SQL, and the
#    shards are read by async foreign scans
#  - inserts, updates and deletes on a shard (pending, then merged) are in the
#    next call on the coordinator, also when it had cached the forecasts
#  - a stopped shard: a clear error naming it; started again: the same results
# Waits on pg_isready / pg_ctl -w, never on fixed times.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
REF=pz_shards_ref
CO=pz_shards_coord
# the runner's cluster (the reference and the coordinator live there)
MAIN_HOST=$PGHOST MAIN_PORT=$PGPORT MAIN_DIR=${PZ_CLUSTER_DIR:-}
q() { psql -X -At -v ON_ERROR_STOP=1 -h "$MAIN_HOST" -p "$MAIN_PORT" -d "$1" -c "$2"; }
SH_DIR=() SH_PORT=()
qs() { psql -X -At -v ON_ERROR_STOP=1 -h "${SH_DIR[$1]}" -p "${SH_PORT[$1]}" -d postgres -c "$2"; }
cleanup() {
	for i in "${!SH_DIR[@]}"; do PZ_CLUSTER_DIR=${SH_DIR[$i]} pz_cluster_stop; done
	for d in $REF $CO; do dropdb -h "$MAIN_HOST" -p "$MAIN_PORT" --if-exists $d 2>/dev/null; done
}
trap cleanup EXIT

for d in $REF $CO; do dropdb -h "$MAIN_HOST" -p "$MAIN_PORT" --if-exists $d 2>/dev/null; createdb -h "$MAIN_HOST" -p "$MAIN_PORT" $d; done
# one server: the reference
q $REF "CREATE EXTENSION pozytywka" >/dev/null &&
	q $REF "SELECT count(*) FROM generate_demo_data(weeks => 30, events_per_week => 3000, tracks => 300,
			artists => 40, users => 200)" >/dev/null || { echo "Bail out! no reference data"; exit 1; }

# three shards, small servers
for i in 0 1 2; do
	pz_cluster_start "shared_buffers = 64MB" "max_connections = 30" >/dev/null 2>&1 || { echo "Bail out! shard $i did not start"; exit 1; }
	SH_DIR[$i]=$PZ_CLUSTER_DIR SH_PORT[$i]=$PGPORT
done
export PGHOST=$MAIN_HOST PGPORT=$MAIN_PORT PZ_CLUSTER_DIR=$MAIN_DIR
for i in 0 1 2; do
	qs $i "CREATE EXTENSION pozytywka" >/dev/null || { echo "Bail out! no extension on shard $i"; exit 1; }
	for t in artists tracks; do
		psql -X -q -h "$MAIN_HOST" -p "$MAIN_PORT" -d $REF -c "\\copy pozytywka.$t TO STDOUT" |
			psql -X -q -h "${SH_DIR[$i]}" -p "${SH_PORT[$i]}" -d postgres -c "\\copy pozytywka.$t FROM STDIN"
	done
	# the events of one track live on one shard
	psql -X -q -h "$MAIN_HOST" -p "$MAIN_PORT" -d $REF -c "\\copy (SELECT * FROM pozytywka.sessions WHERE abs(hashtext(track_id)) % 3 = $i) TO STDOUT" |
		psql -X -q -h "${SH_DIR[$i]}" -p "${SH_PORT[$i]}" -d postgres -c "\\copy pozytywka.sessions FROM STDIN"
	qs $i "SELECT merge_events() >= 0" >/dev/null
done
# the coordinator: the catalogue (a reference table), no events of its own
q $CO "CREATE EXTENSION pozytywka; CREATE EXTENSION postgres_fdw" >/dev/null
for t in artists tracks; do
	psql -X -q -h "$MAIN_HOST" -p "$MAIN_PORT" -d $REF -c "\\copy pozytywka.$t TO STDOUT" |
		psql -X -q -h "$MAIN_HOST" -p "$MAIN_PORT" -d $CO -c "\\copy pozytywka.$t FROM STDIN"
done
for i in 0 1 2; do
	q $CO "CREATE SERVER shard_$i FOREIGN DATA WRAPPER postgres_fdw
			 OPTIONS (host '127.0.0.1', port '${SH_PORT[$i]}', dbname 'postgres', connect_timeout '5');
		   CREATE USER MAPPING FOR postgres SERVER shard_$i OPTIONS (user 'postgres');
		   SELECT add_shard('shard_$i')" >/dev/null
done
ok $? "three shards registered with add_shard()"
q $CO "SELECT string_agg(server, ',' ORDER BY server) FROM pozytywka.shards" | grep -qx 'shard_0,shard_1,shard_2'
ok $? "pozytywka.shards lists them"

r=$(q $CO "SELECT count(*) FROM pozytywka.sessions")
ok $([ "$r" = 0 ] && echo 0 || echo 1) "the coordinator holds no events"
counts="SELECT count(*), sum(plays), sum(likes), sum(skips), min(week), max(week) FROM pozytywka.weekly_history"
a=$(q $REF "$counts") b=$(q $CO "$counts")
ok $([ "$a" = "$b" ] && echo 0 || echo 1) "weekly_history on the coordinator = one server's ($b)"
a=$(q $REF "SELECT latest_complete_week(), pozytywka.first_week()") b=$(q $CO "SELECT latest_complete_week(), pozytywka.first_week()")
ok $([ "$a" = "$b" ] && echo 0 || echo 1) "latest_complete_week and first_week = one server's ($b)"

# every deterministic kind (the LSTM needs a trained model: not here), the
# automatic choice, a backtest, predict
KINDS=$(q $REF "SELECT string_agg(name, ' ' ORDER BY name) FROM pozytywka.model_kinds WHERE family <> 'neural' AND name <> 'ensemble'")
list_sql() { echo "SELECT string_agg(format('%s %s %s %s', rank, track_id, round(predicted_score::numeric, 6), round(last_week_score::numeric, 6)), ';' ORDER BY rank) FROM top_tracks_next_week(20, '$1')"; }
compare_all() { # $1: label
	local bad=0 k a b
	for k in $KINDS auto; do
		a=$(q $REF "$(list_sql $k)") b=$(q $CO "$(list_sql $k)")
		if [ -z "$a" ] || [ "$a" != "$b" ]; then bad=1; echo "# $k differs$1"; echo "#  one: ${a:0:200}"; echo "#  co:  ${b:0:200}"; fi
	done
	return $bad
}
compare_all ""
ok $? "top 20 of every deterministic kind and auto = one server's ($KINDS auto)"
bt="SELECT string_agg(format('%s %s %s', model, week, round(overlap::numeric, 6)), ';' ORDER BY model, week) FROM backtest_top_tracks(10, 4, 'all')"
a=$(q $REF "$bt") b=$(q $CO "$bt")
ok $([ -n "$a" ] && [ "$a" = "$b" ] && echo 0 || echo 1) "backtest_top_tracks(10, 4, 'all') = one server's"
[ -n "$a" ] && [ "$a" = "$b" ] || { echo "#  one: ${a:0:300}"; echo "#  co:  ${b:0:300}"; }
pr="SELECT predict('{\"model_type\": \"arima\", \"n\": 10}') - 'computed_at'"
a=$(q $REF "$pr") b=$(q $CO "$pr")
ok $([ -n "$a" ] && [ "$a" = "$b" ] && echo 0 || echo 1) "predict(arima, 10) = one server's"

# the week filter travels to the shards; the shards are read at once
plan=$(q $CO "EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM pozytywka.weekly_rows WHERE week >= '2026-01-05' AND week <= '2026-02-02'")
echo "$plan" | sed 's/^/#   /' | grep -E 'Remote SQL|Async' | head -6
[ "$(echo "$plan" | grep -c 'Remote SQL: .*WHERE .*week >= .2026-01-05.*week <= .2026-02-02')" = 3 ]
ok $? "EXPLAIN VERBOSE: the week filter is in every shard's remote SQL"
[ "$(echo "$plan" | grep -c 'Async Foreign Scan')" = 3 ]
ok $? "EXPLAIN VERBOSE: the three shards are async foreign scans of one Append"

# the cache on the coordinator, then changes on a shard
q $CO "SELECT count(*) FROM refresh_forecasts(NULL, ARRAY['naive', 'mean4', 'pooled'])" >/dev/null
r=$(q $CO "SELECT count(*) FROM pozytywka.forecast_runs WHERE as_of = latest_complete_week() AND model IN ('naive', 'mean4', 'pooled')")
ok $([ "$r" = 3 ] && echo 0 || echo 1) "the coordinator caches forecasts ($r runs)"
top=$(q $REF "SELECT track_id FROM top_tracks_next_week(1, 'naive')")
shard=$(q $REF "SELECT abs(hashtext('$top')) % 3")
lw=$(q $REF "SELECT latest_complete_week()")
second=$(q $REF "SELECT track_id FROM top_tracks_next_week(2, 'naive') OFFSET 1")
change="INSERT INTO pozytywka.sessions SELECT 900000000 + g, '$lw'::timestamp + interval '1 hour', 1, 'zz-new-track', 'play' FROM generate_series(1, 5000) AS g;
		UPDATE pozytywka.sessions SET track_id = 'zz-new-track' WHERE track_id = '$top' AND \"timestamp\" >= '$lw' AND event_type = 'play';
		DELETE FROM pozytywka.sessions WHERE \"timestamp\" >= '$lw'::date - 7 AND \"timestamp\" < '$lw' AND track_id = '$second' AND abs(hashtext(track_id)) % 3 = $shard"
q $REF "$change" >/dev/null && qs $shard "$change" >/dev/null
ok $? "inserts, updates and deletes of events on shard_$shard (and on the one server)"
compare_all " (changes pending on the shard)"
ok $? "the next calls on the coordinator see them, not merged yet (every kind)"
q $REF "SELECT merge_events()" >/dev/null; qs $shard "SELECT merge_events()" >/dev/null
compare_all " (changes merged on the shard)"
ok $? "and merged on the shard: still the single-server answers"
r=$(q $CO "SELECT count(*) FROM refresh_forecasts(NULL, ARRAY['naive', 'mean4', 'pooled'])")
a=$(q $REF "$(list_sql naive)") b=$(q $CO "$(list_sql naive)")
ok $([ "$a" = "$b" ] && echo 0 || echo 1) "the coordinator's refreshed cache holds the new answer"
# a change of an old week on a shard drops the coordinator's cached runs
old=$(q $REF "SELECT pozytywka.first_week() + 21")
change="DELETE FROM pozytywka.sessions WHERE \"timestamp\" >= '$old' AND \"timestamp\" < '$old'::date + 7 AND abs(hashtext(track_id)) % 3 = $shard"
q $REF "$change; SELECT merge_events()" >/dev/null && qs $shard "$change; SELECT merge_events()" >/dev/null
compare_all " (an old week changed on a shard)"
ok $? "a change of an old week on a shard: the coordinator's cached forecasts are not used"
q $CO "SELECT merge_events()" >/dev/null
r=$(q $CO "SELECT count(*) FROM pozytywka.forecast_runs WHERE as_of >= '$old'")
ok $([ "$r" = 0 ] && echo 0 || echo 1) "merge_events() on the coordinator drops them ($r left)"
before=$(q $CO "$(list_sql pooled)")

# faults: a stopped shard gives an error naming it, never a shorter list
runuser -u postgres -- "$PZ_PG_BIN/pg_ctl" -D "${SH_DIR[1]}/data" -m fast -w stop >/dev/null
err=$(q $CO "$(list_sql pooled)" 2>&1)
echo "$err" | head -2 | sed 's/^/#   /'
echo "$err" | grep -q 'ERROR: .*shard_1'
ok $? "shard_1 down: the top list fails with an error naming shard_1"
err=$(q $CO "SELECT * FROM next_week_top_tracks LIMIT 1; SELECT count(*) FROM pozytywka.weekly_history" 2>&1)
echo "$err" | grep -q 'ERROR: .*shard_1'
ok $? "shard_1 down: weekly_history fails naming it"
runuser -u postgres -- "$PZ_PG_BIN/pg_ctl" -D "${SH_DIR[1]}/data" -w -t 60 -l "${SH_DIR[1]}/server.log" start >/dev/null
pg_isready -q -h "${SH_DIR[1]}" -p "${SH_PORT[1]}" -t 60
after=$(q $CO "$(list_sql pooled)")
ok $([ -n "$after" ] && [ "$before" = "$after" ] && echo 0 || echo 1) "shard_1 back: the same list, no repair"
compare_all " (after the restart)"
ok $? "shard_1 back: every kind = one server's"

# remove_shard: the coordinator stops reading it
q $CO "SELECT remove_shard('shard_2')" >/dev/null
a=$(q $CO "SELECT count(*) FROM pozytywka.weekly_history") b=$(q $REF "SELECT count(*) FROM pozytywka.weekly_history WHERE abs(hashtext(track_id)) % 3 <> 2")
ok $([ "$a" = "$b" ] && echo 0 || echo 1) "remove_shard('shard_2'): the history of the other two ($a rows)"
err=$(q $CO "SELECT remove_shard('shard_2')" 2>&1)
echo "$err" | grep -q 'is not a shard'
ok $? "remove_shard of a server that is not a shard: a clear error"
echo "1..$n"
