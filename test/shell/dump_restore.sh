#!/usr/bin/env bash
# Backup and restore: a database with events, imported weekly counts, custom
# settings, a trained and an imported model, an importer run with a rejected
# line and a pg_cron schedule is dumped with pg_dump -Fc and restored with
# pg_restore into a fresh cluster (a new server: its empty postgres
# database, pg_cron preloaded as on the old one), and then:
#  - pg_dump and pg_restore exit 0 and print nothing on stderr
#  - the dump holds the user's data (every pg_extension_config_dump table)
#    and no derived cache (cached forecasts and automatic choices, the
#    LSTM's cached inputs, the dashboard's list); of the weekly aggregate,
#    only the rows of the user's own attached table (with keep_history they
#    hold weeks the table no longer has), not those of pozytywka.sessions
#  - the attached table is restored still attached, and its new events count
#  - the data, the settings, the models (ids, active model, weights) and the
#    schedule are as they were (the time a table was attached aside: the
#    built-in one is attached anew); the weekly aggregate was rebuilt on restore
#  - the sequences continue after the restored rows (a new model, a new
#    import run)
#  - top_tracks_next_week gives the same list for every model kind, and the
#    dashboard's list is the same after one refresh_top_tracks()
# The source is the test cluster's postgres database: pg_cron can only be
# created in cron.database_name (postgres there).
set -u
cd "$(dirname "$0")/../.."
SRC=postgres
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
q() { psql -X -At -v ON_ERROR_STOP=1 -d $SRC -c "$1"; }
PG_BIN=${PZ_PG_BIN:-/usr/lib/postgresql/15/bin}
tmp=$(mktemp -d /tmp/pz_dump.XXXXXX)
chmod 755 "$tmp"
SRC_HOST=$PGHOST SRC_PORT=$PGPORT SRC_CLUSTER=${PZ_CLUSTER_DIR:-}
DST_CLUSTER=
cleanup() {
	psql -X -q -d $SRC -c "DROP EXTENSION IF EXISTS pozytywka CASCADE" -c "DROP EXTENSION IF EXISTS pg_cron" -c "DROP SCHEMA IF EXISTS app CASCADE" >/dev/null 2>&1
	[ -n "$DST_CLUSTER" ] && (PZ_CLUSTER_DIR=$DST_CLUSTER pz_cluster_stop)
	rm -rf "$tmp"
}
trap cleanup EXIT
show_diff() { diff -u "$1" "$2" | sed -n '3,$p' | grep '^[-+]' | head -${3:-30} | sed 's/^/#   /'; }

# ---- the database to back up
psql -X -q -d $SRC -c "DROP EXTENSION IF EXISTS pozytywka CASCADE" -c "DROP EXTENSION IF EXISTS pg_cron" 2>/dev/null
q "CREATE EXTENSION pg_cron" >/dev/null && q "CREATE EXTENSION pozytywka" >/dev/null || { echo "Bail out! cannot create the extensions"; exit 1; }
mkdir -p "$tmp/export"
# an importer run: two artists and a line it rejects (import_runs, import_rejects)
printf '%s\n' '{"id": "a-1", "name": "Pierwszy", "genres": ["pop"]}' \
	'{"id": "a-2", "name": "Drugi \u0105", "genres": []}' '{"id": -1, "name": "bad"}' >"$tmp/export/artists.jsonl"
