#!/usr/bin/env bash
# Read replicas (issue 14): a primary and a hot standby made with
# pg_basebackup, streaming (each its own cluster in its own mktemp -d,
# loopback only).  On the standby:
#  - the dashboard's view and the warm top list answer, from the forecasts
#    cached on the primary (no forecast is computed there:
#    pg_stat_user_functions), equal to the primary's
#  - an uncached forecast is computed without caching, equal to the
#    primary's; events written on the primary (pending, then merged) are in
#    the next list once replayed
#  - what must write (training, a refresh, a merge) fails at once with a
#    clear error and a hint
# Waits on pg_stat_replication and the replay LSN, never on fixed times.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
MAIN_HOST=$PGHOST MAIN_PORT=$PGPORT MAIN_DIR=${PZ_CLUSTER_DIR:-}
P_DIR= S_DIR=
cleanup() {
	[ -n "$S_DIR" ] && PZ_CLUSTER_DIR=$S_DIR pz_cluster_stop
	[ -n "$P_DIR" ] && PZ_CLUSTER_DIR=$P_DIR pz_cluster_stop
}
trap cleanup EXIT
pz_cluster_start "shared_buffers = 64MB" "max_wal_senders = 4" "wal_level = replica" \
	"track_functions = 'pl'" >/dev/null 2>&1 || { echo "Bail out! the primary did not start"; exit 1; }
P_DIR=$PZ_CLUSTER_DIR P_PORT=$PGPORT
export PGHOST=$MAIN_HOST PGPORT=$MAIN_PORT PZ_CLUSTER_DIR=$MAIN_DIR
qp() { psql -X -At -v ON_ERROR_STOP=1 -h "$P_DIR" -p "$P_PORT" -d postgres -c "$1"; }
qs() { psql -X -At -v ON_ERROR_STOP=1 -h "$S_DIR" -p "$S_PORT" -d postgres -c "$1"; }

qp "CREATE EXTENSION pozytywka" >/dev/null &&
	qp "SELECT count(*) FROM generate_demo_data(weeks => 30, events_per_week => 3000, tracks => 300,
		artists => 40, users => 200)" >/dev/null &&
	qp "SELECT count(*) FROM refresh_forecasts()" >/dev/null &&
	qp "SELECT refresh_top_tracks(20)" >/dev/null || { echo "Bail out! no data on the primary"; exit 1; }

# the standby: pg_basebackup -R, its own directory, port and socket
S_DIR=$(mktemp -d /tmp/pozytywka-pg.XXXXXX)
chown postgres: "$S_DIR"
S_PORT=$((P_PORT + 1))
while ss -ltn 2>/dev/null | grep -q ":$S_PORT "; do S_PORT=$((S_PORT + 1)); done
runuser -u postgres -- "$PZ_PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$P_PORT" -U postgres \
	-D "$S_DIR/data" -R -X stream -c fast >/dev/null 2>&1
ok $? "pg_basebackup -R of the primary"
{
	echo "port = $S_PORT"
	echo "unix_socket_directories = '$S_DIR'"
	echo "hot_standby = on"
} >>"$S_DIR/data/postgresql.conf"
runuser -u postgres -- "$PZ_PG_BIN/pg_ctl" -D "$S_DIR/data" -w -t 120 -l "$S_DIR/server.log" start >/dev/null
pg_isready -q -h "$S_DIR" -p "$S_PORT" -t 60
r=$(qs "SELECT pg_is_in_recovery()")
ok $([ "$r" = t ] && echo 0 || echo 1) "the standby is in recovery"

# wait until the standby streams and has replayed everything the primary wrote
wait_replayed() {
	local lsn
	lsn=$(qp "SELECT pg_current_wal_insert_lsn()")
	qp "DO \$\$ BEGIN
		  FOR i IN 1 .. 1200 LOOP
			EXIT WHEN EXISTS (SELECT 1 FROM pg_stat_replication
							   WHERE state = 'streaming' AND replay_lsn >= '$lsn');
			PERFORM pg_sleep(0.05);
			PERFORM pg_stat_clear_snapshot();
		  END LOOP;
		END \$\$" >/dev/null
	qs "SELECT pg_last_wal_replay_lsn() >= '$lsn'" | grep -qx t
}
wait_replayed
ok $? "streaming; the standby replayed the primary's LSN (pg_stat_replication, pg_last_wal_replay_lsn)"

