#!/usr/bin/env bash
# Bad-input suite: every case of test/hardening/bad_inputs.tsv (the one list
# of bad inputs).  SQL cases must fail with the listed SQLSTATE and a message
# naming the problem; importer cases must be rejected with the listed reason
# while the valid lines around them load.  After all of it the server must
# not have restarted (no backend crashed).
set -u
cd "$(dirname "$0")/../.."
CASES=test/hardening/bad_inputs.tsv
DB_DATA=pz_bad_data
DB_EMPTY=pz_bad_empty
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
q() { psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

for db in $DB_DATA $DB_EMPTY; do
	dropdb --if-exists "$db" 2>/dev/null
	createdb "$db" && q "$db" "CREATE EXTENSION pozytywka" >/dev/null || { echo "Bail out! cannot create $db"; exit 1; }
done
# 40 tracks x 12 weeks of weekly counts
q $DB_DATA "INSERT INTO pozytywka.imported_weekly_stats (track_id, week, plays, likes, skips)
	SELECT 't' || t, date '2024-01-01' + 7 * w, 1 + (t * 7 + w * 3) % 23, t % 3, (t + w) % 4
	  FROM generate_series(1, 40) AS t, generate_series(0, 11) AS w" >/dev/null

start_time=$(q postgres "SELECT pg_postmaster_start_time()")
n_sql=0
n_import=0

# ---- SQL cases: all of one database in one session (a psql start costs
# ~0.4 s on a loaded CI machine); each runs in its own subtransaction that is
# always rolled back, so no case changes the data another one sees
run_cases() { # db-tag database
	{
		echo "CREATE TEMP TABLE pz_cases (id int, stmt text);"
		awk -F'\t' -v tag="$1" '$1 == "sql" { i++; if ($2 == tag) printf "INSERT INTO pz_cases VALUES (%d, $pzcase$%s$pzcase$);\n", i, $5 }' "$CASES"
		cat <<-'SQL'
		CREATE FUNCTION pg_temp.pz_run_cases() RETURNS TABLE (id int, state text, msg text)
		LANGUAGE plpgsql AS $f$
		DECLARE c record;
		BEGIN
			FOR c IN SELECT * FROM pz_cases ORDER BY 1 LOOP
				id := c.id;
				BEGIN
					EXECUTE c.stmt;
					state := 'none'; msg := 'no error';
					RAISE EXCEPTION USING ERRCODE = 'ZZ999';
				EXCEPTION WHEN sqlstate 'ZZ999' THEN NULL;
					WHEN others THEN
					GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
				END;
				RETURN NEXT;
			END LOOP;
		END $f$;
		SELECT id || E'\t' || state || E'\t' || replace(msg, E'\n', ' ') FROM pg_temp.pz_run_cases();
		SQL
	} | psql -X -At -q -d "$2" 2>&1
}
results=$( (run_cases data $DB_DATA; run_cases empty $DB_EMPTY) )
declare -A got_state got_msg
while IFS=$'\t' read -r id st msg; do
	got_state[$id]=$st
	got_msg[$id]=$msg
done <<<"$results"
while IFS=$'\t' read -r kind db state frag stmt; do
	[ "$kind" = sql ] || continue
	n_sql=$((n_sql + 1))
	st=${got_state[$n_sql]:-}
	if [ "$st" = "$state" ] && printf '%s' "${got_msg[$n_sql]}" | grep -qiF -- "$frag"; then
		ok 0 "[$state] $stmt"
	else
		ok 1 "[$state \"$frag\"] $stmt"
		echo "#   got: ${st:-nothing} ${got_msg[$n_sql]:-}"
	fi
done <"$CASES"
[ ${#got_state[@]} -eq $n_sql ] || { echo "# not every case ran:"; printf '%s\n' "$results" | grep -v $'^[0-9]*\t' | sed 's/^/#   /'; }

# ---- importer cases: one file per kind, a valid line before and after each bad one
dir=$(mktemp -d /tmp/pz_bad_import.XXXXXX)
chmod 755 "$dir"
declare -A expect_reason
declare -A good_lines
line_of() { # kind -> current line count
	[ -f "$dir/$1.jsonl" ] && wc -l <"$dir/$1.jsonl" || echo 0
}
good_line() { # kind seq
	case $1 in
	sessions) printf '{"session_id": %d, "timestamp": "2024-01-0%dT12:00:00.123456", "user_id": 1, "track_id": "g%d", "event_type": "play"}\n' $((1000 + $2)) $((1 + $2 % 7)) "$2" ;;
	tracks) printf '{"id": "good%d", "name": "ok", "popularity": 5, "release_date": "2020"}\n' "$2" ;;
	artists) printf '{"id": "ga%d", "name": "ok", "genres": ["pop"]}\n' "$2" ;;
	users) printf '{"user_id": %d, "name": "ok", "premium_user": 1}\n' $((500 + $2)) ;;
	track_storage) printf '{"track_id": "gs%d", "storage_class": "slow", "daily_cost": 0.5}\n' "$2" ;;
	esac
}
seq_no=0
while IFS=$'\t' read -r kind fkind frag line; do
	[ "$kind" = import ] || continue
	n_import=$((n_import + 1))
	seq_no=$((seq_no + 1))
	good_line "$fkind" $seq_no >>"$dir/$fkind.jsonl"
	good_lines[$fkind]=$((${good_lines[$fkind]:-0} + 1))
	printf '%s\n' "$line" >>"$dir/$fkind.jsonl"
	expect_reason["$fkind:$(line_of "$fkind")"]="$frag"
