#!/usr/bin/env bash
# pozytywka-import on the service's real exports (../shared/data): every
# line is accounted for (loaded, repaired or rejected with a reason), a
# second run changes nothing, and the weekly aggregate is exact.
# Skipped where ../shared/data does not exist (a user's clone).
set -u
cd "$(dirname "$0")/../.."
DATA=${POZYTYWKA_SHARED_DATA:-../shared/data}
n=0
IMPORT=$(pg_config --bindir)/pozytywka-import
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
if [ ! -d "$DATA/pozytywka-2023" ] || [ ! -d "$DATA/pozytywka-2024" ]; then
	echo "ok 1 # SKIP no $DATA (real exports are not part of the repository)"
	echo "1..1"
	exit 0
fi
export PGDATABASE=pz_import_real
dropdb --if-exists "$PGDATABASE"; createdb "$PGDATABASE"
psql -X -q -c "CREATE EXTENSION pozytywka"
q() { psql -X -At -c "$1"; }

for export in pozytywka-2023 pozytywka-2024; do
	out=$("$IMPORT" "$DATA/$export" 2>&1)
	ok $? "pozytywka-import loads $export"
	echo "$out" | sed 's/^/# /'
	# each file: lines read = the file's lines = loaded + repaired + rejected
	for f in "$DATA/$export"/*.jsonl; do
		kind=$(basename "$f" .jsonl)
		lines=$(wc -l <"$f")
		acc=$(echo "$out" | awk -v k="$kind" '$1 == k { print $2, $3 + $4 + $5; exit }')
		[ "$lines $lines" = "$acc" ]
		ok $? "$export/$kind: all $lines lines accounted for (lines read, loaded + repaired + rejected = $acc)"
	done
done

[ "$(q "SELECT count(*) FROM pozytywka.import_rejects WHERE reason IS NULL OR reason = ''")" = 0 ]
ok $? "every rejected line has a reason"
[ "$(q "SELECT count(*) FROM pozytywka.sessions WHERE event_type IS NULL")" = 0 ]
ok $? "no event without a type was loaded"
[ "$(q "SELECT count(*) FROM pozytywka.sessions WHERE event_type IN ('play','skip','like') AND track_id IS NULL")" = 0 ]
ok $? "every play, skip and like names a track"
[ "$(q "SELECT count(DISTINCT event_type) FROM pozytywka.sessions")" = 5 ]
ok $? "upper case, lower case and the misspelt 'advertisment' map to the 5 event types"
[ "$(q "SELECT count(*) FROM pozytywka.users WHERE city = 'Kraków' OR city = 'Wrocław' OR city = 'Poznań'")" -gt 0 ]
ok $? "\\u escapes arrive as Polish letters (COPY did not eat the backslashes)"
[ "$(q "SELECT count(*) FROM pozytywka.sessions WHERE \"timestamp\" <> date_trunc('second', \"timestamp\")")" -gt 0 ]
ok $? "6-digit fractional seconds are kept"
[ "$(q "SELECT count(*) FROM pozytywka.tracks WHERE release_date_precision = 'year'")" -gt 0 ]
ok $? "year-only release dates keep their precision"
[ "$(q "SELECT sum(repaired) FROM pozytywka.import_runs WHERE kind = 'sessions'")" -gt 0 ]
ok $? "null track_ids of skips/likes were repaired from the session's play"

before=$(q "SELECT md5(string_agg(s::text, ',' ORDER BY s::text)) FROM pozytywka.sessions AS s")
before_tracks=$(q "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM pozytywka.tracks AS t")
out=$("$IMPORT" "$DATA/pozytywka-2024")
ok $? "loading the last export again runs"
[ -n "$out" ] || out="no output"
# new rows = loaded + repaired - duplicates
loaded=$(echo "$out" | awk '$1 ~ /^(artists|tracks|users|track_storage|sessions)$/ { s += $3 + $4 - $6; n++ } END { print (n ? s : "none") }')
[ "$loaded" = 0 ]
ok $? "loading the same files again adds nothing (new rows: $loaded)"
[ "$before" = "$(q "SELECT md5(string_agg(s::text, ',' ORDER BY s::text)) FROM pozytywka.sessions AS s")" ] &&
	[ "$before_tracks" = "$(q "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM pozytywka.tracks AS t")" ]
ok $? "loading the same files again changes no event and no track"
out=$("$IMPORT" "$DATA/pozytywka-2023" && "$IMPORT" "$DATA/pozytywka-2024")
ok $? "loading both exports again runs"
[ "$before" = "$(q "SELECT md5(string_agg(s::text, ',' ORDER BY s::text)) FROM pozytywka.sessions AS s")" ]
ok $? "loading both exports again counts no event twice"

exact=$(q "SELECT count(*) FROM ((SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_history
	EXCEPT SELECT track_id, date_trunc('week', \"timestamp\")::date, count(*) FILTER (WHERE event_type = 'play'),
		count(*) FILTER (WHERE event_type = 'like'), count(*) FILTER (WHERE event_type = 'skip')
	FROM pozytywka.sessions WHERE track_id IS NOT NULL AND event_type IN ('play','like','skip') GROUP BY 1, 2)
	UNION ALL (SELECT track_id, date_trunc('week', \"timestamp\")::date, count(*) FILTER (WHERE event_type = 'play'),
		count(*) FILTER (WHERE event_type = 'like'), count(*) FILTER (WHERE event_type = 'skip')
	FROM pozytywka.sessions WHERE track_id IS NOT NULL AND event_type IN ('play','like','skip') GROUP BY 1, 2
	EXCEPT SELECT track_id, week, plays, likes, skips FROM pozytywka.weekly_history)) d")
[ "$exact" = 0 ]
ok $? "the weekly aggregate equals a fresh GROUP BY after both exports"

# a malformed line never aborts the file
tmp=$(mktemp -d)
{ head -5 "$DATA/pozytywka-2024/sessions.jsonl"; echo '{"session_id": 1, "timestamp": '; echo '\.'; echo 'x\y'; tail -3 "$DATA/pozytywka-2024/sessions.jsonl"; } >"$tmp/sessions.jsonl"
out=$("$IMPORT" "$tmp")
ok $? "a file with malformed lines still loads"
echo "$out" | sed 's/^/# /'
rm -rf "$tmp"

rows=$(q "SELECT count(*) FROM top_tracks_next_week(50, 'naive')")
[ "$rows" -gt 0 ]
ok $? "top_tracks_next_week runs on the real data ($rows rows)"
# automatic ARIMA on every candidate series of 8 origins: sparse weekly
# counts once drove GSL's root solver into an endless loop that no cancel
# could stop (a subnormal leading MA coefficient)
fits=$(PGOPTIONS="-c statement_timeout=120s" psql -X -At -c "SELECT count(*) FROM generate_series(0, 7) AS i,
	LATERAL pozytywka.candidate_series(latest_complete_week() - 7 * i) AS c, LATERAL arima_forecast(c.series) AS f
	WHERE f[1] IS NOT NULL" 2>&1)
[ "${fits:-0}" -gt 1000 ] 2>/dev/null
ok $? "automatic ARIMA answers for every candidate track of 8 weeks of the real data ($fits fits)"
dropdb --force "$PGDATABASE"
echo "1..$n"
