#!/usr/bin/env bash
# schedule_weekly_refresh() against a real pg_cron (loaded through
# shared_preload_libraries by the test cluster, cron.database_name =
# 'postgres'): the job is registered once with the right schedule and
# command, re-scheduling updates it, the command does the refresh, and the
# pg_cron launcher really runs it.
# The test has a cluster of its own: pg_cron's launcher stops running the
# jobs of a database whose pg_cron extension was dropped and created again
# (as other tests do on the shared test cluster), until a restart.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
pz_cluster_start "shared_buffers = 128MB" >/dev/null 2>&1 || { echo "Bail out! cannot start a cluster"; exit 1; }
trap pz_cluster_stop EXIT
export PGDATABASE=postgres
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
q() { psql -X -At -v ON_ERROR_STOP=1 -c "$1"; }

psql -X -q -c "DROP FUNCTION IF EXISTS public.weekly_refresh(text)" -c "DROP FUNCTION IF EXISTS public.pz_test_cron_done() CASCADE" -c "DROP EXTENSION IF EXISTS pozytywka CASCADE" -c "DROP EXTENSION IF EXISTS pg_cron" -c "CREATE EXTENSION pozytywka" 2>/dev/null
err=$(psql -X -At -c "SELECT schedule_weekly_refresh()" 2>&1)
echo "$err" | grep -q "pg_cron is not installed" && echo "$err" | grep -q "HINT:.*shared_preload_libraries"
ok $? "without pg_cron: a clear error with a hint"

q "CREATE EXTENSION pg_cron" >/dev/null
ok $? "pg_cron is loaded in the test cluster"
q "INSERT INTO pozytywka.imported_weekly_stats (track_id, week, plays)
   SELECT 't' || t, date '2024-01-01' + 7 * w, 1 + (t * 7 + w * 3) % 11
     FROM generate_series(1, 60) AS t, generate_series(0, 9) AS w" >/dev/null

# as pozytywka 0.1.0 scheduled it: a job of that name run by the superuser
q "SELECT cron.schedule('pozytywka-weekly-refresh', '0 3 * * 1', 'SELECT 1')" >/dev/null
err=$(psql -X -At -c "SELECT schedule_weekly_refresh(run_as => 'postgres')" 2>&1)
echo "$err" | grep -q 'ERROR:  a scheduled job must not run as "postgres", a superuser'
ok $? "the job may not run as a superuser ($(echo "$err" | head -1))"
first=$(psql -X -At -v ON_ERROR_STOP=1 -c "SELECT schedule_weekly_refresh()" 2>&1)
job1=$(echo "$first" | tail -1)
echo "$first" | grep -q 'NOTICE:  created role "pozytywka_job"'
ok $? "the first schedule creates the job's role, with a NOTICE"
job2=$(q "SELECT schedule_weekly_refresh()")
[ -n "$job1" ] && [ "$job1" = "$job2" ]
ok $? "scheduling twice keeps one job (id $job1)"
[ "$(q "SELECT string_agg(username, ',') FROM cron.job WHERE jobname = 'pozytywka-weekly-refresh'")" = pozytywka_job ]
ok $? "the job runs as pozytywka_job, and the superuser's old job of that name is gone"
[ "$(q "SELECT rolcanlogin AND NOT (rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls OR rolreplication OR rolinherit)
         FROM pg_roles WHERE rolname = 'pozytywka_job'")" = t ] &&
	[ "$(q "SELECT count(*) FROM pg_auth_members AS m JOIN pg_roles AS r ON r.oid = m.member WHERE r.rolname = 'pozytywka_job'")" = 0 ]
ok $? "pozytywka_job: LOGIN (pg_cron connects as it), no attribute, member of no role"
# the operator's rights and no more: it refreshes, but cannot write what only the owner may
[ "$(q "SELECT has_function_privilege('pozytywka_job', 'weekly_refresh(boolean)', 'EXECUTE')
           AND has_table_privilege('pozytywka_job', 'pozytywka.top_tracks_snapshot', 'INSERT')
           AND NOT has_table_privilege('pozytywka_job', 'pozytywka.model_kinds', 'INSERT')
           AND NOT has_table_privilege('pozytywka_job', 'pozytywka.weekly_stats', 'INSERT')
           AND NOT has_table_privilege('pozytywka_job', 'pozytywka.sessions', 'INSERT')
           AND NOT has_function_privilege('pozytywka_job', 'rebuild_weekly_stats()', 'EXECUTE')")" = t ]
ok $? "pozytywka_job may run the weekly refresh, not write model_kinds, weekly_stats or events"
[ "$(q "SELECT count(*) FROM cron.job WHERE jobname = 'pozytywka-weekly-refresh'")" = 1 ]
ok $? "exactly one pozytywka job in cron.job"
[ "$(q "SELECT schedule FROM cron.job WHERE jobid = $job1")" = "0 3 * * 1" ]
ok $? "default schedule: Mondays 03:00"
cmd=$(q "SELECT command FROM cron.job WHERE jobid = $job1")
[ "$cmd" = "SELECT public.weekly_refresh(true)" ]
ok $? "the job runs weekly_refresh, schema-qualified, with a typed argument ($cmd)"
[ "$(q "SELECT database FROM cron.job WHERE jobid = $job1")" = postgres ]
ok $? "the job runs in this database"

