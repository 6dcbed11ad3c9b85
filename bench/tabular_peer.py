#!/usr/bin/env python3
"""The peer: XGBoost's Python package (same library version as the C API)
trained from the same CSV with the same parameters; prints its test AUC and
wall time, and the AUC of opspilot's predictions file."""
import csv
import sys
import time

import numpy as np
import xgboost as xgb
from sklearn.metrics import roc_auc_score

out, rounds, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
PLANS = {}


def load(path, has_label):
    xs, ys, ids = [], [], []
    with open(path) as f:
        r = csv.reader(f)
        next(r)
        for row in r:
            ids.append(row[0])
            feats = [float(v) if v else np.nan for v in row[1:17]]
            feats.append(float(PLANS.setdefault(row[17], len(PLANS))))
            xs.append(feats)
            if has_label:
                ys.append(int(row[18]))
    return np.array(xs, dtype=np.float32), np.array(ys), ids


t0 = time.time()
x, y, _ = load(f"{out}/train.csv", True)
types = ["q"] * 16 + ["c"]
dtrain = xgb.DMatrix(x, label=y, feature_types=types, enable_categorical=True)
params = {"objective": "binary:logistic", "tree_method": "hist", "eta": 0.1, "max_depth": 6,
          "subsample": 0.8, "colsample_bytree": 1.0, "min_child_weight": 1, "lambda": 1,
          "max_bin": 256, "nthread": threads, "seed": 42}
booster = xgb.train(params, dtrain, num_boost_round=rounds)
xt, _, ids = load(f"{out}/test.csv", False)
p = booster.predict(xgb.DMatrix(xt, feature_types=types, enable_categorical=True))
elapsed = time.time() - t0
labels = {}
with open(f"{out}/test_labels.csv") as f:
    for row in csv.DictReader(f):
        labels[row["id"]] = int(row["label"])
yt = np.array([labels[i] for i in ids])
print(f"peer_auc {roc_auc_score(yt, p):.4f}")
print(f"peer_seconds {elapsed:.2f}")
ours = {}
with open(f"{out}/pred.csv") as f:
    for row in csv.DictReader(f):
        ours[row["id"]] = float(row["probability"])
print(f"opspilot_auc {roc_auc_score(yt, np.array([ours[i] for i in ids])):.4f}")
