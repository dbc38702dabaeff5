#!/usr/bin/env bash
# Citus (issue 14): a coordinator and two workers (each its own cluster in its
# own mktemp -d, loopback only), pozytywka.sessions distributed by track_id,
# the catalogue as reference tables.  Citus creates pozytywka on the workers;
# the capture triggers, propagated to every shard, append each shard's deltas
# to its worker's own weekly aggregate (beside its events); the coordinator
# reads the workers' weekly rows with add_shard() (postgres_fdw).  Checked
# against the same demo data on one server:
#  - the top list of every deterministic model kind, auto, a backtest and
#    predict() give exactly the single-server answer
#  - inserts, updates and deletes on the distributed table are in the next call
#  - a stopped worker: a clear error naming it; started again: the same results
# Citus is built once from ../shared/vendor/citus-13.2 (pz_citus_install:
# into PZ_PRIVATE_PG's tree when set, else the system's), and skipped when the
# sources are not there.  Waits on pg_ctl -w / pg_isready, never fixed times.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
pz_citus_install
rc=$?
if [ $rc = 2 ]; then echo "ok 1 # SKIP no Citus sources (../shared/vendor/citus-13.2)"; echo "1..1"; exit 0; fi
[ $rc = 0 ] || { echo "Bail out! Citus did not build"; exit 1; }
REF=pz_citus_ref
MAIN_HOST=$PGHOST MAIN_PORT=$PGPORT MAIN_DIR=${PZ_CLUSTER_DIR:-}
q() { psql -X -At -v ON_ERROR_STOP=1 -h "$MAIN_HOST" -p "$MAIN_PORT" -d "$1" -c "$2"; }
N_DIR=() N_PORT=()
# the capture triggers (and the catalogue's cache triggers) on distributed and
# reference tables need citus.enable_unsafe_triggers: they only write tables of
# the node they run on
qn() { PGOPTIONS="-c citus.enable_unsafe_triggers=on" psql -X -At -v ON_ERROR_STOP=1 -h "${N_DIR[$1]}" -p "${N_PORT[$1]}" -d postgres -c "$2"; }
cleanup() {
	for i in "${!N_DIR[@]}"; do PZ_CLUSTER_DIR=${N_DIR[$i]} pz_cluster_stop; done
	dropdb -h "$MAIN_HOST" -p "$MAIN_PORT" --if-exists $REF 2>/dev/null
}
trap cleanup EXIT
# node 0: the coordinator; 1, 2: the workers
for i in 0 1 2; do
	pz_cluster_start "shared_preload_libraries = 'citus,pg_cron'" "shared_buffers = 64MB" \
		"max_connections = 40" "citus.node_conninfo = 'sslmode=disable'" >/dev/null 2>&1 ||
		{ echo "Bail out! node $i did not start"; exit 1; }
	N_DIR[$i]=$PZ_CLUSTER_DIR N_PORT[$i]=$PGPORT
done
export PGHOST=$MAIN_HOST PGPORT=$MAIN_PORT PZ_CLUSTER_DIR=$MAIN_DIR
DEMO="weeks => 30, events_per_week => 3000, tracks => 300, artists => 40, users => 200"
dropdb -h "$MAIN_HOST" -p "$MAIN_PORT" --if-exists $REF 2>/dev/null
createdb -h "$MAIN_HOST" -p "$MAIN_PORT" $REF && q $REF "CREATE EXTENSION pozytywka" >/dev/null &&
	q $REF "SELECT count(*) FROM generate_demo_data($DEMO)" >/dev/null || { echo "Bail out! no reference data"; exit 1; }

for i in 0 1 2; do qn $i "CREATE EXTENSION citus" >/dev/null; done
qn 0 "SELECT citus_set_coordinator_host('127.0.0.1', ${N_PORT[0]});
	  SELECT citus_add_node('127.0.0.1', ${N_PORT[1]}); SELECT citus_add_node('127.0.0.1', ${N_PORT[2]})" >/dev/null
