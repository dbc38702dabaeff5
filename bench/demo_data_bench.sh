#!/usr/bin/env bash
# bench/demo_data_bench.sh — how long generate_demo_data() takes and what the
# generated dynamics look like.  Prints one table; figures go to
# bench/demo_data.md.
#
#   bench/demo_data_bench.sh            default run + 1M events/week x 52 weeks
#   bench/demo_data_bench.sh --quick    default run only
#
# Builds and installs the extension, starts a throwaway cluster (scripts/lib.sh)
# and removes it at the end.  Run as root from anywhere.
set -eu
cd "$(dirname "$0")/.."
. scripts/lib.sh

quick=0
[ "${1:-}" = "--quick" ] && quick=1

echo "The C core alone (world + every week's events, no database):"
echo
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -Isrc/core bench/demo_data_core.c src/core/*.c \
	-lgsl -lgslcblas -lm -o /tmp/pz_demo_data_core.$$
/tmp/pz_demo_data_core.$$
rm -f /tmp/pz_demo_data_core.$$

# A private copy of PostgreSQL with the extension installed into it: other
# worktrees on this machine run `make install` into the shared
# /usr/share/postgresql/15 at any time, which would swap the extension under
# a long benchmark.  PostgreSQL finds share/ and lib/ relative to its binary,
# so a copy of the tree under one directory is a self-contained install.
PZ_PRIV=$(mktemp -d /tmp/pozytywka-priv.XXXXXX)
chmod 755 "$PZ_PRIV"
mkdir -p "$PZ_PRIV/usr/lib/postgresql" "$PZ_PRIV/usr/share/postgresql"
cp -a /usr/lib/postgresql/15 "$PZ_PRIV/usr/lib/postgresql/"
cp -a /usr/share/postgresql/15 "$PZ_PRIV/usr/share/postgresql/"
make -s -j2 >/dev/null
make -s install DESTDIR="$PZ_PRIV" >/dev/null
PZ_PG_BIN=$PZ_PRIV/usr/lib/postgresql/15/bin
PATH=$PZ_PG_BIN:$PATH
cleanup() {
	pz_cluster_stop
	rm -rf "$PZ_PRIV"
}
trap cleanup EXIT
pz_cluster_start

q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# run <db> <label> <generate_demo_data arguments>
run() {
	local db=$1 label=$2 args=$3 t0 t1 events stats secs
	createdb "$db"
	q -d "$db" -c 'CREATE EXTENSION pozytywka'
	t0=$(date +%s.%N)
	q -d "$db" -c "SELECT * FROM generate_demo_data($args)" >/dev/null
	t1=$(date +%s.%N)
	secs=$(echo "$t1 - $t0" | bc)
	events=$(q -d "$db" -c 'SELECT count(*) FROM pozytywka.sessions')
	stats=$(q -d "$db" -c 'SELECT count(*) FROM pozytywka.weekly_history')
	printf '| %-28s | %12s | %10s | %8.1f | %10.0f |\n' "$label" "$events" "$stats" "$secs" \
		"$(echo "$events / $secs" | bc -l)"
}

echo
echo "generate_demo_data() in the database (generation + insert + aggregate triggers):"
echo
echo "| run                          |       events | week rows  |   time s |   events/s |"
echo "|------------------------------|--------------|------------|----------|------------|"
run demo_default "default (52 w x ~150k)" ""
if [ $quick -eq 0 ]; then
	run demo_1m "52 w x 1M, 20k tracks" \
		"events_per_week => 1000000, tracks => 20000, artists => 3000, users => 100000, seed => 7"
fi

echo
echo "Top-50 overlap on the default data, backtest_summary(50, 8) (naive = week-over-week persistence):"
echo
echo "| model | weeks | mean overlap@50 | min | max |"
echo "|-------|-------|-----------------|-----|-----|"
q -d demo_default -F ' | ' -c "SELECT model, weeks_tested, round(mean_overlap::numeric, 3),
	round(min_overlap::numeric, 2), round(max_overlap::numeric, 2)
	FROM backtest_summary(50, 8, 'all') WHERE model <> 'auto'" | sed 's/^/| /; s/$/ |/'

echo
echo "Default data: events by type, and the share of the score of the top 1% of tracks:"
q -d demo_default -F ' | ' -c "SELECT event_type, count(*) FROM pozytywka.sessions GROUP BY 1 ORDER BY 1" |
	sed 's/^/    /'
q -d demo_default -c "WITH r AS (SELECT week, score, row_number() OVER (PARTITION BY week ORDER BY score DESC) AS rk,
	count(*) OVER (PARTITION BY week) AS n FROM pozytywka.weekly_scores)
	SELECT '    top-1% share of the weekly score (mean over weeks): ' ||
	round(avg(s)::numeric, 3) FROM (SELECT week, sum(score) FILTER (WHERE rk <= 50) / sum(score) AS s
	FROM r GROUP BY week) AS x"
