#!/usr/bin/env python3
"""Converts published text-classification files, already on disk, into the files
bench/text.sh runs both tools on (bench/text_common.py: CSV for opspilot, fastText format,
the same split). Nothing is downloaded. Stdlib only.

  bench/text_public.py SRC_DIR OUT_DIR

Looks under SRC_DIR (recursively) for:
  CLINC150        data_full.json (or data_small/data_imbalanced/data_oos_plus.json): keys train,
                  val, test, oos_train, oos_val, oos_test of [text, intent]. Train = train +
                  oos_train, test = test + oos_test, `oos` the out-of-scope label; val is not
                  used (both tools tune on a 15% hold-out of train, as for the generated set).
  BANKING77       train.csv and test.csv with header text,category (PolyAI's banking_data/).
  SophonPlus sets ChnSentiCorp_htl_all.csv, waimai_10k.csv (label,review) and
                  online_shopping_10_cats.csv (cat,label,review): no published split, so a
                  seeded stratified 80/20 one (seed 11); labels 1/0 -> positive/negative.
  any other pair  train.{csv,tsv} + test.{csv,tsv} in one folder whose header has a text column
                  (text, text_a, review, sentence) and a label column (label, category, intent),
                  e.g. ChnSentiCorp's train.tsv/dev.tsv/test.tsv (label, text_a).
  Test parts alone (when only a published test file is on hand; a seeded split of it, seed 11,
  both tools on the same rows):
  CLINC150        a data_*.json without "train": its test part (30 a intent) as 20 train / 10
                  test a intent, its oos_test as 100 train / 333 test (the published train and
                  test shares of `oos`); named clinc150_<x>_testsplit.
  BANKING77       test.csv (text,category) without train.csv: 60/40 a class (24/16);
                  named banking77_testsplit.
Each set becomes OUT_DIR/<name>/. Chinese is detected from the text (CJK share)."""
import csv
import json
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from text_common import write_dataset  # noqa: E402

csv.field_size_limit(1 << 24)
TEXT_COLS = ("text", "text_a", "review", "sentence", "content")
LABEL_COLS = ("label", "category", "intent")
SENTIMENT = {"1": "positive", "0": "negative", "2": "neutral"}
SOPHON = {"chnsenticorp_htl_all.csv", "waimai_10k.csv", "online_shopping_10_cats.csv"}


def lang_of(texts):
    sample = "".join(texts[:500])
    cjk = len(re.findall(r"[\u4e00-\u9fff]", sample))
    return "zh" if cjk > 0.3 * max(1, len(sample.replace(" ", ""))) else "en"


def clean(text):
    return " ".join((text or "").split())


def read_table(path):
    """Rows (text, label) of a CSV/TSV with recognisable text and label columns, or None."""
    delim = "\t" if path.endswith(".tsv") else ","
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delim, quoting=csv.QUOTE_NONE if delim == "\t" else csv.QUOTE_MINIMAL)
        header = [h.strip().lower() for h in next(reader, [])]
        ti = next((header.index(c) for c in TEXT_COLS if c in header), None)
        li = next((header.index(c) for c in LABEL_COLS if c in header), None)
        if ti is None or li is None:
            return None
        rows = []
        for r in reader:
            if len(r) <= max(ti, li):
                continue
            t, l = clean(r[ti]), r[li].strip()
            if t and l:
                rows.append((t, l))
        return rows


def task_and_labels(rows, lang):
    labels = {l for _, l in rows}
    if labels <= set(SENTIMENT):
        return "sentiment", [(t, SENTIMENT[l]) for t, l in rows]
    if lang == "zh" and len(labels) <= 3:
        return "sentiment", rows
    return "intent", rows


def emit(out, name, train, test, source):
    lang = lang_of([t for t, _ in train])
    task, train = task_and_labels(train, lang)
    _, test = task_and_labels(test, lang)
    meta = write_dataset(f"{out}/{name}", name, task, lang, [(f"tr{k}", t, l) for k, (t, l) in enumerate(train)],
                         [(f"te{k}", t, l) for k, (t, l) in enumerate(test)], extra={"source": source})
    print(f"{name}: {task}, {lang}, train {meta['train']} (oos {meta['train_oos']}), test {meta['test']} "
          f"(oos {meta['test_oos']}), {meta['labels']} labels  <- {source}")


def split(rows, fraction=0.2, seed=11):
    rng = random.Random(seed)
    by = {}
    for r in rows:
        by.setdefault(r[1], []).append(r)
    train, test = [], []
    for label in sorted(by):
        g = by[label][:]
        rng.shuffle(g)
        n = int(len(g) * fraction + 0.5)
        test += g[:n]
        train += g[n:]
    return train, test


def main(src, out):
    found = 0
    for root, _, files in sorted(os.walk(src)):
        names = {f.lower(): f for f in files}
        for low, f in sorted(names.items()):
            path = os.path.join(root, f)
            if re.fullmatch(r"data_(full|small|imbalanced|oos_plus)\.json", low):
                d = json.load(open(path, encoding="utf-8"))
                if "train" not in d:
                    rows = [(clean(t), l) for t, l in d["test"]]
                    oos = [(clean(t), "oos") for t, _ in d["oos_test"]]
                    train, test = split(rows, fraction=1 / 3)
                    rng = random.Random(11)
                    oos = sorted(oos)
                    rng.shuffle(oos)
                    emit(out, "clinc150_" + low[5:-5] + "_testsplit", train + oos[:100], test + oos[100:433],
                         path + " (test and oos_test only: seeded split)")
                    found += 1
                    continue
                train = [(clean(t), l) for t, l in d["train"]] + [(clean(t), "oos") for t, _ in d["oos_train"]]
                test = [(clean(t), l) for t, l in d["test"]] + [(clean(t), "oos") for t, _ in d["oos_test"]]
                emit(out, "clinc150_" + low[5:-5], train, test, path)
                found += 1
            elif low in SOPHON:
                rows = read_table(path)
                if rows:
                    train, test = split(rows)
                    emit(out, low[:-4], train, test, path + " (seeded 80/20 split)")
                    found += 1
        if "test.csv" in names and "train.csv" not in names:
            path = os.path.join(root, names["test.csv"])
            with open(path, encoding="utf-8-sig") as f:
                header = f.readline().lower()
            rows = read_table(path)
            if "category" in header and rows:
                train, test = split(rows, fraction=0.4)
                emit(out, "banking77_testsplit", train, test, path + " (test.csv only: seeded 60/40 split)")
                found += 1
        for ext in ("csv", "tsv"):
            if f"train.{ext}" in names and f"test.{ext}" in names:
                tr = read_table(os.path.join(root, names[f"train.{ext}"]))
                te = read_table(os.path.join(root, names[f"test.{ext}"]))
                if not tr or not te:
                    continue
                with open(os.path.join(root, names[f"train.{ext}"]), encoding="utf-8-sig") as f:
                    header = f.readline().lower()
                base = os.path.basename(os.path.normpath(root)).lower()
                name = "banking77" if "category" in header and ext == "csv" else re.sub(r"\W+", "_", base)
                emit(out, name, tr, te, os.path.join(root, f"train.{ext} + test.{ext}"))
                found += 1
    if not found:
        sys.exit(f"{src}: no known data set found (see bench/text_public.py)")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
