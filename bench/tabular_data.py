#!/usr/bin/env python3
"""Writes a synthetic churn-like table (train.csv, test.csv, test_labels.csv)
with non-linear structure, a text categorical and blanks. Stdlib only."""
import math
import random
import sys

out, n_train, n_test = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(7)
PLANS = ["free", "basic", "pro", "team", "enterprise"]
COLS = ["id"] + [f"x{i}" for i in range(16)] + ["plan", "label"]


def row(i):
    x = [rng.gauss(0, 1) for _ in range(16)]
    plan = rng.choice(PLANS)
    z = (1.5 * math.sin(2 * x[0]) + x[1] * x[2] - 0.8 * abs(x[3]) + 0.5 * x[4]
         + (0.9 if plan in ("team", "enterprise") else -0.3) + rng.gauss(0, 0.8))
    label = 1 if z > 0 else 0
    cells = [f"{v:.5f}" if rng.random() > 0.02 else "" for v in x]
    return [f"r{i}"] + cells + [plan, str(label)]


with open(f"{out}/train.csv", "w") as tr:
    tr.write(",".join(COLS) + "\n")
    for i in range(n_train):
        tr.write(",".join(row(i)) + "\n")
with open(f"{out}/test.csv", "w") as te, open(f"{out}/test_labels.csv", "w") as tl:
    te.write(",".join(COLS[:-1]) + "\n")
    tl.write("id,label\n")
    for i in range(n_test):
        r = row(n_train + i)
        te.write(",".join(r[:-1]) + "\n")
        tl.write(f"{r[0]},{r[-1]}\n")
