#!/usr/bin/env bash
# The real Numenta Anomaly Benchmark corpus through opspilot's file mode, for
# issue 8's bar (NAB's own scorer, standard profile > 75, leading on low FP and
# low FN). The corpus is not ours to ship: point this at a NAB checkout
# (git clone https://github.com/numenta/NAB).
#
#   bench/nab.sh NAB_DIR [BUILD_DIR]        (defaults: BUILD_DIR=build)
#   DETECTORS="ensemble seasonal" bench/nab.sh NAB_DIR
#   NAB_SCORER=1 bench/nab.sh NAB_DIR       also run NAB's scorer (needs its Python deps)
#
# For each detector D it prints our NAB-rules score of the run (nab.h; the best
# threshold per profile over the corpus, as NAB's optimizer finds it) and
# writes NAB's results layout to bench/out/nab/results/opspilotD/ (D capitalised: opspilotEnsemble). With
# NAB_SCORER=1 that directory is copied into NAB_DIR/results/ and NAB's
# `run.py -d opspilotD --optimize --score --normalize --skipConfirmation`
# runs there (it writes NAB_DIR/results/final_results.json and
# config/thresholds.json, as it does for its own detectors).
set -euo pipefail
NAB=${1:?usage: bench/nab.sh NAB_DIR [BUILD_DIR]}
BUILD=${2:-build}
DETECTORS=${DETECTORS:-ensemble}
OUT=bench/out/nab
mkdir -p "$OUT"
for d in $DETECTORS; do
  name="opspilot${d^}"   # camelCase: NAB's scorer takes a name to end at its first '_' 
  rm -rf "$OUT/results/$name"
  "$BUILD/opspilot" anomaly nab --corpus "$NAB" --detector "$d" --name "$name" --results "$OUT/results" \
    | tee "$OUT/$name.txt"
  "$BUILD/opspilot" --json anomaly nab --corpus "$NAB" --detector "$d" > "$OUT/$name.json"
  if [[ "${NAB_SCORER:-0}" == 1 ]]; then
    rm -rf "$NAB/results/$name"
    cp -r "$OUT/results/$name" "$NAB/results/"
    (cd "$NAB" && python3 run.py -d "$name" --optimize --score --normalize --skipConfirmation)
  fi
done
