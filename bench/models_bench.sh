#!/usr/bin/env bash
# top_tracks_next_week(50) latency per model on 20,000 active tracks with
# 52 weeks of history (issue 5): cold (computed), the weekly refresh that
# caches it, and warm (from the cache); plus the dashboard view.
# Usage: bash bench/models_bench.sh [tracks] [models...]   (own cluster)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
TRACKS=${1:-20000}
shift || true
MODELS=${*:-naive mean4 mean8 ewma trend pooled arima lstm}
pz_install_deps
pz_build_install
pz_cluster_start
trap pz_cluster_stop EXIT
export PGDATABASE=postgres
sql() { psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }
timed() { pz_timed "${@: -1}"; }

sql "CREATE EXTENSION pozytywka"
# 20,000 tracks active every one of 52 weeks: a log-normal level per track,
# a slow random drift and Poisson-like noise (weekly counts, as a user with
# pre-aggregated history would load them)
sql "SELECT setseed(0.5);
INSERT INTO pozytywka.imported_weekly_stats (track_id, week, plays, likes, skips)
SELECT 'track' || t, date '2025-01-06' + 7 * w,
	   1 + floor(exp(lvl + 0.3 * sin(w / 5.0 + t) + 0.2 * random())),
	   floor(exp(lvl - 2 + 0.3 * random())), floor(exp(lvl - 2.5 + 0.3 * random()))
  FROM (SELECT t, 1 + 1.5 * sqrt(-2 * ln(random())) * cos(2 * pi() * random()) AS lvl
		  FROM generate_series(1, $TRACKS) AS t) AS tr,
	   generate_series(0, 51) AS w;
ANALYZE;"
if echo "$MODELS" | grep -qw lstm; then
	train=$(timed "SELECT lstm_train()")
else
	train=n/a
fi
printf '\n%-8s %12s %12s %12s\n' model "cold s" "refresh s" "warm s"
for m in $MODELS; do
	cold=$(timed "SELECT * FROM top_tracks_next_week(50, '$m')")
	refresh=$(timed "SELECT * FROM refresh_forecasts(NULL, ARRAY['$m'])")
	warm=$(timed "SELECT * FROM top_tracks_next_week(50, '$m')")
	printf '%-8s %12s %12s %12s\n' "$m" "$cold" "$refresh" "$warm"
done
if echo "$MODELS" | grep -qw lstm; then
	# the list straight from the network: no cached forecasts; with the
	# input windows lstm_train cached, and with them built from the rows
	sql "DELETE FROM pozytywka.forecast_runs WHERE model = 'lstm'"
	cached_inputs=$(timed "SELECT * FROM top_tracks_next_week(50, 'lstm')")
	sql "DELETE FROM pozytywka.lstm_inputs"
	from_rows=$(timed "SELECT * FROM top_tracks_next_week(50, 'lstm')")
	printf '\nlstm straight from the network (no cached forecasts): %s s with cached inputs, %s s building the inputs\n' \
		"$cached_inputs" "$from_rows"
fi
view=$(timed "SELECT refresh_top_tracks(50, 'pooled')")
read=$(timed "SELECT * FROM next_week_top_tracks")
printf '\nlstm_train: %s s; refresh_top_tracks: %s s; SELECT * FROM next_week_top_tracks: %s s\n' "$train" "$view" "$read"
echo "tracks: $TRACKS, weeks: 52, candidates: $(sql "SELECT count(*) FROM pozytywka.candidate_series(latest_complete_week())")"