sd=$(cat test/fixtures/lstm/torch_state_dict.json)
psql -X -q -At -v ON_ERROR_STOP=1 -d $SRC -v sd="$sd" >"$tmp/load.out" 2>&1 <<-'SQL'
	SET client_min_messages = warning;
	SELECT * FROM generate_demo_data(weeks => 20, events_per_week => 3000, tracks => 300,
									 artists => 40, users => 300, seed => 11);
	INSERT INTO pozytywka.imported_weekly_stats (track_id, week, plays, likes, skips)
	SELECT 'imported-' || t, pozytywka.first_week() + 7 * w, 20 + (t * 7 + w * 3) % 40, t % 5, w % 3
	  FROM generate_series(1, 30) AS t, generate_series(0, 19) AS w;
	SELECT set_score_weights(1.0, 0.9, 0.4);
	UPDATE pozytywka.settings SET candidate_weeks = 6, auto_weeks = 4;
	SELECT lstm_train(window_weeks => 4, hidden => 4, epochs => 2, activate => 'always');
	-- an imported model (the PyTorch fixture of sql/lstm.sql), inactive
	SELECT lstm_import(:'sd');
	-- a schedule that never fires during the test (February 31st)
	SELECT schedule_weekly_refresh('0 4 31 2 *', false);
SQL
rc=$?
PGDATABASE=$SRC bin/pozytywka-import "$tmp/export" >>"$tmp/load.out" 2>&1
rc2=$?
# an event table of the user's own, attached with keep_history: its oldest
# events are then purged (retention), so their weeks live only in the
# aggregate — the dump must keep them
psql -X -q -At -v ON_ERROR_STOP=1 -d $SRC >>"$tmp/load.out" 2>&1 <<-'SQL'
	SET client_min_messages = warning;
	DROP SCHEMA IF EXISTS app CASCADE;
	CREATE SCHEMA app;
	CREATE TABLE app.events (at timestamptz NOT NULL, song text, action text);
	CREATE INDEX ON app.events (at);
	INSERT INTO app.events
	SELECT pozytywka.first_week() + i * interval '7 hours', 'own-' || i % 7,
		   (ARRAY['PLAY', 'PLAY', 'LIKE', 'SKIP', 'AD'])[1 + i % 5]
	  FROM generate_series(0, 399) AS i;
	SELECT attach_events('app.events', 'at', 'song', 'action', NULL, '{PLAY}', '{LIKE}', '{SKIP}');
	DELETE FROM app.events WHERE at < pozytywka.first_week() + interval '28 days';
SQL
rc_own=$?
q "SELECT weekly_refresh(false)" >/dev/null 2>>"$tmp/load.out"
rc3=$?
[ $rc = 0 ] && [ $rc2 = 0 ] && [ $rc3 = 0 ] && [ $rc_own = 0 ] &&
	[ "$(q "SELECT count(*) FROM pozytywka.import_rejects")" = 1 ] &&
	[ "$(q "SELECT count(*) FILTER (WHERE is_active) || '/' || count(*) FROM pozytywka.models")" = 1/2 ] &&
	[ "$(q "SELECT count(*) FROM cron.job WHERE jobname = 'pozytywka-weekly-refresh'")" = 1 ] &&
	[ "$(q "SELECT count(*) FROM next_week_top_tracks")" = 50 ]
ok $? "source: demo events, imported counts, settings, a trained (active) and an imported model, an import run with a rejected line, a pg_cron schedule, an attached table of the user's own with purged old events, cached forecasts and the dashboard's list"
grep -E 'ERROR' "$tmp/load.out" | head -5 | sed 's/^/#   /'

