#!/usr/bin/env bash
# Memory of one backend stays bounded over thousands of repeated calls:
# RssAnon of the backend (its private memory, read by the backend itself
# from /proc/self/status; VmRSS would also count the shared buffers it
# touches) after a warm-up, then after the calls; the growth must stay
# below BOUND_KB.  The warm-up is one full pass of the same calls (the first
# pass fills the session's one-off caches: compiled plpgsql, cached plans,
# catalog caches); the growth measured is that of the second pass, so a
# leak (memory that grows with every call) shows and one-off caches do not.  Each group of calls is separate statements (as a dashboard or a
# pooler issues them), except the series functions, which also run 5,000
# times inside one statement (a leak in a per-call context shows there).
set -u
cd "$(dirname "$0")/../.."
DB=pz_memory
BOUND_KB=${PZ_MEMORY_BOUND_KB:-4096}
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
q() { psql -X -At -v ON_ERROR_STOP=1 -d $DB -c "$1"; }
tmp=$(mktemp -d /tmp/pz_memory.XXXXXX)
dropdb --if-exists $DB 2>/dev/null
createdb $DB && q "CREATE EXTENSION pozytywka" >/dev/null || { echo "Bail out! no database"; exit 1; }
# small data: 200 tracks x 20 weeks, some raw events too
q "INSERT INTO pozytywka.imported_weekly_stats (track_id, week, plays, likes, skips)
   SELECT 't' || t, date '2024-01-01' + 7 * w, (hashint4(t * 100 + w) & 255) % (1 + t % 37), t % 5, w % 3
     FROM generate_series(1, 200) AS t, generate_series(0, 19) AS w" >/dev/null
# every model and the automatic choice cached, as the weekly job leaves them
q "SELECT count(*) FROM refresh_forecasts()" >/dev/null

rss='SELECT (regexp_match(pg_read_file('"'"'/proc/self/status'"'"'), '"'"'RssAnon:\s+(\d+)'"'"'))[1]::int AS rss \gset'
# run_group <label> <warm-up statement file> <statement file>
run_group() {
	local label=$1 warm=$2 body=$3 out
	out=$({
		echo "\\set ON_ERROR_STOP 1"
		cat "$warm"
		echo "$rss"
		echo "\\set before :rss"
		cat "$body"
		echo "$rss"
		echo "\\echo RESULT :before :rss"
	} | psql -X -q -At -d $DB 2>&1 | grep -E '^RESULT|ERROR')
	local before after growth
	read -r _ before after <<<"$(echo "$out" | grep '^RESULT')"
	if [ -z "${after:-}" ]; then
		ok 1 "$label: ran"
		echo "#   $out"
		return
	fi
	growth=$((after - before))
	[ $growth -lt $BOUND_KB ]
	ok $? "$label: RssAnon $before kB -> $after kB, growth $growth kB (bound $BOUND_KB kB)"
	figures+=("$(printf '%-60s %8d kB %8d kB %6d kB' "$label" "$before" "$after" "$growth")")
}
figures=()
rep() { # rep <count> <statement>: the statement count times
	local i
	for ((i = 0; i < $1; i++)); do echo "$2;"; done
}

# series functions: 5,000 calls each inside one statement, and 5,000 statements
cat >"$tmp/series_loop.sql" <<'SQL'
DO $$
DECLARE s float8[] := (SELECT array_agg(random() * 100) FROM generate_series(1, 520));
BEGIN
	FOR i IN 1 .. 5000 LOOP
		PERFORM series_mean(s, 8), series_ewma(s, 0.5), series_trend(s, 4),
				pozytywka.left_pad(s[1:40], 52);
	END LOOP;
