#!/usr/bin/env bash
# The main job end to end on demo data: install what is missing, build and
# install pozytywka, start a throwaway cluster, create the extension,
# generate demo data, print next week's top 50 and the backtest, and write
# the report page build/report.html.
#
#   bash scripts/demo.sh               (KEEP_CLUSTER=1 leaves the cluster running)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

pz_install_deps
pz_build_install
pz_cluster_start
if [ "${KEEP_CLUSTER:-0}" = 1 ]; then
	trap 'echo "cluster kept: export PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER"' EXIT
else
	trap pz_cluster_stop EXIT
fi

psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
\timing on
CREATE EXTENSION pozytywka;
\echo == generating demo data
SELECT * FROM generate_demo_data();
\echo == the weekly job: forecasts of every model and the automatic choice, cached
SELECT model, as_of, cached, round(seconds::numeric, 2) AS seconds FROM refresh_forecasts();
\echo == the top 50 of next week (model auto, from the cache; scores rounded, p_top in percent)
SELECT rank, track_id, track_name, artist_name, round(predicted_score::numeric, 1) AS predicted_score,
	   round(last_week_score::numeric, 1) AS last_week_score, model,
	   round(lower::numeric, 1) AS lower, round(upper::numeric, 1) AS upper,
	   round((p_top * 100)::numeric) AS p_top_percent
  FROM top_tracks_next_week(50);
\echo == backtest: overlap@50 over the last 8 weeks, every model
SELECT model, weeks_tested, round(mean_overlap::numeric, 3) AS mean_overlap,
	   round(min_overlap::numeric, 3) AS min_overlap, round(max_overlap::numeric, 3) AS max_overlap,
	   round(entries_caught::numeric, 3) AS entries_caught, round(brier::numeric, 3) AS brier,
	   round(brier_persistence::numeric, 3) AS brier_persistence, round(coverage::numeric, 3) AS coverage
  FROM backtest_summary(50, 8, 'all');
SQL
# the same as a picture: one HTML page (pozytywka-report, installed beside pozytywka-import)
mkdir -p build
"$PZ_PG_BIN/pozytywka-report" -o build/report.html
echo "== the report: $PWD/build/report.html (open it in a browser)"