ok $? "a Citus coordinator and two workers"
qn 0 "CREATE EXTENSION pozytywka" >/dev/null
r=$(qn 1 "SELECT extversion FROM pg_extension WHERE extname = 'pozytywka'")$(qn 2 "SELECT extversion FROM pg_extension WHERE extname = 'pozytywka'")
ok $([ -n "$r" ] && echo 0 || echo 1) "CREATE EXTENSION pozytywka on the coordinator creates it on the workers ($r)"
qn 0 "SELECT create_reference_table('pozytywka.artists'); SELECT create_reference_table('pozytywka.tracks');
	  SELECT create_distributed_table('pozytywka.sessions', 'track_id')" >/dev/null
ok $? "catalogue: reference tables; pozytywka.sessions distributed by track_id"
# the demo data of the one server, loaded through the coordinator (COPY into
# the distributed table: each event goes to its track's shard).
# (generate_demo_data() itself stops at Citus's "a column definition list is
# required" on its EXISTS (SELECT FROM pozytywka.sessions) check.)
rc=0
# (Events without a track — advertisements — cannot live in a table
# distributed by track_id, and never count: they are left out.)
for t in artists tracks sessions; do
	src="pozytywka.$t"
	[ $t = sessions ] && src="(SELECT * FROM pozytywka.sessions WHERE track_id IS NOT NULL)"
	psql -X -q -h "$MAIN_HOST" -p "$MAIN_PORT" -d $REF -c "\\copy $src TO STDOUT" |
		PGOPTIONS="-c citus.enable_unsafe_triggers=on" psql -X -q -v ON_ERROR_STOP=1 -h "${N_DIR[0]}" -p "${N_PORT[0]}" -d postgres -c "\\copy pozytywka.$t FROM STDIN" || rc=1
done
ok $rc "the demo data loaded through the coordinator (COPY routes each event to its track's shard)"
r=$(qn 0 "SELECT count(*) FROM pozytywka.weekly_stats")
w1=$(qn 1 "SELECT merge_events() >= 0; SELECT count(*) FROM pozytywka.weekly_stats") w2=$(qn 2 "SELECT merge_events() >= 0; SELECT count(*) FROM pozytywka.weekly_stats")
ok $([ "$r" = 0 ] && [ "${w1#*$'\n'}" -gt 0 ] && [ "${w2#*$'\n'}" -gt 0 ] && echo 0 || echo 1) \
	"the weekly aggregate lives on the workers, beside their events (coordinator $r rows, workers ${w1#*$'\n'} and ${w2#*$'\n'})"
qn 0 "CREATE EXTENSION postgres_fdw" >/dev/null
for i in 1 2; do
	qn 0 "CREATE SERVER worker_$i FOREIGN DATA WRAPPER postgres_fdw
			OPTIONS (host '127.0.0.1', port '${N_PORT[$i]}', dbname 'postgres', connect_timeout '5');
		  CREATE USER MAPPING FOR postgres SERVER worker_$i OPTIONS (user 'postgres');
		  SELECT add_shard('worker_$i')" >/dev/null || break
done
ok $? "the coordinator reads the workers' weekly rows: add_shard('worker_1'), add_shard('worker_2')"

