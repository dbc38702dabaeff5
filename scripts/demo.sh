#!/usr/bin/env bash
# The main job end to end on demo data: install what is missing, build and
# install pozytywka, start a throwaway cluster, create the extension,
# generate demo data, print next week's top 50 and the backtest.
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
\echo == the top 50 of next week (model auto, from the cache)
SELECT * FROM top_tracks_next_week(50);
\echo == backtest: overlap@50 over the last 8 weeks, every model
SELECT * FROM backtest_summary(50, 8, 'all');
SQL
