#!/usr/bin/env bash
# Crash safety: SIGKILL in the middle of a bulk import, a bulk insert and training.
#  1. kill -9 of the backend running pozytywka-import (300,000 events): the
#     postmaster restarts every backend and recovers; nothing of the file is
#     visible, the aggregate is exact
#  2. a committed bulk insert, then the server stopped with
#     pg_ctl stop -m immediate (no shutdown checkpoint: WAL recovery) in the
#     middle of a second, bigger one: after restart the first is all there,
#     nothing of the second, the aggregate is exact
#  3. the import run again gives exactly the data of one clean run into a
#     fresh database; a third run changes nothing
#  4. kill -9 of the backend running lstm_train: the model registry is as it
#     was (no half-written model), the active model still predicts
# The test cluster runs with fsync = off: that only matters for an operating
# system crash, not for a killed server process, which is what is tested.
set -u
cd "$(dirname "$0")/../.."
. test/hardening/lib.sh
DB=pz_crash
REF=pz_crash_ref
IMPORT="$PWD/bin/pozytywka-import"
PGCTL=${PZ_PG_BIN:-/usr/lib/postgresql/15/bin}/pg_ctl
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
q() { psql -X -At -v ON_ERROR_STOP=1 -d $DB -c "$1"; }
ensure_running() {
	if ! psql -X -At -d postgres -c "SELECT 1" >/dev/null 2>&1; then
		runuser -u postgres -- $PGCTL -D "$PZ_CLUSTER_DIR/data" -w -t 120 -l "$PZ_CLUSTER_DIR/server.log" start >/dev/null 2>&1
		wait_server
	fi
}
trap ensure_running EXIT
tmp=$(mktemp -d /tmp/pz_crash.XXXXXX)
chmod 755 "$tmp"
# big enough that the importer's SQL step (import_file) is seen running
python3 test/hardening/make_sessions.py "$tmp" 300000
for d in $DB $REF; do
	dropdb --if-exists $d 2>/dev/null
	createdb $d && psql -X -q -d $d -c "CREATE EXTENSION pozytywka" || { echo "Bail out! no database"; exit 1; }
done
PGDATABASE=$REF "$IMPORT" "$tmp" >"$tmp/ref.out" 2>&1
ok $? "reference: one clean import into a fresh database"
sed 's/^/#   /' "$tmp/ref.out"
ref_snap=$(data_snapshot $REF)

# ---- 1. SIGKILL of the importing backend
(PGAPPNAME=pz_crash_import PGDATABASE=$DB "$IMPORT" "$tmp" >"$tmp/imp1.out" 2>&1; echo $? >"$tmp/imp1.rc") &
bg=$!
# the event: the backend runs import_file (its transaction has a file's
# rows staged and is moving them into the tables)
wait_app $DB pz_crash_import 'import_file'
ok $? "the importer's backend is seen inside import_file()"
pid=$(app_pid $DB pz_crash_import)
what=$(psql -X -At -d $DB -c "SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 60) FROM pg_stat_activity WHERE pid = ${pid:-0}")
[ -n "$pid" ] && kill -9 "$pid"
ok $? "SIGKILL to the importing backend (pid $pid, running: $what)"
wait $bg
wait_server
ok $? "the server recovered and accepts connections"
[ "$(cat "$tmp/imp1.rc")" != 0 ] && grep -q "nothing of it was loaded" "$tmp/imp1.out"
ok $? "pozytywka-import reported the failure: $(grep -m1 'nothing of it' "$tmp/imp1.out")"
[ "$(q "SELECT count(*) FROM pozytywka.sessions") $(q "SELECT count(*) FROM pozytywka.weekly_history") $(q "SELECT count(*) FROM pozytywka.import_runs") $(q "SELECT count(*) FROM pozytywka.import_rejects")" = "0 0 0 0" ]
ok $? "nothing of the killed import is visible (events, aggregate, import_runs, rejects)"

# ---- 2. immediate shutdown in the middle of a bulk insert
q "INSERT INTO pozytywka.sessions (session_id, \"timestamp\", user_id, track_id, event_type)
   SELECT 10000000 + s, timestamp '2024-01-01' + (s % 91) * interval '1 day' + (s % 86400) * interval '1 second',
          s % 500, 't' || (1 + s % 300), 'play' FROM generate_series(1, 50000) AS s" >/dev/null
