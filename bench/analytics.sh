#!/usr/bin/env bash
# Funnels and retention: opspilot against DuckDB (2 threads each) on the same
# events, both in memory, same run; the answers are compared cell by cell.
#
#   bench/analytics.sh [BUILD_DIR] [USERS] [EVENTS]   (defaults: build 750000 10000000)
# Needs: node + `npm install @duckdb/node-api` in bench/out/duckdb (done here if missing).
set -euo pipefail
BUILD=${1:-build}
USERS=${2:-750000}
EVENTS=${3:-10000000}
OUT=bench/out/analytics
mkdir -p "$OUT"
if [ ! -d "$OUT/duckdb/node_modules/@duckdb/node-api" ]; then
  (mkdir -p "$OUT/duckdb" && cd "$OUT/duckdb" && npm init -y >/dev/null && npm install @duckdb/node-api >/dev/null)
fi
if [ ! -f "$OUT/events-$USERS-$EVENTS.csv" ]; then
  python3 bench/analytics_data.py "$OUT/events-$USERS-$EVENTS.csv" "$USERS" "$EVENTS" >/dev/null
fi
CSV="$OUT/events-$USERS-$EVENTS.csv"
cp bench/analytics_peer.mjs "$OUT/duckdb/peer.mjs"
OURS=$(OMP_WAIT_POLICY=PASSIVE "$BUILD/bench_analytics" "$CSV")
PEER=$(cd "$OUT/duckdb" && node peer.mjs "$(realpath "../$(basename "$CSV")")" 2)
python3 - "$OURS" "$PEER" <<'PY'
import json, sys
o, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"events {o['events']:,}  users {o['users']:,}")
ok = o["funnel2"] == p["funnel2"] and o["funnel5"] == p["funnel5"]
ret_o = {(c[0], c[1]): c[2] for c in o["retention"]}
ret_p = {(c[0], c[1]): c[2] for c in p["retention"]}
ok_ret = ret_o == ret_p
for q in ("funnel2", "funnel5", "retention"):
    so, sp = o[q + "_seconds"], p[q + "_seconds"]
    print(f"{q:10s} opspilot {so*1000:8.1f} ms   duckdb {sp*1000:8.1f} ms   ratio {sp/so:5.2f}x")
print("same answers:", "funnels" if ok else f"FUNNELS DIFFER {o['funnel2']} {p['funnel2']} {o['funnel5']} {p['funnel5']}",
      "retention" if ok_ret else f"RETENTION DIFFERS ({len(ret_o)} vs {len(ret_p)} cells)")
print(f"load       opspilot {o['load_seconds']:.1f} s (CSV parse + group by user)   duckdb {p['load_seconds']:.1f} s (read_csv)")
PY
