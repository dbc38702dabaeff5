#!/usr/bin/env bash
# Import atomicity: an import interrupted by an error or a kill leaves the
# whole file or none of it, and running it again afterwards gives the data
# of one clean run.  Faults injected:
#  1. an error raised in the middle of loading sessions.jsonl (a trigger
#     that fails on one event, standing in for a full disk or a constraint);
#     the files before it (artists, tracks) stay loaded whole
#  2. SIGKILL of the importer and its psql client in the middle of the COPY
#  3. a truncated sessions.jsonl.gz (the export was cut off in transit)
#  4. a line with bytes that are not UTF-8: rejected alone, all the rest
#     loads (compared with the reference run, so a partial load fails)
#  5. SIGINT to the importer during the load: it cancels, rolls back, and
#     says so
set -u
cd "$(dirname "$0")/../.."
. test/hardening/lib.sh
DB=pz_atom
REF=pz_atom_ref
IMPORT="$PWD/bin/pozytywka-import"
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
q() { psql -X -At -v ON_ERROR_STOP=1 -d $DB -c "$1"; }
tmp=$(mktemp -d /tmp/pz_atom.XXXXXX)
mkdir -p "$tmp/plain" "$tmp/gz" "$tmp/utf"
chmod -R 755 "$tmp"
python3 test/hardening/make_sessions.py "$tmp/plain" 15000
python3 - "$tmp/plain" <<'PY'
import json, sys
d = sys.argv[1]
with open(d + "/artists.jsonl", "w") as f:
    for i in range(20):
        f.write(json.dumps({"id": "a%d" % i, "name": "Artist %d" % i, "genres": ["pop"]}) + "\n")
with open(d + "/tracks.jsonl", "w") as f:
    for i in range(1, 301):
        f.write(json.dumps({"id": "t%d" % i, "name": "Track %d" % i, "id_artist": "a%d" % (i % 20)}) + "\n")
PY
for d in $DB $REF; do
	dropdb --force --if-exists $d 2>/dev/null
	createdb $d && psql -X -q -d $d -c "CREATE EXTENSION pozytywka" || { echo "Bail out! no database"; exit 1; }
done
PGDATABASE=$REF "$IMPORT" "$tmp/plain" >"$tmp/ref.out" 2>&1
ok $? "reference: one clean import"
ref_snap=$(data_snapshot $REF)
empty_sessions="sessions 0 - weekly_history 0 -"
sess_state() { data_snapshot $DB | head -2 | tr '\n' ' ' | sed 's/ $//'; }

# ---- 1. an error in the middle of the sessions file
q "CREATE FUNCTION public.pz_fault() RETURNS trigger LANGUAGE plpgsql AS \$\$
   BEGIN IF NEW.session_id = 1500 THEN RAISE EXCEPTION 'injected fault at session %', NEW.session_id; END IF; RETURN NEW; END \$\$;
   CREATE TRIGGER pz_fault BEFORE INSERT ON pozytywka.sessions FOR EACH ROW EXECUTE FUNCTION public.pz_fault()" >/dev/null
PGDATABASE=$DB "$IMPORT" "$tmp/plain" >"$tmp/imp1.out" 2>&1
rc=$?
[ $rc != 0 ] && grep -q "sessions.jsonl failed; nothing of it was loaded" "$tmp/imp1.out"
ok $? "an error in the middle of sessions.jsonl fails the import (exit $rc) and says so"
[ "$(sess_state)" = "$empty_sessions" ] && [ "$(q "SELECT count(*) FROM pozytywka.import_runs WHERE kind = 'sessions'")" = 0 ]
ok $? "none of sessions.jsonl is visible (events, aggregate, import_runs)"
[ "$(q "SELECT count(*) FROM pozytywka.artists") $(q "SELECT count(*) FROM pozytywka.tracks")" = "20 300" ]
ok $? "the files loaded before it (artists, tracks) are there whole"
q "DROP TRIGGER pz_fault ON pozytywka.sessions; DROP FUNCTION public.pz_fault()" >/dev/null
PGDATABASE=$DB "$IMPORT" "$tmp/plain" >/dev/null 2>&1
[ "$(data_snapshot $DB)" = "$ref_snap" ]
ok $? "after the fault is gone, running it again gives the data of one clean run"

# ---- 2. SIGKILL of the importer during the COPY
dropdb --force $DB && createdb $DB && q "CREATE EXTENSION pozytywka" >/dev/null
big=$(mktemp -d /tmp/pz_atom_big.XXXXXX)
chmod 755 "$big"
python3 test/hardening/make_sessions.py "$big" 400000 2
# its own process group, so that the importer, its pipeline and psql go at once
PGAPPNAME=pz_atom_kill PGDATABASE=$DB setsid "$IMPORT" "$big" >"$tmp/imp2.out" 2>&1 &
bg=$!
wait_app $DB pz_atom_kill 'COPY|import_file'
what=$(psql -X -At -d $DB -c "SELECT left(query, 40) FROM pg_stat_activity WHERE application_name = 'pz_atom_kill' AND state = 'active'")
kill -9 -- -"$bg"
ok $? "SIGKILL to the importer (running: ${what:-?})"
wait $bg 2>/dev/null
for _ in $(seq 1 100); do
	[ "$(psql -X -At -d $DB -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pz_atom_kill'")" = 0 ] && break
	sleep 0.1