done <"$CASES"
for k in "${!good_lines[@]}"; do
	seq_no=$((seq_no + 1))
	good_line "$k" $seq_no >>"$dir/$k.jsonl"
	good_lines[$k]=$((${good_lines[$k]} + 1))
done
PGDATABASE=$DB_EMPTY "$PWD/bin/pozytywka-import" "$dir" >"$dir/out.txt" 2>&1
ok $? "pozytywka-import runs over the files of bad lines"
sed 's/^/#   /' "$dir/out.txt"
declare -A reasons
while IFS=$'\t' read -r k l r; do reasons["$k:$l"]=$r; done < <(q $DB_EMPTY "SELECT kind || E'\t' || line_no || E'\t' || reason FROM pozytywka.import_rejects")
for key in $(printf '%s\n' "${!expect_reason[@]}" | sort -t: -k1,1 -k2n); do
	fkind=${key%%:*}
	lno=${key#*:}
	frag=${expect_reason[$key]}
	got=${reasons[$key]:-}
	if printf '%s' "$got" | grep -qiF -- "$frag"; then
		ok 0 "import $fkind line $lno rejected: $got"
	else
		ok 1 "import $fkind line $lno rejected with \"$frag\""
		echo "#   got: ${got:-not rejected} ($(sed -n "${lno}p" "$dir/$fkind.jsonl"))"
	fi
done
loaded_counts=$(q $DB_EMPTY "SELECT 'artists', count(DISTINCT id) FROM pozytywka.artists UNION ALL
	SELECT 'tracks', count(DISTINCT id) FROM pozytywka.tracks UNION ALL
	SELECT 'users', count(DISTINCT user_id) FROM pozytywka.users UNION ALL
	SELECT 'track_storage', count(DISTINCT track_id) FROM pozytywka.track_storage UNION ALL
	SELECT 'sessions', count(DISTINCT session_id) FROM pozytywka.sessions")
for k in $(printf '%s\n' "${!good_lines[@]}" | sort); do
	loaded=$(printf '%s\n' "$loaded_counts" | sed -n "s/^$k|//p")
	[ "$loaded" = "${good_lines[$k]}" ]
	ok $? "import $k: the ${good_lines[$k]} valid lines around the bad ones loaded ($loaded)"
done
rm -rf "$dir"

# ---- nothing crashed
[ "$(q postgres "SELECT pg_postmaster_start_time()")" = "$start_time" ]
ok $? "the server never restarted (no backend crashed)"

echo "# bad-input cases: $n_sql SQL + $n_import importer = $((n_sql + n_import))"
for db in $DB_DATA $DB_EMPTY; do dropdb --if-exists "$db"; done
echo "1..$n"
