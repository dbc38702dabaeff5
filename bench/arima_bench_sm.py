#!/usr/bin/python3
"""arima_bench_sm.py -- statsmodels ARIMA(1,1,1) timings on the benchmark
series.  Usage: /usr/bin/python3 bench/arima_bench_sm.py SERIES_FILE
Prints "statsmodels_arima111 wall_ms cpu_ms failures" (per series)."""
import sys
import time
import warnings

import numpy as np
from statsmodels.tsa.arima.model import ARIMA

warnings.simplefilter("ignore")
ys = [np.array([float(v) for v in l.split()]) for l in open(sys.argv[1])]
fail = 0
t0 = time.perf_counter()
c0 = time.process_time()
for y in ys:
    try:
        r = ARIMA(y, order=(1, 1, 1)).fit()
        r.forecast(1)
        if not r.mle_retvals.get("converged", True):
            fail += 1
    except Exception:
        fail += 1
t = time.perf_counter() - t0
c = time.process_time() - c0
print("statsmodels_arima111 %.4f %.4f %d" % (1000 * t / len(ys), 1000 * c / len(ys), fail))
