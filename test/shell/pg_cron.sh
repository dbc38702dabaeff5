#!/usr/bin/env bash
# schedule_weekly_refresh() against a real pg_cron (loaded through
# shared_preload_libraries by the test cluster, cron.database_name =
# 'postgres'): the job is registered once with the right schedule and
# command, re-scheduling updates it, the command does the refresh, and the
# pg_cron launcher really runs it.
set -u
export PGDATABASE=postgres
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
q() { psql -X -At -v ON_ERROR_STOP=1 -c "$1"; }

psql -X -q -c "DROP EXTENSION IF EXISTS pozytywka CASCADE" -c "DROP EXTENSION IF EXISTS pg_cron" -c "CREATE EXTENSION pozytywka" 2>/dev/null
err=$(psql -X -At -c "SELECT schedule_weekly_refresh()" 2>&1)
echo "$err" | grep -q "pg_cron is not installed" && echo "$err" | grep -q "HINT:.*shared_preload_libraries"
ok $? "without pg_cron: a clear error with a hint"

q "CREATE EXTENSION pg_cron" >/dev/null
ok $? "pg_cron is loaded in the test cluster"
q "INSERT INTO pozytywka.imported_weekly_stats (track_id, week, plays)
   SELECT 't' || t, date '2024-01-01' + 7 * w, 1 + (t * 7 + w * 3) % 11
     FROM generate_series(1, 60) AS t, generate_series(0, 9) AS w" >/dev/null

job1=$(q "SELECT schedule_weekly_refresh()")
job2=$(q "SELECT schedule_weekly_refresh()")
[ -n "$job1" ] && [ "$job1" = "$job2" ]
ok $? "scheduling twice keeps one job (id $job1)"
[ "$(q "SELECT count(*) FROM cron.job WHERE jobname = 'pozytywka-weekly-refresh'")" = 1 ]
ok $? "exactly one pozytywka job in cron.job"
[ "$(q "SELECT schedule FROM cron.job WHERE jobid = $job1")" = "0 3 * * 1" ]
ok $? "default schedule: Mondays 03:00"
cmd=$(q "SELECT command FROM cron.job WHERE jobid = $job1")
[ "$cmd" = "SELECT public.weekly_refresh('t')" ]
ok $? "the job runs weekly_refresh, schema-qualified ($cmd)"
[ "$(q "SELECT database FROM cron.job WHERE jobid = $job1")" = postgres ]
ok $? "the job runs in this database"

q "SELECT schedule_weekly_refresh('30 4 * * 2', false)" >/dev/null
[ "$(q "SELECT schedule || ' | ' || command FROM cron.job WHERE jobname = 'pozytywka-weekly-refresh'")" = "30 4 * * 2 | SELECT public.weekly_refresh('f')" ] &&
	[ "$(q "SELECT count(*) FROM cron.job")" = 1 ]
ok $? "re-scheduling updates the same job"

[ "$(q "SELECT count(*) FROM next_week_top_tracks")" = 0 ]
ok $? "the dashboard view is empty before the first refresh"
[ -n "$cmd" ] && q "$cmd" >/dev/null
ok $? "the job's command runs"
[ "$(q "SELECT count(*) FROM next_week_top_tracks")" = 50 ] &&
	[ "$(q "SELECT count(*) FROM pozytywka.forecast_runs WHERE as_of = latest_complete_week()")" -ge 5 ]
ok $? "the command refreshed the cached forecasts and the dashboard's top 50"

# the launcher really runs it: every minute, wait for one successful run
q "TRUNCATE pozytywka.top_tracks_snapshot" >/dev/null
q "SELECT schedule_weekly_refresh('* * * * *', false)" >/dev/null
ran=1
for _ in $(seq 1 80); do
	if [ "$(q "SELECT count(*) FROM cron.job_run_details WHERE status = 'succeeded' AND command LIKE '%weekly_refresh%'")" -gt 0 ]; then
		ran=0
		break
	fi
	sleep 1
done
ok $ran "pg_cron ran the job by itself and it succeeded"
[ "$(q "SELECT count(*) FROM next_week_top_tracks")" = 50 ]
ok $? "the scheduled run refreshed the dashboard's list"

[ "$(q "SELECT unschedule_weekly_refresh()")" = t ] && [ "$(q "SELECT count(*) FROM cron.job")" = 0 ]
ok $? "unschedule_weekly_refresh removes the job"
psql -X -q -c "DROP EXTENSION pozytywka CASCADE" -c "DROP EXTENSION pg_cron"
echo "1..$n"
