#!/usr/bin/env Rscript
# arima_bench_r.R -- R reference timings on the benchmark series.
# Usage: Rscript bench/arima_bench_r.R SERIES_FILE
# Prints "r_arima111 wall_ms cpu_ms failures" and "r_autoarima ..." (per series).
suppressMessages(library(forecast))
args <- commandArgs(trailingOnly = TRUE)
lines <- readLines(args[1])
ys <- lapply(lines, function(l) as.numeric(strsplit(trimws(l), " +")[[1]]))
fail <- 0
t <- system.time(for (y in ys) {
  f <- tryCatch(suppressWarnings(arima(y, order = c(1, 1, 1), method = "ML")),
                error = function(e) NULL)
  if (is.null(f)) fail <- fail + 1 else predict(f, n.ahead = 1)
})
cat(sprintf("r_arima111 %.4f %.4f %d\n", 1000 * t[["elapsed"]] / length(ys),
            1000 * (t[["user.self"]] + t[["sys.self"]]) / length(ys), fail))
fail <- 0
t <- system.time(for (y in ys) {
  f <- tryCatch(auto.arima(ts(y), seasonal = FALSE), error = function(e) NULL)
  if (is.null(f)) fail <- fail + 1 else forecast(f, h = 1)
})
cat(sprintf("r_autoarima %.4f %.4f %d\n", 1000 * t[["elapsed"]] / length(ys),
            1000 * (t[["user.self"]] + t[["sys.self"]]) / length(ys), fail))
