#!/usr/bin/env python3
"""Deterministic sessions.jsonl for the crash and atomicity tests.

make_sessions.py DIR N [SEED]: N events over 13 weeks from 2024-01-01,
300 tracks, 5 events a session, with a few rows the importer repairs
(skip without track) and rejects (play without track)."""
import datetime
import random
import sys

d, n = sys.argv[1], int(sys.argv[2])
r = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
start = datetime.datetime(2024, 1, 1)
with open(d + "/sessions.jsonl", "w") as f:
    for i in range(n):
        sid = i // 5
        t = start + datetime.timedelta(seconds=(sid * 7919) % (91 * 86400) + (i % 5) * 60)
        ev = ("play", "play", "skip", "like", "PLAY")[i % 5]
        track = "t%d" % (1 + int(r.expovariate(0.02)) % 300)
        if i % 997 == 0:
            track = None
        f.write('{"session_id": %d, "timestamp": "%s", "user_id": %d, "track_id": %s, "event_type": "%s"}\n'
                % (sid, t.strftime("%Y-%m-%dT%H:%M:%S.%f"), sid % 1000,
                   "null" if track is None else '"%s"' % track, ev))