view="SELECT string_agg(format('%s %s %s %s', rank, track_id, predicted_score, model), ';' ORDER BY rank) FROM next_week_top_tracks"
a=$(qp "$view") b=$(qs "$view")
ok $([ -n "$a" ] && [ "$a" = "$b" ] && echo 0 || echo 1) "the view on the standby = the primary's"
top="SELECT string_agg(format('%s %s %s %s', rank, track_id, predicted_score, model), ';' ORDER BY rank) FROM top_tracks_next_week(20)"
a=$(qp "$top")
b=$(qs "SELECT pg_stat_reset()" >/dev/null; qs "$top")
ok $([ -n "$a" ] && [ "$a" = "$b" ] && echo 0 || echo 1) "the warm top list (auto) on the standby = the primary's"
r=$(qs "SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions WHERE funcname IN ('compute_forecasts', 'backtest_top_tracks', 'overlap_at')")
ok $([ "$r" = 0 ] && echo 0 || echo 1) "... read from the cache: no forecast computed on the standby ($r calls)"
for k in naive pooled arima; do
	a=$(qp "$(echo "$top" | sed "s/(20)/(20, '$k')/")") b=$(qs "$(echo "$top" | sed "s/(20)/(20, '$k')/")")
	[ -n "$a" ] && [ "$a" = "$b" ] || break
done
ok $([ -n "$a" ] && [ "$a" = "$b" ] && echo 0 || echo 1) "the cached lists of naive, pooled and arima = the primary's"

# not cached: an older origin — computed on the standby, not cached
origin=$(qs "SELECT max(w)::date FROM generate_series(pozytywka.first_week() + 28, latest_complete_week(), interval '7 days') AS w
			 WHERE NOT EXISTS (SELECT 1 FROM pozytywka.forecast_runs AS r WHERE r.model = 'mean8' AND r.as_of = w)")
old="SELECT string_agg(format('%s %s %s', rank, track_id, round(predicted_score::numeric, 6)), ';' ORDER BY rank) FROM top_tracks_next_week(20, 'mean8', '$origin')"
b=$(qs "$old" 2>&1)
notcached=$(qs "SELECT count(*) FROM pozytywka.forecast_runs WHERE model = 'mean8' AND as_of = '$origin'")
a=$(qp "$old")
ok $([ -n "$a" ] && [ "$a" = "$b" ] && echo 0 || echo 1) "an uncached forecast (mean8 from $origin) is computed on the standby, = the primary's"
r=$(qs "SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions WHERE funcname = 'compute_forecasts'")
ok $([ "$r" -gt 0 ] && echo 0 || echo 1) "... computed there ($r calls of compute_forecasts: the count above was no accident)"
ok $([ "$notcached" = 0 ] && echo 0 || echo 1) "... and not cached"
pr="SELECT predict('{\"model_type\": \"trend\", \"n\": 5}') - 'computed_at'"
a=$(qp "$pr") b=$(qs "$pr" 2>&1)
ok $([ -n "$a" ] && [ "$a" = "$b" ] && echo 0 || echo 1) "predict() on the standby = the primary's"
bt="SELECT string_agg(format('%s %s', week, round(overlap::numeric, 6)), ';' ORDER BY week) FROM backtest_top_tracks(10, 3, 'ewma')"
a=$(qp "$bt") b=$(qs "$bt" 2>&1)
ok $([ -n "$a" ] && [ "$a" = "$b" ] && echo 0 || echo 1) "backtest_top_tracks on the standby = the primary's"

# what writes: a clear error and a hint, at once
for call in "lstm_train(epochs => 1)" "refresh_forecasts()" "refresh_top_tracks()" "weekly_refresh()" "merge_events()"; do
	err=$(psql -X -At -v VERBOSITY=default -h "$S_DIR" -p "$S_PORT" -d postgres -c "SELECT $call" 2>&1)
	echo "$err" | grep -q 'ERROR: .*standby' && echo "$err" | grep -q 'HINT: '
	ok $? "$call on the standby: $(echo "$err" | grep ERROR | head -1 | cut -c1-90)"
done

# new events on the primary reach the standby's next list: pending, then merged
lw=$(qp "SELECT latest_complete_week()")
qp "INSERT INTO pozytywka.sessions SELECT 900000000 + g, '$lw'::timestamp + interval '1 hour', 1, 'zz-replicated', 'play'
	FROM generate_series(1, 5000) AS g" >/dev/null
wait_replayed
a=$(qp "$top") b=$(qs "$top")
ok $([ "$a" = "$b" ] && echo "$b" | grep -q '^1 zz-replicated' && echo 0 || echo 1) "pending events of the primary: in the standby's next list"
qp "SELECT merge_events()" >/dev/null
wait_replayed
a=$(qp "$top") b=$(qs "$top")
ok $([ "$a" = "$b" ] && echo "$b" | grep -q '^1 zz-replicated' && echo 0 || echo 1) "merged on the primary: the standby's list = the primary's"
grep -qE 'PANIC|server process .* was terminated' "$S_DIR/server.log"
ok $([ $? = 0 ] && echo 1 || echo 0) "no crash in the standby's log"
echo "1..$n"
