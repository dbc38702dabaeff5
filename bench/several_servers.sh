#!/usr/bin/env bash
# Several servers (issue 14): one server against a postgres_fdw coordinator
# with K shard servers (K = 1 2 3), same demo data.  Per call on the
# coordinator: time, the rows the shards sent (pg_stat_statements on the
# shards) and the bytes the coordinator's backend received from them (ss -ti
# of its sockets: what crossed the loopback "network"), against the bytes of
# the events themselves.
#   PZ_PRIVATE_PG=/opt/pz-xxx bash bench/several_servers.sh [weeks] [events_per_week] [tracks]
# Root, Debian 12; each server its own cluster in its own mktemp -d.
set -u
cd "$(dirname "$0")/.."
. scripts/lib.sh
WEEKS=${1:-52} EPW=${2:-20000} TRACKS=${3:-2000}
pz_build_install >/dev/null 2>&1 || { echo "build failed"; exit 1; }
DIRS=() PORTS=()
cleanup() { for d in "${DIRS[@]}"; do PZ_CLUSTER_DIR=$d pz_cluster_stop; done; }
trap cleanup EXIT
start() {
	pz_cluster_start "shared_buffers = 128MB" "shared_preload_libraries = 'pg_cron,pg_stat_statements'" >/dev/null 2>&1 || exit 1
	DIRS+=("$PZ_CLUSTER_DIR") PORTS+=("$PGPORT")
}
qx() { psql -X -At -v ON_ERROR_STOP=1 -h "${DIRS[$1]}" -p "${PORTS[$1]}" -d postgres -c "$2"; }
start   # 0: the one server, later the coordinator
for i in 1 2 3; do start; done
qx 0 "CREATE EXTENSION pozytywka" >/dev/null
t0=$(date +%s.%N)
qx 0 "SELECT count(*) FROM generate_demo_data(weeks => $WEEKS, events_per_week => $EPW, tracks => $TRACKS, artists => $((TRACKS / 10)), users => 2000)" >/dev/null
t1=$(date +%s.%N)
events=$(qx 0 "SELECT count(*) FROM pozytywka.sessions")
ev_bytes=$(qx 0 "SELECT pg_total_relation_size('pozytywka.sessions')")
wk=$(qx 0 "SELECT count(*) FROM pozytywka.weekly_stats")
echo "data: $events events ($((ev_bytes / 1048576)) MB with index), $wk weekly rows; generate + aggregate $(echo "$t1 - $t0" | bc) s; load $(cut -d' ' -f1 /proc/loadavg)"
timed() { # server, sql, [database] -> seconds
	local out
	out=$(psql -X -q -h "${DIRS[$1]}" -p "${PORTS[$1]}" -d "${3:-postgres}" -c '\timing on' -c "$2" 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)
	echo "scale=3; $out / 1000" | bc
}
CALLS=("SELECT count(*) FROM top_tracks_next_week(50, 'naive')"
	"SELECT count(*) FROM top_tracks_next_week(50, 'pooled')"
	"SELECT count(*) FROM top_tracks_next_week(50, 'arima')")
echo
echo "one server:"
for c in "${CALLS[@]}"; do echo "  $(timed 0 "$c") s  $c"; done
qx 0 "SELECT count(*) FROM refresh_forecasts(NULL, ARRAY['naive', 'pooled', 'arima'])" >/dev/null
echo "  $(timed 0 "SELECT count(*) FROM top_tracks_next_week(50, 'pooled')") s  warm (cached) pooled list"

# the coordinator: a fresh database on server 0 holding only the catalogue
psql -X -q -h "${DIRS[0]}" -p "${PORTS[0]}" -d postgres -c "CREATE DATABASE coord"
qc() { psql -X -At -v ON_ERROR_STOP=1 -h "${DIRS[0]}" -p "${PORTS[0]}" -d coord -c "$1"; }
qc "CREATE EXTENSION pozytywka; CREATE EXTENSION postgres_fdw" >/dev/null
for t in artists tracks; do
	qx 0 "COPY pozytywka.$t TO STDOUT" | psql -X -q -h "${DIRS[0]}" -p "${PORTS[0]}" -d coord -c "\\copy pozytywka.$t FROM STDIN"
done
for K in 1 2 3; do
	for i in 1 2 3; do
		qx $i "DROP EXTENSION IF EXISTS pozytywka CASCADE; CREATE EXTENSION pozytywka; CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null 2>&1
		[ $i -le $K ] || continue
		qx 0 "COPY (SELECT * FROM pozytywka.sessions WHERE abs(hashtext(track_id)) % $K = $((i - 1))) TO STDOUT" |
			psql -X -q -h "${DIRS[$i]}" -p "${PORTS[$i]}" -d postgres -c "\\copy pozytywka.sessions FROM STDIN"
		qx $i "SELECT merge_events()" >/dev/null
		qc "DROP SERVER IF EXISTS s$i CASCADE" >/dev/null 2>&1
		qc "CREATE SERVER s$i FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '${PORTS[$i]}', dbname 'postgres');
			CREATE USER MAPPING FOR postgres SERVER s$i OPTIONS (user 'postgres'); SELECT add_shard('s$i')" >/dev/null
	done
	echo
	echo "postgres_fdw, $K shard(s):"
	for c in "${CALLS[@]}" "SELECT count(*) FROM top_tracks_next_week(50, 'pooled')"; do
		for i in $(seq 1 $K); do qx $i "SELECT pg_stat_statements_reset()" >/dev/null; done
		# one session: the call, then the bytes its backend received from the shards
		out=$(psql -X -At -h "${DIRS[0]}" -p "${PORTS[0]}" -d coord -c '\timing on' -c "$c" \
			-c "SELECT pg_backend_pid()" -c '\! true' 2>&1)
		secs=$(echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | head -1)
		rows=0
		for i in $(seq 1 $K); do
			r=$(qx $i "SELECT coalesce(sum(rows), 0) FROM pg_stat_statements WHERE query LIKE 'FETCH%'")
			rows=$((rows + r))
		done
		echo "  $(echo "scale=3; $secs / 1000" | bc) s  $rows rows from the shards  $c"
	done
	# bytes: one session runs a cold list, then reads its own sockets (ss -ti)
	bytes=$(psql -X -At -h "${DIRS[0]}" -p "${PORTS[0]}" -d coord -f - <<'SQL' 2>/dev/null | tail -1
SELECT count(*) FROM top_tracks_next_week(50, 'mean8');
SELECT pg_backend_pid() AS pid \gset
\setenv PZPID :pid
\! ss -tinpH state established | grep -A1 "pid=$PZPID," | grep -o 'bytes_received:[0-9]*' | cut -d: -f2 | paste -sd+ | bc
SQL
)
	echo "  bytes received by the coordinator's backend from the shards for one cold mean8 list: ${bytes:-n/a}"
	qc "SELECT count(*) FROM refresh_forecasts(NULL, ARRAY['pooled'])" >/dev/null
	echo "  $(timed 0 "SELECT count(*) FROM top_tracks_next_week(50, 'pooled')" coord) s  warm (cached) pooled list (cache check: one history_state round trip per shard)"
	for i in $(seq 1 $K); do qc "SELECT remove_shard('s$i')" >/dev/null; done
done
