#!/usr/bin/env bash
# No operator or function capture at CREATE EXTENSION time (CVE-2018-1058,
# CVE-2020-14350, "Security Considerations for Extension Scripts").
#
# A non-superuser role with CREATE on the schema "trap", which comes first on
# the search_path of the superuser who then runs CREATE EXTENSION pozytywka
# (so the extension's script runs with search_path = trap, pg_temp), has
# defined there:
#  - an operator for every (name, left type, right type) of the types the
#    extension uses (int2/int4/int8/float4/float8/numeric/text/varchar/date/
#    timestamp/timestamptz/interval/bool/jsonb/text[], and prefix operators)
#    that pg_catalog only serves through an implicit coercion: such an exact
#    match beats pg_catalog's operator wherever the script leaves an
#    operator unqualified with mixed types (float8 >= numeric literal, ...);
#  - the same for common built-in functions (date_trunc(text, date), round,
#    ln, generate_series(date, date, interval), ...);
# each of them records that it ran (a WARNING and a row in trap.captured).
# The extension is then exercised (demo data, weekly view, scores, top
# lists, backtest, the weekly refresh, settings updates, the CHECK
# constraints by inserting rows): none of the trap's objects ran and no
# object depends on them (pg_depend).  A last canary shows the trap is live.
set -u
cd "$(dirname "$0")/../.."
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
DB=pz_capture
ATT=pz_capturer
export PGOPTIONS="-c search_path=trap,public"
q() { psql -X -At -v ON_ERROR_STOP=1 -d $DB -c "$1"; }
# the test's own checks run with pg_catalog alone on the path
qc() { PGOPTIONS="-c search_path=pg_catalog" psql -X -At -v ON_ERROR_STOP=1 -d $DB -c "$1"; }
cleanup() {
	dropdb --if-exists $DB 2>/dev/null
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS $ATT" 2>/dev/null
}
cleanup
trap cleanup EXIT

createdb $DB || exit 1
psql -X -q -v ON_ERROR_STOP=1 -d $DB <<SQL || exit 1
CREATE ROLE $ATT NOLOGIN;
CREATE SCHEMA trap;
GRANT USAGE, CREATE ON SCHEMA trap TO $ATT;
SQL

