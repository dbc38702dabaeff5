#!/usr/bin/env bash
# Soak: a mixed workload on the demo data for SOAK_SECONDS (default 600),
# on the cluster of the caller's PG* variables (scripts/lib.sh starts one):
#   8 writers   pgbench, single events of demo and new tracks in the
#               current and recent weeks, changes and deletes (writer.sql)
#   4 readers   top_tracks_next_week(50), the dashboard's view, the weekly
#               history of one track, each in one long session (\watch)
#   the weekly refresh and merges, again and again, in one session
#   LSTM training (2 epochs) again and again, in one session
#   random cancels of any of those backends (pg_cancel_backend)
#   one kill -9 of a reader's backend halfway (the postmaster restarts
#   every backend: every client reconnects and goes on)
# Afterwards (and printed as TAP, so test/shell/soak.sh can run a short
# version): the aggregate equals a fresh GROUP BY, live and merged; every
# error in the server log is a cancel, the kill or a client of the killed
# server; the readers' backends did not grow (anonymous memory of each long
# session, sampled about 4 times a second: the last third's mean at most 1.5 x the
# first third's + 16 MB); nothing written was lost (every committed event is
# in the table).
set -u
cd "$(dirname "$0")/../.."
. test/hardening/lib.sh
SECS=${SOAK_SECONDS:-600}
DB=${SOAK_DB:-pz_soak}
LOG=${PZ_CLUSTER_DIR:?start a cluster first (scripts/lib.sh pz_cluster_start)}/server.log
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
q() { psql -X -At -v ON_ERROR_STOP=1 -d $DB -c "$1"; }
tmp=$(mktemp -d /tmp/pz_soak.XXXXXX)
chmod 777 "$tmp"
dropdb --if-exists $DB 2>/dev/null
createdb $DB && q "CREATE EXTENSION pozytywka" >/dev/null &&
	q "SELECT count(*) FROM generate_demo_data(weeks => 16, events_per_week => 20000, tracks => 2000, artists => 200, users => 2000)" >/dev/null &&
	q "SELECT weekly_refresh(false)" >/dev/null &&
	q "SELECT lstm_train(epochs => 2, hidden => 8, activate => 'always') > 0" >/dev/null
ok $? "demo data (16 weeks, 2,000 tracks), forecasts cached, a model trained"
# the workload's clock starts now, after the setup (which took most of a
# short soak's time on a loaded machine: the readers then ran a few seconds)
deadline=$(($(date +%s) + SECS))
running() { [ "$(date +%s)" -lt "$deadline" ]; }
log_start=$(stat -c %s "$LOG")
current=$(q "SELECT latest_complete_week() + 7")

# every event a writer commits is also logged in soak_committed (same
# transaction), so that "nothing lost" can be checked afterwards
q "CREATE TABLE soak_committed (session_id bigint PRIMARY KEY)" >/dev/null
cat >"$tmp/writer.sql" <<SQL
\set s random(100000000, 999999999999)
\set t random(1, 2500)
\set d random(0, 20)
BEGIN;
INSERT INTO pozytywka.sessions (session_id, "timestamp", user_id, track_id, event_type)
VALUES (:s, timestamp '$current' - :d * interval '1 day' + (:s % 86400) * interval '1 second', 1,
        CASE WHEN :t <= 2000 THEN (SELECT id FROM pozytywka.tracks ORDER BY id OFFSET :t - 1 LIMIT 1) ELSE 'new-' || :t END,
        (ARRAY['play', 'play', 'play', 'like', 'skip']::pozytywka.event_type[])[1 + :s % 5]);
INSERT INTO soak_committed VALUES (:s);
END;
SQL
writers() {
	while running; do
		pgbench -n -h 127.0.0.1 -p "$PGPORT" -U "$PGUSER" -c 8 -j 2 -T 10 -f "$tmp/writer.sql" $DB >>"$tmp/writers.out" 2>&1
	done
}
# one long session each; \watch repeats until the session is ended
reader() { # name sql
	while running; do
		printf '%s\n\\watch 0.2\n' "$2" | PGAPPNAME=soak_$1 timeout $((deadline - $(date +%s) + 1)) psql -X -q -d $DB >/dev/null 2>>"$tmp/readers.err"
	done
}
job() { # name sql
	while running; do
		PGAPPNAME=soak_$1 psql -X -q -d $DB -c "$2" >/dev/null 2>>"$tmp/jobs.err"
	done
}
writers &
reader list "SELECT count(*) FROM top_tracks_next_week(50)" &
reader view "SELECT count(*) FROM next_week_top_tracks" &
reader history "SELECT sum(plays) FROM pozytywka.weekly_history WHERE track_id = (SELECT min(id) FROM pozytywka.tracks)" &
reader auto "SELECT count(*) FROM top_tracks_next_week(20, 'naive')" &
job refresh "SELECT merge_events(); SELECT weekly_refresh(false)" &
job train "SELECT lstm_train(epochs => 2, hidden => 8, activate => 'never')" &