done
[ "$(sess_state)" = "$empty_sessions" ] && [ "$(q "SELECT count(*) FROM pozytywka.import_runs")" = 0 ]
ok $? "nothing of the killed import is visible"
rm -rf "$big"
PGDATABASE=$DB "$IMPORT" "$tmp/plain" >/dev/null 2>&1
[ "$(data_snapshot $DB)" = "$ref_snap" ]
ok $? "running the import again gives the data of one clean run"

# ---- 3. a truncated .jsonl.gz
dropdb --force $DB && createdb $DB && q "CREATE EXTENSION pozytywka" >/dev/null
gzip -c "$tmp/plain/sessions.jsonl" >"$tmp/gz/full.gz"
head -c $(($(stat -c %s "$tmp/gz/full.gz") / 2)) "$tmp/gz/full.gz" >"$tmp/gz/sessions.jsonl.gz"
PGDATABASE=$DB "$IMPORT" "$tmp/gz" >"$tmp/imp3.out" 2>&1
rc=$?
[ $rc != 0 ]
ok $? "a truncated sessions.jsonl.gz fails the import (exit $rc)"
[ "$(sess_state)" = "$empty_sessions" ]
ok $? "nothing of the truncated file is visible ($(sess_state | cut -c1-40))"
mv "$tmp/gz/full.gz" "$tmp/gz/sessions.jsonl.gz"
PGDATABASE=$DB "$IMPORT" "$tmp/gz" >/dev/null 2>&1
[ "$(data_snapshot $DB | head -2)" = "$(echo "$ref_snap" | head -2)" ]
ok $? "the whole .gz afterwards gives the events and aggregate of one clean run"

# ---- 4. bytes that are not UTF-8 in one line
dropdb --force $DB && createdb $DB && q "CREATE EXTENSION pozytywka" >/dev/null
{ head -7000 "$tmp/plain/sessions.jsonl"; printf '{"session_id": 9999999, "timestamp": "2024-01-02T10:00:00", "user_id": 1, "track_id": "caf\xe9", "event_type": "play"}\n'; tail -n +7001 "$tmp/plain/sessions.jsonl"; } >"$tmp/utf/sessions.jsonl"
PGDATABASE=$DB "$IMPORT" "$tmp/utf" >"$tmp/imp4.out" 2>&1
rc=$?
sed 's/^/#   /' "$tmp/imp4.out"
[ $rc = 0 ]
ok $? "a file with a line that is not UTF-8 loads (exit $rc)"
# atomic per line: that line alone is missing, the rest is exactly the
# reference's (a load that stopped or skipped anything differs)
[ "$(q "SELECT count(*) FROM pozytywka.sessions WHERE session_id = 9999999")" = 0 ] &&
	[ "$(data_snapshot $DB | head -2)" = "$(echo "$ref_snap" | head -2)" ]
ok $? "that line alone is left out: events and aggregate equal the reference run's"
r=$(q "SELECT reason FROM pozytywka.import_rejects WHERE kind = 'sessions' AND line_no = 7001")
case "$r" in "invalid UTF-8 at offset"*) true ;; *) false ;; esac
ok $? "it is rejected (line 7001) with its reason: $r"
lines=$(awk '$1 == "sessions" { print $2, $3 + $4 + $5 }' "$tmp/imp4.out")
[ "$lines" = "15001 15001" ]
ok $? "every line is counted: lines = loaded + repaired + rejected ($lines)"

# ---- 5. SIGINT during the load: cancelled, rolled back, reported
dropdb --force $DB && createdb $DB && q "CREATE EXTENSION pozytywka" >/dev/null
big=$(mktemp -d /tmp/pz_atom_big.XXXXXX)
chmod 755 "$big"
python3 test/hardening/make_sessions.py "$big" 400000 3
PGAPPNAME=pz_atom_int PGDATABASE=$DB "$IMPORT" "$big" >"$tmp/imp5.out" 2>&1 &
bg=$!
wait_app $DB pz_atom_int 'COPY|import_file'
kill -INT $bg
wait $bg
rc=$?
sed 's/^/#   /' "$tmp/imp5.out"
[ $rc = 130 ] && grep -q "nothing of it was loaded" "$tmp/imp5.out"
ok $? "SIGINT cancels the import (exit $rc) and says nothing of the file was loaded"
[ "$(sess_state)" = "$empty_sessions" ] && [ "$(q "SELECT count(*) FROM pozytywka.import_runs")" = 0 ] &&
	[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pz_atom_int'")" = 0 ]
ok $? "nothing of the interrupted import is visible, and its session is gone"
rm -rf "$big"

for d in $DB $REF; do dropdb --force $d; done
rm -rf "$tmp"
echo "1..$n"