# ---- the attacker's objects (owned by the non-superuser)
gen=$(psql -X -At -v ON_ERROR_STOP=1 -d $DB 2>&1 <<SQL
SET ROLE $ATT;
-- while creating them, the attacker's own session must not use them
SET search_path = pg_catalog, pg_temp;
CREATE TABLE trap.captured (what text, who text);
GRANT INSERT, SELECT ON trap.captured TO PUBLIC;
CREATE FUNCTION trap.cap(what text) RETURNS void LANGUAGE plpgsql AS \$\$
BEGIN
	RAISE WARNING 'CAPTURED %', what;
	INSERT INTO trap.captured VALUES (what, current_user);
END \$\$;

CREATE TEMP TABLE ty (t regtype);
INSERT INTO ty VALUES ('int2'), ('int4'), ('int8'), ('float4'), ('float8'),
	('numeric'), ('text'), ('varchar'), ('date'), ('timestamp'),
	('timestamptz'), ('interval'), ('bool'), ('jsonb'), ('text[]');

-- operators: every name pg_catalog defines on these types, for every
-- (left, right) pair (and prefix) it has no exact operator for but accepts
-- through implicit coercions; the result type is the one pg_catalog's gives
DO \$\$
DECLARE
	o record;
	res regtype;
	k integer := 0;
	fn text;
BEGIN
	FOR o IN
		SELECT nm.oprname, l.t AS l, r.t AS r
		  FROM (SELECT DISTINCT p.oprname FROM pg_catalog.pg_operator AS p
				 WHERE p.oprnamespace = 'pg_catalog'::regnamespace
				   AND (p.oprleft = 0 OR p.oprleft IN (SELECT t FROM ty))
				   AND p.oprright IN (SELECT t FROM ty)) AS nm,
			   (SELECT t FROM ty UNION ALL SELECT NULL) AS l, ty AS r
		 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_operator AS p
							WHERE p.oprnamespace = 'pg_catalog'::regnamespace
							  AND p.oprname = nm.oprname
							  AND p.oprleft = coalesce(l.t, 0) AND p.oprright = r.t)
		 ORDER BY 1, 2, 3
	LOOP
		BEGIN
			IF o.l IS NULL THEN
				EXECUTE format('SELECT pg_catalog.pg_typeof(OPERATOR(pg_catalog.%s) NULL::%s)', o.oprname, o.r) INTO res;
			ELSE
				EXECUTE format('SELECT pg_catalog.pg_typeof(NULL::%s OPERATOR(pg_catalog.%s) NULL::%s)', o.l, o.oprname, o.r) INTO res;
			END IF;
		EXCEPTION WHEN OTHERS THEN
			CONTINUE;
		END;
		k := k + 1;
		fn := 'trap.op_' || k;
		IF o.l IS NULL THEN
			EXECUTE format('CREATE FUNCTION %s(b %s) RETURNS %s LANGUAGE plpgsql AS %L',
						   fn, o.r, res,
						   format('BEGIN PERFORM trap.cap(%L); RETURN OPERATOR(pg_catalog.%s) b; END',
								  format('%s %s', o.oprname, o.r), o.oprname));
			EXECUTE format('CREATE OPERATOR trap.%s (RIGHTARG = %s, FUNCTION = %s)', o.oprname, o.r, fn);
		ELSE
			EXECUTE format('CREATE FUNCTION %s(a %s, b %s) RETURNS %s LANGUAGE plpgsql AS %L',
						   fn, o.l, o.r, res,
						   format('BEGIN PERFORM trap.cap(%L); RETURN a OPERATOR(pg_catalog.%s) b; END',
								  format('%s %s %s', o.l, o.oprname, o.r), o.oprname));
			EXECUTE format('CREATE OPERATOR trap.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = %s)', o.oprname, o.l, o.r, fn);
		END IF;
	END LOOP;
END \$\$;

-- functions: each plain built-in of these names, with one argument of one
-- of the types replaced by another type that is implicitly coercible to it
-- and that pg_catalog has no exact signature for
DO \$\$
DECLARE
	f record;
	k integer := 0;
	args text;
	call text;
BEGIN
	FOR f IN
		SELECT DISTINCT p.proname, p.proargtypes::oid[] AS orig, i, s.t AS sub,
			   p.prorettype::regtype AS ret, p.proretset
		  FROM pg_catalog.pg_proc AS p,
			   generate_subscripts(p.proargtypes::oid[], 1) AS i,
			   ty AS s
		 WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.prokind = 'f'
		   AND p.proname IN ('date_trunc', 'date_part', 'date_bin', 'round', 'trunc', 'ln', 'log',
							 'exp', 'abs', 'sqrt', 'power', 'floor', 'ceil', 'ceiling', 'sign', 'mod',
							 'lower', 'upper', 'btrim', 'length', 'md5', 'to_char', 'substr', 'left',
							 'right', 'split_part', 'replace', 'isfinite', 'age', 'make_date',
							 'make_interval', 'to_date', 'to_timestamp', 'generate_series',
							 'float8', 'int4', 'int8', 'numeric', 'text', 'date', 'timestamp',
							 'jsonb_typeof', 'jsonb_extract_path_text', 'array_length', 'cardinality',
							 'array_to_string', 'string_to_array', 'array_position', 'jsonb_array_length',
							 'extract', 'timezone', 'nullif', 'num_nulls', 'width_bucket', 'div')
		   AND p.prorettype NOT IN (SELECT t.oid FROM pg_catalog.pg_type AS t WHERE t.typtype = 'p')
		   AND NOT EXISTS (SELECT 1 FROM unnest(p.proargtypes::oid[]) AS a
							WHERE a IN (SELECT t.oid FROM pg_catalog.pg_type AS t WHERE t.typtype = 'p'))
		   AND (p.proargtypes::oid[])[i] IN (SELECT t FROM ty)
		   AND s.t <> (p.proargtypes::oid[])[i]
		   AND EXISTS (SELECT 1 FROM pg_catalog.pg_cast AS c
						WHERE c.castsource = s.t AND c.casttarget = (p.proargtypes::oid[])[i]
						  AND c.castcontext = 'i')
		 ORDER BY 1, 2, 3, 4
	LOOP
		SELECT string_agg(CASE WHEN j = f.i THEN f.sub::text ELSE a::regtype::text END, ', ' ORDER BY j),
			   string_agg('\$' || j, ', ' ORDER BY j)
		  INTO args, call
		  FROM unnest(f.orig) WITH ORDINALITY AS x (a, j);
		CONTINUE WHEN pg_catalog.to_regprocedure(format('pg_catalog.%I(%s)', f.proname, args)) IS NOT NULL
				   OR pg_catalog.to_regprocedure(format('trap.%I(%s)', f.proname, args)) IS NOT NULL;
		k := k + 1;
		IF f.proretset THEN
			EXECUTE format('CREATE FUNCTION trap.%I(%s) RETURNS SETOF %s LANGUAGE plpgsql AS %L',
						   f.proname, args, f.ret,
						   format('BEGIN PERFORM trap.cap(%L); RETURN QUERY SELECT * FROM pg_catalog.%I(%s); END',
								  format('%I(%s)', f.proname, args), f.proname, call));
		ELSE
			EXECUTE format('CREATE FUNCTION trap.%I(%s) RETURNS %s LANGUAGE plpgsql AS %L',
						   f.proname, args, f.ret,
						   format('BEGIN PERFORM trap.cap(%L); RETURN pg_catalog.%I(%s); END',
								  format('%I(%s)', f.proname, args), f.proname, call));
		END IF;
	END LOOP;
