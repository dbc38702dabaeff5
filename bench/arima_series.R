#!/usr/bin/env Rscript
# arima_series.R -- the benchmark's 500 simulated weekly play-count series of
# length 52 (deterministic, seeded).  Usage: Rscript bench/arima_series.R OUT
# One series per line, space separated.
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "bench/out/arima_series.txt"
set.seed(52)
n <- 52
con <- file(out, "w")
for (i in 1:500) {
  kind <- i %% 5
  level <- exp(runif(1, log(2), log(500)))
  lam <- switch(kind + 1,
    rep(level, n),                                              # flat
    level * exp(cumsum(rnorm(n, 0, 0.08))),                     # random-walk level
    level * exp(as.numeric(arima.sim(list(ar = runif(1, 0.3, 0.9)), n, sd = 0.2))),
    pmax(0.2, level * (1 + runif(1, -0.015, 0.04) * (1:n))),     # trend
    level * exp(-(1:n) / runif(1, 8, 60)) + 1)                  # release decay
  cat(rpois(n, lam), "\n", file = con)
}
close(con)
