#!/usr/bin/env bash
# A cron job over a growing metrics export: `anomaly score --state DIR`
# against re-scoring the whole file each time (the way without a state).
#
#   bench/anomaly_state.sh [BUILD_DIR] [SERIES=50] [ROWS=100000] [NEW=200]
#
# Writes SERIES interleaved 5-minute series of ROWS rows (a daily cycle and
# noise), scores it once with --state (the run before), appends NEW rows per
# series, then times the next run both ways and checks that the state run
# wrote exactly the new rows with the scores the full run gives them (with
# ROWS >= 5000 both runs have NAB's probation cap of 750 points, so both
# detectors see the same stream with the same options).
set -euo pipefail
BUILD=${1:-build}
SERIES=${2:-50}
ROWS=${3:-100000}
NEW=${4:-200}
OUT=bench/out/anomaly_state
rm -rf "$OUT" && mkdir -p "$OUT"
gen() {  # gen FROM TO: rows FROM..TO-1 of every series
  awk -v s="$SERIES" -v a="$1" -v b="$2" 'BEGIN {
    srand(7); if (a == 0) print "series_id,timestamp,value";
    for (i = a; i < b; i++) for (k = 0; k < s; k++) {
      v = 100 + 20 * sin(6.283185307179586 * i / 288) + k + 4 * (rand() - 0.5);
      printf "s%d,%d,%.4f\n", k, 1735689600 + 300 * i, v } }'
}
gen 0 "$ROWS" > "$OUT/export.csv"
echo "$SERIES series x $ROWS rows: $(wc -c < "$OUT/export.csv") bytes"
"$BUILD/opspilot" --threads 2 anomaly score --input "$OUT/export.csv" --state "$OUT/states" > /dev/null
gen "$ROWS" $((ROWS + NEW)) >> "$OUT/export.csv"
t0=$(date +%s.%N)
"$BUILD/opspilot" --threads 2 anomaly score --input "$OUT/export.csv" --state "$OUT/states" > "$OUT/new.csv"
t1=$(date +%s.%N)
"$BUILD/opspilot" --threads 2 anomaly score --input "$OUT/export.csv" > "$OUT/all.csv"
t2=$(date +%s.%N)
rows_new=$(($(wc -l < "$OUT/new.csv") - 1))
# The full run's rows for the new points (timestamps sort as text).
first_new=$(date -u -d "@$((1735689600 + 300 * ROWS))" +%Y-%m-%dT%H:%M:%SZ)
tail -n +2 "$OUT/all.csv" | awk -F, -v t="$first_new" '$2 >= t' | sort > "$OUT/all_new.csv"
tail -n +2 "$OUT/new.csv" | sort > "$OUT/new_sorted.csv"
same=$(cmp -s "$OUT/all_new.csv" "$OUT/new_sorted.csv" && echo yes || echo no)
awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$rows_new" -v same="$same" 'BEGIN {
  printf "with --state: %.2f s (%d new rows written)\nwhole file again: %.2f s\nratio: %.1fx faster; new rows equal to the full run'"'"'s: %s\n",
         b - a, n, c - b, (c - b) / (b - a), same }'
