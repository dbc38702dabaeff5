#!/usr/bin/env bash
# Runs every test suite of pozytywka and ends with one line "N passed, N failed".
#
#   1. C unit tests of the pure core (test/unit), plain, under valgrind, and
#      built with AddressSanitizer + UndefinedBehaviorSanitizer; every
#      committed fuzz corpus and crash file (test/fuzz/corpus/X/) replayed
#      through its libFuzzer harness (test/fuzz/fuzz_X.c)
#   2. pg_regress (sql/ + expected/) against a throwaway cluster
#   3. pgTAP (test/pgtap/*.sql) with pg_prove
#   4. shell tests (test/shell/*.sh, TAP output): importer on the real
#      exports, pg_cron, ... (those needing ../shared/data skip without it)
#
# Run as root on Debian 12: installs what is missing, builds, installs,
# starts and removes its own cluster.  Exit status is non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
. scripts/lib.sh

passed=0
failed=0
skipped=0
failures=()
LOGDIR=$(mktemp -d /tmp/pozytywka-tests.XXXXXX)
chmod 755 "$LOGDIR"

# count TAP lines of one suite's output file
count_tap() {
	local out=$1 suite=$2 p f s
	p=$(grep -cE '^ *ok [0-9]+' "$out" | head -1)
	s=$(grep -cE '^ *ok [0-9]+.*# (SKIP|skip)' "$out" | head -1)
	f=$(grep -cE '^ *not ok [0-9]+' "$out" | head -1)
	passed=$((passed + p - s))
	skipped=$((skipped + s))
	failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		failures+=("$suite")
		grep -E '^ *not ok|^#' "$out" | head -40
	fi
	echo "   $suite: $((p - s)) passed, $f failed, $s skipped"
}

record() {
	# record <name> <exit-status>
	if [ "$2" -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures+=("$1")
	fi
}

pz_install_deps || { echo "0 passed, 1 failed"; exit 1; }
pz_build_install || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

# ------------------------------------------------------------ 1. C unit tests
pz_log "C unit tests"
make -s unit-bins unit-asan-bins >/dev/null || { record build-unit-tests 1; }
for bin in test/unit/bin/test_*; do
	name=$(basename "$bin")
	"$bin" >"$LOGDIR/$name.out" 2>&1
	rc=$?
	count_tap "$LOGDIR/$name.out" "unit/$name"
	if [ $rc -ne 0 ] && ! grep -qE '^ *not ok' "$LOGDIR/$name.out"; then
		record "unit/$name (exit $rc)" 1
		tail -5 "$LOGDIR/$name.out"
	fi
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		"$bin" >"$LOGDIR/$name.valgrind" 2>&1
	rc=$?
	# 99: valgrind found errors; any other status is the test's own (counted
	# by the plain run), but only if it really ran under valgrind (a missing
	# valgrind must not pass)
	if [ $rc -ne 99 ]; then
		grep -qE '^(not )?ok 1 ' "$LOGDIR/$name.valgrind" && rc=0 || rc=1
	fi
	record "valgrind/$name" $rc
	[ $rc -ne 0 ] && grep -E '^==' "$LOGDIR/$name.valgrind" | head -20
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		"test/unit/bin/asan/$name" >"$LOGDIR/$name.asan" 2>&1
	rc=$?
	record "asan+ubsan/$name" $rc
	[ $rc -ne 0 ] && tail -20 "$LOGDIR/$name.asan"
done

# ------------------------------------------------------------ 1b. fuzz corpora
# Every libFuzzer harness test/fuzz/fuzz_X.c is built (ASan+UBSan) and, when
# test/fuzz/corpus/X/ exists, run once over every committed corpus and crash
# file there (file arguments: no mutation, each input executed once): an
# input that once crashed or found a path must keep passing.
pz_log "fuzz corpora replay"
if make -s fuzz-bins >"$LOGDIR/fuzz-build.out" 2>&1; then
	for src in test/fuzz/fuzz_*.c; do
		[ -e "$src" ] || continue
		name=$(basename "$src" .c)
		corpus=test/fuzz/corpus/${name#fuzz_}
		[ -d "$corpus" ] || continue
		inputs=("$corpus"/*)
		[ -e "${inputs[0]}" ] || continue
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
			"test/fuzz/bin/$name" -timeout=60 -rss_limit_mb=2048 "${inputs[@]}" \
			>"$LOGDIR/$name.replay" 2>&1
		rc=$?
		record "fuzz-replay/${name#fuzz_} (${#inputs[@]} inputs)" $rc
		echo "   fuzz-replay/${name#fuzz_}: ${#inputs[@]} inputs, exit $rc"
		[ $rc -ne 0 ] && grep -E 'ERROR|SUMMARY|Running:|deadly' "$LOGDIR/$name.replay" | tail -10
	done
else
	record "build-fuzz-harnesses" 1
	tail -20 "$LOGDIR/fuzz-build.out"
fi

# ------------------------------------------------------------ 2-4: with a server
pz_cluster_start || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }
trap pz_cluster_stop EXIT

pz_log "pg_regress"
mkdir -p build/regress
make -s installcheck >"$LOGDIR/regress.out" 2>&1
rc=$?
p=$(grep -cE '\.\.\. ok|^ok [0-9]' "$LOGDIR/regress.out")
f=$(grep -cE '\.\.\. FAILED|^not ok [0-9]' "$LOGDIR/regress.out")
passed=$((passed + p))
failed=$((failed + f))
echo "   pg_regress: $p passed, $f failed"
if [ $rc -ne 0 ]; then
	[ "$f" -eq 0 ] && record "pg_regress (exit $rc)" 1
	failures+=("pg_regress")
	tail -20 "$LOGDIR/regress.out"
	[ -f build/regress/regression.diffs ] && head -150 build/regress/regression.diffs
fi

pz_log "pgTAP"
if ls test/pgtap/*.sql >/dev/null 2>&1; then
	createdb pozytywka_tap
	psql -q -X -d pozytywka_tap -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION pozytywka'
	pg_prove -v -d pozytywka_tap test/pgtap/*.sql >"$LOGDIR/pgtap.out" 2>&1
	rc=$?
	count_tap "$LOGDIR/pgtap.out" "pgTAP"
	if [ $rc -ne 0 ]; then
		grep -qE '^ *not ok' "$LOGDIR/pgtap.out" || record "pgTAP (exit $rc)" 1
		tail -15 "$LOGDIR/pgtap.out"
	fi
fi

pz_log "shell tests"
for t in test/shell/*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	bash "$t" >"$LOGDIR/shell-$name.out" 2>&1
	rc=$?
	count_tap "$LOGDIR/shell-$name.out" "shell/$name"
	if [ $rc -ne 0 ] && ! grep -qE '^ *not ok' "$LOGDIR/shell-$name.out"; then
		record "shell/$name (exit $rc)" 1
		tail -15 "$LOGDIR/shell-$name.out"
	fi
done

echo
[ ${#failures[@]} -gt 0 ] && echo "failed suites: ${failures[*]}"
echo "logs: $LOGDIR"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
