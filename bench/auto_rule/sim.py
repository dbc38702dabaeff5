#!/usr/bin/env python3
# The automatic choice replayed offline: for each dataset of overlaps.csv
# (bench/auto_rule/pull.sh) and each rule (backtest window W weeks, margin
# for leaving persistence), the mean overlap@50 of the models auto would
# have chosen over the last 8 weeks, minus the best simple baseline of
# those weeks.  Usage: python3 bench/auto_rule/sim.py overlaps.csv
import csv, collections, sys
data = collections.defaultdict(dict)   # db -> (week, model) -> overlap
weeks = collections.defaultdict(set)
for db, week, m, ov in csv.reader(open(sys.argv[1])):
    if ov == '': continue
    data[db][(week, m)] = float(ov); weeks[db].add(week)
models = ['naive','ewma','mean4','mean8','trend','pooled','arima']
baselines = ['naive','mean4','mean8','ewma','trend']
def run(W, margin, cands=models):
    res = {}
    for db in data:
        ws = sorted(weeks[db])
        target = ws[-8:]
        tot = 0
        for t in target:
            i = ws.index(t)
            # choice at origin t-1: backtest weeks up to t-1 (ws[i-W..i-1])
            win = ws[max(0, i-W):i]
            best = None
            for pos, m in enumerate(cands):
                vals = [data[db].get((w, m)) for w in win]
                vals = [v for v in vals if v is not None]
                if len(vals) < 2: continue
                sc = sum(vals)/len(vals) - (0 if m == 'naive' else margin)
                if best is None or sc > best[0] + 1e-12: best = (sc, m)
            chosen = best[1] if best else 'naive'
            tot += data[db][(t, chosen)]
        auto = tot/8
        bb = max(sum(data[db][(t, b)] for t in target)/8 for b in baselines)
        res[db] = auto - bb
    return res
print('W margin  mean   min   #neg  worst')
for W in (4, 6, 8, 12, 16):
    for margin in (0, 0.005, 0.01, 0.015, 0.02, 0.03):
        r = run(W, margin)
        v = list(r.values())
        print(W, margin, '%.4f %.4f %2d %s' % (sum(v)/len(v), min(v), sum(x < -1e-9 for x in v), min(r, key=r.get)))
print()
r0 = run(8, 0); rp = run(8, 0, ['pooled']); rn = run(8, 0.0, ['naive','pooled'])
for db in sorted(r0): print('%-12s W8m0 %+.4f  pooled %+.4f  naive|pooled %+.4f' % (db, r0[db], rp[db], rn[db]))
for name, r in (('W8m0', r0), ('pooled', rp), ('naive|pooled', rn)):
    v = list(r.values()); print(name, 'mean %.4f min %.4f neg %d' % (sum(v)/len(v), min(v), sum(x < -1e-9 for x in v)))
