#!/usr/bin/env bash
# Exported symbols of the server module (the Makefile builds it with
# -fvisibility=hidden; see src/pozytywka.h).
#  1. every C symbol named by a CREATE FUNCTION ... AS 'MODULE_PATHNAME',
#     'sym' of the install script or an upgrade script is exported, with its
#     pg_finfo_sym, and so are Pg_magic_func and _PG_init
#  2. nothing else is exported: the pure core's names stay inside the module
#     and cannot clash with another library loaded into the same backend
#  3. every external name the pure core defines (src/core/*.o) starts with
#     pz_ (the core is also linked into the tests, fuzzers and benchmarks)
# Uses the pozytywka.so of the tree (built with make when missing).
set -u
cd "$(dirname "$0")/../.."
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}

echo "1..5"
[ -f pozytywka.so ] || make -s -j2 PG_CONFIG="$PG_CONFIG" >/dev/null 2>&1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# the C symbols the SQL scripts name ('MODULE_PATHNAME' followed by 'sym',
# on one line or the next); a MODULE_PATHNAME without a symbol is counted so
# that the parse cannot miss one silently
perl -0777 -ne '
	while (/\x27MODULE_PATHNAME\x27(\s*,\s*\x27([A-Za-z_][A-Za-z_0-9]*)\x27)?/g) {
		print defined $2 ? "$2\n" : "MISSING-SYMBOL\n";
	}' src/sql/*.sql src/sql/upgrade/*.sql | sort -u >"$work/sql"
grep -q . "$work/sql" && ! grep -q MISSING-SYMBOL "$work/sql"
ok $? "the SQL scripts name $(wc -l <"$work/sql") C symbols, each with an explicit link symbol"

{
	echo Pg_magic_func
	echo _PG_init
	sed 's/^/pg_finfo_/' "$work/sql"
	cat "$work/sql"
} | sort -u >"$work/expected"

if nm -D --defined-only pozytywka.so >"$work/nm" 2>"$work/nm.err"; then
	awk '{ print $NF }' "$work/nm" | sort -u >"$work/exported"
	ok 0 "nm -D lists $(wc -l <"$work/exported") exported symbols of pozytywka.so"
else
	cat "$work/nm.err" | sed 's/^/# /'
	: >"$work/exported"
	ok 1 "nm -D lists the exported symbols of pozytywka.so"
fi

missing=$(comm -23 "$work/expected" "$work/exported")
[ -z "$missing" ]
ok $? "every SQL entry point, its pg_finfo_, Pg_magic_func and _PG_init are exported"
[ -n "$missing" ] && echo "$missing" | sed 's/^/# not exported: /'

extra=$(comm -13 "$work/expected" "$work/exported")
[ -z "$extra" ]
ok $? "nothing else is exported ($(echo "$extra" | grep -c .) extra)"
[ -n "$extra" ] && echo "$extra" | head -30 | sed 's/^/# exported but not an entry point: /'

core_names=$(nm --defined-only -g src/core/*.o 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u)
unprefixed=$(echo "$core_names" | grep -v '^pz_')
[ -n "$core_names" ] && [ -z "$unprefixed" ]
ok $? "the core's $(echo "$core_names" | grep -c .) external names all start with pz_"
[ -n "$unprefixed" ] && echo "$unprefixed" | head -30 | sed 's/^/# without pz_: /'
exit 0