ok $? "bulk insert 1 (50,000 events) committed"
(PGAPPNAME=pz_crash_bulk psql -X -At -d $DB -c "INSERT INTO pozytywka.sessions (session_id, \"timestamp\", user_id, track_id, event_type)
   SELECT 20000000 + s, timestamp '2024-01-01' + (s % 91) * interval '1 day' + (s % 86400) * interval '1 second',
          s % 500, 't' || (1 + s % 300), 'like' FROM generate_series(1, 3000000) AS s" >"$tmp/bulk.out" 2>&1) &
bg=$!
# the event: the insert is writing (its transaction has an xid) and has
# been running for a while; the server's state, not a sleep of the test
wait_app $DB pz_crash_bulk 'generate_series' &&
	psql -X -At -d $DB -c "DO \$\$ BEGIN
		LOOP
			PERFORM pg_stat_clear_snapshot();
			EXIT WHEN EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'pz_crash_bulk'
							   AND state = 'active' AND backend_xid IS NOT NULL);
			EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'pz_crash_bulk');
			PERFORM pg_sleep(0.01);
		END LOOP;
	END \$\$" >/dev/null &&
	[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pz_crash_bulk' AND state = 'active' AND backend_xid IS NOT NULL")" = 1 ]
ok $? "bulk insert 2 (3,000,000 events) is writing"
runuser -u postgres -- $PGCTL -D "$PZ_CLUSTER_DIR/data" -m immediate -w stop >/dev/null 2>&1
ok $? "pg_ctl stop -m immediate during bulk insert 2 (3,000,000 events)"
wait $bg
runuser -u postgres -- $PGCTL -D "$PZ_CLUSTER_DIR/data" -w -t 120 -l "$PZ_CLUSTER_DIR/server.log" start >/dev/null 2>&1 && wait_server
ok $? "the server restarted (crash recovery from WAL)"
[ "$(q "SELECT count(*) FILTER (WHERE session_id BETWEEN 10000001 AND 10050000) || ' ' || count(*) FILTER (WHERE session_id > 20000000) FROM pozytywka.sessions")" = "50000 0" ]
ok $? "after the restart: all of bulk insert 1, nothing of bulk insert 2"
d=$(aggregate_diff $DB)
[ "$d" = 0 ]
ok $? "the aggregate equals a fresh GROUP BY after crash recovery ($d rows differ)"
q "DELETE FROM pozytywka.sessions WHERE session_id > 10000000" >/dev/null

# ---- 3. re-running the import gives one clean run's data
PGDATABASE=$DB "$IMPORT" "$tmp" >"$tmp/imp2.out" 2>&1
ok $? "the import runs again after the crash"
[ "$(data_snapshot $DB)" = "$ref_snap" ]
ok $? "same events, aggregate, tracks and rejects as one clean run"
[ "$(data_snapshot $DB)" = "$ref_snap" ] || diff <(echo "$ref_snap") <(data_snapshot $DB) | sed 's/^/#   /'
PGDATABASE=$DB "$IMPORT" "$tmp" >"$tmp/imp3.out" 2>&1
[ "$(data_snapshot $DB)" = "$ref_snap" ] && [ "$(q "SELECT duplicates = loaded + repaired FROM pozytywka.import_runs ORDER BY run_id DESC LIMIT 1")" = t ]
ok $? "a third run changes nothing (every accepted line a duplicate)"
d=$(aggregate_diff $DB)
[ "$d" = 0 ]
ok $? "the aggregate is exact at the end ($d rows differ)"

# ---- 4. SIGKILL in the middle of training
q "SELECT lstm_train(epochs => 2, activate => 'always')" >/dev/null
ok $? "a first model is trained and active"
models_before=$(q "SELECT string_agg(model_id || ':' || is_active || ':' || md5(weights), ',' ORDER BY model_id) FROM pozytywka.models")
(PGAPPNAME=pz_crash_train psql -X -At -d $DB -c "SELECT lstm_train(epochs => 100000, patience => 100000, activate => 'always')" >"$tmp/train.out" 2>&1) &
bg=$!
# the event: the backend runs lstm_train and reported its first epoch (a
# NOTICE: it is in the training loop; 100,000 epochs will not end first)
wait_app $DB pz_crash_train 'lstm_train' &&
	timeout 600 tail -n +1 -f "$tmp/train.out" | grep -q -m1 'lstm_train: epoch 1/'
ok $? "lstm_train is in its training loop (first epoch reported)"
pid=$(psql -X -At -d $DB -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'pz_crash_train' AND state = 'active' AND query ~ 'lstm_train'")
[ -n "$pid" ] && kill -9 "$pid"
ok $? "SIGKILL to the backend in the middle of lstm_train (pid $pid)"
wait $bg
wait_server
ok $? "the server recovered and accepts connections"
[ "$(q "SELECT string_agg(model_id || ':' || is_active || ':' || md5(weights), ',' ORDER BY model_id) FROM pozytywka.models")" = "$models_before" ]
ok $? "the registry is as before: no half-written model, the same one active"
[ -n "$(q "SELECT lstm_predict(track_id) FROM pozytywka.weekly_history LIMIT 1")" ]
ok $? "the active model still predicts"

for d in $DB $REF; do dropdb --force $d; done
rm -rf "$tmp"
echo "1..$n"