END \$\$;
SELECT (SELECT count(*) FROM pg_catalog.pg_operator WHERE oprnamespace = 'trap'::regnamespace)
	   || ' ' ||
	   (SELECT count(*) FROM pg_catalog.pg_proc WHERE pronamespace = 'trap'::regnamespace
		   AND proname !~ '^(op_|cap\$)');
SQL
)
rc=$?
read -r nops nfuncs <<<"$(printf '%s\n' "$gen" | tail -1)"
[ $rc -eq 0 ] && [ "${nops:-0}" -gt 300 ] && [ "${nfuncs:-0}" -gt 50 ]
ok $? "the attacker defined ${nops:-?} capturing operators and ${nfuncs:-?} capturing functions in trap"
[ $rc -eq 0 ] || printf '#   %s\n' "$gen" | tail -20

# ---- the superuser installs the extension with trap first on its path
out=$(q "CREATE EXTENSION pozytywka" 2>&1)
rc=$?
[ $rc -eq 0 ] && [ "$(qc "SELECT extnamespace::regnamespace FROM pg_extension WHERE extname = 'pozytywka'")" = trap ]
ok $? "CREATE EXTENSION pozytywka with search_path = trap, public (installed into trap)"
[ $rc -eq 0 ] || printf '#   %s\n' "$out" | tail -20

# ---- exercise it (every statement must succeed; output kept for WARNINGs)
log=$(mktemp /tmp/pz_capture.XXXXXX)
psql -X -At -v ON_ERROR_STOP=1 -d $DB >"$log" 2>&1 <<'SQL'
SELECT * FROM generate_demo_data(weeks => 12, events_per_week => 3000, tracks => 150,
								 artists => 30, users => 200, seed => 7);
SELECT count(*) FROM pozytywka.weekly_scores;
SELECT count(*), sum(score) FROM weekly_popularity();
SELECT * FROM pozytywka.effective_settings;
SELECT latest_complete_week(), pozytywka.first_week();
SELECT set_score_weights(1.0, 0.7, 0.4);
UPDATE pozytywka.settings SET history_weeks = 20, candidate_weeks = 4, max_candidates = 1000,
	   auto_weeks = 3, auto_n = 20, auto_margin = 0.01;
