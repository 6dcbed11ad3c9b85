#!/usr/bin/env python3
"""Online Retail (UCI, a real shop's 541,909 lines) as recommendation files:
interactions.csv (user_id,item_id,timestamp) from purchase lines with a
customer id and a positive quantity, and items.csv (item_id,title,price).
Usage: recommend_retail.py ONLINE_RETAIL_CSV_GZ OUT_DIR"""
import csv, gzip, os, sys
from datetime import datetime, timezone

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
items = {}
n = 0
with gzip.open(src, "rt", encoding="utf-8", errors="replace") as f, \
        open(os.path.join(out, "interactions.csv"), "w", newline="") as o:
    w = csv.writer(o)
    w.writerow(["user_id", "item_id", "timestamp"])
    for r in csv.DictReader(f):
        if not r["CustomerID"] or r["InvoiceNo"].startswith("C"):
            continue
        try:
            if float(r["Quantity"]) <= 0:
                continue
        except ValueError:
            continue
        ts = datetime.strptime(r["InvoiceDate"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
        w.writerow([r["CustomerID"].split(".")[0], r["StockCode"], int(ts.timestamp())])
        items.setdefault(r["StockCode"], (r["Description"].strip(), r["UnitPrice"]))
        n += 1
with open(os.path.join(out, "items.csv"), "w", newline="") as o:
    w = csv.writer(o)
    w.writerow(["item_id", "title", "price"])
    for k, (t, p) in items.items():
        w.writerow([k, t, p])
print(f"{n} purchase lines, {len(items)} items -> {out}")
