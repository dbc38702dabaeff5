#!/usr/bin/env bash
# pozytywka-import against crafted files (TAP).  Every file is made here.
#  1. a CRLF file whose line "\." would have ended psql's COPY data, followed
#     by psql meta-commands (\! touch) and SQL (COMMIT; DROP TABLE ...)
#  2. directory names with quotes, $pz$, a newline, backslashes, SQL
#  3. a symlink to a file outside the folder, a FIFO
#  4. NUL bytes, invalid UTF-8, 1e-400 and other numbers out of range
#  5. a 100 MB line (bounded memory)
# Nothing runs (the marker files never exist, the canary table and the
# extension's tables are intact), nothing outside the folder is read, every
# line is counted (lines = loaded + repaired + rejected) and every reject
# says what was wrong.
set -u
cd "$(dirname "$0")/../.."
IMPORT="$PWD/bin/pozytywka-import"
DB=pz_attacks
export PGDATABASE=$DB
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
q() { psql -X -At -v ON_ERROR_STOP=1 -d $DB -c "$1"; }
tmp=$(mktemp -d /tmp/pz_attacks.XXXXXX)
chmod 755 "$tmp"
cleanup() { dropdb --force --if-exists $DB 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
dropdb --force --if-exists $DB 2>/dev/null
createdb $DB && psql -X -q -d $DB -c "CREATE EXTENSION pozytywka" -c "CREATE TABLE public.pz_canary (x int); INSERT INTO public.pz_canary VALUES (1)" ||
	{ echo "Bail out! no database"; exit 1; }

ev() { # ev SESSION SECOND TRACK TYPE: one event line (no newline)
	printf '{"session_id": %d, "timestamp": "2024-01-02T10:00:%02d", "user_id": 1, "track_id": "%s", "event_type": "%s"}' "$1" "$2" "$3" "$4"
}
# intact: no marker file, the canary and the extension's tables are there
intact() {
	[ ! -e "$tmp/owned" ] && [ ! -e "$tmp/owned2" ] &&
		[ "$(q "SELECT count(*) FROM public.pz_canary")" = 1 ] &&
		[ "$(q "SELECT count(*) FROM pg_catalog.pg_class WHERE relnamespace = 'pozytywka'::regnamespace AND relname IN ('sessions', 'weekly_stats', 'import_runs', 'import_rejects', 'tracks', 'artists')")" = 6 ]
}
# counted OUT KIND FILE: the importer's line for KIND says lines = the
# file's lines = loaded + repaired + rejected
counted() {
	local out=$1 kind=$2 file=$3 want got
	want=$(python3 -c "import sys; d=open(sys.argv[1],'rb').read(); print(d.count(b'\n') + (1 if d and not d.endswith(b'\n') else 0))" "$file")
	got=$(printf '%s\n' "$out" | awk -v k="$kind" '$1 == k { print $2, $3 + $4 + $5; exit }')
	[ "$got" = "$want $want" ] || { echo "#   $kind: file has $want lines, importer says (lines, loaded+repaired+rejected) = ($got)"; return 1; }
}
reason_of() { q "SELECT reason FROM pozytywka.import_rejects WHERE kind = '$1' AND line_no = $2 ORDER BY reject_id DESC LIMIT 1"; }

# ---- 1. CRLF "\." followed by psql meta-commands and SQL
d="$tmp/crlf"
mkdir "$d"
{
	ev 1 1 tA play; printf '\r\n'
	printf '\\.\r\n'
	printf 'COMMIT;\r\n'
	printf '\\! touch %s/owned\r\n' "$tmp"
	printf 'DROP TABLE public.pz_canary; DROP TABLE pozytywka.sessions CASCADE;\r\n'
	printf '\\copy public.pz_canary from program '"'"'touch %s/owned'"'"'\r\n' "$tmp"
	printf 'BEGIN;\r\n\\.\n'
	ev 1 2 tB play; printf '\r\n'
} >"$d/sessions.jsonl"
{
	printf '{"id": "a1", "name": "A"}\r\n\\.\r\n\\! touch %s/owned\r\nCOMMIT; DROP TABLE public.pz_canary;\r\n{"id": "a2", "name": "B"}\r\n' "$tmp"
} >"$d/artists.jsonl"
out=$("$IMPORT" "$d" 2>&1)
rc=$?
echo "$out" | sed 's/^/#   /'
[ $rc = 0 ]
ok $? "the CRLF file with '\\.' and psql meta-commands is imported as data (exit $rc)"
intact
ok $? "nothing ran: no marker file, the canary table and the extension's tables are intact"
[ "$(q "SELECT string_agg(track_id, ',' ORDER BY track_id) FROM pozytywka.sessions")" = "tA,tB" ] &&
	[ "$(q "SELECT string_agg(id, ',' ORDER BY id) FROM pozytywka.artists")" = "a1,a2" ]
ok $? "the valid lines before and after the attack lines loaded"
counted "$out" sessions "$d/sessions.jsonl" && counted "$out" artists "$d/artists.jsonl"
ok $? "every line is counted: lines = loaded + repaired + rejected (sessions 9, artists 5)"
[ "$(q "SELECT count(*) FROM pozytywka.import_rejects WHERE kind = 'sessions' AND reason LIKE 'malformed JSON%'")" = 7 ] &&
	[ "$(q "SELECT line FROM pozytywka.import_rejects WHERE kind = 'sessions' AND line_no = 4")" = "\\! touch $tmp/owned"$'\r' ]
ok $? "the 7 attack lines are rejected as malformed JSON, kept verbatim ($(reason_of sessions 2))"

# ---- 2. directory names: quotes, $pz$, newline, backslashes, SQL
weird="$tmp/d'q\"\$pz\$ \$\$; DROP TABLE public.pz_canary; --\\x"$'\n'"\\! touch $tmp/owned2 \\\\ 'E'"
mkdir -p "$weird"
{ ev 2 1 tW play; echo; } >"$weird/sessions.jsonl"
# a file whose name is SQL is not an export file: never read
{ ev 2 2 tNOT play; echo; } >"$weird/sessions.jsonl'); DROP TABLE public.pz_canary; --"
out=$("$IMPORT" "$weird" 2>&1)
rc=$?
[ $rc = 0 ] && [ "$(q "SELECT count(*) FROM pozytywka.sessions WHERE track_id = 'tW'")" = 1 ]
ok $? "a folder whose name holds quotes, \$pz\$, a newline, backslashes and SQL loads (exit $rc)"
intact
ok $? "nothing ran (marker files, canary, tables)"
want_src=$(realpath "$weird")/sessions.jsonl
got_src=$(psql -X -At -d $DB -c "SELECT source FROM pozytywka.import_runs ORDER BY run_id DESC LIMIT 1")
[ "$got_src" = "$want_src" ] && [ "$(q "SELECT count(*) FROM pozytywka.sessions WHERE track_id = 'tNOT'")" = 0 ]
ok $? "import_runs names the file exactly (a bound parameter); the file named like SQL was not read"

# ---- 3. a symlink to a file outside the folder; a FIFO
mkdir -p "$tmp/secret" "$tmp/link" "$tmp/fifo"
{ ev 3 1 tSECRET play; echo; printf 'root:x:0:0:secret line\n'; } >"$tmp/secret/passwd"
ln -s "$tmp/secret/passwd" "$tmp/link/sessions.jsonl"
{ printf '{"id": "aL", "name": "would load"}\n'; } >"$tmp/link/artists.jsonl"
runs_before=$(q "SELECT count(*) FROM pozytywka.import_runs")
out=$("$IMPORT" "$tmp/link" 2>&1)
rc=$?
echo "$out" | sed 's/^/#   /'
[ $rc != 0 ] && echo "$out" | grep -q "sessions.jsonl: refused: a symbolic link"
ok $? "a symlinked sessions.jsonl is refused, and the message says why (exit $rc)"
[ "$(q "SELECT count(*) FROM pozytywka.import_runs")" = "$runs_before" ] &&
	[ "$(q "SELECT count(*) FROM pozytywka.sessions WHERE track_id = 'tSECRET'")" = 0 ] &&
	[ "$(q "SELECT count(*) FROM pozytywka.import_rejects WHERE line LIKE '%secret%' OR line LIKE '%SECRET%'")" = 0 ] &&
	[ "$(q "SELECT count(*) FROM pozytywka.artists WHERE id = 'aL'")" = 0 ]
ok $? "nothing outside the folder was read, and nothing of the folder loaded (no run, no event, no reject)"
mkfifo "$tmp/fifo/sessions.jsonl"
out=$(timeout 30 "$IMPORT" "$tmp/fifo" 2>&1)
rc=$?
[ $rc != 0 ] && [ $rc != 124 ] && echo "$out" | grep -q "refused: not a regular file"
ok $? "a FIFO is refused at once, not read (exit $rc: $(echo "$out" | head -1))"

# ---- 4. NUL bytes, invalid UTF-8, numbers out of range
d="$tmp/bytes"
mkdir "$d"
{
	ev 4 1 tN1 play; echo
	printf '{"session_id": 4, "timestamp": "2024-01-02T10:00:02", "user_id": 1, "track_id": "t\0x", "event_type": "play"}\n'
	printf '{"session_id": 4, "timestamp": "2024-01-02T10:00:03", "user_id": 1, "track_id": "caf\xe9", "event_type": "play"}\n'
	printf '{"session_id": 4, "timestamp": "2024-01-02T10:00:04", "user_id": 1e-400, "track_id": "tx", "event_type": "play"}\n'
	printf '{"session_id": 4, "timestamp": "2024-01-02T10:00:05", "user_id": 1, "track_id": "tx", "event_type": "play", "score": 1e-400}\n'
	printf '{"session_id": 123456789012345678901234567890, "timestamp": "2024-01-02T10:00:06", "user_id": 1, "track_id": "tx", "event_type": "play"}\n'
	printf '{"session_id": 4, "timestamp": "2024-01-02T10:00:07", "user_id": 99999999999, "track_id": "tx", "event_type": "play"}\n'
	printf '\0\0\0\n'
	ev 4 8 tN2 play # the last line has no newline
} >"$d/sessions.jsonl"
{
	printf '{"id": "t1", "name": "ok", "tempo": 120.5}\n'
	printf '{"id": "t2", "name": "tiny", "tempo": 1e-400}\n'
	printf '{"id": "t3", "name": "huge", "popularity": 123456789012345678901234567890}\n'
	printf '{"id": "t4", "name": "Zo\xeb"}\n'
	printf '{"id": "t5", "name": "ok too"}\n'
} >"$d/tracks.jsonl"
out=$("$IMPORT" "$d" 2>&1)
rc=$?
echo "$out" | sed 's/^/#   /'
[ $rc = 0 ]
ok $? "a file with NUL bytes, invalid UTF-8 and numbers out of range loads (exit $rc)"
counted "$out" sessions "$d/sessions.jsonl" && counted "$out" tracks "$d/tracks.jsonl"
ok $? "no line is lost: lines = loaded + repaired + rejected (sessions 9, tracks 5)"
[ "$(q "SELECT string_agg(track_id, ',' ORDER BY track_id) FROM pozytywka.sessions WHERE session_id = 4")" = "tN1,tN2" ] &&
	[ "$(q "SELECT string_agg(id, ',' ORDER BY id) FROM pozytywka.tracks")" = "t1,t5" ]
ok $? "the valid lines around them loaded, the bad ones did not"
r2=$(reason_of sessions 2) r3=$(reason_of sessions 3) r4=$(reason_of sessions 4) r5=$(reason_of sessions 5)
r6=$(reason_of sessions 6) r7=$(reason_of sessions 7) r8=$(reason_of sessions 8)
case "$r2" in "NUL byte at offset"*) true ;; *) false ;; esac && case "$r8" in "NUL byte at offset 0") true ;; *) false ;; esac
ok $? "NUL bytes: '$r2', '$r8'"
case "$r3" in "invalid UTF-8 at offset"*"0xE9"*) true ;; *) false ;; esac &&
	[ "$(q "SELECT position('caf\\xE9' IN line) > 0 FROM pozytywka.import_rejects WHERE kind = 'sessions' AND line_no = 3 ORDER BY reject_id DESC LIMIT 1")" = t ]
