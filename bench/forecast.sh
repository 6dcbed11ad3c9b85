#!/usr/bin/env bash
# opspilot forecast (theta, seasonal naive, ets) against R's forecast package
# (thetaf, snaive, ets) on the same 1,000 monthly series, same run: sMAPE on the
# held-out last 18 months and wall time of the forecasting itself.
#
#   bench/forecast.sh [BUILD_DIR] [SERIES] [H] [ARIMA_SERIES]   (defaults: build 1000 18 50)
# auto.arima in R takes seconds per series, so ARIMA runs on the first ARIMA_SERIES only.
# Needs: apt-get install --no-install-recommends r-base-core r-cran-forecast
set -euo pipefail
BUILD=${1:-build}
N=${2:-1000}
H=${3:-18}
NA=${4:-50}
OUT=bench/out/forecast
rm -rf "$OUT" && mkdir -p "$OUT"
python3 bench/forecast_data.py "$OUT" "$N" "$H"
now() { date +%s.%N; }
declare -A OURS
for m in theta snaive ets; do
  t0=$(now)
  OPENBLAS_NUM_THREADS=1 "$BUILD/opspilot" --threads 1 -q forecast --input "$OUT/train.csv" --horizon "$H" --season 12 \
    --model $m > "$OUT/ops_$m.csv"
  t1=$(now)
  OURS[$m]=$(echo "$t1 - $t0" | bc -l)
done
python3 - "$OUT" "$NA" <<'PY'
import csv, sys
out, n = sys.argv[1], int(sys.argv[2])
ids, rows = [], []
for row in csv.DictReader(open(f"{out}/train.csv")):
    if row["series_id"] not in ids:
        ids.append(row["series_id"])
    if len(ids) <= n:
        rows.append(row)
with open(f"{out}/train_arima.csv", "w") as f:
    f.write("series_id,timestamp,value\n")
    for r in rows:
        f.write(f"{r['series_id']},{r['timestamp']},{r['value']}\n")
PY
t0=$(now)
OPENBLAS_NUM_THREADS=1 "$BUILD/opspilot" --threads 1 -q forecast --input "$OUT/train_arima.csv" --horizon "$H" --season 12 \
  --model arima > "$OUT/ops_arima.csv"
t1=$(now)
OURS[arima]=$(echo "$t1 - $t0" | bc -l)
R_OUT=$(OPENBLAS_NUM_THREADS=1 Rscript bench/forecast_peer.R "$OUT/train.csv" "$H" "$OUT" "$NA")
python3 - "$OUT" "${OURS[theta]}" "${OURS[snaive]}" "$R_OUT" "${OURS[ets]}" "${OURS[arima]}" <<'PY'
import csv, sys
out, ot, os_, r, oe, oa = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], float(sys.argv[5]), float(sys.argv[6])
rt = {l.split()[0]: float(l.split()[1]) for l in r.strip().splitlines()}
actual = {}
for row in csv.DictReader(open(f"{out}/test.csv")):
    actual.setdefault(row["series_id"], []).append(float(row["value"]))
def smape(pred):
    tot, n = 0.0, 0
    for sid, ys in actual.items():
        if sid not in pred:
            continue
        for y, p in zip(ys, pred[sid]):
            tot += 200 * abs(y - p) / (abs(y) + abs(p)); n += 1
    return tot / n
def ours(path):
    d = {}
    for row in csv.DictReader(open(path)):
        d.setdefault(row["series_id"], []).append(float(row["mean"]))
    return d
def theirs(path):
    d = {}
    for row in csv.DictReader(open(path)):
        d.setdefault(row["series_id"], []).append(float(row["mean"]))
    return d
print(f"series {len(actual)}, horizon {len(next(iter(actual.values())))}")
for name, o, rr, ts_o, ts_r in (("theta", f"{out}/ops_theta.csv", f"{out}/r_theta.csv", ot, rt["r_theta_seconds"]),
                                ("snaive", f"{out}/ops_snaive.csv", f"{out}/r_snaive.csv", os_, rt["r_snaive_seconds"]),
                                ("ets", f"{out}/ops_ets.csv", f"{out}/r_ets.csv", oe, rt["r_ets_seconds"]),
                                ("arima", f"{out}/ops_arima.csv", f"{out}/r_arima.csv", oa, rt["r_arima_seconds"])):
    print(f"{name:7s} sMAPE opspilot {smape(ours(o)):6.2f}  R {smape(theirs(rr)):6.2f}   "
          f"time opspilot {ts_o:6.2f} s  R {ts_r:6.2f} s  ratio {ts_r/ts_o:5.1f}x")
PY
