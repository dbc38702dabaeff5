#!/usr/bin/env bash
# Benchmark of the walking skeleton (issue 2), side by side in one run:
#   - bulk load of N events (default 10 million) into pozytywka.sessions,
#     with the triggers that keep the weekly aggregate current, vs the same
#     load into a plain table without them;
#   - the cost of keeping the aggregate current per 10,000 inserted events;
#   - top_tracks_next_week(50) latency (computed, then cached), vs the same
#     list computed the naive way: a GROUP BY over all raw events.
# Usage: bash bench/toplist_bench.sh [events]   (starts its own cluster)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
EVENTS=${1:-10000000}
pz_install_deps
pz_build_install
pz_cluster_start
trap pz_cluster_stop EXIT
export PGDATABASE=postgres

sql() { psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }
timed() { pz_timed "${@: -1}"; }

sql "CREATE EXTENSION pozytywka"
# events: 20,000 tracks with Zipf-like popularity over 52 weeks, ~3 events a
# session; the same rows go into both tables
GEN="SELECT (i / 3)::bigint,
	   timestamp '2024-01-01' + (i::float8 / $EVENTS) * interval '364 days' + (i % 3) * interval '1 second',
	   (i % 5000)::int,
	   'track' || floor(20000 * power(((i * 7919) % 1000003)::float8 / 1000003, 3))::int,
	   (ARRAY['play','play','play','play','skip','like','advertisement'])[1 + (i * 31) % 7]::pozytywka.event_type
  FROM generate_series(1::bigint, $EVENTS) AS i"
sql "CREATE TABLE plain_events (LIKE pozytywka.sessions INCLUDING ALL)"

load_plain=$(timed plain "INSERT INTO plain_events $GEN")
load_pz=$(timed pozytywka "INSERT INTO pozytywka.sessions $GEN")
sql "ANALYZE"
agg_rows=$(sql "SELECT count(*) FROM pozytywka.weekly_history")

# per 10,000 events, into the latest week, 5 repetitions each
ins="SELECT 900000000 + REP * 100000 + i, timestamp '2024-12-23' + i * interval '1 second', 1,
	   'track' || (i % 2000), (ARRAY['play','skip','like'])[1 + i % 3]::pozytywka.event_type
  FROM generate_series(1, 10000) AS i"
plain10k=0; pz10k=0
for r in 1 2 3 4 5; do
	plain10k=$(echo "$plain10k + $(timed p "INSERT INTO plain_events ${ins//REP/$r}")" | bc)
	pz10k=$(echo "$pz10k + $(timed z "INSERT INTO pozytywka.sessions ${ins//REP/$r}")" | bc)
done

cold=$(timed cold "SELECT * FROM top_tracks_next_week(50, 'naive')")
sql "SELECT count(*) FROM refresh_forecasts(NULL, ARRAY['naive'])" >/dev/null
warm=$(timed warm "SELECT * FROM top_tracks_next_week(50, 'naive')")
view=$(timed view "SELECT refresh_top_tracks(50, 'naive')")
viewread=$(timed viewread "SELECT * FROM next_week_top_tracks")
naive_raw=$(timed raw "
	WITH w AS (SELECT max(date_trunc('week', \"timestamp\")) - interval '7 days' AS week FROM plain_events)
	SELECT track_id, count(*) FILTER (WHERE event_type = 'play') * 1.0
				   + count(*) FILTER (WHERE event_type = 'like') * 0.8
				   - count(*) FILTER (WHERE event_type = 'skip') * 0.5 AS score
	  FROM plain_events, w
	 WHERE date_trunc('week', \"timestamp\") = w.week AND track_id IS NOT NULL
	 GROUP BY track_id ORDER BY score DESC, track_id LIMIT 50")
mean8_raw=$(timed raw8 "
	WITH w AS (SELECT max(date_trunc('week', \"timestamp\")) - interval '7 days' AS week FROM plain_events)
	SELECT track_id, sum(CASE event_type WHEN 'play' THEN 1.0 WHEN 'like' THEN 0.8 WHEN 'skip' THEN -0.5 ELSE 0 END) / 8 AS score
	  FROM plain_events, w
	 WHERE date_trunc('week', \"timestamp\") > w.week - interval '56 days'
	   AND date_trunc('week', \"timestamp\") <= w.week AND track_id IS NOT NULL
	 GROUP BY track_id ORDER BY score DESC, track_id LIMIT 50")
mean8=$(timed mean8 "SELECT * FROM top_tracks_next_week(50, 'mean8')")

printf '\n%-62s %12s\n' "measure ($EVENTS events, $agg_rows weekly rows)" "seconds"
printf '%-62s %12.3f\n' "bulk load, plain table (no triggers)" "$load_plain"
printf '%-62s %12.3f\n' "bulk load into pozytywka.sessions (aggregate kept current)" "$load_pz"
printf '%-62s %12.4f\n' "10,000 events, plain table (mean of 5)" "$(echo "$plain10k / 5" | bc -l)"
printf '%-62s %12.4f\n' "10,000 events into pozytywka.sessions (mean of 5)" "$(echo "$pz10k / 5" | bc -l)"
printf '%-62s %12.3f\n' "top_tracks_next_week(50,'naive') computed from the aggregate" "$cold"
printf '%-62s %12.3f\n' "top_tracks_next_week(50,'naive') from the forecast cache" "$warm"
printf '%-62s %12.3f\n' "top_tracks_next_week(50,'mean8') computed from the aggregate" "$mean8"
printf '%-62s %12.3f\n' "refresh_top_tracks() (the dashboard's list)" "$view"
printf '%-62s %12.3f\n' "SELECT * FROM next_week_top_tracks (the view)" "$viewread"
printf '%-62s %12.3f\n' "naive list as GROUP BY over raw events (last week)" "$naive_raw"
printf '%-62s %12.3f\n' "mean8 list as GROUP BY over raw events (8 weeks)" "$mean8_raw"
