#!/usr/bin/env bash
# Rising tracks and calibration (issue 13, items 3 and 4): for every model
# kind on several datasets, backtest_summary(50, 8, model) -> mean
# overlap@50, the share of the weeks' new entries caught, the Brier score of
# p_top against persistence's implied 0/1 on the same rows, and the coverage
# of the 80% interval; then the reliability table of auto's p_top.
# Datasets: the demo's defaults; the Billboard Hot 100 1990-2005 (weekly
# counts, ../shared/data, when present); the real exports (exports); chart-like data of bench/charts
# (--charts="stable/1 small/2 ...").
# Usage: bash bench/rising_calibration.sh [--datasets="demo billboard charts"]
#        [--charts="stable/1 volatile/1"] [--models="naive ... auto"]
# Uses the cluster of PGHOST/PGPORT when PZ_USE_CLUSTER=1, else its own.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
DATASETS="demo billboard exports charts"
CHARTS="stable/1 volatile/1 holiday/1 small/1"
MODELS="naive mean4 mean8 ewma trend pooled arima auto"
for arg in "$@"; do
	case $arg in
		--datasets=*) DATASETS=${arg#*=} ;;
		--charts=*) CHARTS=${arg#*=} ;;
		--models=*) MODELS=${arg#*=} ;;
		*) echo "usage: $0 [--datasets=...] [--charts=...] [--models=...]" >&2; exit 2 ;;
	esac
done
if [ "${PZ_USE_CLUSTER:-0}" != 1 ]; then
	pz_install_deps || exit 1
	pz_build_install || exit 1
	pz_cluster_start || exit 1
	trap pz_cluster_stop EXIT
fi
BB=../shared/data/billboard-hot100-1990-2005
sql() { psql -X -q -At -F ' | ' -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
fresh_db() { dropdb --if-exists "$DB" 2>/dev/null; createdb "$DB" && sql "CREATE EXTENSION pozytywka"; }

report() { # report dataset-name
	local m row t0 t1
	for m in $MODELS; do
		t0=$(date +%s.%N)
		row=$(sql "SELECT round(mean_overlap::numeric, 3), round(entries_caught::numeric, 3),
						  round(brier::numeric, 3), round(brier_persistence::numeric, 3),
						  round(coverage::numeric, 3)
					 FROM backtest_summary(50, 8, '$m')" 2>/dev/null)
		t1=$(date +%s.%N)
		[ -n "$row" ] || row="n/a | n/a | n/a | n/a | n/a"
		printf '| %s | %s | %s | %.1f |\n' "$1" "$m" "$row" "$(echo "$t1 - $t0" | bc)"
	done
	sql "SELECT '| $1 | reliability of auto | ' || string_agg(format('%s–%s: %s rows, p %s, seen %s',
				 p_from, p_to, list_rows, round(mean_p::numeric, 2), round(observed::numeric, 2)), '; '
				 ORDER BY p_from) || ' | | | | |'
		   FROM backtest_reliability(50, 8, 'auto')"
}

echo "| dataset | model | overlap@50 | entries caught | Brier | Brier, persistence | 80% coverage | seconds |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for d in $DATASETS; do
	case $d in
	demo)
		DB=pz_rc_demo; fresh_db && sql "SELECT generate_demo_data()" >/dev/null && report "demo" ;;
	billboard)
		[ -d "$BB" ] || { echo "| billboard | skipped: $BB absent | | | | | | |"; continue; }
		DB=pz_rc_billboard; fresh_db || continue
		sql "\copy pozytywka.imported_weekly_stats (track_id, week, plays, likes, skips) FROM '$BB/weekly_counts.csv' CSV HEADER"
		report "billboard 1990-2005" ;;
	exports)
		for e in pozytywka-2023 pozytywka-2024; do
			[ -d "../shared/data/$e" ] || { echo "| $e | skipped: absent | | | | | | |"; continue; }
			DB=pz_rc_export; fresh_db || continue
			PGDATABASE=$DB "$(pg_config --bindir)/pozytywka-import" "../shared/data/$e" >/dev/null 2>&1
			report "$e (real)"
		done ;;
	charts)
		for c in $CHARTS; do
			DB=pz_rc_charts; fresh_db || continue
			psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -v scenario="${c%/*}" -v seed="${c#*/}" \
				-f bench/charts/chart_data.sql >/dev/null || continue
			report "chart $c"
		done ;;
	esac
	dropdb --if-exists "$DB" 2>/dev/null
done