# samples of the long readers' anonymous memory, in a loop of their own
# (one long session of its own querying the four pids: on a loaded machine
# a new connection per sample took seconds, too few samples per session --
# and the kill -9 halfway restarts every session, so each pid lives half
# the run)
: >"$tmp/mem"
sampler() {
	while running; do
		printf '%s\n\\watch 0.25\n' "SELECT application_name, pid FROM pg_stat_activity
			WHERE application_name IN ('soak_list', 'soak_view', 'soak_history', 'soak_auto')" |
			timeout $((deadline - $(date +%s) + 1)) psql -X -q -At -F ' ' -d $DB 2>/dev/null |
			while read -r app pid; do
				[ -n "$pid" ] && kb=$(awk '/^RssAnon/ {print $2}' /proc/$pid/status 2>/dev/null) && [ -n "$kb" ] &&
					echo "$(date +%s) $app $pid $kb" >>"$tmp/mem"
			done
		sleep 0.25
	done
}
sampler &
# random cancels and the kill
killed=
cancels=0
while running; do
	if [ $((RANDOM % 4)) = 0 ]; then
		victim=$(psql -X -At -d $DB -c "SELECT pid FROM pg_stat_activity WHERE application_name IN ('soak_refresh', 'soak_train', 'soak_list', 'pgbench')
			AND state = 'active' ORDER BY random() LIMIT 1" 2>/dev/null)
		[ -n "$victim" ] && psql -X -At -d $DB -c "SELECT pg_cancel_backend($victim)" >/dev/null 2>&1 && cancels=$((cancels + 1))
	fi
	if [ -z "$killed" ] && [ "$(date +%s)" -ge $((deadline - SECS / 2)) ]; then
		victim=$(psql -X -At -d $DB -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'soak_view' LIMIT 1" 2>/dev/null)
		[ -n "$victim" ] && kill -9 "$victim" && killed=$victim
	fi
	sleep 1
done
wait
ok 0 "workload ran ${SECS} s: $cancels random cancels, kill -9 of backend ${killed:-none}"
[ -n "$killed" ]
ok $? "one backend was killed with kill -9 halfway"
for _ in $(seq 1 600); do psql -X -At -d $DB -c "SELECT 1" >/dev/null 2>&1 && break; sleep 0.1; done

# errors: the cancels, the kill and its consequences, nothing else
tail -c +"$((log_start + 1))" "$LOG" | grep -E '^[0-9-]+ [0-9:.]+ UTC \[[0-9]+\] (ERROR|FATAL|PANIC)' >"$tmp/errors"
unexpected=$(grep -vE 'canceling statement due to user request|connection to client lost|terminating connection because of crash of another server process|the database system is in recovery mode|the database system is not yet accepting connections|could not serialize access|deadlock detected' "$tmp/errors")
[ -z "$unexpected" ]
ok $? "no error but the $(wc -l <"$tmp/errors") cancels and kill consequences in the server log"
[ -z "$unexpected" ] || echo "$unexpected" | sort | uniq -c | sort -rn | head -5 | sed 's/^/#   /'
grep -c PANIC "$tmp/errors" | grep -q '^0$'
ok $? "no PANIC"

# nothing lost: every committed event is there, and counted
lost=$(q "SELECT count(*) FROM soak_committed AS c WHERE NOT EXISTS (SELECT 1 FROM pozytywka.sessions AS s WHERE s.session_id = c.session_id)")
[ "$lost" = 0 ]
ok $? "every committed event is in the table ($(q "SELECT count(*) FROM soak_committed") written, $lost missing)"
d=$(aggregate_diff $DB)
[ "$d" = 0 ]
ok $? "the live aggregate equals a fresh GROUP BY ($d rows differ)"
q "SELECT merge_events()" >/dev/null
d=$(aggregate_diff $DB merged)
[ "$d" = 0 ]
ok $? "merged, weekly_stats equals a fresh GROUP BY ($d rows differ)"

# memory of the long reader sessions
grown=$(awk '
	{ key = $2 " " $3; k = ++cnt[key]; v[key, k] = $4; if ($4 > peak[key]) peak[key] = $4 }
	END { for (key in cnt) if (cnt[key] >= 6) {
	        t = int(cnt[key] / 3); a = 0; b = 0
	        for (i = 1; i <= t; i++) { a += v[key, i]; b += v[key, cnt[key] - t + i] }
	        a /= t; b /= t
	        printf "%s: %d samples, first third %.0f kB, last third %.0f kB, peak %d kB %s\n",
	               key, cnt[key], a, b, peak[key], (b > 1.5 * a + 16384 ? "GREW" : "ok") } }' "$tmp/mem")
echo "$grown" | sed 's/^/#   /'
# (too few samples to judge: say why)
[ -n "$grown" ] || { awk '{ print $2, $3 }' "$tmp/mem" | sort | uniq -c | sed 's/^/#   samples of /'
	grep -v '^$' "$tmp/readers.err" | sort | uniq -c | sort -rn | head -5 | sed 's/^/#   readers: /'; }
[ -n "$grown" ] && ! echo "$grown" | grep -q GREW
ok $? "no long reader session's memory grew (peak $(awk '{print $4}' "$tmp/mem" | sort -n | tail -1) kB anonymous)"
dropdb $DB 2>/dev/null
rm -rf "$tmp"
echo "1..$n"
