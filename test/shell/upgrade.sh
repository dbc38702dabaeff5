#!/usr/bin/env bash
# Upgrades: for every earlier release whose install script is kept in
# test/fixtures/upgrade/pozytywka--VERSION.sql (its commit in CHANGELOG.md):
#  1. the fixture is exactly what the release's commit built (git archive of
#     its src/sql, concatenated as its Makefile did), when the clone has the
#     commit (a shallow CI clone may not: then the committed fixture is used,
#     and the test says so)
#  2. the old install script, installed next to the current files, runs
#     against the current library: CREATE EXTENSION ... VERSION 'old' (every
#     C function it declares must resolve), demo data, a trained LSTM, every
#     model kind's list, the cached forecasts and the dashboard's list
#  3. ALTER EXTENSION pozytywka UPDATE, and then:
#     - every member object is defined exactly as in a fresh CREATE EXTENSION
#       of the current version (test/fixtures/upgrade/describe_extension.sql:
#       functions, tables, columns, constraints, indexes, triggers, views,
#       types, sequences, comments, ACLs, config dump, ...; the differing lines
#       are printed)
#     - an empty installation updated the same way also has the same rows in
#       every member table (reference rows such as model_kinds)
#     - the user's data (every pg_extension_config_dump table, the weekly
#       aggregate, the dashboard's list) and the models are unchanged
#     - top_tracks_next_week gives the same list for every model kind
set -u
cd "$(dirname "$0")/../.."
export PGDATABASE=postgres
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
q() { psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
PG_BIN=${PZ_PG_BIN:-/usr/lib/postgresql/15/bin}
EXTDIR=$("$PG_BIN/pg_config" --sharedir)/extension
CURRENT=$(sed -n "s/^default_version = '\(.*\)'/\1/p" pozytywka.control)
FIX=test/fixtures/upgrade
DESCRIBE=$FIX/describe_extension.sql
OLD=pz_upgrade_old
EMPTY=pz_upgrade_empty
FRESH=pz_upgrade_fresh
tmp=$(mktemp -d /tmp/pz_upgrade.XXXXXX)
chmod 755 "$tmp"
installed=()
cleanup() {
	# put the extension directory back as it was
	for f in "${installed[@]}"; do
		if [ -e "$tmp/saved/$f" ]; then cp -p "$tmp/saved/$f" "$EXTDIR/$f"; else rm -f "$EXTDIR/$f"; fi
	done
	for d in $OLD $EMPTY $FRESH; do dropdb --if-exists $d 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/saved"

show_diff() { diff -u "$1" "$2" | sed -n '3,$p' | grep '^[-+]' | head -${3:-60} | sed 's/^/#   /'; }

# the data the update must keep: rows of every config-dump table (with the
# columns it had before the update), the weekly aggregate, the dashboard's list
make_snapshot_sql() {
	q "$1" "SELECT CASE c.relkind
				WHEN 'S' THEN format('SELECT %L, last_value, is_called FROM %s;', c.oid::regclass, c.oid::regclass)
				ELSE format('SELECT %L, count(*), md5(coalesce(string_agg(r, E''\\n'' ORDER BY r), '''')) FROM (SELECT ROW(%s)::text AS r FROM %s) AS s;',
							c.oid::regclass,
							(SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
							   FROM pg_attribute AS a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
							c.oid::regclass) END
		  FROM pg_class AS c
		 WHERE c.oid = ANY ((SELECT extconfig FROM pg_extension WHERE extname = 'pozytywka')
							|| ARRAY['pozytywka.weekly_stats'::regclass, 'pozytywka.top_tracks_snapshot'::regclass]::oid[])
		 ORDER BY c.oid::regclass::text"
}
lists_sql="SELECT k.kind, t.rank, t.track_id, t.predicted_score, t.model
			 FROM (SELECT name AS kind FROM pozytywka.model_kinds UNION ALL SELECT 'auto') AS k
			CROSS JOIN LATERAL top_tracks_next_week(50, k.kind) AS t
			ORDER BY 1, 2"
models_sql="SELECT model_id, kind, is_active, md5(lstm_export(model_id)::text) FROM pozytywka.models ORDER BY 1"

for fixture in "$FIX"/pozytywka--*.sql; do
	base=$(basename "$fixture")
	case "$base" in pozytywka--*--*) continue ;; esac
	v=${base#pozytywka--}
	v=${v%.sql}
	echo "# upgrade from $v to $CURRENT"

	# ---- 1. the fixture is what the release's commit built
	commit=$(sed -n "s/^## \[\?$v\]\? .*commit \`\([0-9a-f]\{7,40\}\)\`.*/\1/p" CHANGELOG.md | head -1)
	[ -n "$commit" ]
	ok $? "CHANGELOG.md records the commit of $v (${commit:-none})"
	if [ -n "$commit" ] && git cat-file -e "$commit^{commit}" 2>/dev/null; then
		bash "$FIX/release_script.sh" "$commit" >"$tmp/built-$v.sql" && cmp -s "$tmp/built-$v.sql" "$fixture"
		ok $? "$base equals the install script built from commit $commit (git archive of src/sql)"
	else
		skip "commit ${commit:-?} of $v is not in this clone (shallow?): using the committed $base unchecked"
	fi

	# ---- 2. the old script against the current library
	[ -e "$EXTDIR/$base" ] && cp -p "$EXTDIR/$base" "$tmp/saved/$base"
	installed+=("$base")
	cp "$fixture" "$EXTDIR/$base" && chmod 644 "$EXTDIR/$base"
	for d in $OLD $EMPTY $FRESH; do dropdb --if-exists $d 2>/dev/null; createdb $d || { echo "Bail out! createdb"; exit 1; }; done
	[ "$(q $OLD "SELECT count(*) FROM pg_available_extension_versions WHERE name = 'pozytywka' AND version IN ('$v', '$CURRENT')")" = 2 ]
	ok $? "the server sees versions $v and $CURRENT of pozytywka in $EXTDIR"
	out=$(q $OLD "CREATE EXTENSION pozytywka VERSION '$v'" 2>&1) &&
		[ "$(q $OLD "SELECT extversion FROM pg_extension WHERE extname = 'pozytywka'")" = "$v" ]
	ok $? "CREATE EXTENSION pozytywka VERSION '$v' with the current library (every C function of $v resolves in it)"
	[ -n "$out" ] && echo "$out" | grep -v '^CREATE EXTENSION$' | sed 's/^/#   /'
	psql -X -q -At -v ON_ERROR_STOP=1 -d $OLD >"$tmp/load.out" 2>&1 <<-'SQL'
		SET client_min_messages = warning;
		SELECT * FROM generate_demo_data(weeks => 20, events_per_week => 3000, tracks => 300,
										 artists => 40, users => 300, seed => 7);
		INSERT INTO pozytywka.imported_weekly_stats (track_id, week, plays, likes, skips)
		SELECT 'imported-' || t, pozytywka.first_week() + 7 * w, 20 + (t * 7 + w * 3) % 40, t % 5, w % 3
		  FROM generate_series(1, 30) AS t, generate_series(0, 19) AS w;
		SELECT set_score_weights(1.0, 0.9, 0.4);
		SELECT lstm_train(window_weeks => 4, hidden => 4, epochs => 2, activate => 'always');
		SELECT weekly_refresh(false);
	SQL
	rc=$?
	ok $rc "with the current library, $v loads demo data and imported counts, trains an LSTM, caches every forecast and the dashboard's list"
	[ $rc = 0 ] || sed 's/^/#   /' "$tmp/load.out" | tail -5
	q $OLD "$lists_sql" >"$tmp/lists-before" 2>"$tmp/lists.err" &&
		[ "$(cut -d'|' -f1 "$tmp/lists-before" | sort -u | wc -l)" -ge 5 ] &&
		q $OLD "SELECT arima_forecast(ARRAY[1,3,2,4,3,5,4,6]::float8[], 1)" >/dev/null &&
		q $OLD "SELECT lstm_forward(m, ARRAY[[1,0,0,1,0],[2,0,0,1,0],[3,0,0,1,0],[4,0,0,1,0]]::float8[]) FROM (SELECT max(model_id) AS m FROM pozytywka.models) AS x" >/dev/null &&
		q $OLD "SELECT lstm_import(lstm_export(max(model_id))) FROM pozytywka.models" >/dev/null
	ok $? "$v's functions run on the current library: the list of every model kind ($(cut -d'|' -f1 "$tmp/lists-before" | sort -u | tr '\n' ' ')), ARIMA, the network, import/export"
	[ -s "$tmp/lists.err" ] && sed 's/^/#   /' "$tmp/lists.err" | head -5
	make_snapshot_sql $OLD >"$tmp/snapshot.sql"
	psql -X -At -v ON_ERROR_STOP=1 -d $OLD -f "$tmp/snapshot.sql" >"$tmp/data-before"
	q $OLD "$models_sql" >"$tmp/models-before"

	# ---- 3. update
	out=$(q $OLD "ALTER EXTENSION pozytywka UPDATE" 2>&1) &&
		[ "$(q $OLD "SELECT extversion FROM pg_extension WHERE extname = 'pozytywka'")" = "$CURRENT" ]
	ok $? "ALTER EXTENSION pozytywka UPDATE takes a loaded $v database to $CURRENT"
	echo "$out" | grep -v '^ALTER EXTENSION$' | sed 's/^/#   /'

	q $FRESH "CREATE EXTENSION pozytywka" >/dev/null
	psql -X -At -d $FRESH -f "$DESCRIBE" >"$tmp/fresh.def" 2>&1
	psql -X -At -d $OLD -f "$DESCRIBE" >"$tmp/updated.def" 2>&1
	[ "$(grep -c '^member ' "$tmp/fresh.def")" -gt 100 ] && cmp -s "$tmp/fresh.def" "$tmp/updated.def"
	ok $? "every member object of $v updated to $CURRENT is defined as in a fresh install ($(grep -c '^member ' "$tmp/fresh.def") members, $(wc -l <"$tmp/fresh.def") lines of definitions)"
	if ! cmp -s "$tmp/fresh.def" "$tmp/updated.def"; then
		echo "#   --- fresh install of $CURRENT, +++ $v updated (test/fixtures/upgrade/describe_extension.sql):"
		show_diff "$tmp/fresh.def" "$tmp/updated.def" 80
	fi

	q $EMPTY "CREATE EXTENSION pozytywka VERSION '$v'" >/dev/null && q $EMPTY "ALTER EXTENSION pozytywka UPDATE" >/dev/null
	psql -X -At -v rows=on -d $FRESH -f "$DESCRIBE" >"$tmp/fresh.rows" 2>&1
	psql -X -At -v rows=on -d $EMPTY -f "$DESCRIBE" >"$tmp/empty.rows" 2>&1
	[ "$(grep -c '^row of ' "$tmp/fresh.rows")" -gt 10 ] && cmp -s "$tmp/fresh.rows" "$tmp/empty.rows"
	ok $? "an empty $v updated to $CURRENT equals a fresh install, rows of member tables included ($(grep -c '^row of ' "$tmp/fresh.rows") rows)"
	if ! cmp -s "$tmp/fresh.rows" "$tmp/empty.rows"; then
		echo "#   --- fresh install of $CURRENT, +++ empty $v updated:"
		show_diff "$tmp/fresh.rows" "$tmp/empty.rows" 40
	fi

	psql -X -At -v ON_ERROR_STOP=1 -d $OLD -f "$tmp/snapshot.sql" >"$tmp/data-after" 2>&1
	[ "$(wc -l <"$tmp/data-before")" -ge 10 ] && cmp -s "$tmp/data-before" "$tmp/data-after"
	ok $? "the data survive the update: $(grep -c . "$tmp/data-before") tables and sequences, counts and digests ($(grep '^pozytywka.sessions|' "$tmp/data-before" | cut -d'|' -f2) events)"
	cmp -s "$tmp/data-before" "$tmp/data-after" || show_diff "$tmp/data-before" "$tmp/data-after"
	q $OLD "$models_sql" >"$tmp/models-after" 2>&1
	[ -s "$tmp/models-before" ] && cmp -s "$tmp/models-before" "$tmp/models-after"
	ok $? "the models survive: $(wc -l <"$tmp/models-before") models, same ids, activity and exported weights"
	cmp -s "$tmp/models-before" "$tmp/models-after" || show_diff "$tmp/models-before" "$tmp/models-after"
	q $OLD "$lists_sql" >"$tmp/lists-after" 2>&1
	[ -s "$tmp/lists-before" ] && cmp -s "$tmp/lists-before" "$tmp/lists-after"
	ok $? "top_tracks_next_week gives the same lists after the update ($(wc -l <"$tmp/lists-before") rows, every model kind and auto)"
	cmp -s "$tmp/lists-before" "$tmp/lists-after" || show_diff "$tmp/lists-before" "$tmp/lists-after" 20
done
echo "1..$n"
