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
	/usr/bin/python3 bench/lstm_bench_torch.py "$EPOCHS" "$OUT/lstm_init.txt" --float32 --threads 2
} > "$OUT/lstm_bench.txt"
echo "LSTM(1->32)+Linear, 20000 windows x 8, batch 256, Adam 1e-3, MSE, $EPOCHS epochs, $(nproc) CPUs"
awk 'BEGIN { printf "%-26s %12s %12s %12s %14s\n", "implementation", "s/epoch", "min s/epoch", "final MSE", "predict 20k s" }
{
	for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	printf "%-26s %12s %12s %12s %14s\n", v["impl"], v["s_per_epoch_mean"], v["s_per_epoch_min"], v["final_mse"], v["predict_s"]
}' "$OUT/lstm_bench.txt"
