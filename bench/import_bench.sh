#!/usr/bin/env bash
# bench/import_bench.sh — how fast pozytywka-import loads a big sessions.jsonl,
# against PostgreSQL's own COPY of the same events in the same run.
#
#   bench/import_bench.sh [N]        N events (default 1,000,000)
#
# Generates a deterministic sessions.jsonl (bench/import_gen.py: the real
# export's faults at about its rates) and the same events as COPY text,
# builds and installs the extension (into $PZ_PRIVATE_PG when set, else a
# private copy of the PostgreSQL tree made for this run), starts a throwaway
# cluster and prints one table:
#   COPY floor      COPY of the events (text) into a plain table, no extension
#   COPY + key      the same into a table with pozytywka.sessions' unique key
#   import          pozytywka-import into a fresh database (parse, COPY
#                   binary to staging, repairs, insert with the key and the
#                   weekly-aggregate triggers, rejects, run row)
#   import again    the same file again (every line a duplicate)
#   no triggers     import into a fresh database whose sessions table has its
#                   triggers disabled: the importer's own cost, without the
#                   weekly aggregate's maintenance
# Figures go to bench/import.md.  Run as root from anywhere.
set -eu
cd "$(dirname "$0")/.."
N=${1:-1000000}
own_priv=
if [ -z "${PZ_PRIVATE_PG:-}" ]; then
	PZ_PRIVATE_PG=$(mktemp -d /tmp/pozytywka-priv.XXXXXX)
	own_priv=$PZ_PRIVATE_PG
fi
export PZ_PRIVATE_PG
. scripts/lib.sh
data=$(mktemp -d /tmp/pz_import_bench.XXXXXX)
chmod 755 "$data"
cleanup() {
	pz_cluster_stop
	rm -rf "$data"
	[ -n "$own_priv" ] && rm -rf "$own_priv"
	return 0
}
trap cleanup EXIT

pz_build_install
pz_cluster_start
IMPORT=$(pg_config --bindir)/pozytywka-import
[ -x "$IMPORT" ] || IMPORT=$PZ_PG_BIN/pozytywka-import

python3 bench/import_gen.py "$data" "$N"
lines=$(wc -l <"$data/sessions.jsonl")
mb=$(($(stat -c %s "$data/sessions.jsonl") / 1048576))

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

createdb pz_bench_copy
psql -X -q -d pz_bench_copy -c 'CREATE TABLE ev (session_id bigint NOT NULL, "timestamp" timestamp NOT NULL,
	user_id integer, track_id text, event_type text NOT NULL)'
t0=$(now)
psql -X -q -d pz_bench_copy -c "\\copy ev FROM '$data/sessions.tsv'"
t_copy=$(elapsed "$t0" "$(now)")
psql -X -q -d pz_bench_copy -c 'CREATE TABLE ev_key (LIKE ev)' \
	-c 'CREATE UNIQUE INDEX ON ev_key (session_id, "timestamp", event_type, track_id, user_id) NULLS NOT DISTINCT'
t0=$(now)
psql -X -q -d pz_bench_copy -c "\\copy ev_key FROM '$data/sessions.tsv'"
t_copy_key=$(elapsed "$t0" "$(now)")

createdb pz_bench_import
psql -X -q -d pz_bench_import -c 'CREATE EXTENSION pozytywka'
t0=$(now)
out1=$(PGDATABASE=pz_bench_import "$IMPORT" "$data")
t_imp=$(elapsed "$t0" "$(now)")
t0=$(now)
out2=$(PGDATABASE=pz_bench_import "$IMPORT" "$data")
t_again=$(elapsed "$t0" "$(now)")
createdb pz_bench_notrig
psql -X -q -d pz_bench_notrig -c 'CREATE EXTENSION pozytywka' -c 'ALTER TABLE pozytywka.sessions DISABLE TRIGGER USER'
t0=$(now)
PGDATABASE=pz_bench_notrig "$IMPORT" -q "$data"
t_notrig=$(elapsed "$t0" "$(now)")

echo
echo "$out1" | sed 's/^/  /'
echo
echo "sessions.jsonl: $lines lines, $mb MB; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '| %-44s | %9s | %11s | %13s |\n' "what" "seconds" "lines/s" "x COPY floor"
printf '|%s|%s|%s|%s|\n' "----------------------------------------------" "-----------" "-------------" "---------------"
row() { printf '| %-44s | %9.2f | %11.0f | %13.2f |\n' "$1" "$2" "$(echo "$lines / $2" | bc -l)" "$(echo "$2 / $t_copy" | bc -l)"; }
row "COPY of the events into a plain table" "$t_copy"
row "COPY into a table with the sessions' key" "$t_copy_key"
row "pozytywka-import, fresh database" "$t_imp"
row "pozytywka-import of the same file again" "$t_again"
row "pozytywka-import, sessions' triggers disabled" "$t_notrig"
dropdb pz_bench_copy
dropdb pz_bench_import
dropdb pz_bench_notrig