q "SELECT schedule_weekly_refresh('30 4 * * 2', false)" >/dev/null
[ "$(q "SELECT schedule || ' | ' || command FROM cron.job WHERE jobname = 'pozytywka-weekly-refresh'")" = "30 4 * * 2 | SELECT public.weekly_refresh(false)" ] &&
	[ "$(q "SELECT count(*) FROM cron.job")" = 1 ]
ok $? "re-scheduling updates the same job"

[ "$(q "SELECT count(*) FROM next_week_top_tracks")" = 0 ]
ok $? "the dashboard view is empty before the first refresh"
# a look-alike that whoever can create in the extension's schema could add:
# an untyped literal argument ('t') would resolve to it, not to weekly_refresh(boolean)
q "CREATE FUNCTION public.weekly_refresh(retrain text) RETURNS jsonb LANGUAGE plpgsql
   AS \$\$ BEGIN RAISE EXCEPTION 'the look-alike weekly_refresh(text) ran'; END \$\$" >/dev/null
[ -n "$cmd" ] && q "$cmd" >/dev/null
ok $? "the job's command runs the extension's weekly_refresh, not a look-alike weekly_refresh(text)"
[ "$(q "SELECT count(*) FROM next_week_top_tracks")" = 50 ] &&
	[ "$(q "SELECT count(*) FROM pozytywka.forecast_runs WHERE as_of = latest_complete_week()")" -ge 5 ]
ok $? "the command refreshed the cached forecasts and the dashboard's top 50"

# the launcher really runs it: every minute.  The test waits for the event,
# not for a time: a trigger on pg_cron's own log (cron.job_run_details)
# notifies when a run ends, and a listener blocks until that notification
# (the bound only ends a hung test: pg_cron starts the job within a minute)
q "TRUNCATE pozytywka.top_tracks_snapshot" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE FUNCTION public.pz_test_cron_done() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('pz_cron_done', NEW.status || ' ' || NEW.command);
	RETURN NULL;
END $$;
CREATE TRIGGER pz_test_cron_done AFTER INSERT OR UPDATE ON cron.job_run_details
	FOR EACH ROW WHEN (NEW.status IN ('succeeded', 'failed'))
	EXECUTE FUNCTION public.pz_test_cron_done();
SQL
fifo=$(mktemp -u /tmp/pz_cron_fifo.XXXXXX)
mkfifo "$fifo"
python3 test/hardening/wait_notify.py pz_cron_done 300 >"$fifo" 2>"$fifo.err" &
listener=$!
exec 3<"$fifo"
read -r -t 60 ready <&3
[ "${ready:-}" = listening ] || echo "# the listener did not start"
q "SELECT schedule_weekly_refresh('* * * * *', false)" >/dev/null
read -r -t 310 done_line <&3
wait $listener
exec 3<&-
echo "# pg_cron's run: ${done_line:-none}"
if [ -z "${done_line:-}" ]; then
	sed 's/^/# listener: /' "$fifo.err"
	q "SELECT jobid, status, command, return_message FROM cron.job_run_details" | sed 's/^/# cron.job_run_details: /'
	grep -i cron "$PZ_CLUSTER_DIR/server.log" | tail -5 | sed 's/^/# server log: /'
fi
rm -f "$fifo" "$fifo.err"
case "${done_line:-}" in
"succeeded SELECT public.weekly_refresh(false)") ran=0 ;;
*) ran=1 ;;
esac
[ "$(q "SELECT count(*) FROM cron.job_run_details WHERE status = 'succeeded' AND command = 'SELECT public.weekly_refresh(false)' AND username = 'pozytywka_job'")" -ge 1 ] || ran=1
ok $ran "pg_cron ran the job by itself, as pozytywka_job, and it succeeded"
[ "$(q "SELECT count(*) FROM next_week_top_tracks")" = 50 ]
ok $? "the scheduled run refreshed the dashboard's list"

[ "$(q "SELECT unschedule_weekly_refresh()")" = t ] && [ "$(q "SELECT count(*) FROM cron.job")" = 0 ]
ok $? "unschedule_weekly_refresh removes the job"
job=$(q "SELECT schedule_merge_events('*/5 * * * *')")
[ "$(q "SELECT schedule || ' | ' || command || ' | ' || username FROM cron.job WHERE jobid = $job")" = "*/5 * * * * | SELECT public.merge_events(false) | pozytywka_job" ]
ok $? "schedule_merge_events: the merge runs every 5 minutes as pozytywka_job"
PGOPTIONS="-c client_min_messages=warning" psql -X -q -c "DROP FUNCTION public.weekly_refresh(text)" -c "DROP FUNCTION public.pz_test_cron_done() CASCADE" -c "DROP EXTENSION pozytywka CASCADE" -c "DROP EXTENSION pg_cron"
echo "1..$n"