END $$;
SQL
rep 200 "SELECT series_mean('{1,2,3,4,5,6,7,8,9}', 4), series_ewma('{1,2,3}', 0.5), series_trend('{1,2,3,4}', 4)" >"$tmp/warm_series.sql"
{ cat "$tmp/series_loop.sql"; rep 5000 "SELECT series_mean('{1,2,3,4,5,6,7,8,9}', 4), series_ewma('{1,2,3}', 0.5), series_trend('{1,2,3,4}', 4), pozytywka.left_pad('{1,2}', 10)"; } >"$tmp/series.sql"
run_group "series_mean/ewma/trend/left_pad: 5,000 in a loop + 5,000 statements" "$tmp/series.sql" "$tmp/series.sql"

# the errors path: 5,000 rejected calls (error cleanup must free everything)
{ for ((i = 0; i < 1000; i++)); do
	echo "SELECT series_mean('{1,NULL}', 4);"
	echo "SELECT series_trend('{1,NaN}', 4);"
	echo "SELECT predict('{\"model_type\": \"nope\"}');"
	echo "SELECT * FROM top_tracks_next_week(0);"
	echo "SELECT pozytywka.pooled_ar_forecast('{{1,2,NaN}}', '{t}', 1, 0.001);"
done; } >"$tmp/errors.sql"
cp "$tmp/errors.sql" "$tmp/warm_errors.sql"
out=$({ cat "$tmp/warm_errors.sql"; echo "$rss"; echo "\\set before :rss"; cat "$tmp/errors.sql"; echo "$rss"; echo "\\echo RESULT :before :rss"; } | psql -X -q -At -d $DB 2>"$tmp/errors.err" | grep '^RESULT')
read -r _ before after <<<"$out"
growth=$((${after:-999999} - ${before:-0}))
# the calls must really be rejected (else this measures something else)
nerr=$(grep -c '^ERROR' "$tmp/errors.err")
[ "$nerr" = 10000 ]
ok $? "the 2 x 5,000 calls of the errors path were all rejected ($nerr errors)"
[ -n "${after:-}" ] && [ $growth -lt $BOUND_KB ]
ok $? "5,000 rejected calls (NULL element, NaN, unknown model, n = 0, NaN matrix): RssAnon $before kB -> $after kB, growth $growth kB"
figures+=("$(printf '%-60s %8d kB %8d kB %6d kB' "5,000 rejected calls" "${before:-0}" "${after:-0}" "$growth")")

# the top list (cached models and the automatic choice) and predict
{ for ((i = 0; i < 150; i++)); do
	echo "SELECT count(*) FROM top_tracks_next_week(50, 'naive');"
	echo "SELECT count(*) FROM top_tracks_next_week(20);"
	echo "SELECT predict('{\"model_type\": \"mean4\", \"n\": 30}');"
	echo "SELECT predict('{}');"
done; } >"$tmp/toplist.sql"
run_group "top_tracks_next_week x 300 + predict x 300 (cached)" "$tmp/toplist.sql" "$tmp/toplist.sql"

# computed (not cached) forecasts: the pooled model's C core and the dense
# series aggregate run on every call
{ for ((i = 0; i < 30; i++)); do
	echo "SELECT count(*) FROM top_tracks_next_week(50, 'pooled');"
	echo "SELECT count(*) FROM pozytywka.candidate_series('2024-05-13');"
done; } >"$tmp/computed.sql"
run_group "pooled top list x 30 + candidate_series x 30 (computed)" "$tmp/computed.sql" "$tmp/computed.sql"

# the list straight from the network: lstm_apply on the cached input
# windows on every call (the model's weights are malloc'd by the core and
# freed by the glue)
q "SELECT lstm_train(epochs => 2, hidden => 8)" >/dev/null 2>&1
q "DELETE FROM pozytywka.forecast_runs WHERE model = 'lstm'" >/dev/null
{ for ((i = 0; i < 100; i++)); do
	echo "SELECT count(*) FROM top_tracks_next_week(50, 'lstm');"
done; } >"$tmp/lstm.sql"
run_group "lstm top list x 100 (network run on every call)" "$tmp/lstm.sql" "$tmp/lstm.sql"

echo "# backend RssAnon before / after / growth:"
for f in "${figures[@]}"; do echo "#   $f"; done
dropdb $DB
rm -rf "$tmp"
echo "1..$n"
