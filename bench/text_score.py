#!/usr/bin/env python3
"""Scoring for bench/text.sh. Stdlib only.

  text_score.py fasttext DATA_DIR WORK_DIR     fastText's metrics from its predict-prob files
  text_score.py threshold DATA_DIR WORK_DIR    ours (--no-oos, trained on fit.csv) at fastText's rule
  text_score.py report OUT_DIR                 the table, and OUT_DIR/summary.json

The metrics are computed exactly as `opspilot text evaluate` computes them (src/nlp/
classifier_io.cc): accuracy over all rows; in-scope accuracy over rows whose truth is not
`oos` (a refused in-scope row counts as wrong); out-of-scope recall and precision; macro F1
over the classes with support, `oos` included.

Out-of-scope thresholds are tuned on valid.* (a stratified 15% of the training rows), never
on the test rows, by two rules:
  in-scope>=90%   the highest confidence cut-off at which validation in-scope accuracy stays
                  >= 90% (the operating point of the CLINC150 bar: oos recall at >= 90%
                  in-scope accuracy); 0 when even no cut-off stays above 90%.
  precision>=0.9  opspilot's own rule (--target-precision 0.9): the lowest cut-off at which
                  the answered validation rows reach 90% precision."""
import csv
import glob
import json
import os
import sys
import time

OOS = "oos"
IN_SCOPE_TARGET = 0.90
PRECISION_TARGET = 0.90


