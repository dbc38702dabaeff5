#!/usr/bin/env bash
# Concurrency: pgbench on loopback (TCP 127.0.0.1) with the custom scripts
# of test/hardening/pgbench for PZ_CONC_SECONDS (default 20) seconds:
#   2 readers  (top_tracks_next_week cached and auto, predict)
#   2 writers  (insert / update event types / delete events in sessions)
#   1 bulk writer (200-event INSERT ... SELECT)
#   1 refresher (refresh_forecasts() + refresh_top_tracks())
# Then: no client aborted, no error, no deadlock in the server log, the
# weekly aggregate equals a fresh GROUP BY exactly, and every cached
# forecast equals a fresh computation (no stale cache survived).
set -u
cd "$(dirname "$0")/../.."
DB=pz_conc
SECS=${PZ_CONC_SECONDS:-20}
PG=test/hardening/pgbench
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
q() { psql -X -At -v ON_ERROR_STOP=1 -d $DB -c "$1"; }
tmp=$(mktemp -d /tmp/pz_conc.XXXXXX)
dropdb --if-exists $DB 2>/dev/null
createdb $DB && q "CREATE EXTENSION pozytywka" >/dev/null || { echo "Bail out! no database"; exit 1; }
# 13 weeks x 300 tracks, 60,000 events
q "INSERT INTO pozytywka.sessions (session_id, \"timestamp\", user_id, track_id, event_type)
   SELECT s, timestamp '2024-01-01' + (s % 91) * interval '1 day' + (s % 86400) * interval '1 second',
          s % 500, 't' || (1 + (hashint4(s) & 1023) % 300), (ARRAY['play', 'play', 'skip', 'like']::pozytywka.event_type[])[1 + s % 4]
     FROM generate_series(1, 60000) AS s" >/dev/null
q "SELECT count(*) FROM refresh_forecasts()" >/dev/null && q "SELECT refresh_top_tracks(50)" >/dev/null
ok $? "60,000 events, forecasts cached"

log="$PZ_CLUSTER_DIR/server.log"
deadlocks_before=$(grep -c 'deadlock detected' "$log" 2>/dev/null || echo 0)
bench() { # name clients script
	pgbench -n -h 127.0.0.1 -p "$PGPORT" -U "$PGUSER" -T "$SECS" -c "$2" -j "$2" -f "$PG/$3" $DB >"$tmp/$1.out" 2>&1
	echo $? >"$tmp/$1.rc"
}
bench readers 2 reader.sql &
bench writers 2 writer.sql &
bench bulk 1 bulk_writer.sql &
bench refresher 1 refresher.sql &
wait
total_tps=0
for b in readers writers bulk refresher; do
	rc=$(cat "$tmp/$b.rc")
	tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$tmp/$b.out")
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$tmp/$b.out")
	tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$tmp/$b.out")
	[ "$rc" = 0 ] && [ "${failed:-0}" = 0 ] && ! grep -q 'aborted\|ERROR' "$tmp/$b.out" && [ "${tx:-0}" -gt 0 ]
	ok $? "pgbench $b: exit $rc, ${tx:-0} transactions, ${failed:-0} failed, ${tps:-?} tps"
	grep -E 'aborted|ERROR' "$tmp/$b.out" | head -5 | sed 's/^/#   /'
	figures+=("$(printf '%-10s %s' "$b" "${tx:-0} transactions, ${tps:-?} tps")")
done
deadlocks_after=$(grep -c 'deadlock detected' "$log" 2>/dev/null || echo 0)
# (without the server's log this would pass whatever happened)
[ -s "$log" ] && [ "$deadlocks_after" = "$deadlocks_before" ]
ok $? "no deadlock detected in the server log"

diff=$(q "SELECT count(*) FROM ((TABLE pozytywka.weekly_history EXCEPT SELECT track_id, date_trunc('week', \"timestamp\")::date,
	count(*) FILTER (WHERE event_type = 'play'), count(*) FILTER (WHERE event_type = 'like'), count(*) FILTER (WHERE event_type = 'skip')
	FROM pozytywka.sessions WHERE track_id IS NOT NULL AND event_type IN ('play','like','skip') GROUP BY 1, 2)
	UNION ALL (SELECT track_id, date_trunc('week', \"timestamp\")::date,
	count(*) FILTER (WHERE event_type = 'play'), count(*) FILTER (WHERE event_type = 'like'), count(*) FILTER (WHERE event_type = 'skip')
	FROM pozytywka.sessions WHERE track_id IS NOT NULL AND event_type IN ('play','like','skip') GROUP BY 1, 2 EXCEPT TABLE pozytywka.weekly_history)) AS d")
[ "$diff" = 0 ]
ok $? "the weekly aggregate equals a fresh GROUP BY exactly ($diff rows differ; $(q "SELECT count(*) FROM pozytywka.sessions") events, $(q "SELECT count(*) FROM pozytywka.weekly_history") aggregate rows)"
# pending changes keep readers off the cache until merged; merged, the
# cache must hold nothing stale
q "SELECT merge_events()" >/dev/null
stale=$(q "SELECT count(*) FROM pozytywka.forecast_runs AS r,
	LATERAL (SELECT 1 FROM ((SELECT c.track_id, c.predicted_score FROM pozytywka.forecast_cache AS c WHERE c.model = r.model AND c.as_of = r.as_of
	                         EXCEPT SELECT * FROM pozytywka.compute_forecasts(r.model, r.as_of))
	                        UNION ALL
	                        (SELECT * FROM pozytywka.compute_forecasts(r.model, r.as_of)
	                         EXCEPT SELECT c.track_id, c.predicted_score FROM pozytywka.forecast_cache AS c WHERE c.model = r.model AND c.as_of = r.as_of)) AS d LIMIT 1) AS x")
[ "$stale" = 0 ]
ok $? "every cached forecast equals a fresh computation ($(q "SELECT count(*) FROM pozytywka.forecast_runs") cached runs, $stale stale)"
[ "$stale" = 0 ] || q "SELECT r.model, r.as_of, r.computed_at, (SELECT count(*) FROM pozytywka.forecast_cache c WHERE c.model = r.model AND c.as_of = r.as_of),
	(SELECT count(*) FROM pozytywka.compute_forecasts(r.model, r.as_of)),
	(SELECT string_agg(concat_ws(':', x.track_id, x.predicted_score, f.predicted_score), ' ') FROM (SELECT * FROM pozytywka.forecast_cache c WHERE c.model = r.model AND c.as_of = r.as_of) x
	   FULL JOIN pozytywka.compute_forecasts(r.model, r.as_of) f ON f.track_id = x.track_id WHERE x.predicted_score IS DISTINCT FROM f.predicted_score)
	FROM pozytywka.forecast_runs r" | cut -c1-600 | sed 's/^/#   stale: /'

echo "# load held: 6 clients (2 readers, 2 writers, 1 bulk writer, 1 refresher) x $SECS s on loopback:"
for f in "${figures[@]}"; do echo "#   $f"; done
dropdb $DB
rm -rf "$tmp"
echo "1..$n"
