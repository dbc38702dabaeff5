#!/usr/bin/env bash
# Crash safety of the merge (issue 11): kill -9 of the backend running
# merge_events() over ~600,000 pending deltas — the postmaster restarts every
# backend and recovers.  Afterwards nothing committed is lost and nothing is
# counted twice: the pending deltas are all still there (the merge is one
# transaction), the live view equals a fresh GROUP BY, and a new merge
# leaves weekly_stats equal to it.  The kill waits for the merge's backend to
# be waiting on a lock in pg_stat_activity (an event), never for a time.
set -u
cd "$(dirname "$0")/../.."
. test/hardening/lib.sh
DB=pz_merge_crash
PGCTL=${PZ_PG_BIN:-/usr/lib/postgresql/15/bin}/pg_ctl
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
q() { psql -X -At -v ON_ERROR_STOP=1 -d $DB -c "$1"; }
wait_server() {
	for _ in $(seq 1 600); do
		psql -X -At -d postgres -c "SELECT 1" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
ensure_running() {
	if ! psql -X -At -d postgres -c "SELECT 1" >/dev/null 2>&1; then
		runuser -u postgres -- $PGCTL -D "$PZ_CLUSTER_DIR/data" -w -t 120 -l "$PZ_CLUSTER_DIR/server.log" start >/dev/null 2>&1
		wait_server
	fi
}
trap ensure_running EXIT
dropdb --if-exists $DB 2>/dev/null
createdb $DB && q "CREATE EXTENSION pozytywka" >/dev/null || { echo "Bail out! no database"; exit 1; }

# 600 statements of 1,000 events each, one delta row per (track, week) of a
# statement: many pending deltas, a merge that takes a while
q "DO \$\$ BEGIN FOR s IN 1 .. 600 LOOP
	INSERT INTO pozytywka.sessions (session_id, \"timestamp\", user_id, track_id, event_type)
	SELECT s * 1000 + i, timestamp '2024-01-01' + ((s * 7 + i) % 70) * interval '1 day' + i * interval '1 second', 1,
	       't' || ((s * 31 + i) % 4000), (ARRAY['play', 'play', 'like', 'skip'])[1 + i % 4]::pozytywka.event_type
	  FROM generate_series(1, 1000) AS i;
	COMMIT;
END LOOP; END \$\$" >/dev/null
pending=$(q "SELECT count(*) FROM pozytywka.weekly_deltas")
[ "$pending" -gt 100000 ]
ok $? "600,000 events loaded, $pending deltas pending"

# A session holds a lock the merge needs for its last step, so the merge is
# caught midway — deltas taken, weekly_stats not yet written — on any
# machine: the kill waits for the merge to wait on that lock.
PGAPPNAME=pz_holder psql -X -At -d $DB -c "BEGIN" -c "LOCK TABLE pozytywka.weekly_stats IN SHARE MODE" \
	-c "SELECT pg_sleep(3600)" >/dev/null 2>&1 &
holder=$!
wait_app $DB pz_holder 'pg_sleep'
PGAPPNAME=pz_merge psql -X -At -d $DB -c "SELECT merge_events()" >/dev/null 2>&1 &
client=$!
for _ in $(seq 1 1200); do
	[ "$(psql -X -At -d $DB -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pz_merge'
		AND wait_event_type = 'Lock'")" = 1 ] && break
	sleep 0.1
done
[ "$(psql -X -At -d $DB -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pz_merge'
	AND wait_event_type = 'Lock'")" = 1 ]
ok $? "the merge's backend took the deltas and waits to write weekly_stats"
pid=$(app_pid $DB pz_merge)
log="$PZ_CLUSTER_DIR/server.log"
log_size=$(stat -c %s "$log")
kill -9 "$pid"
wait $client
rc=$?
[ $rc -ne 0 ]
ok $? "psql of the merge exited with an error, $rc (its backend was killed)"
# the postmaster restarts every backend after a kill -9: wait for the log
# line that ends its recovery, then for a connection
recovered() { tail -c +"$((log_size + 1))" "$log" | grep -q 'database system is ready to accept connections'; }
for _ in $(seq 1 600); do recovered && break; sleep 0.1; done
recovered && wait_server
ok $? "the server recovered"
wait $holder 2>/dev/null

after=$(q "SELECT count(*) FROM pozytywka.weekly_deltas")
merged=$(q "SELECT count(*) FROM pozytywka.weekly_stats")
[ "$after" = "$pending" ] && [ "$merged" = 0 ]
ok $? "nothing of the killed merge is visible: $after deltas still pending, $merged merged rows"
d=$(aggregate_diff $DB)
[ "$d" = 0 ]
ok $? "the live view equals a fresh GROUP BY ($d rows differ)"
q "SELECT merge_events()" >/dev/null
d=$(aggregate_diff $DB merged)
[ "$d" = 0 ]
ok $? "merged again: weekly_stats equals a fresh GROUP BY, nothing counted twice ($d rows differ)"
dropdb $DB