# what the restored database must have: the user's data (with the rows of the
# config tables), the aggregate, the models, the schedule, every list
snapshot_sql=$(q "SELECT string_agg(CASE c.relkind
				WHEN 'S' THEN format('SELECT %L, last_value, is_called FROM %s;', c.oid::regclass, c.oid::regclass)
				ELSE format('SELECT %L, count(*), md5(coalesce(string_agg(r, E''\\n'' ORDER BY r), '''')) FROM (SELECT (pg_catalog.to_jsonb(t) - ''attached_at'')::text AS r FROM %s AS t) AS s;',
							c.oid::regclass, c.oid::regclass) END, E'\n' ORDER BY c.oid::regclass::text)
		  FROM pg_class AS c
		 WHERE c.oid = ANY ((SELECT extconfig FROM pg_extension WHERE extname = 'pozytywka')
							|| ARRAY['pozytywka.weekly_history'::regclass, 'app.events'::regclass]::oid[])
		   AND c.oid NOT IN ('pozytywka.weekly_stats'::regclass, 'pozytywka.weekly_deltas'::regclass)")
lists_sql="SELECT k.kind, t.rank, t.track_id, round(t.predicted_score::numeric, 6), t.model
			 FROM (SELECT name AS kind FROM pozytywka.model_kinds UNION ALL SELECT 'auto') AS k
			CROSS JOIN LATERAL top_tracks_next_week(50, k.kind) AS t
			ORDER BY 1, 2"
models_sql="SELECT model_id, kind, is_active, md5(lstm_export(model_id)::text) FROM pozytywka.models ORDER BY 1"
cron_sql="SELECT jobname, schedule, command, database, username, active FROM cron.job ORDER BY jobid"
dash_sql="SELECT rank, track_id, round(predicted_score::numeric, 6), model, as_of, for_week, weights FROM next_week_top_tracks ORDER BY rank"
snapshot() {
	psql -X -At -v ON_ERROR_STOP=1 -d $SRC -c "$snapshot_sql" >"$tmp/$1.data" 2>&1
	q "$models_sql" >"$tmp/$1.models" 2>&1
	q "$cron_sql" >"$tmp/$1.cron" 2>&1
	q "$lists_sql" >"$tmp/$1.lists" 2>&1
}
snapshot before
q "$dash_sql" >"$tmp/before.dash"

# ---- dump
"$PG_BIN/pg_dump" -Fc -d $SRC -f "$tmp/db.dump" 2>"$tmp/dump.err"
rc=$?
[ $rc = 0 ] && [ ! -s "$tmp/dump.err" ]
ok $? "pg_dump -Fc exits $rc with nothing on stderr ($(du -k "$tmp/db.dump" | cut -f1) kB)"
sed 's/^/#   /' "$tmp/dump.err" | head -5
"$PG_BIN/pg_restore" -l "$tmp/db.dump" >"$tmp/toc"
config_tables=$(q "SELECT c.relname FROM pg_class AS c WHERE c.relkind = 'r' AND c.oid = ANY ((SELECT extconfig FROM pg_extension WHERE extname = 'pozytywka')::oid[]) ORDER BY 1")
missing=$(for t in $config_tables; do grep -q " TABLE DATA pozytywka $t " "$tmp/toc" || echo "$t"; done)
[ "$(echo $config_tables | wc -w)" -ge 10 ] && [ -z "$missing" ]
ok $? "the dump holds the data of every config-dump table ($(echo $config_tables | wc -w) tables; missing: ${missing:-none})"
caches="forecast_runs forecast_cache forecast_calibration auto_choice lstm_inputs top_tracks_snapshot"
dumped=$(for t in $caches; do grep -q " TABLE DATA pozytywka $t " "$tmp/toc" && echo "$t"; done)
[ -z "$dumped" ] && [ "$(q "SELECT count(*) FROM pozytywka.forecast_cache")" -gt 0 ]
ok $? "no derived cache is dumped ($caches; dumped: ${dumped:-none})"
# the aggregate only of the user's own attached tables (source_id, the 6th
# column, not 1): pozytywka.sessions' is rebuilt by its triggers on restore
"$PG_BIN/pg_restore" -a -t weekly_stats -f "$tmp/weekly_stats.data" "$tmp/db.dump"
own=$(grep -cP '^own-[0-9]+\t' "$tmp/weekly_stats.data")
ses=$(awk -F'\t' 'NF == 6 && $6 == 1' "$tmp/weekly_stats.data" | wc -l)
[ "$own" -gt 0 ] && [ "$ses" = 0 ]
ok $? "the weekly aggregate is dumped for the attached table only ($own rows; $ses of pozytywka.sessions)"

# ---- restore into a fresh cluster
. scripts/lib.sh
pz_cluster_start "shared_buffers = 128MB" "cron.database_name = 'postgres'" >/dev/null 2>&1
rc=$?
DST_CLUSTER=${PZ_CLUSTER_DIR:-}
DST_HOST=$PGHOST DST_PORT=$PGPORT
export PGHOST=$SRC_HOST PGPORT=$SRC_PORT PZ_CLUSTER_DIR=$SRC_CLUSTER
[ $rc = 0 ] && [ -n "$DST_CLUSTER" ] && [ "$DST_PORT" != "$SRC_PORT" ]
rc=$?
ok $rc "a fresh cluster for the restore (port $DST_PORT)"
[ $rc = 0 ] || { echo "1..$n"; exit 1; }
[ "$(PGHOST=$DST_HOST PGPORT=$DST_PORT psql -X -At -d postgres -c "SELECT count(*) FROM pg_extension WHERE extname <> 'plpgsql'")" = 0 ]
ok $? "its postgres database is empty (no extension)"
# roles first, as for any database whose objects are granted to roles
# (pozytywka_job, which runs the pg_cron job, holds grants on the extension's
# objects): pg_dumpall --roles-only, less the bootstrap superuser
"$PG_BIN/pg_dumpall" --roles-only 2>"$tmp/roles.err" | grep -Ev '^(CREATE|ALTER) ROLE postgres[ ;]' >"$tmp/roles.sql"
PGHOST=$DST_HOST PGPORT=$DST_PORT psql -X -q -v ON_ERROR_STOP=1 -d postgres -f "$tmp/roles.sql" >/dev/null 2>>"$tmp/roles.err"
rc=$?
[ $rc = 0 ] && [ ! -s "$tmp/roles.err" ] && grep -q 'CREATE ROLE pozytywka_job;' "$tmp/roles.sql"
ok $? "the roles restored first (pg_dumpall --roles-only: $(grep -c '^CREATE ROLE' "$tmp/roles.sql") roles, pozytywka_job among them)"
sed 's/^/#   /' "$tmp/roles.err" | head -5
PGHOST=$DST_HOST PGPORT=$DST_PORT "$PG_BIN/pg_restore" -d postgres "$tmp/db.dump" >"$tmp/restore.out" 2>"$tmp/restore.err"
rc=$?
[ $rc = 0 ] && [ ! -s "$tmp/restore.err" ]
ok $? "pg_restore exits $rc with nothing on stderr"
sed 's/^/#   /' "$tmp/restore.err" | head -10

# from here on, q and snapshot read the restored database
export PGHOST=$DST_HOST PGPORT=$DST_PORT
[ "$(q "SELECT extversion FROM pg_extension WHERE extname = 'pozytywka'")" = "$(sed -n "s/^default_version = '\(.*\)'/\1/p" pozytywka.control)" ]
ok $? "the restored database has pozytywka $(q "SELECT extversion FROM pg_extension WHERE extname = 'pozytywka'")"
[ "$(q "SELECT (SELECT count(*) FROM pozytywka.forecast_runs) + (SELECT count(*) FROM pozytywka.auto_choice)
		  + (SELECT count(*) FROM pozytywka.lstm_inputs) + (SELECT count(*) FROM pozytywka.forecast_calibration)
		  + (SELECT count(*) FROM next_week_top_tracks)")" = 0 ]
ok $? "the derived caches start empty (cached forecasts, automatic choices, LSTM inputs, dashboard list)"
snapshot after
cmp -s "$tmp/before.data" "$tmp/after.data"
ok $? "the data are as they were: $(wc -l <"$tmp/before.data") tables and sequences, rows and digests, the weekly aggregate rebuilt by the triggers ($(grep '^pozytywka.sessions|' "$tmp/before.data" | cut -d'|' -f2) events)"
cmp -s "$tmp/before.data" "$tmp/after.data" || show_diff "$tmp/before.data" "$tmp/after.data"
[ "$(q "SELECT w_play || ' ' || w_like || ' ' || w_skip || ' ' || candidate_weeks || ' ' || auto_weeks FROM pozytywka.effective_settings")" = "1 0.9 0.4 6 4" ]
ok $? "the settings are as they were (weights 1, 0.9, 0.4; candidate_weeks 6; auto_weeks 4)"
cmp -s "$tmp/before.models" "$tmp/after.models"
ok $? "the models are as they were: $(wc -l <"$tmp/before.models") models, ids, the active one, exported weights"
cmp -s "$tmp/before.models" "$tmp/after.models" || show_diff "$tmp/before.models" "$tmp/after.models"
[ -s "$tmp/before.cron" ] && cmp -s "$tmp/before.cron" "$tmp/after.cron"
ok $? "the pg_cron schedule is as it was: $(cut -d'|' -f1-3 "$tmp/after.cron" | head -1)"
cmp -s "$tmp/before.cron" "$tmp/after.cron" || show_diff "$tmp/before.cron" "$tmp/after.cron"
[ "$(q "SELECT relid::text || ' ' || keep_history FROM pozytywka.event_sources WHERE source_id <> 1")" = "app.events true" ] &&
	[ "$(q "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'app.events'::regclass AND tgname LIKE 'pozytywka_capture_%'")" = 4 ]
ok $? "the user's table is restored and still attached (its source row and its 4 triggers)"
[ -s "$tmp/before.lists" ] && cmp -s "$tmp/before.lists" "$tmp/after.lists"
ok $? "top_tracks_next_week gives the same lists ($(cut -d'|' -f1 "$tmp/before.lists" | sort -u | wc -l) model kinds and auto, $(wc -l <"$tmp/before.lists") rows; scores to 6 decimals)"
cmp -s "$tmp/before.lists" "$tmp/after.lists" || show_diff "$tmp/before.lists" "$tmp/after.lists"
q "SELECT refresh_top_tracks()" >/dev/null && q "$dash_sql" >"$tmp/after.dash" && cmp -s "$tmp/before.dash" "$tmp/after.dash"
ok $? "after one refresh_top_tracks() the dashboard's list is the same ($(wc -l <"$tmp/after.dash") rows)"
cmp -s "$tmp/before.dash" "$tmp/after.dash" || show_diff "$tmp/before.dash" "$tmp/after.dash"

before_own=$(q "SELECT coalesce(sum(plays), 0) FROM pozytywka.weekly_history WHERE track_id = 'own-1'")
q "INSERT INTO app.events VALUES (now(), 'own-1', 'PLAY')" >/dev/null
[ "$(q "SELECT coalesce(sum(plays), 0) FROM pozytywka.weekly_history WHERE track_id = 'own-1'")" = "$((before_own + 1))" ]
ok $? "a new event of the restored attached table counts"

# the sequences continue after the restored rows
old_max=$(q "SELECT max(model_id) FROM pozytywka.models")
new_id=$(q "SELECT lstm_import(lstm_export($old_max))" 2>&1)
[ "$new_id" = $((old_max + 1)) ]
ok $? "a new model gets the next id ($new_id after $old_max)"
printf '%s\n' '{"id": "a-3", "name": "Trzeci", "genres": []}' '{"id": -1, "name": "bad again"}' >"$tmp/export/artists.jsonl"
PGDATABASE=postgres bin/pozytywka-import "$tmp/export" >"$tmp/import2.out" 2>&1 &&
	[ "$(q "SELECT count(*) || ' ' || count(DISTINCT run_id) FROM pozytywka.import_runs")" = "2 2" ] &&
	[ "$(q "SELECT count(*) FROM pozytywka.import_rejects")" = 2 ]
ok $? "a new import run after the restore records its run and its rejected line"
grep -E 'ERROR|duplicate' "$tmp/import2.out" | head -3 | sed 's/^/#   /'
echo "1..$n"