SELECT count(*) FROM top_tracks_next_week(20, 'naive');
SELECT count(*) FROM top_tracks_next_week(20, 'mean4');
SELECT count(*) FROM top_tracks_next_week(20, 'pooled');
SELECT count(*) FROM top_tracks_next_week(20, 'ensemble');
SELECT count(*) FROM top_tracks_next_week(20);
SELECT * FROM backtest_summary(20, 2, 'naive');
SELECT predict('{"n": 5, "model_type": "trend"}') IS NOT NULL;
SELECT weekly_refresh(false) IS NOT NULL;
SELECT count(*) FROM next_week_top_tracks;
INSERT INTO pozytywka.imported_weekly_stats VALUES ('imp1', '2024-01-01', 3, 2, 1);
INSERT INTO pozytywka.imported_weekly_stats (track_id, week) VALUES ('imp2', '2024-01-08');
INSERT INTO pozytywka.tracks (id, name, release_date, release_date_precision) VALUES ('x1', 'x', '2020-01-01', 'year');
UPDATE pozytywka.ensemble_members SET weight = 2 WHERE name = 'pooled';
INSERT INTO pozytywka.sessions VALUES (999999, '2024-01-02 10:00', 1, 'imp1', 'play');
DELETE FROM pozytywka.sessions WHERE session_id = 999999;
SELECT rebuild_weekly_stats() > 0;
SQL
rc=$?
ok $rc "the extension works with the trap on the path (demo data, views, lists, backtest, refresh, settings)"
[ $rc -eq 0 ] || sed 's/^/#   /' "$log" | grep -v CAPTURED | tail -15

# CHECK constraints that must reject (each one fires its own comparison)
viol=0
for stmt in \
	"UPDATE pozytywka.settings SET w_play = 2e6" \
	"UPDATE pozytywka.settings SET history_weeks = 1" \
	"UPDATE pozytywka.settings SET candidate_weeks = 0" \
	"UPDATE pozytywka.settings SET max_candidates = 0" \
	"UPDATE pozytywka.settings SET auto_weeks = 60" \
	"UPDATE pozytywka.settings SET auto_n = 0" \
	"UPDATE pozytywka.settings SET auto_margin = 1.5" \
	"INSERT INTO pozytywka.imported_weekly_stats VALUES ('imp3', '2024-01-02', 1, 0, 0)" \
	"INSERT INTO pozytywka.imported_weekly_stats VALUES ('imp3', '2024-01-01', -1, 0, 0)" \
	"INSERT INTO pozytywka.weekly_stats VALUES ('imp3', '2024-01-01', 0, -1, 0)" \
	"UPDATE pozytywka.ensemble_members SET weight = 0" \
	"UPDATE pozytywka.ensemble_members SET weight = 1e7" \
	"INSERT INTO pozytywka.tracks (id, release_date_precision) VALUES ('x2', 'week')"; do
	e=$(psql -X -At -d $DB -v VERBOSITY=verbose -c "\\set VERBOSITY verbose" -c "$stmt" 2>&1)
	printf '%s\n' "$e" >>"$log"
	printf '%s' "$e" | grep -q '^ERROR:  23514' || { viol=$((viol + 1)); echo "#   not rejected by a CHECK: $stmt: $e"; }
done
ok $viol "13 rows that break a CHECK constraint are rejected (23514)"

hits=$(qc "SELECT count(*) FROM trap.captured")
warn=$(grep -c 'CAPTURED' "$log")
[ "$hits" = 0 ] && [ "$warn" = 0 ]
ok $? "none of the attacker's operators or functions ran ($hits calls logged, $warn warnings)"
[ "$hits" = 0 ] || qc "SELECT what || ' x' || count(*) FROM trap.captured GROUP BY what ORDER BY 1" | sed 's/^/#   ran: /'

