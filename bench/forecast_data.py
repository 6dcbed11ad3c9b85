#!/usr/bin/env python3
"""Writes N monthly series (trend, multiplicative yearly season, noise; lengths
60-144) as train.csv (all but the last H points) and test.csv (the last H)."""
import math
import random
import sys

out, n, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(5)
with open(f"{out}/train.csv", "w") as tr, open(f"{out}/test.csv", "w") as te:
    tr.write("series_id,timestamp,value\n")
    te.write("series_id,timestamp,value\n")
    for i in range(n):
        length = rng.randint(60, 144)
        level = rng.uniform(100, 1000)
        slope = rng.uniform(-0.005, 0.02) * level
        amp = rng.uniform(0, 0.3)
        phase = rng.uniform(0, 2 * math.pi)
        noise = rng.uniform(0.01, 0.1)
        for t in range(length):
            year, month = 2000 + t // 12, t % 12 + 1
            v = (level + slope * t) * (1 + amp * math.sin(2 * math.pi * t / 12 + phase)) * (1 + rng.gauss(0, noise))
            v = max(v, 1.0)
            line = f"m{i},{year:04d}-{month:02d}-01,{v:.4f}\n"
            (te if t >= length - h else tr).write(line)
