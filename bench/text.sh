#!/usr/bin/env bash
# Text classification: opspilot `text train/evaluate` against Debian's fastText 0.9.2 on the
# same files and the same split, same run: accuracy, in-scope accuracy, out-of-scope recall
# and precision, macro F1, training wall time (2 threads each).
#
#   bench/text.sh [BUILD_DIR]                 generated sets (bench/text_data.py): English
#                                             intents with out-of-scope, Chinese sentiment
#   bench/text.sh --public DIR [BUILD_DIR]    the published files found under DIR, converted by
#                                             bench/text_public.py (CLINC150 data_full.json,
#                                             BANKING77 train/test CSVs, ChnSentiCorp, waimai_10k,
#                                             online_shopping_10_cats); no downloading
#
# Environment: MODELS="auto fasttext cnn ..." (default auto): each is one `--model` of ours; a
#   model this build lacks is reported as failed and the run goes on. THR90=0 skips the extra
#   run of each of ours at fastText's in-scope >= 90% rule (intent sets with `oos` only).
#   TEXT_OUT (default bench/out/text). TEXT_PUBLIC=DIR is the same as --public DIR.
#   TRAIN_ARGS="..." is added to every `text train` of ours, e.g. a BERT-class encoder exported
#   by scripts/export_encoder.py: MODELS=transformer TRAIN_ARGS="--encoder E/encoder.pt
#   --vocab E/vocab.txt --finetune-encoder" (on a GPU build for anything larger than RBT3).
# fastText: peers.md's strong settings on a shuffled training file; English lower-cased with
#   punctuation split, Chinese one token per character. `oos` is one more class; on sets with
#   `oos` two threshold variants also run, from a model trained on fit.* (85% of train) with
#   the cut-off tuned on valid.* (the other 15%): see bench/text_score.py.
# Ours: `text train` as shipped (its own 15% hold-out for early stopping and the out-of-scope
#   threshold at --target-precision 0.9); `--no-oos` on sets without `oos` rows (sentiment),
#   where a refusal would only cost accuracy.
# Needs: apt-get install fasttext (done here if missing).
set -euo pipefail
PUBLIC=${TEXT_PUBLIC:-}
if [ "${1:-}" = "--public" ]; then
  PUBLIC=${2:?--public needs a directory}
  shift 2
fi
BUILD=${1:-build}
OUT=${TEXT_OUT:-bench/out/text}
MODELS=${MODELS:-auto}
THR90=${THR90:-1}
read -r -a EXTRA <<< "${TRAIN_ARGS:-}"
PY=/usr/bin/python3
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1
if ! command -v fasttext >/dev/null; then
  apt-get install -y fasttext >/dev/null
fi
rm -rf "$OUT" && mkdir -p "$OUT"
if [ -n "$PUBLIC" ]; then
  $PY bench/text_public.py "$PUBLIC" "$OUT"
else
  $PY bench/text_data.py "$OUT"
fi
now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc -l; }
ours() { "$BUILD/opspilot" --threads 2 -q "$@"; }

