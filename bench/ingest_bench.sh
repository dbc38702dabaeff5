#!/usr/bin/env bash
# Ingestion benchmark (issue 11), side by side in one run on one cluster:
#   1. single-row INSERTs with pgbench (track ids Zipf 1.1 over 20,000
#      tracks, current week), 1 and 8 clients, into pozytywka.sessions (an
#      attached event table: the capture trigger appends deltas) and into a
#      plain copy of it (same columns and unique index, no trigger),
#      alternating, each PZ_BENCH_SECONDS (default 20) seconds, twice
#   2. COPY of N events (default 10 million) from a file into each
#   3. merge_events() of 1 million pending deltas (one per event: what 1
#      million single-row statements leave)
#   4. top_tracks_next_week(50, 'mean8') for 20,000 tracks from a warm cache,
#      then again after a burst of 100,000 unmerged events in the current week
# Prints a table; ratios are what to compare (the machine is shared).
# Usage: bash bench/ingest_bench.sh [events]   (starts its own cluster;
# PZ_PRIVATE_PG=DIR installs into a private PostgreSQL tree)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
EVENTS=${1:-10000000}
SECS=${PZ_BENCH_SECONDS:-20}
pz_install_deps
pz_build_install
pz_cluster_start "autovacuum = off"
tmp=$(mktemp -d /tmp/pz_ingest.XXXXXX)
chmod 777 "$tmp"
trap 'pz_cluster_stop; rm -rf "$tmp"' EXIT
export PGDATABASE=postgres
sql() { psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }
rows=()
row() { rows+=("$(printf '| %-62s | %12s |' "$1" "$2")"); }

sql "CREATE EXTENSION pozytywka"
sql "CREATE TABLE plain_sessions (LIKE pozytywka.sessions INCLUDING ALL)"

# ---------------------------------------------------------------- 1. pgbench
for target in plain_sessions pozytywka.sessions; do
	cat >"$tmp/$target.sql" <<-EOF
	\set s random(1, 9000000000000)
	\set t random_zipfian(1, 20000, 1.1)
	INSERT INTO $target (session_id, "timestamp", user_id, track_id, event_type)
	VALUES (:s, localtimestamp, :s % 100000, 'track' || :t, 'play');
	EOF
done
tps() { # clients target
	pgbench -n -h 127.0.0.1 -p "$PGPORT" -U "$PGUSER" -T "$SECS" -c "$1" -j "$1" -f "$tmp/$2.sql" postgres 2>&1 |
		sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p'
}
for clients in 1 8; do
	p1=$(tps $clients plain_sessions); e1=$(tps $clients pozytywka.sessions)
	p2=$(tps $clients plain_sessions); e2=$(tps $clients pozytywka.sessions)
	p=$(echo "($p1 + $p2) / 2" | bc -l); e=$(echo "($e1 + $e2) / 2" | bc -l)
	row "single-row INSERT, $clients client(s): plain table, tps" "$(printf '%.0f' "$p")"
	row "single-row INSERT, $clients client(s): pozytywka.sessions, tps" "$(printf '%.0f' "$e")"
	row "  ratio (runs: $(printf '%.0f/%.0f, %.0f/%.0f' "$e1" "$p1" "$e2" "$p2"))" "$(printf '%.2f' "$(echo "$e / $p" | bc -l)")"
done
pending=$(sql "SELECT count(*) FROM pozytywka.weekly_deltas")
row "merge_events() of the pgbench runs' $pending deltas, s" "$(pz_timed "SELECT merge_events()")"

# ---------------------------------------------------------------- 2. COPY
sql "TRUNCATE plain_sessions, pozytywka.sessions"
sql "COPY (SELECT (i / 3)::bigint, timestamp '2024-01-01' + (i::float8 / $EVENTS) * interval '364 days' + (i % 3) * interval '1 second',
	   (i % 5000)::int, 'track' || floor(20000 * power(((i * 7919) % 1000003)::float8 / 1000003, 3))::int,
	   (ARRAY['play','play','play','play','skip','like','advertisement'])[1 + (i * 31) % 7]::pozytywka.event_type
	FROM generate_series(1::bigint, $EVENTS) AS i) TO '$tmp/events.copy'"
sql "CHECKPOINT"
c_plain=$(pz_timed "COPY plain_sessions FROM '$tmp/events.copy'")
sql "CHECKPOINT"
c_pz=$(pz_timed "COPY pozytywka.sessions FROM '$tmp/events.copy'")
row "COPY $EVENTS events: plain table, s" "$c_plain"
row "COPY $EVENTS events: pozytywka.sessions, s" "$c_pz"
row "  ratio" "$(printf '%.2f' "$(echo "$c_pz / $c_plain" | bc -l)")"
pending=$(sql "SELECT count(*) FROM pozytywka.weekly_deltas")
row "merge_events() after the COPY ($pending deltas), s" "$(pz_timed "SELECT merge_events()")"

# ---------------------------------------------------------------- 3. merge of 1M
sql "INSERT INTO pozytywka.weekly_deltas
	 SELECT 1, 'track' || floor(20000 * power(random(), 3))::int, date '2024-12-23', 1, 0, 0
	   FROM generate_series(1, 1000000)"
sql "VACUUM ANALYZE pozytywka.weekly_deltas"
row "merge_events() of 1,000,000 pending deltas, s" "$(pz_timed "SELECT merge_events()")"

# ---------------------------------------------------------------- 4. top list
# warm: the forecasts and the list's calibration (interval, p_top) cached,
# as the weekly job leaves them (refresh_top_tracks caches both)
sql "SELECT count(*) FROM refresh_forecasts(NULL, ARRAY['mean8'])" >/dev/null
sql "SELECT refresh_top_tracks(50, 'mean8')" >/dev/null
sql "VACUUM ANALYZE"
sql "SELECT count(*) FROM top_tracks_next_week(50, 'mean8')" >/dev/null
row "top_tracks_next_week(50, 'mean8'), warm cache, s" "$(pz_timed "SELECT count(*) FROM top_tracks_next_week(50, 'mean8')")"
sql "INSERT INTO pozytywka.sessions SELECT 9000000 + i, timestamp '2024-12-30' + i * interval '1 second', 1,
	 'track' || floor(20000 * power(random(), 3))::int, 'play' FROM generate_series(1, 100000) AS i"
# a burst of single-row statements leaves one delta per event
sql "INSERT INTO pozytywka.weekly_deltas SELECT 1, 'track' || floor(20000 * power(random(), 3))::int,
	 date '2024-12-30', 1, 0, 0 FROM generate_series(1, 100000)"
pending=$(sql "SELECT count(*) FROM pozytywka.weekly_deltas")
row "  the same after a burst of unmerged events ($pending deltas), s" "$(pz_timed "SELECT count(*) FROM top_tracks_next_week(50, 'mean8')")"
row "  (tracks with a forecast)" "$(sql "SELECT count(*) FROM top_tracks_next_week(100000, 'mean8')")"

echo
echo "ingestion benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| %-62s | %12s |\n' "measure" "value"
printf '| %-62s | %12s |\n' "---" "---:"
printf '%s\n' "${rows[@]}"
