#!/usr/bin/env bash
# Privileges and search_path safety.
#  - grant_dashboard_access / grant_loader_access / grant_operator_access
#    (src/sql/90_roles.sql) give a dashboard role read access only, a
#    non-superuser loader what the importer and event writes need (nothing
#    derived: the aggregate and the cache's invalidation are the triggers'
#    work) and an operator the weekly job; only a role that can grant may
#    run them
#  - a role with no grant at all cannot execute any function that changes
#    data or is internal (EXECUTE revoked from PUBLIC: 42501 "permission
#    denied for function", not a later failure on a table)
#  - model kinds: only the owner registers them, and a registration with the
#    wrong signature is refused
#  - every SQL function of the extension pins search_path; only the trigger
#    functions are SECURITY DEFINER
#  - an attacker who can create objects in public (on everyone's
#    search_path) and shadows built-ins (count, date_trunc, lower, format,
#    =, ...) changes no result of top_tracks_next_week / predict / the
#    importer and runs no code as the victims
set -u
cd "$(dirname "$0")/../.."
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
# the importer of this tree (make install puts the same file into pg_config --bindir)
IMPORT="$PWD/bin/pozytywka-import"
DBS="pz_priv_clean pz_priv_attacked"
ROLES="pz_dash pz_loader pz_attacker pz_nobody pz_operator"
q() { psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
as() { local role=$1 db=$2; shift 2; psql -X -At -v ON_ERROR_STOP=1 -U "$role" -d "$db" -c "$*"; }
# expect_denied <role> <db> <description> <sql> [message pattern]: fails
# with 42501 (and a message matching the pattern)
expect_denied() {
	local out
	out=$(psql -X -At -U "$1" -d "$2" -v VERBOSITY=verbose -c "\\set VERBOSITY verbose" -c "$4" 2>&1)
	printf '%s' "$out" | grep -q "^ERROR:  42501: ${5:-}"
	ok $? "$1 cannot $3"
	printf '%s' "$out" | grep -q "^ERROR:  42501: ${5:-}" || echo "#   got: $out"
}
cleanup() {
	for db in $DBS; do dropdb --if-exists "$db" 2>/dev/null; done
	for r in $ROLES; do psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" 2>/dev/null; done
	rm -rf "${dir:-/nonexistent}"
}
cleanup

# ---- a small export: 30 tracks over 10 weeks
dir=$(mktemp -d /tmp/pz_priv.XXXXXX)
chmod 755 "$dir"
python3 - "$dir" <<'PY'
import json, random, sys, datetime
d = sys.argv[1]
r = random.Random(7)
start = datetime.datetime(2024, 1, 1)
with open(d + "/sessions.jsonl", "w") as f:
    sid = 0
    for day in range(70):
        for _ in range(40):
            sid += 1
            t = start + datetime.timedelta(days=day, seconds=r.randrange(86400))
            tr = "t%02d" % min(29, int(r.expovariate(0.12)))
            ev = r.choice(["play"] * 6 + ["skip", "like", "Advertisment"])
            f.write(json.dumps({"session_id": sid, "timestamp": t.strftime("%Y-%m-%dT%H:%M:%S.%f"),
                                "user_id": r.randrange(1, 50), "track_id": None if ev == "Advertisment" else tr,
                                "event_type": ev}) + "\n")
with open(d + "/tracks.jsonl", "w") as f:
    for i in range(30):
        f.write(json.dumps({"id": "t%02d" % i, "name": "Track %d" % i, "id_artist": "a%d" % (i % 5),
                            "release_date": "2020-05"}) + "\n")
with open(d + "/artists.jsonl", "w") as f:
    for i in range(5):
        f.write(json.dumps({"id": "a%d" % i, "name": "Artist %d" % i, "genres": ["pop"]}) + "\n")
PY

for r in $ROLES; do psql -X -q -d postgres -c "CREATE ROLE $r LOGIN"; done
for db in $DBS; do
	createdb "$db" && q "$db" "CREATE EXTENSION pozytywka" >/dev/null
	q "$db" "SELECT grant_dashboard_access('pz_dash'), grant_loader_access('pz_loader')" >/dev/null
	ok $? "$db: the owner grants dashboard and loader access"
done
DB=pz_priv_clean

# ---- the grant functions themselves
expect_denied pz_loader $DB "run grant_dashboard_access (EXECUTE revoked from PUBLIC)" "SELECT grant_dashboard_access('pz_attacker')"
expect_denied pz_dash $DB "run grant_loader_access" "SELECT grant_loader_access('pz_dash')"
out=$(q $DB "SELECT grant_dashboard_access('no_such_role')" 2>&1)
printf '%s' "$out" | grep -q 'role "no_such_role" does not exist'
ok $? "granting to a missing role is a clear error"

# ---- the loader: import and write events as a non-superuser
PGUSER=pz_loader PGDATABASE=$DB "$IMPORT" "$dir" >"$dir/import.out" 2>&1
ok $? "pz_loader (not a superuser) runs pozytywka-import"
sed 's/^/#   /' "$dir/import.out"
[ "$(as pz_loader $DB "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")" = f ]
ok $? "pz_loader is really not a superuser"
as pz_loader $DB "INSERT INTO pozytywka.sessions VALUES (999999, '2024-03-05 10:00', 1, 't01', 'play'), (999999, '2024-03-05 10:01', 1, 't01', 'like')" >/dev/null
ok $? "pz_loader inserts events"
as pz_loader $DB "UPDATE pozytywka.sessions SET track_id = 't02' WHERE session_id = 999999 AND event_type = 'like'" >/dev/null
ok $? "pz_loader updates events"
as pz_loader $DB "DELETE FROM pozytywka.sessions WHERE session_id IN (999999, 5)" >/dev/null
ok $? "pz_loader deletes events"
as pz_loader $DB "INSERT INTO pozytywka.imported_weekly_stats VALUES ('legacy', '2024-01-01', 5, 1, 0)" >/dev/null
ok $? "pz_loader inserts weekly counts"
expect_denied pz_loader $DB "change the settings" "SELECT set_score_weights(1, 1, 1)"
# the events' aggregate alone (imported weekly counts are not events), merged
q $DB "SELECT merge_events()" >/dev/null
diff=$(q $DB "WITH agg AS (SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_stats),
	fresh AS (SELECT track_id, date_trunc('week', \"timestamp\")::date,
	count(*) FILTER (WHERE event_type = 'play'), count(*) FILTER (WHERE event_type = 'like'), count(*) FILTER (WHERE event_type = 'skip')
	FROM pozytywka.sessions WHERE track_id IS NOT NULL AND event_type IN ('play','like','skip') GROUP BY 1, 2)
	SELECT count(*) FROM ((TABLE agg EXCEPT TABLE fresh) UNION ALL (TABLE fresh EXCEPT TABLE agg)) AS d")
[ "$diff" = 0 ]
ok $? "after the loader's writes the aggregate equals a fresh GROUP BY ($diff rows differ)"

# ---- the dashboard
q $DB "SELECT count(*) FROM refresh_forecasts()" >/dev/null && q $DB "SELECT refresh_top_tracks(20)" >/dev/null
[ "$(as pz_dash $DB "SELECT count(*) FROM next_week_top_tracks")" = 20 ]
ok $? "pz_dash reads next_week_top_tracks"
ref=$(q $DB "SELECT string_agg(track_id || ':' || predicted_score, ',' ORDER BY rank) FROM top_tracks_next_week(20, 'mean4')")
got=$(as pz_dash $DB "SELECT string_agg(track_id || ':' || predicted_score, ',' ORDER BY rank) FROM top_tracks_next_week(20, 'mean4')")
[ -n "$ref" ] && [ "$ref" = "$got" ]
ok $? "pz_dash calls top_tracks_next_week and gets the owner's answer"
cache_before=$(q $DB "SELECT count(*) || '/' || coalesce(sum(hashtext(model || as_of || track_id || predicted_score)), 0) FROM pozytywka.forecast_cache")
as pz_dash $DB "SELECT count(*) FROM backtest_top_tracks(10, 4, 'all')" >/dev/null
ok $? "pz_dash runs backtest_top_tracks(model_type => 'all')"
[ "$(as pz_dash $DB "SELECT predict('{\"model_type\": \"naive\", \"n\": 5}') -> 'model'")" = '"naive"' ]
ok $? "pz_dash calls predict"
cache_after=$(q $DB "SELECT count(*) || '/' || coalesce(sum(hashtext(model || as_of || track_id || predicted_score)), 0) FROM pozytywka.forecast_cache")
[ "$cache_before" = "$cache_after" ]
ok $? "the dashboard's backtest leaves the forecast cache as it was ($cache_after)"
expect_denied pz_dash $DB "call refresh_forecasts" "SELECT count(*) FROM refresh_forecasts('2024-02-05')" "permission denied for function"
expect_denied pz_dash $DB "call weekly_refresh" "SELECT weekly_refresh(false)" "permission denied for function"
expect_denied pz_dash $DB "insert events" "INSERT INTO pozytywka.sessions VALUES (1, now(), 1, 'x', 'play')"
expect_denied pz_dash $DB "update events" "UPDATE pozytywka.sessions SET track_id = 'x'"
expect_denied pz_dash $DB "delete events" "DELETE FROM pozytywka.sessions"
expect_denied pz_dash $DB "truncate events" "TRUNCATE pozytywka.sessions"
expect_denied pz_dash $DB "read raw events" "SELECT count(*) FROM pozytywka.sessions"
expect_denied pz_dash $DB "read users" "SELECT count(*) FROM pozytywka.users"
expect_denied pz_dash $DB "read import rejects" "SELECT count(*) FROM pozytywka.import_rejects"
expect_denied pz_dash $DB "write weekly counts" "INSERT INTO pozytywka.imported_weekly_stats VALUES ('x', '2024-01-01', 1, 0, 0)"
expect_denied pz_dash $DB "write the aggregate" "UPDATE pozytywka.weekly_stats SET plays = plays + 1"
expect_denied pz_dash $DB "append to the pending deltas" "INSERT INTO pozytywka.weekly_deltas VALUES (1, 'x', '2024-01-01', 1000000, 0, 0)"
expect_denied pz_loader $DB "write the aggregate" "UPDATE pozytywka.weekly_stats SET plays = plays + 1"
expect_denied pz_loader $DB "append to the pending deltas" "INSERT INTO pozytywka.weekly_deltas VALUES (1, 'x', '2024-01-01', 1000000, 0, 0)"
expect_denied pz_dash $DB "call set_score_weights" "SELECT set_score_weights(1, 1, 1)" "permission denied for function"
expect_denied pz_dash $DB "update pozytywka.settings" "UPDATE pozytywka.settings SET w_play = 2"
expect_denied pz_dash $DB "insert pozytywka.settings" "INSERT INTO pozytywka.settings (w_play) VALUES (2)"
expect_denied pz_dash $DB "delete from the forecast cache" "DELETE FROM pozytywka.forecast_cache"
expect_denied pz_dash $DB "insert into the forecast cache" "INSERT INTO pozytywka.forecast_runs (model, as_of) VALUES ('naive', '2024-01-01')"
expect_denied pz_dash $DB "register a model" "INSERT INTO pozytywka.model_kinds VALUES ('evil', 'pozytywka.forecast_naive(date)', 'x', 'baseline')"
expect_denied pz_dash $DB "refresh the dashboard list" "SELECT refresh_top_tracks()" "permission denied for function"
expect_denied pz_dash $DB "rebuild the aggregate" "SELECT rebuild_weekly_stats()" "permission denied for function"
expect_denied pz_dash $DB "import" "CREATE TEMP TABLE pz_import_lines (line_no bigserial, line text); SELECT * FROM import_staged('sessions', 'x')"

# ---- every SQL function pins search_path; nothing is SECURITY DEFINER
bad=$(q $DB "SELECT string_agg(p.oid::regprocedure::text, ', ')
	FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid AND d.classid = 'pg_proc'::regclass
	JOIN pg_language l ON l.oid = p.prolang
	WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
	  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pozytywka')
	  AND l.lanname <> 'c' AND l.lanname <> 'internal'
	  AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)")
[ -z "$bad" ]
ok $? "every SQL/plpgsql function of the extension pins search_path = pg_catalog, pg_temp${bad:+ (not: $bad)}"
nfun=$(q $DB "SELECT count(*) FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e' AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pozytywka')")
secdef=$(q $DB "SELECT string_agg(p.oid::regprocedure::text, ', ' ORDER BY 1) FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid AND d.classid = 'pg_proc'::regclass
	WHERE d.deptype = 'e' AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pozytywka') AND p.prosecdef
	  AND (p.prorettype <> 'trigger'::regtype OR NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false))
	  AND p.proname NOT IN ('merge_events', 'sync_event_partitions', 'on_sql_drop', 'mark_history')")
ntrig=$(q $DB "SELECT count(*) FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid AND d.classid = 'pg_proc'::regclass
	WHERE d.deptype = 'e' AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pozytywka') AND p.prosecdef")
[ -z "$secdef" ] && [ "$ntrig" -ge 7 ]
ok $? "of the extension's $nfun functions only the $ntrig trigger functions and the aggregate's merge (merge_events, and sync_event_partitions, on_sql_drop after DDL of attached tables) are SECURITY DEFINER, with search_path pinned${secdef:+ (also: $secdef)}"
pub=$(q $DB "SELECT string_agg(p.proname, ', ' ORDER BY p.proname) FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid AND d.classid = 'pg_proc'::regclass
	WHERE d.deptype = 'e' AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pozytywka')
	  AND has_function_privilege('public', p.oid, 'EXECUTE')")
[ "$pub" = "arima_fit, arima_forecast, arima_forecast_interval, auto_arima, series_ewma, series_mean, series_trend, week_of, week_of, week_of, weekly_series" ]
ok $? "PUBLIC may execute only the pure computations on arrays ($pub)"

# ---- a role with no grant at all (only USAGE on the schemas, so that what
# stops it is the function's own privilege)
q $DB "GRANT USAGE ON SCHEMA pozytywka TO pz_nobody" >/dev/null
for call in "generate_demo_data(truncate => true)" "lstm_train(epochs => 1)" "rebuild_weekly_stats()" \
	"set_score_weights(1, 1, 1)" "weekly_refresh()" "refresh_forecasts()" "refresh_top_tracks()" \
	"lstm_activate(1)" "lstm_import('{}')" "import_staged('sessions', 'x')" "schedule_weekly_refresh()" \
	"top_tracks_next_week(10)" "predict('{}')" \
	"merge_events()" "pozytywka.sync_event_partitions()" "detach_events('pozytywka.sessions')" \
	"pozytywka.invalidate_forecasts('-infinity')" "pozytywka.cache_forecasts('naive', '2024-02-05')" \
	"pozytywka.compute_forecasts('naive', '2024-02-05')" "pozytywka.candidate_series('2024-02-05')" \
	"pozytywka.weekly_retrain()" "pozytywka.import_checked('sessions')" \
	"pozytywka.demo_events(1, 1, 1, 1, 1, 1, 1, '2024-01-01', 0)" "pozytywka.role_functions('operator')"; do
	expect_denied pz_nobody $DB "execute $call" "SELECT $call" "permission denied for function"
done
[ "$(as pz_nobody $DB "SELECT series_mean('{1,2,3}', 2)")" = 2.5 ]
ok $? "pz_nobody may still run the pure computations (series_mean)"

# ---- the loader writes nothing derived; its writes still maintain it
expect_denied pz_loader $DB "write weekly_stats" "INSERT INTO pozytywka.weekly_stats VALUES ('t01', '2024-01-01', 1000000, 0, 0)"
expect_denied pz_loader $DB "delete from the forecast cache" "DELETE FROM pozytywka.forecast_cache"
expect_denied pz_loader $DB "insert into the forecast cache" "INSERT INTO pozytywka.forecast_runs (model, as_of) VALUES ('naive', '2024-01-01')"
expect_denied pz_loader $DB "insert a model" "INSERT INTO pozytywka.models (kind, weights) VALUES ('lstm', '')"
expect_denied pz_loader $DB "plant a top list" "INSERT INTO pozytywka.top_tracks_snapshot VALUES (1, 't01', 'x', 'x', 1e9, 1, 'naive', '2024-01-01', '2024-01-08', '{}', now())"
expect_denied pz_loader $DB "register a model kind" "INSERT INTO pozytywka.model_kinds VALUES ('evil', 'pozytywka.forecast_naive(date)', 'x', 'baseline')"
expect_denied pz_loader $DB "call lstm_train" "SELECT lstm_train(epochs => 1)" "permission denied for function"
expect_denied pz_loader $DB "call weekly_refresh" "SELECT weekly_refresh(false)" "permission denied for function"
q $DB "SELECT count(*) FROM refresh_forecasts('2024-02-05', '{naive}')" >/dev/null
runs_before=$(q $DB "SELECT count(*) FROM pozytywka.forecast_runs WHERE as_of = '2024-02-05'")
as pz_loader $DB "INSERT INTO pozytywka.sessions VALUES (999998, '2024-01-30 10:00', 1, 't03', 'play')" >/dev/null
live=$(q $DB "SELECT plays FROM pozytywka.weekly_history WHERE track_id = 't03' AND week = '2024-01-29'")
pending=$(q $DB "SELECT pozytywka.pending_through('2024-02-05')")
q $DB "SELECT merge_events()" >/dev/null
runs_after=$(q $DB "SELECT count(*) FROM pozytywka.forecast_runs WHERE as_of = '2024-02-05'")
row=$(q $DB "SELECT plays FROM pozytywka.weekly_stats WHERE track_id = 't03' AND week = '2024-01-29'")
exp=$(q $DB "SELECT count(*) FROM pozytywka.sessions WHERE track_id = 't03' AND event_type = 'play' AND date_trunc('week', \"timestamp\") = '2024-01-29'")
[ "$runs_before" -ge 1 ] && [ "$live" = "$exp" ] && [ "$pending" = t ] && [ "$runs_after" = 0 ] && [ -n "$row" ] && [ "$row" = "$exp" ]
ok $? "a loader's event in a complete week counts at once ($live plays live = $exp events; the cache is bypassed while pending: $pending), and the merge folds it ($row plays) and invalidates the cached forecasts ($runs_before -> $runs_after runs)"
as pz_loader $DB "DELETE FROM pozytywka.sessions WHERE session_id = 999998" >/dev/null

# ---- the operator: the weekly job, models, weights; not events or kinds
q $DB "SELECT grant_operator_access('pz_operator')" >/dev/null
ok $? "the owner grants operator access"
out=$(as pz_operator $DB "SELECT weekly_refresh(false) ->> 'top_list_rows'" 2>&1)
[ "$out" -gt 0 ] 2>/dev/null
ok $? "pz_operator runs weekly_refresh (top list rows: $out)"
as pz_operator $DB "SELECT set_score_weights(1, 0.7, 0.4)" >/dev/null && as pz_operator $DB "SELECT set_score_weights(1, 0.8, 0.5)" >/dev/null
ok $? "pz_operator sets the score weights"
out=$(as pz_operator $DB "SELECT lstm_train(epochs => 1, activate => 'never') IS NOT NULL" 2>&1 | tail -1)
[ "$out" = t ]
ok $? "pz_operator trains a model (${out:0:80})"
expect_denied pz_operator $DB "insert events" "INSERT INTO pozytywka.sessions VALUES (1, now(), 1, 'x', 'play')"
expect_denied pz_operator $DB "register a model kind" "INSERT INTO pozytywka.model_kinds VALUES ('evil', 'pozytywka.forecast_naive(date)', 'x', 'baseline')"
expect_denied pz_operator $DB "generate demo data" "SELECT * FROM generate_demo_data(truncate => true)" "permission denied for function"
expect_denied pz_operator $DB "rebuild the aggregate" "SELECT rebuild_weekly_stats()" "permission denied for function"

# ---- model kinds: the registered function's signature is checked
for fn in "pozytywka.first_week()" "lower(text)" "pozytywka.candidate_series(date)" "pozytywka.lstm_available(date)"; do
	out=$(psql -X -At -d $DB -v VERBOSITY=verbose -c "\\set VERBOSITY verbose" -c "INSERT INTO pozytywka.model_kinds VALUES ('badkind', '$fn', 'x', 'baseline')" 2>&1)
	printf '%s' "$out" | grep -q '^ERROR:  42P13'
	ok $? "registering $fn as a forecast function is refused (42P13)"
done
out=$(psql -X -At -d $DB -v VERBOSITY=verbose -c "\\set VERBOSITY verbose" -c "UPDATE pozytywka.model_kinds SET available_function = 'pozytywka.first_week()' WHERE name = 'naive'" 2>&1)
printf '%s' "$out" | grep -q '^ERROR:  42P13'
ok $? "an availability function that is not f(date) -> boolean is refused"
q $DB "CREATE FUNCTION public.pz_definer_model(as_of date) RETURNS TABLE (track_id text, predicted_score float8)
	LANGUAGE sql SECURITY DEFINER AS 'SELECT NULL::text, NULL::float8'" >/dev/null
out=$(psql -X -At -d $DB -v VERBOSITY=verbose -c "\\set VERBOSITY verbose" -c "INSERT INTO pozytywka.model_kinds VALUES ('definer', 'public.pz_definer_model(date)', 'x', 'baseline')" 2>&1)
printf '%s' "$out" | grep -q '^ERROR:  42P13'
ok $? "a SECURITY DEFINER forecast function is refused"
q $DB "CREATE FUNCTION public.pz_good_model(as_of date) RETURNS TABLE (track_id text, predicted_score float8)
	LANGUAGE sql AS 'SELECT NULL::text, NULL::float8'" >/dev/null
q $DB "INSERT INTO pozytywka.model_kinds VALUES ('goodkind', 'public.pz_good_model(date)', 'x', 'baseline', false)
	RETURNING name" >/dev/null && q $DB "DELETE FROM pozytywka.model_kinds WHERE name = 'goodkind'" >/dev/null
ok $? "the owner registers a kind with the right signature"
q $DB "DROP FUNCTION public.pz_definer_model(date), public.pz_good_model(date)" >/dev/null

# ---- the attacker: objects in public that shadow built-ins
ATT=pz_priv_attacked
q $ATT "GRANT CREATE ON SCHEMA public TO pz_attacker" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -U pz_attacker -d $ATT -f test/hardening/attacker.sql >"$dir/attacker.out" 2>&1
ok $? "pz_attacker creates its shadowing objects in public"
grep -E 'ERROR' "$dir/attacker.out" | sed 's/^/#   /'
# the same loads and calls in both databases, by the loader and the dashboard,
# with the default search_path and with public before pg_catalog
PGUSER=pz_loader PGDATABASE=$ATT PGOPTIONS="-c search_path=public,pg_catalog" "$IMPORT" "$dir" >"$dir/import2.out" 2>&1
ok $? "pz_loader imports into the attacked database (search_path = public,pg_catalog)"
for db in $DBS; do
	[ $db = $ATT ] || continue
	as pz_loader $db "INSERT INTO pozytywka.sessions VALUES (999999, '2024-03-05 10:00', 1, 't01', 'play'), (999999, '2024-03-05 10:01', 1, 't01', 'like')" >/dev/null
	as pz_loader $db "UPDATE pozytywka.sessions SET track_id = 't02' WHERE session_id = 999999 AND event_type = 'like'" >/dev/null
	as pz_loader $db "DELETE FROM pozytywka.sessions WHERE session_id IN (999999, 5)" >/dev/null
	as pz_loader $db "INSERT INTO pozytywka.imported_weekly_stats VALUES ('legacy', '2024-01-01', 5, 1, 0)" >/dev/null
done
snap() { # db role search_path
	PGOPTIONS="-c search_path=$3" psql -X -At -U "$2" -d "$1" -v ON_ERROR_STOP=1 <<-'SQL'
	SELECT 'top', string_agg(concat_ws(':', rank, track_id, track_name, artist_name, predicted_score, last_week_score, model), ',' ORDER BY rank) FROM top_tracks_next_week(25, 'naive');
	SELECT 'top_mean4', string_agg(concat_ws(':', rank, track_id, predicted_score), ',' ORDER BY rank) FROM top_tracks_next_week(25, 'mean4');
	SELECT 'top_auto', string_agg(concat_ws(':', rank, track_id, predicted_score, model), ',' ORDER BY rank) FROM top_tracks_next_week(25);
	SELECT 'predict', predict('{"model_type": "trend", "n": 25}');
	SELECT 'backtest', string_agg(concat_ws(':', week, model, model_used, overlap), ',' ORDER BY week, model) FROM backtest_top_tracks(10, 3, 'all');
	SELECT 'popularity', string_agg(concat_ws(':', track_id, score), ',' ORDER BY score DESC, track_id) FROM weekly_popularity();
	SQL
}
data_snap() { # db: what the importer and the triggers wrote
	q "$1" "SELECT md5(string_agg(concat_ws(':', session_id, \"timestamp\", user_id, track_id, event_type), ',' ORDER BY session_id, \"timestamp\", event_type)) FROM pozytywka.sessions"
	q "$1" "SELECT md5(string_agg(concat_ws(':', track_id, week, plays, likes, skips), ',' ORDER BY track_id, week)) FROM pozytywka.weekly_history"
	q "$1" "SELECT md5(string_agg(concat_ws(':', id, name, id_artist, release_date, release_date_precision), ',' ORDER BY id)) FROM pozytywka.tracks"
	q "$1" "SELECT string_agg(concat_ws(':', kind, lines, loaded, duplicates, repaired, rejected), ',' ORDER BY run_id) FROM pozytywka.import_runs"
	q "$1" "SELECT md5(string_agg(concat_ws(':', kind, line_no, reason), ',' ORDER BY kind, line_no)) FROM pozytywka.import_rejects"
}
clean_snap=$(data_snap pz_priv_clean)
att_snap=$(data_snap $ATT)
# (two failed snapshots would be equal too: the events' digest and the
# import runs must be there)
[ -n "$(printf '%s\n' "$clean_snap" | sed -n 1p)" ] && [ -n "$(printf '%s\n' "$clean_snap" | sed -n 4p)" ] &&
	[ "$clean_snap" = "$att_snap" ]
ok $? "the importer and the triggers wrote the same data with and without the attacker's objects"
[ "$clean_snap" = "$att_snap" ] || diff <(echo "$clean_snap") <(echo "$att_snap") | sed 's/^/#   /'
ref=$(snap pz_priv_clean postgres '"$user",public')
[ -n "$ref" ] && [ "$(printf '%s\n' "$ref" | wc -l)" = 6 ]
ok $? "reference results computed"
for role in postgres pz_dash; do
	for sp in '"$user",public' 'public,pg_catalog'; do
		got=$(snap $ATT $role "$sp" 2>&1)
		[ "$got" = "$ref" ]
		ok $? "attacked database, $role, search_path = $sp: same top lists, predict, backtest, popularity"
		[ "$got" = "$ref" ] || diff <(echo "$ref") <(echo "$got") | head -5 | sed 's/^/#   /'
	done
done
pwned=$(q $ATT "SELECT count(*) || ' ' || coalesce(string_agg(DISTINCT who || ' ran ' || what, '; '), '') FROM public.pz_pwned")
[ "$pwned" = "0 " ]
ok $? "none of the attacker's objects ever ran (log: $pwned)"

cleanup
echo "1..$n"