ok $? "invalid UTF-8: '$r3', the line kept with the byte as \\xE9"
case "$r4" in *'"user_id": expected integer, got 1e-400'*) true ;; *) false ;; esac &&
	case "$r5" in *'"score": number out of range: 1e-400'*) true ;; *) false ;; esac &&
	case "$r6" in *'"session_id": expected bigint'*) true ;; *) false ;; esac &&
	case "$r7" in *'"user_id": expected integer'*) true ;; *) false ;; esac
ok $? "numbers out of range: '$r4'; '$r5'; '$r6'; '$r7'"
t2=$(reason_of tracks 2) t3=$(reason_of tracks 3) t4=$(reason_of tracks 4)
case "$t2" in *'"tempo": number out of range: 1e-400'*) true ;; *) false ;; esac &&
	case "$t3" in *'"popularity": expected integer'*) true ;; *) false ;; esac &&
	case "$t4" in "invalid UTF-8"*) true ;; *) false ;; esac
ok $? "catalogue lines too: '$t2'; '$t3'; '$t4'"

# ---- 5. a 100 MB line: rejected with its length, bounded memory
d="$tmp/long"
mkdir "$d"
{
	ev 5 1 tL1 play; echo
	printf '{"session_id": 5, "timestamp": "2024-01-02T10:00:02", "user_id": 1, "event_type": "play", "track_id": "'
	head -c 104857600 /dev/zero | tr '\0' 'a'
	printf '"}\n'
	ev 5 3 tL2 play; echo
} >"$d/sessions.jsonl"
long_len=$(sed -n 2p "$d/sessions.jsonl" | wc -c)
long_len=$((long_len - 1))
out=$(python3 - "$IMPORT" "$d" <<'PY'
import resource, subprocess, sys
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stdout.write(p.stdout + p.stderr)
print("rc %d maxrss_kb %d" % (p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
PY
)
echo "$out" | sed 's/^/#   /'
rss=$(echo "$out" | awk '$1 == "rc" { print $4 }')
[ "$(echo "$out" | awk '$1 == "rc" { print $2 }')" = 0 ] && [ "${rss:-999999}" -lt 65536 ]
ok $? "the 100 MB line is streamed past with bounded memory (peak RSS ${rss:-?} kB < 64 MB)"
r=$(reason_of sessions 2)
case "$r" in "line too long: $long_len bytes"*) true ;; *) false ;; esac &&
	[ "$(q "SELECT octet_length(line) <= 1024 FROM pozytywka.import_rejects WHERE kind = 'sessions' AND line_no = 2 ORDER BY reject_id DESC LIMIT 1")" = t ]
ok $? "it is rejected with its length, only its first KB kept: '$r'"
counted "$out" sessions "$d/sessions.jsonl" &&
	[ "$(q "SELECT string_agg(track_id, ',' ORDER BY track_id) FROM pozytywka.sessions WHERE session_id = 5")" = "tL1,tL2" ]
ok $? "the lines around it loaded; lines = loaded + repaired + rejected"

intact
ok $? "after every attack: no marker file, canary and tables intact"
echo "1..$n"
