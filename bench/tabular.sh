#!/usr/bin/env bash
# opspilot tabular (XGBoost C API) against XGBoost's Python package on the same
# CSV with the same parameters (300 rounds, depth 6, eta 0.1, hist, 2 threads),
# end to end from CSV to test predictions.
#
#   bench/tabular.sh [BUILD_DIR] [TRAIN_ROWS] [TEST_ROWS]    (defaults: build 200000 50000)
# Needs: apt-get install python3-xgboost python3-sklearn
set -euo pipefail
BUILD=${1:-build}
NTRAIN=${2:-200000}
NTEST=${3:-50000}
OUT=bench/out/tabular
PY=/usr/bin/python3
rm -rf "$OUT" && mkdir -p "$OUT"
$PY bench/tabular_data.py "$OUT" "$NTRAIN" "$NTEST"
now() { date +%s.%N; }
t0=$(now)
"$BUILD/opspilot" --threads 2 -q tabular train --data "$OUT/train.csv" --target label --id id \
  --valid-fraction 0 --rounds 300 --learning-rate 0.1 --max-depth 6 --out "$OUT/model" >/dev/null
"$BUILD/opspilot" --threads 2 -q tabular predict --model "$OUT/model" --input "$OUT/test.csv" > "$OUT/pred.csv"
t1=$(now)
OURS=$(echo "$t1 - $t0" | bc -l)
PEER=$($PY bench/tabular_peer.py "$OUT" 300 2)
echo "rows: train $NTRAIN, test $NTEST, 16 numeric + 1 text categorical, 2% blanks"
echo "$PEER" | sed 's/^/  /'
printf "  opspilot_seconds %.2f\n" "$OURS"
PS=$(echo "$PEER" | awk '/peer_seconds/ {print $2}')
printf "  speed ratio opspilot/peer %.2f\n" "$(echo "$PS / $OURS" | bc -l)"
