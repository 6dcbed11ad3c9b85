#!/usr/bin/python3
"""How much of a NAB score is calibration across files, and which files want what.

    build/opspilot anomaly nab --corpus NAB_DIR --results R --name opspilot
    bench/nab_headroom.py R/opspilot NAB_DIR/labels/combined_windows.json

Reads a detector's results in NAB's layout (<dir>/<category>/<name>_<file>.csv with
timestamp,value,anomaly_score,label) and scores them by NAB's rules (windows, probation,
scaled sigmoid, profile weights; the same numbers as `opspilot anomaly nab` and NAB's own
scorer) twice: with one threshold for the corpus, as NAB's optimizer picks it, and with the
best threshold for each file separately. The second is an oracle no detector has. It bounds
what any per-file calibration of the same scores could give. Then it lists the files whose own
best threshold gains most at the standard profile, with that threshold.
"""
import csv, json, math, os, sys

import numpy as np

PROFILES = {  # tp, fp, fn weights (NAB's config/profiles.json)
    'standard': (1.0, 0.11, 1.0),
    'reward_low_FP_rate': (1.0, 0.22, 1.0),
    'reward_low_FN_rate': (1.0, 0.11, 2.0),
}
MAX_TP = 2 / (1 + math.exp(-5)) - 1  # the sigmoid at a window's first point


def scaled_sigmoid(x):
    return np.where(x > 3.0, -1.0, 2.0 / (1.0 + np.exp(np.minimum(5.0 * x, 700))) - 1.0)


def load(results, labels):
    windows = json.load(open(labels))
    files = []
    for cat in sorted(os.listdir(results)):
        for fn in sorted(os.listdir(os.path.join(results, cat))):
            rel = f'{cat}/{fn.split("_", 1)[1]}'
            rows = list(csv.reader(open(os.path.join(results, cat, fn))))[1:]
            ts = [r[0][:19] for r in rows]
            index = {t: i for i, t in reversed(list(enumerate(ts)))}  # first row of a repeated time
            s = np.array([float(r[2]) for r in rows])
            n = len(s)
            win = np.full(n, -1)
            tp_part = np.zeros(n)
            fp_part = np.full(n, -1.0)
            spans = [(index[a[:19]], index[b[:19]]) for a, b in windows[rel]]
            for w, (a, b) in enumerate(spans):
                width = b - a + 1
                win[a:b + 1] = w
                tp_part[a:b + 1] = scaled_sigmoid(-(b - np.arange(a, b + 1) + 1) / width)
                end = spans[w + 1][0] if w + 1 < len(spans) else n
                after = np.arange(b + 1, end)
                fp_part[b + 1:end] = scaled_sigmoid(np.abs(b - after) / (width - 1))
            probation = np.arange(n) < min(math.floor(0.15 * n), 0.15 * 5000)
            files.append(dict(name=rel, s=s, win=win, tp=tp_part, fp=fp_part, scored=~probation,
                              windows=len(spans)))
    return files


def score_at(f, threshold, weights):
    """One file's raw score at a given threshold."""
    tpw, fpw, fnw = weights
    hit = (f['s'] >= threshold) & f['scored']
    score = float((f['fp'][hit & (f['win'] < 0)] * fpw).sum())
    for w in range(f['windows']):
        inside = f['scored'] & (f['win'] == w)
        if inside.any():
            first = np.flatnonzero(inside & hit)
            score += f['tp'][first[0]] * tpw / MAX_TP if len(first) else -fnw
    return score


def sweep(files, weights):
    """NAB's sweep: the best raw score over all thresholds, and that threshold."""
    tpw, fpw, fnw = weights
    scores, gains, ids = [], [], []
    windows = 0
    for f in files:
        m = f['scored']
        w = f['win'][m]
        scores.append(f['s'][m])
        gains.append(np.where(w >= 0, f['tp'][m] * tpw / MAX_TP, f['fp'][m] * fpw))
        ids.append(np.where(w >= 0, w + windows, -1))
        windows += f['windows']
    s, g, w = np.concatenate(scores), np.concatenate(gains), np.concatenate(ids)
    counted = np.zeros(windows, bool)
    counted[w[w >= 0]] = True
    part = np.where(counted, -fnw, 0.0)  # each window's credit so far: a miss until a detection
    total = float(part.sum())
    order = np.argsort(-s, kind='stable')
    s, g, w = s[order], g[order], w[order]
    best, best_t, threshold = total, 1.1, 1.1
    i = 0
    while i < len(s):
        j = i
        while j < len(s) and s[j] == s[i]:
            j += 1
        if total > best:  # the score just above this group
            best, best_t = total, threshold
        for q in range(i, j):
            if w[q] < 0:
                total += g[q]
            elif g[q] > part[w[q]]:
                total += g[q] - part[w[q]]
                part[w[q]] = g[q]
        threshold = s[i]
        i = j
    if total > best:
        best, best_t = total, threshold
    return best, best_t, int(counted.sum())


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    files = load(sys.argv[1], sys.argv[2])
    print(f'{len(files)} files, {sum(f["windows"] for f in files)} windows')
    for profile, weights in PROFILES.items():
        corpus, threshold, counted = sweep(files, weights)
        null, perfect = -weights[2] * counted, weights[0] * counted
        oracle = [sweep([f], weights) for f in files]
        norm = lambda raw: 100 * (raw - null) / (perfect - null)
        print(f'{profile:20} one threshold {norm(corpus):5.1f} (at {threshold:.3f})   '
              f'best threshold per file (oracle) {norm(sum(o[0] for o in oracle)):5.1f}')
        if profile == 'standard':
            gains = []
            for f, (own, t, _) in zip(files, oracle):
                gains.append((own - score_at(f, threshold, weights), f['name'], t))
            print('  files whose own best threshold gains most (raw points, standard):')
            for gain, name, t in sorted(gains, reverse=True)[:12]:
                if gain > 0.05:
                    print(f'    {gain:5.2f}  {name}  (threshold {t:.3f})')


if __name__ == '__main__':
    main()
