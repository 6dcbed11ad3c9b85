"""Shared by bench/text_data.py and bench/text_public.py: writes one dataset
directory in both formats, the same rows and the same split for both tools.

  train.csv, test.csv          id,text,label (opspilot's file mode; RFC 4180 quoting)
  train.ft, test.ft            __label__X tokens (fastText; shuffled training file)
  test.txt                     the test texts alone, fastText-tokenised (for predict-prob)
  fit.csv/.ft, valid.csv/.ft   a stratified 15% hold-out carved out of train (what the
                               out-of-scope thresholds are tuned on; never the test set)
  meta.json                    name, task, lang, row counts

fastText tokenisation follows peers.md: English lower-cased with punctuation split off
(fastText's own example preprocessing); Chinese one token per character. Stdlib only."""
import csv
import json
import os
import random
import re

VALID_FRACTION = 0.15  # the same fraction opspilot's trainer holds out
_PUNCT = re.compile(r"([.!?,'/()\":;])")


def ft_tokens(text, lang):
    if lang == "zh":
        return " ".join(ch for ch in text if not ch.isspace())
    return " ".join(_PUNCT.sub(r" \1 ", text.lower()).split())


def ft_label(label):
    return "__label__" + re.sub(r"\s+", "_", label.strip())


def _write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "text", "label"])
        for r in rows:
            w.writerow([r[0], r[1], r[2]])


def _write_ft(path, rows, lang):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(f"{ft_label(r[2])} {ft_tokens(r[1], lang)}\n")


def _stratified_split(rows, fraction, rng):
    by = {}
    for r in rows:
        by.setdefault(r[2], []).append(r)
    fit, valid = [], []
    for label in sorted(by):
        group = by[label][:]
        rng.shuffle(group)
        nv = int(len(group) * fraction + 0.5) if len(group) >= 4 else 0
        valid += group[:nv]
        fit += group[nv:]
    rng.shuffle(fit)
    rng.shuffle(valid)
    return fit, valid


def write_dataset(out, name, task, lang, train, test, seed=11, extra=None):
    """train/test: lists of (id, text, label). The training rows are shuffled
    (fastText reads its file in order: label-sorted input costs it points)."""
    os.makedirs(out, exist_ok=True)
    rng = random.Random(seed)
    train = [(str(i), t, l) for i, t, l in train if t.strip() and l.strip()]
    test = [(str(i), t, l) for i, t, l in test if t.strip() and l.strip()]
    rng.shuffle(train)
    fit, valid = _stratified_split(train, VALID_FRACTION, rng)
    for stem, rows in (("train", train), ("test", test), ("fit", fit), ("valid", valid)):
        _write_csv(f"{out}/{stem}.csv", rows)
        _write_ft(f"{out}/{stem}.ft", rows, lang)
    with open(f"{out}/test.txt", "w", encoding="utf-8") as f:
        for r in test:
            f.write(ft_tokens(r[1], lang) + "\n")
    with open(f"{out}/valid.txt", "w", encoding="utf-8") as f:
        for r in valid:
            f.write(ft_tokens(r[1], lang) + "\n")
    labels = sorted({r[2] for r in train})
    meta = {"name": name, "task": task, "lang": lang, "train": len(train), "test": len(test),
            "labels": len(labels), "train_oos": sum(r[2] == "oos" for r in train),
            "test_oos": sum(r[2] == "oos" for r in test)}
    meta.update(extra or {})
    with open(f"{out}/meta.json", "w") as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)
    return meta
