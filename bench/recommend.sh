#!/usr/bin/env bash
# Recommendation benchmarks against the build in $1 (default build/):
#  1. quality and fit time of every model on ML-1M-shaped generated data
#     (6,040 users x 3,700 items, ~1M interactions, random 80/20 per user),
#     full ranking, beside the popularity baseline, with ALS/EASE FLOP/s;
#  2. serving latency of GET /v1/recommend under wrk on loopback for a
#     10,000-user x 5,000-item model (EASE), p50/p99 and requests/s.
# cpp-httplib keeps a worker thread per keep-alive connection: serve with
# more threads than wrk has connections.
# Needs wrk (apt-get install wrk; installed here when missing).
set -euo pipefail
BUILD=$(realpath "${1:-build}")
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
if [ -z "${SERVING_ONLY:-}" ]; then
echo "== quality and fit time (generated ML-1M shape, ${THREADS} threads)"
"$BUILD/bench_recommend" --users 6040 --items 3700 --mean 165 --threads "$THREADS" \
  --models popular,itemknn,userknn,ease,als --sampled 100
echo "== peak: $(nproc) cores; OpenBLAS sgemm reference"
"$BUILD/bench_recommend" --peak 1 --threads "$THREADS"

fi
echo "== serving: 10,000 users x 5,000 items"
command -v wrk > /dev/null || { sudo -n true 2>/dev/null && S=sudo || S=; $S apt-get install -y wrk > /dev/null; }
tmp=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$tmp"' EXIT
"$BUILD/bench_recommend" --users 10000 --items 5000 --mean 60 --write "$tmp/data" --models none
OP="$BUILD/opspilot --data-dir $tmp/dd -q"
$OP ingest items "$tmp/data/items.csv" > /dev/null
$OP ingest events "$tmp/data/events.csv" > /dev/null
$OP recommend train --model "${MODEL:-ease}"
export OPSPILOT_KEY=$($OP keys create --role read --name bench | head -1)
PORT=${PORT:-18181}
$OP serve --port "$PORT" --server-threads "${SERVER_THREADS:-16}" > "$tmp/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" > /dev/null && break; sleep 0.2; done
# Warm the model and snapshot caches.
curl -s -H "Authorization: Bearer $OPSPILOT_KEY" "http://127.0.0.1:$PORT/v1/recommend/u1?n=10" > /dev/null
BENCH_USERS=10000 wrk -t1 -c"${CONNECTIONS:-8}" -d"${DURATION:-20}"s --latency -s bench/recommend_wrk.lua \
  "http://127.0.0.1:$PORT" | sed -n '1,20p'
