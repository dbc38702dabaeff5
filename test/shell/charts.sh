#!/usr/bin/env bash
# Generalisation guard on chart-like weekly data (bench/charts/chart_data.sql:
# a truncated weekly top-200 chart loaded as weekly counts only, a world
# unlike the demo generator's): on three scenarios the pooled model is not
# worse than persistence, and 'auto' is not worse than the best simple
# baseline of the same 8 backtest weeks (tolerance 0.01: one track in two
# weeks); across a December the pooled model's annual features must show.  Session 2 measured +0.017 / +0.035 here; before the pooled model
# read weeks below the chart's cut as "below the cut" it was 0.10 below
# persistence on stable/1, and auto 0.03 below on other seeds.
set -u
cd "$(dirname "$0")/../.."
DB=pz_charts
TOL=0.01
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
q() { psql -X -At -v ON_ERROR_STOP=1 -d $DB -c "$1"; }
mean() { q "SELECT round(mean_overlap::numeric, 3) FROM backtest_summary(50, 8, '$1')"; }

for scenario in stable volatile holiday; do
	dropdb --if-exists $DB 2>/dev/null
	createdb $DB && q "CREATE EXTENSION pozytywka" >/dev/null || { echo "Bail out! no database"; exit 1; }
	psql -X -q -v ON_ERROR_STOP=1 -d $DB -v scenario=$scenario -v seed=1 \
		-f bench/charts/chart_data.sql >/dev/null 2>&1
	ok $? "$scenario/1: chart loaded ($(q "SELECT count(*) FROM pozytywka.imported_weekly_stats") weekly rows)"
	best=0
	best_name=
	for m in naive mean4 mean8 ewma trend; do
		v=$(mean $m)
		if [ "$(echo "$v > $best" | bc)" = 1 ]; then best=$v; best_name=$m; fi
	done
	naive=$(mean naive)
	pooled=$(mean pooled)
	auto=$(mean auto)
	[ -n "$pooled" ] && [ "$(echo "$pooled >= $naive - $TOL" | bc)" = 1 ]
	ok $? "$scenario/1: pooled $pooled vs persistence $naive (tolerance $TOL)"
	[ -n "$auto" ] && [ "$(echo "$auto >= $best - $TOL" | bc)" = 1 ]
	ok $? "$scenario/1: auto $auto vs the best simple baseline $best_name $best (tolerance $TOL)"
	if [ $scenario = holiday ]; then
		# 130 weeks, backtest December-January: the annual features must
		# see the holiday songs coming and going (they were inert, 0.765
		# vs 0.768, while history_weeks = 52 bounded the window)
		[ "$(echo "$pooled >= $naive + 0.03" | bc)" = 1 ]
		ok $? "$scenario/1: pooled $pooled at least 0.03 above persistence $naive (annual recurrence)"
	fi
done
dropdb $DB
echo "1..$n"