def read_truth(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [r["label"] for r in csv.DictReader(f)]


def read_ft_pred(path):
    """predict-prob k=1 lines: '__label__X 0.93' (a blank line for an empty text)."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                out.append((parts[0][len("__label__"):], min(float(parts[1]), 1.0)))
            else:
                out.append(("", 0.0))
    return out


def read_ops_pred(path):
    """opspilot `text predict` CSV: id,label,confidence."""
    with open(path, newline="", encoding="utf-8") as f:
        return [(r["label"], float(r["confidence"])) for r in csv.DictReader(f)]


def metrics(truth, pred, labels=()):
    n = len(truth)
    assert n == len(pred), (n, len(pred))
    correct = sum(t == p for t, p in zip(truth, pred))
    ins = [(t, p) for t, p in zip(truth, pred) if t != OOS]
    oos_true = sum(t == OOS for t in truth)
    oos_pred = sum(p == OOS for p in pred)
    oos_hit = sum(t == OOS and p == OOS for t, p in zip(truth, pred))
    f1s = []
    for c in set(labels) | set(truth) | {OOS}:
        tp = sum(t == c and p == c for t, p in zip(truth, pred))
        fp = sum(t != c and p == c for t, p in zip(truth, pred))
        fn = sum(t == c and p != c for t, p in zip(truth, pred))
        if tp + fn == 0:
            continue
        pr = tp / (tp + fp) if tp + fp else 0.0
        rc = tp / (tp + fn)
        f1s.append(2 * pr * rc / (pr + rc) if pr + rc else 0.0)
    m = {"examples": n, "accuracy": correct / n, "macro_f1": sum(f1s) / len(f1s)}
    if ins:
        m["in_scope_accuracy"] = sum(t == p for t, p in ins) / len(ins)
    if oos_true:
        m["oos_recall"] = oos_hit / oos_true
        m["oos_precision"] = oos_hit / oos_pred if oos_pred else 0.0
    return m


def apply_threshold(pred, thr):
    return [OOS if conf < thr else label for label, conf in pred]


def threshold_in_scope(truth, pred, target=IN_SCOPE_TARGET):
    """Highest cut-off keeping in-scope accuracy >= target (refusals count as wrong)."""
    rows = sorted(((c, l == t) for (l, c), t in zip(pred, truth) if t != OOS), key=lambda x: x[0])
    n = len(rows)
    if not n:
        return 0.0
    right = sum(ok for _, ok in rows)
    if right / n < target:
        return 0.0
    best = 0.0
    # Refusing everything below rows[k][0]: in-scope correct = right - correct among rows[:k].
    lost = 0
    for k in range(n):
        if k == 0 or rows[k][0] > rows[k - 1][0]:
            if (right - lost) / n >= target:
                best = rows[k][0]
            else:
                break
        lost += rows[k][1]
    return best


def threshold_precision(truth, pred, target=PRECISION_TARGET):
    """opspilot's rule: walking from the most confident down, the last cut-off where the
    answered rows still reach the target precision (an `oos` row is never a right answer)."""
    scored = sorted(((c, l == t and t != OOS) for (l, c), t in zip(pred, truth)), key=lambda x: -x[0])
    if not scored:
        return 0.0
    cut, answered, correct = scored[0][0], 0, 0
    for conf, ok in scored:
        answered += 1
        correct += ok
        if correct / answered >= target:
            cut = conf
    return cut


def train_labels(data):
    with open(f"{data}/meta.json") as f:
        meta = json.load(f)
    return meta, sorted(set(read_truth(f"{data}/train.csv")))


def score_fasttext(data, work):
    meta, labels = train_labels(data)
    truth, vtruth = read_truth(f"{data}/test.csv"), read_truth(f"{data}/valid.csv")
    secs = json.load(open(f"{work}/fasttext_seconds.json"))
    plain = read_ft_pred(f"{work}/ft_full.test.pred")
    res = {"fasttext": dict(metrics(truth, [l for l, _ in plain], labels), train_seconds=secs["full"],
                            model="fastText 0.9.2, full train set, oos as one more class", threshold=0.0)}
    if meta.get("test_oos", 0) and meta.get("train_oos", 0):
        vpred = read_ft_pred(f"{work}/ft_fit.valid.pred")
        tpred = read_ft_pred(f"{work}/ft_fit.test.pred")
        for key, rule in (("fasttext+thr90", threshold_in_scope), ("fasttext+p0.9", threshold_precision)):
            thr = rule(vtruth, vpred)
            m = metrics(truth, apply_threshold(tpred, thr), labels)
            vm = metrics(vtruth, apply_threshold(vpred, thr), labels)
            res[key] = dict(m, train_seconds=secs["fit"], threshold=thr,
                            valid_in_scope_accuracy=vm.get("in_scope_accuracy"),
                            model=f"fastText 0.9.2 on fit.csv (85%), oos below a confidence cut-off tuned on valid "
                                  f"({'in-scope accuracy >= 90%' if rule is threshold_in_scope else 'precision >= 0.9'})")
    return res


def score_ours_thr(data, work, model):
    """Ours trained with --no-oos on fit.csv, cut-off by the in-scope >= 90% rule on valid."""
    _, labels = train_labels(data)
    truth, vtruth = read_truth(f"{data}/test.csv"), read_truth(f"{data}/valid.csv")
    vpred = read_ops_pred(f"{work}/ours_{model}_fit.valid.pred")
    tpred = read_ops_pred(f"{work}/ours_{model}_fit.test.pred")
    thr = threshold_in_scope(vtruth, vpred)
    m = metrics(truth, apply_threshold(tpred, thr), labels)
    vm = metrics(vtruth, apply_threshold(vpred, thr), labels)
    return dict(m, threshold=thr, valid_in_scope_accuracy=vm.get("in_scope_accuracy"))


def fmt(v, pct=True):
    if v is None:
        return "—"
    return f"{100 * v:.1f}" if pct else f"{v:.1f}"


def report(out):
    datasets = []
    for meta_path in sorted(glob.glob(f"{out}/*/meta.json")):
        d = os.path.dirname(meta_path)
        if not os.path.exists(f"{d}/results.json"):
            continue
        meta = json.load(open(meta_path))
        runs = json.load(open(f"{d}/results.json"))
        datasets.append({"dataset": os.path.basename(d), "meta": meta, "runs": runs})
    print(f"{'dataset':14s} {'tool':30s} {'acc':>6s} {'in-sc':>6s} {'oosR':>6s} {'oosP':>6s} {'mF1':>6s} "
          f"{'thr':>6s} {'train s':>8s}")
    for ds in datasets:
        for name, r in ds["runs"].items():
            if "error" in r:
                print(f"{ds['dataset']:14s} {name:30s} failed: {r['error']}")
                continue
            thr = r.get("threshold")
            print(f"{ds['dataset']:14s} {name:30s} {fmt(r.get('accuracy')):>6s} {fmt(r.get('in_scope_accuracy')):>6s} "
                  f"{fmt(r.get('oos_recall')):>6s} {fmt(r.get('oos_precision')):>6s} {fmt(r.get('macro_f1')):>6s} "
                  f"{(f'{thr:.3f}' if thr is not None else '—'):>6s} {fmt(r.get('train_seconds'), False):>8s}")
    print("\nours minus fastText (points; same operating point where both have one), train-time ratio ours/fastText:")
    comparisons = []
    for ds in datasets:
        runs = ds["runs"]
        ft = runs.get("fasttext")
        for name, r in runs.items():
            if not name.startswith("ours") or "error" in r or not ft:
                continue
            # Each of ours against plain fastText, and against the fastText variant tuned by the
            # same out-of-scope rule where there is one.
            peers = ["fasttext"]
            if name.endswith("+thr90"):
                peers = ["fasttext+thr90"] if "fasttext+thr90" in runs else []
            elif "fasttext+p0.9" in runs:
                peers.append("fasttext+p0.9")
            for peer_name in peers:
                p = runs[peer_name]
                c = {"dataset": ds["dataset"], "ours": name, "peer": peer_name}
                for k in ("accuracy", "in_scope_accuracy", "oos_recall", "macro_f1"):
                    if k in r and k in p:
                        c[k + "_diff_points"] = round(100 * (r[k] - p[k]), 2)
                if r.get("train_seconds") and p.get("train_seconds"):
                    c["train_time_ratio"] = round(r["train_seconds"] / p["train_seconds"], 2)
                comparisons.append(c)
                diffs = "  ".join(f"{k.replace('_diff_points', '')} {v:+.1f}" for k, v in c.items()
                                  if k.endswith("_points"))
                ratio = f"  time {c['train_time_ratio']:.1f}x" if "train_time_ratio" in c else ""
                print(f"  {ds['dataset']:14s} {name:22s} vs {peer_name:16s} {diffs}{ratio}")
    summary = {"date": time.strftime("%Y-%m-%d %H:%M"), "cores": os.cpu_count(),
               "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
               "models": os.environ.get("MODELS", "auto"), "build": os.environ.get("TEXT_BUILD", ""),
               "datasets": datasets, "comparisons": comparisons,
               "notes": {"in_scope_target": IN_SCOPE_TARGET, "precision_target": PRECISION_TARGET,
                         "valid": "thresholds tuned on valid.csv, a stratified 15% of train"}}
    with open(f"{out}/summary.json", "w") as f:
        json.dump(summary, f, indent=1, ensure_ascii=False)
    print(f"\nsummary: {out}/summary.json")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "fasttext":
        print(json.dumps(score_fasttext(sys.argv[2], sys.argv[3])))
    elif cmd == "threshold":
        print(json.dumps(score_ours_thr(sys.argv[2], sys.argv[3], sys.argv[4])))
    elif cmd == "report":
        report(sys.argv[2])
    else:
        sys.exit(f"unknown command {cmd}")
