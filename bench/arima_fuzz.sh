#!/bin/sh
# arima_fuzz.sh [SECONDS] -- bounded libFuzzer run of the ARIMA core
# (test/fuzz/fuzz_arima.c, ASan + UBSan) from the committed corpus; with
# ARIMA_FUZZ_MERGE=1 new coverage is merged back into test/fuzz/corpus/arima
# (commit it if wanted; the merge replays the whole corpus once more).
# Exit status non-zero if the fuzzer found a crash, leak or timeout (the
# reproducer is left in bench/out/).  Run from the repository root.
set -e
SECS=${1:-120}
make -s test/fuzz/bin/fuzz_arima
mkdir -p bench/out/fuzz_arima_work
cp test/fuzz/corpus/arima/* bench/out/fuzz_arima_work/
cd bench/out
../../test/fuzz/bin/fuzz_arima -max_total_time="$SECS" -timeout=30 \
	-rss_limit_mb=2048 -max_len=900 -print_final_stats=1 fuzz_arima_work \
	> fuzz_arima.log 2>&1 || { tail -40 fuzz_arima.log; exit 1; }
cd ../..
if [ -n "$ARIMA_FUZZ_MERGE" ]; then
	test/fuzz/bin/fuzz_arima -merge=1 test/fuzz/corpus/arima bench/out/fuzz_arima_work \
		> bench/out/fuzz_arima_merge.log 2>&1
fi
grep -E '^stat::number_of_executed_units|^Done' bench/out/fuzz_arima.log || true
echo "fuzz_arima: no crash, leak or timeout in $SECS s"
