#!/usr/bin/env python3
"""Deterministic sessions.jsonl for bench/import_bench.sh.

import_gen.py DIR N: N events (5 a session, 30,000 tracks, 5,000 users, a
year from 2024-01-01, timestamps with 0 or 6 fractional digits), with the
faults of the real 2024 export at about its rates: event types in upper and
lower case and the misspelt 'advertisment'; about 1% null user_id, 1% skips
and likes with null track_id (repaired from the session's play), 0.5% plays
with null track_id and 0.5% null event types (rejected).  Also writes
DIR/sessions.tsv: the same events as COPY text (session_id, timestamp,
user_id, track_id, event_type), as the COPY reference floor loads them."""
import datetime
import random
import sys

d, n = sys.argv[1], int(sys.argv[2])
r = random.Random(20240101)
start = datetime.datetime(2024, 1, 1)
kinds = ("play", "play", "skip", "like", "play", "advertisement", "buy_premium")
with open(d + "/sessions.jsonl", "w") as f, open(d + "/sessions.tsv", "w") as g:
    for i in range(n):
        sid = i // 5
        t = start + datetime.timedelta(seconds=(sid * 7919) % (365 * 86400) + (i % 5) * 61,
                                       microseconds=r.randrange(1000000) if i % 3 else 0)
        ev = kinds[r.randrange(len(kinds))]
        track = "t%d" % (1 + int(r.expovariate(0.0005)) % 30000)
        user = sid % 5000
        ts = t.isoformat()
        if ev == "advertisement" or ev == "buy_premium":
            track = None
        x = r.random()
        ev_out = ev.upper() if x < 0.3 else ("advertisment" if ev == "advertisement" and x < 0.6 else ev)
        if x > 0.99:
            user = None
        y = r.random()
        if y < 0.01 and ev in ("skip", "like"):
            track = None
        elif y < 0.005 and ev == "play":
            track = None
        if 0.5 < y < 0.505:
            ev_out = None
        f.write('{"session_id": %d, "timestamp": "%s", "user_id": %s, "track_id": %s, "event_type": %s}\n'
                % (sid, ts, "null" if user is None else user,
                   "null" if track is None else '"%s"' % track,
                   "null" if ev_out is None else '"%s"' % ev_out))
        g.write("%d\t%s\t%s\t%s\t%s\n" % (sid, ts.replace("T", " "), "\\N" if user is None else user,
                                          "\\N" if track is None else track, ev))
