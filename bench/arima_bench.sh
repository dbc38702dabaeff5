#!/bin/sh
# arima_bench.sh -- ARIMA benchmark: the same 500 simulated weekly series of
# length 52 through our C core (fixed (1,1,1) and automatic), R's
# stats::arima(order = c(1,1,1), method = "ML"), forecast::auto.arima
# (seasonal = FALSE) and statsmodels' ARIMA(1,1,1); prints one table.
# Run from the repository root:  sh bench/arima_bench.sh
# Optional: ARIMA_BENCH_SQL=1 adds the SQL path through psql (PG* variables,
# the extension must be installed in that database).
set -e
OUT=bench/out
mkdir -p "$OUT"
SERIES="$OUT/arima_series.txt"
if [ ! -s "$SERIES" ]; then
	Rscript bench/arima_series.R "$SERIES"
fi
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -Isrc/core bench/arima_bench.c \
	src/core/*.c -lgsl -lgslcblas -lm -o "$OUT/arima_bench"

RES="$OUT/arima_results.txt"
: > "$RES"
"$OUT/arima_bench" "$SERIES" 5 >> "$RES" 2> "$OUT/arima_bench.stderr"
if command -v Rscript > /dev/null; then
	Rscript bench/arima_bench_r.R "$SERIES" >> "$RES" 2>/dev/null || true
fi
if /usr/bin/python3 -c 'import statsmodels' 2> /dev/null; then
	/usr/bin/python3 bench/arima_bench_sm.py "$SERIES" >> "$RES" || true
fi
if [ -n "$ARIMA_BENCH_SQL" ]; then
	sh bench/arima_bench_sql.sh "$SERIES" >> "$RES" || true
fi

awk '
BEGIN {
	name["c_arima111"] = "ours, C core: ARIMA(1,1,1) fit + forecast";
	name["c_auto"] = "ours, C core: automatic (stepwise AICc) + forecast";
	name["sql_arima111"] = "ours, SQL arima_forecast(s, 1, 1, 1, 1)";
	name["sql_auto"] = "ours, SQL arima_forecast(s) (automatic)";
	name["r_arima111"] = "R stats::arima(order = c(1,1,1), method = \"ML\")";
	name["r_autoarima"] = "R forecast::auto.arima(seasonal = FALSE)";
	name["statsmodels_arima111"] = "statsmodels ARIMA(order = (1,1,1)).fit()";
	printf "| %-52s | %9s | %9s | %8s |\n", "method (500 series, n = 52)", "wall ms", "CPU ms", "failures";
	printf "|%s|%s|%s|%s|\n", "------------------------------------------------------", "-----------", "-----------", "----------";
}
{ printf "| %-52s | %9.3f | %9.3f | %8d |\n", name[$1] ? name[$1] : $1, $2, $3, $4 }
' "$RES"
cat "$OUT/arima_bench.stderr"
