#!/bin/sh
# Side-by-side LSTM benchmark: the C core against PyTorch on the CPU, same
# architecture, data and initial weights.  Run from the repository root:
#     bench/lstm_bench.sh [EPOCHS]        (default 5)
# Prints one table; figures are recorded in bench/lstm.md.
set -eu
EPOCHS=${1:-5}
OUT=bench/out
mkdir -p "$OUT"
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -Isrc/core bench/lstm_bench.c src/core/*.c \
	-lgsl -lgslcblas -lm -o "$OUT/lstm_bench"
{
	"$OUT/lstm_bench" "$EPOCHS" "$OUT/lstm_init.txt"
	PZ_LSTM_KERNEL=generic "$OUT/lstm_bench" "$EPOCHS" | sed 's/impl=pozytywka-C/impl=pozytywka-C-generic/'
	/usr/bin/python3 bench/lstm_bench_torch.py "$EPOCHS" "$OUT/lstm_init.txt"
	/usr/bin/python3 bench/lstm_bench_torch.py "$EPOCHS" "$OUT/lstm_init.txt" --float32
} > "$OUT/lstm_bench.txt"
echo "LSTM(1->32)+Linear, 20000 windows x 8, batch 256, Adam 1e-3, MSE, $EPOCHS epochs, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(wall = elapsed time; cpu = CPU time of the process, less disturbed by other load; predict = best of 5)"
awk 'BEGIN { printf "| %-24s | %10s | %10s | %10s | %11s | %12s | %11s |\n", "implementation", "s/epoch", "min s/ep", "cpu s/ep", "final MSE", "predict 20k", "predict cpu"
             printf "| %-24s | %10s | %10s | %10s | %11s | %12s | %11s |\n", "---", "---", "---", "---", "---", "---", "---" }
{
	for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	printf "| %-24s | %10s | %10s | %10s | %11s | %12s | %11s |\n", v["impl"], v["s_per_epoch_mean"], v["s_per_epoch_min"], v["cpu_s_per_epoch"], v["final_mse"], v["predict_s"], v["predict_cpu_s"]
}' "$OUT/lstm_bench.txt"
