#!/usr/bin/env bash
# Prediction throughput and memory: `opspilot text predict` (streamed in batches, a linear
# model on 1 and 2 threads, our fasttext model on 1) against Debian's fastText `predict-prob` on the same texts in the
# same run. The texts are the test set of bench/text_data.py's English intents, repeated to N
# rows; both models are trained on its training set (fastText with bench/text.sh's English
# settings, on the lower-cased, punctuation-split form that bench writes for it).
#
#   bench/text_predict.sh [BUILD_DIR]        N=1000000 by default (N=... to change)
#
# Reports wall seconds, texts per second and peak resident memory (/usr/bin/time) of each
# prediction run, and ours' speed over fastText's.
set -euo pipefail
BUILD=${1:-build}
N=${N:-1000000}
OUT=${TEXT_PREDICT_OUT:-bench/out/text_predict}
PY=/usr/bin/python3
export OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1
if ! command -v fasttext >/dev/null; then
  apt-get install -y fasttext >/dev/null
fi
rm -rf "$OUT" && mkdir -p "$OUT"
$PY bench/text_data.py "$OUT/sets" >/dev/null
d=$OUT/sets/intent_en
# The same N texts in both tools' forms: ours a CSV (id,text), fastText's one text a line.
$PY - "$d" "$OUT" "$N" <<'EOF'
import csv, sys
d, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
texts = [r['text'] for r in csv.DictReader(open(d + '/test.csv'))]
ft = [line.rstrip('\n') for line in open(d + '/test.txt')]
assert len(texts) == len(ft)
with open(out + '/big.csv', 'w', newline='') as f, open(out + '/big.txt', 'w') as g:
    w = csv.writer(f)
    w.writerow(['id', 'text'])
    for i in range(n):
        w.writerow(['r%d' % i, texts[i % len(texts)]])
        g.write(ft[i % len(ft)] + '\n')
EOF
"$BUILD/opspilot" --threads 2 -q text train --data "$d/train.csv" --task intent --model linear --out "$OUT/ours" >/dev/null
"$BUILD/opspilot" --threads 2 -q text train --data "$d/train.csv" --task intent --model fasttext --out "$OUT/ours_ft" >/dev/null
fasttext supervised -input "$d/train.ft" -output "$OUT/ft" -epoch 50 -wordNgrams 2 -minn 3 -maxn 6 -lr 0.5 \
  -bucket 200000 -thread 2 -verbose 0

measure() {  # key, name, command...: prints name, seconds, texts/s, peak MB; keeps the seconds in $OUT/key.s
  local key=$1 name=$2
  shift 2
  /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" > "$OUT/pred.out"
  read -r secs kb < "$OUT/time.txt"
  local rows
  rows=$(wc -l < "$OUT/pred.out")
  printf "%-34s %8.2f s %10.0f texts/s %7.0f MB  (%d lines out)\n" "$name" "$secs" "$(echo "$N / $secs" | bc -l)" \
    "$(echo "$kb / 1024" | bc -l)" "$rows"
  echo "$secs" > "$OUT/$key.s"
}
echo "text predict, $N texts (bench/text_data.py English intents, repeated)"
measure ft "fastText predict-prob (1 thread)" fasttext predict-prob "$OUT/ft.bin" "$OUT/big.txt" 1
measure ours1 "ours linear, --threads 1" "$BUILD/opspilot" --threads 1 -q text predict --model "$OUT/ours" --input "$OUT/big.csv"
measure ours2 "ours linear, --threads 2" "$BUILD/opspilot" --threads 2 -q text predict --model "$OUT/ours" --input "$OUT/big.csv"
measure oursft1 "ours fasttext, --threads 1" "$BUILD/opspilot" --threads 1 -q text predict --model "$OUT/ours_ft" --input "$OUT/big.csv"
ft=$(cat "$OUT/ft.s")
for t in 1 2; do
  s=$(cat "$OUT/ours$t.s")
  printf "ours linear on %d thread(s) / fastText: %.2fx the speed\n" "$t" "$(echo "$ft / $s" | bc -l)"
done
printf "ours fasttext on 1 thread / fastText: %.2fx the speed\n" "$(echo "$ft / $(cat "$OUT/oursft1.s")" | bc -l)"
