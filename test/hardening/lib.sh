# Helpers shared by the crash and import-atomicity tests (sourced).
# data_snapshot DB: one line per relation, a digest of its whole content
data_snapshot() {
	psql -X -At -d "$1" <<-'SQL'
	SELECT 'sessions ' || count(*) || ' ' || coalesce(md5(string_agg(concat_ws(':', session_id, "timestamp", user_id, track_id, event_type), ',' ORDER BY session_id, "timestamp", event_type, track_id)), '-') FROM pozytywka.sessions;
	SELECT 'weekly_history ' || count(*) || ' ' || coalesce(md5(string_agg(concat_ws(':', track_id, week, plays, likes, skips), ',' ORDER BY track_id, week)), '-') FROM pozytywka.weekly_history;
	SELECT 'tracks ' || count(*) || ' ' || coalesce(md5(string_agg(concat_ws(':', id, name, id_artist), ',' ORDER BY id)), '-') FROM pozytywka.tracks;
	SELECT 'rejects ' || count(*) || ' ' || coalesce(md5(string_agg(concat_ws(':', kind, line_no, reason), ',' ORDER BY kind, line_no)), '-') FROM pozytywka.import_rejects;
	SQL
}
# aggregate_diff DB [RELATION]: rows by which the weekly aggregate differs
# from a fresh GROUP BY.  RELATION: pozytywka.weekly_history (default: the
# live view, merged rows plus pending deltas) or merged (weekly_stats alone,
# which must then have no pending deltas).
aggregate_diff() {
	local rel="SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_history"
	[ "${2:-}" = merged ] &&
		rel="SELECT track_id, week, sum(plays), sum(likes), sum(skips) FROM pozytywka.weekly_stats GROUP BY 1, 2
		     UNION ALL SELECT 'pending delta', NULL, NULL, NULL, NULL FROM pozytywka.weekly_deltas"
	psql -X -At -d "$1" -c "WITH agg AS ($rel), fresh AS (SELECT track_id, date_trunc('week', \"timestamp\")::date,
	count(*) FILTER (WHERE event_type = 'play'), count(*) FILTER (WHERE event_type = 'like'), count(*) FILTER (WHERE event_type = 'skip')
	FROM pozytywka.sessions WHERE track_id IS NOT NULL AND event_type IN ('play','like','skip') GROUP BY 1, 2)
	SELECT count(*) FROM ((TABLE agg EXCEPT ALL TABLE fresh) UNION ALL (TABLE fresh EXCEPT ALL TABLE agg)) AS d"
}
# wait_app DB APP [STATE-PATTERN]: until a backend with that application_name is active
wait_app() {
	for _ in $(seq 1 300); do
		[ "$(psql -X -At -d "$1" -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$2' AND state = 'active' AND query ~* '${3:-.}'" 2>/dev/null)" -ge 1 ] 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
app_pid() {
	psql -X -At -d "$1" -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$2' LIMIT 1"
}
# wait_server: until the cluster accepts connections again (after a crash)
wait_server() {
	for _ in $(seq 1 600); do
		psql -X -At -d postgres -c "SELECT 1" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