deps=$(qc "SELECT pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid) || ' -> ' ||
			     pg_catalog.pg_describe_object(d.refclassid, d.refobjid, 0)
			FROM pg_catalog.pg_depend AS d
		   WHERE ((d.refclassid = 'pg_catalog.pg_proc'::regclass
				   AND d.refobjid IN (SELECT oid FROM pg_catalog.pg_proc WHERE proowner = '$ATT'::regrole))
			   OR (d.refclassid = 'pg_catalog.pg_operator'::regclass
				   AND d.refobjid IN (SELECT oid FROM pg_catalog.pg_operator WHERE oprowner = '$ATT'::regrole)))
			 AND NOT (d.classid = 'pg_catalog.pg_operator'::regclass
					  AND d.objid IN (SELECT oid FROM pg_catalog.pg_operator WHERE oprowner = '$ATT'::regrole))
		   ORDER BY 1")
ndeps=$(printf '%s' "$deps" | grep -c .)
[ "$ndeps" = 0 ]
ok $? "no object depends on the attacker's operators or functions ($ndeps in pg_depend)"
[ "$ndeps" = 0 ] || printf '%s\n' "$deps" | sed 's/^/#   /'

# independent of the trap's list of types: whatever a constraint, default,
# view, index or trigger of the extension refers to is pg_catalog's or the
# extension's own
foreign=$(qc "SELECT DISTINCT pg_describe_object(d.classid, d.objid, d.objsubid) || ' -> ' ||
				     pg_describe_object(d.refclassid, d.refobjid, 0)
				FROM pg_depend AS d
				LEFT JOIN pg_proc AS p ON d.refclassid = 'pg_proc'::regclass AND p.oid = d.refobjid
				LEFT JOIN pg_operator AS o ON d.refclassid = 'pg_operator'::regclass AND o.oid = d.refobjid
			   WHERE d.refclassid IN ('pg_proc'::regclass, 'pg_operator'::regclass)
				 AND d.classid IN ('pg_constraint'::regclass, 'pg_attrdef'::regclass,
								   'pg_rewrite'::regclass, 'pg_class'::regclass, 'pg_trigger'::regclass,
								   'pg_proc'::regclass)
				 AND coalesce(p.pronamespace, o.oprnamespace) <> 'pg_catalog'::regnamespace
				 AND NOT EXISTS (SELECT 1 FROM pg_depend AS e
								  WHERE e.classid = d.refclassid AND e.objid = d.refobjid
									AND e.refclassid = 'pg_extension'::regclass AND e.deptype = 'e')
				 AND (SELECT coalesce(c.relnamespace, f.pronamespace)
						FROM (SELECT CASE d.classid
									 WHEN 'pg_constraint'::regclass THEN (SELECT conrelid FROM pg_constraint WHERE oid = d.objid)
									 WHEN 'pg_attrdef'::regclass THEN (SELECT adrelid FROM pg_attrdef WHERE oid = d.objid)
									 WHEN 'pg_rewrite'::regclass THEN (SELECT ev_class FROM pg_rewrite WHERE oid = d.objid)
									 WHEN 'pg_trigger'::regclass THEN (SELECT tgrelid FROM pg_trigger WHERE oid = d.objid)
									 WHEN 'pg_class'::regclass THEN d.objid END AS rel) AS x
						LEFT JOIN pg_class AS c ON c.oid = x.rel
						LEFT JOIN pg_proc AS f ON d.classid = 'pg_proc'::regclass AND f.oid = d.objid
							 AND f.proowner <> '$ATT'::regrole)
					 IN ('trap'::regnamespace, 'pozytywka'::regnamespace)
			   ORDER BY 1")
nforeign=$(printf '%s' "$foreign" | grep -c .)
[ "$nforeign" = 0 ]
ok $? "every function and operator the extension's objects refer to is pg_catalog's or its own ($nforeign others)"
[ "$nforeign" = 0 ] || printf '%s\n' "$foreign" | sed 's/^/#   /'

# the canary: an unqualified mixed-type comparison in this very session is
# captured, so the trap was live while the extension ran
q "SELECT 1.5::float8 > 1" >/dev/null 2>&1
[ "$(qc "SELECT count(*) FROM trap.captured")" -gt "$hits" ]
ok $? "canary: an unqualified float8 > int4 in the same session runs the attacker's operator"

rm -f "$log"
echo "1..$n"