for d in "$OUT"/*/; do
  d=${d%/}
  [ -f "$d/meta.json" ] || continue
  w=$d/work
  mkdir -p "$w"
  read -r NAME TASK LANG_ TRAIN_OOS TEST_OOS < <($PY -c "import json,sys; m=json.load(open(sys.argv[1]));
print(m['name'].split()[0], m['task'], m['lang'], m['train_oos'], m['test_oos'])" "$d/meta.json")
  echo "== $NAME ($TASK, $LANG_): $(wc -l < "$d/train.ft") train, $(wc -l < "$d/test.ft") test rows"
  if [ "$LANG_" = zh ]; then
    FT_ARGS=(-epoch 25 -wordNgrams 3 -bucket 200000 -thread 2)
  else
    FT_ARGS=(-epoch 50 -wordNgrams 2 -minn 3 -maxn 6 -lr 0.5 -bucket 200000 -thread 2)
  fi
  WITH_OOS=0
  if [ "$TRAIN_OOS" -gt 0 ] && [ "$TEST_OOS" -gt 0 ]; then WITH_OOS=1; fi

  # fastText
  t0=$(now)
  fasttext supervised -input "$d/train.ft" -output "$w/ft_full" "${FT_ARGS[@]}" -verbose 0
  t1=$(now)
  FT_FULL=$(elapsed "$t0" "$t1")
  fasttext predict-prob "$w/ft_full.bin" "$d/test.txt" 1 > "$w/ft_full.test.pred"
  FT_FIT=null
  if [ "$WITH_OOS" = 1 ]; then
    t0=$(now)
    fasttext supervised -input "$d/fit.ft" -output "$w/ft_fit" "${FT_ARGS[@]}" -verbose 0
    t1=$(now)
    FT_FIT=$(elapsed "$t0" "$t1")
    fasttext predict-prob "$w/ft_fit.bin" "$d/valid.txt" 1 > "$w/ft_fit.valid.pred"
    fasttext predict-prob "$w/ft_fit.bin" "$d/test.txt" 1 > "$w/ft_fit.test.pred"
  fi
  rm -f "$w"/ft_*.bin "$w"/ft_*.vec
  echo "{\"full\": $FT_FULL, \"fit\": $FT_FIT}" > "$w/fasttext_seconds.json"
  $PY bench/text_score.py fasttext "$d" "$w" > "$w/fasttext.json"
  printf "  fasttext: trained in %.1f s\n" "$FT_FULL"

  # ours
  NO_OOS=()
  if [ "$TRAIN_OOS" = 0 ]; then NO_OOS=(--no-oos); fi
  for m in $MODELS; do
    t0=$(now)
    if ! ours text train --data "$d/train.csv" --task "$TASK" --model "$m" "${NO_OOS[@]}" "${EXTRA[@]}" --out "$w/ours_$m" \
        > "$w/ours_$m.train.log" 2>&1; then
      echo "  ours:$m: training failed: $(tail -1 "$w/ours_$m.train.log")"
      echo "{\"error\": $($PY -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$(tail -1 "$w/ours_$m.train.log")")}" \
        > "$w/ours_$m.json"
      continue
    fi
    t1=$(now)
    SECS=$(elapsed "$t0" "$t1")
    ours --json text evaluate --model "$w/ours_$m" --data "$d/test.csv" > "$w/ours_$m.eval.json"
    $PY - "$w/ours_$m.eval.json" "$SECS" "$m" "${NO_OOS[*]}" > "$w/ours_$m.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r = {k: v for k, v in r.items() if k not in ("per_class", "confusion")}
r["train_seconds"] = float(sys.argv[2])
r["model"] = f"opspilot text train --model {sys.argv[3]} {sys.argv[4]}".strip() + " (as shipped)"
print(json.dumps(r))
PY
    printf "  ours:%s: trained in %.1f s\n" "$m" "$SECS"
    if [ "$WITH_OOS" = 1 ] && [ "$THR90" = 1 ]; then
      t0=$(now)
      ours text train --data "$d/fit.csv" --task "$TASK" --model "$m" --no-oos "${EXTRA[@]}" --out "$w/ours_${m}_fit" \
        > "$w/ours_${m}_fit.train.log" 2>&1
      t1=$(now)
      ours text predict --model "$w/ours_${m}_fit" --input "$d/valid.csv" > "$w/ours_${m}_fit.valid.pred"
      ours text predict --model "$w/ours_${m}_fit" --input "$d/test.csv" > "$w/ours_${m}_fit.test.pred"
      $PY bench/text_score.py threshold "$d" "$w" "$m" | $PY -c "import json,sys; r=json.load(sys.stdin);
r['train_seconds']=float(sys.argv[1]); r['model']='opspilot --model '+sys.argv[2]+' --no-oos on fit.csv, cut-off tuned on valid (in-scope accuracy >= 90%)'
print(json.dumps(r))" "$(elapsed "$t0" "$t1")" "$m" > "$w/ours_${m}+thr90.json"
    fi
  done
  $PY - "$w" $MODELS > "$d/results.json" <<'PY'
import json, os, sys
w, models = sys.argv[1], sys.argv[2:]
res = json.load(open(f"{w}/fasttext.json"))
for m in models:
    for suffix in ("", "+thr90"):
        p = f"{w}/ours_{m}{suffix}.json"
        if os.path.exists(p):
            res[f"ours:{m}{suffix}"] = json.load(open(p))
print(json.dumps(res, indent=1))
PY
done
echo
MODELS=$MODELS TEXT_BUILD=$BUILD $PY bench/text_score.py report "$OUT"
