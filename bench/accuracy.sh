#!/usr/bin/env bash
# The business metric for every model on every dataset (issue 5):
# backtest_top_tracks(50, 8, model) -> mean and min overlap@50, and the time
# each model's backtest takes.  Datasets: the demo generator's defaults,
# the same demo history loaded as weekly counts only (imported_weekly_stats),
# and the real exports in ../shared/data when present.  The LSTM is trained
# out of sample: on the weeks before the 8 backtest weeks.
# Usage: bash bench/accuracy.sh   (own cluster; prints a markdown table)
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
pz_install_deps
pz_build_install
pz_cluster_start
trap pz_cluster_stop EXIT
MODELS="naive mean4 mean8 ewma trend arima pooled lstm ensemble auto"
sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }

run_dataset() { # run_dataset name
	local name=$1 t0 t1 row
	sql "SELECT lstm_train(as_of => latest_complete_week() - 56, activate => 'always')" >/dev/null 2>&1 ||
		echo "   ($name: lstm could not be trained out of sample)" >&2
	for m in $MODELS; do
		t0=$(date +%s.%N)
		row=$(sql "SELECT round(mean_overlap::numeric, 3) || ' | ' || round(min_overlap::numeric, 2) || ' | ' || weeks_tested
				   FROM backtest_summary(50, 8, '$m')" 2>/dev/null)
		t1=$(date +%s.%N)
		[ -n "$row" ] || row="n/a | n/a | 0"
		printf '| %s | %s | %s | %.1f |\n' "$name" "$m" "$row" "$(echo "$t1 - $t0" | bc)"
	done
}

echo "| dataset | model | mean overlap@50 | min | weeks | seconds |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
DB=demo; createdb $DB; sql "CREATE EXTENSION pozytywka"; sql "SELECT generate_demo_data()" >/dev/null
run_dataset "demo (events)"
DB=demo_weekly; createdb $DB; sql "CREATE EXTENSION pozytywka"
psql -X -q -d demo -c "\copy (SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_history WHERE week <= latest_complete_week()) TO '/tmp/pz_demo_weekly.csv' CSV"
sql "\copy pozytywka.imported_weekly_stats FROM '/tmp/pz_demo_weekly.csv' CSV"
rm -f /tmp/pz_demo_weekly.csv
run_dataset "demo (weekly counts only)"
for export in pozytywka-2023 pozytywka-2024; do
	[ -d "../shared/data/$export" ] || continue
	DB=${export//-/_}; createdb $DB; sql "CREATE EXTENSION pozytywka"
	PGDATABASE=$DB "$(pg_config --bindir)/pozytywka-import" "../shared/data/$export" >/dev/null
	run_dataset "$export (real)"
done
