#!/usr/bin/env bash
# Per-week overlap@50 of every simple model, pooled and arima over the last
# 26 backtest weeks of each database given (datasets already loaded, e.g.
# by bench/charts_accuracy.sh's chart_data.sql or pozytywka-import), as CSV
# db,week,model,overlap on stdout: the input of sim.py.
# Usage: bash bench/auto_rule/pull.sh db... > overlaps.csv   (PG* variables set)
set -euo pipefail
for db in "$@"; do
	for m in naive mean4 mean8 ewma trend pooled arima; do
		psql -X -q -At -F, -d "$db" -c "SELECT '$db', week, '$m', overlap FROM backtest_top_tracks(50, 26, '$m')"
	done
done