counts="SELECT count(*), sum(plays), sum(likes), sum(skips), min(week), max(week) FROM pozytywka.weekly_history"
a=$(q $REF "$counts") b=$(qn 0 "$counts")
ok $([ "$a" = "$b" ] && echo 0 || echo 1) "weekly_history on the coordinator = one server's ($b)"
KINDS=$(q $REF "SELECT string_agg(name, ' ' ORDER BY name) FROM pozytywka.model_kinds WHERE family <> 'neural' AND name <> 'ensemble'")
list_sql() { echo "SELECT string_agg(format('%s %s %s %s %s', rank, track_id, track_name, round(predicted_score::numeric, 6), round(last_week_score::numeric, 6)), ';' ORDER BY rank) FROM top_tracks_next_week(20, '$1')"; }
compare_all() {
	local bad=0 k a b
	for k in $KINDS auto; do
		a=$(q $REF "$(list_sql $k)") b=$(qn 0 "$(list_sql $k)")
		if [ -z "$a" ] || [ "$a" != "$b" ]; then bad=1; echo "# $k differs$1"; echo "#  one: ${a:0:200}"; echo "#  co:  ${b:0:200}"; fi
	done
	return $bad
}
compare_all ""
ok $? "top 20 (with the catalogue's names) of every deterministic kind and auto = one server's ($KINDS auto)"
bt="SELECT string_agg(format('%s %s %s', model, week, round(overlap::numeric, 6)), ';' ORDER BY model, week) FROM backtest_top_tracks(10, 4, 'all')"
a=$(q $REF "$bt") b=$(qn 0 "$bt")
ok $([ -n "$a" ] && [ "$a" = "$b" ] && echo 0 || echo 1) "backtest_top_tracks(10, 4, 'all') = one server's"
pr="SELECT predict('{\"model_type\": \"pooled\", \"n\": 10}') - 'computed_at'"
a=$(q $REF "$pr") b=$(qn 0 "$pr")
ok $([ -n "$a" ] && [ "$a" = "$b" ] && echo 0 || echo 1) "predict(pooled, 10) = one server's"
qn 0 "SELECT count(*) FROM refresh_forecasts(NULL, ARRAY['naive', 'pooled'])" >/dev/null
ok $? "refresh_forecasts on the coordinator"

# writes to the distributed table, through the coordinator
lw=$(q $REF "SELECT latest_complete_week()")
top=$(q $REF "SELECT track_id FROM top_tracks_next_week(1, 'naive')")
second=$(q $REF "SELECT track_id FROM top_tracks_next_week(2, 'naive') OFFSET 1")
change="INSERT INTO pozytywka.sessions SELECT 900000000 + g, '$lw'::timestamp + interval '1 hour', 1, 'zz-new-' || (g % 2), 'play' FROM generate_series(1, 5000) AS g;
		UPDATE pozytywka.sessions SET event_type = 'skip' WHERE track_id = '$top' AND \"timestamp\" >= '$lw' AND event_type = 'play';
		DELETE FROM pozytywka.sessions WHERE \"timestamp\" >= '$lw'::date - 7 AND \"timestamp\" < '$lw' AND track_id = '$second'"
q $REF "$change" >/dev/null && qn 0 "$change" >/dev/null
ok $? "inserts, updates and deletes on the distributed table (and on the one server)"
compare_all " (changes pending on the workers)"
ok $? "the next calls on the coordinator see them (every kind)"
q $REF "SELECT merge_events()" >/dev/null
qn 0 "SELECT run_command_on_workers('SELECT merge_events()')" >/dev/null
compare_all " (merged on the workers)"
ok $? "merged on the workers (run_command_on_workers): still the single-server answers"
before=$(qn 0 "$(list_sql pooled)")

runuser -u postgres -- "$PZ_PG_BIN/pg_ctl" -D "${N_DIR[2]}/data" -m fast -w stop >/dev/null
err=$(qn 0 "$(list_sql pooled)" 2>&1)
echo "$err" | head -1 | sed 's/^/#   /'
echo "$err" | grep -q 'ERROR: .*\(worker_2\|'"${N_PORT[2]}"'\)'
ok $? "a worker down: the top list fails with an error naming it"
runuser -u postgres -- "$PZ_PG_BIN/pg_ctl" -D "${N_DIR[2]}/data" -w -t 60 -l "${N_DIR[2]}/server.log" start >/dev/null
pg_isready -q -h "${N_DIR[2]}" -p "${N_PORT[2]}" -t 60
after=$(qn 0 "$(list_sql pooled)")
ok $([ -n "$after" ] && [ "$before" = "$after" ] && echo 0 || echo 1) "the worker back: the same list, no repair"
echo "1..$n"
