#!/usr/bin/env bash
# Ingestion throughput: `opspilot ingest events` against the sqlite3 shell's
# `.import` of the same CSV into an equivalent table, in the same run.
#
#   bench/ingest.sh [BUILD_DIR] [SCALE]      (defaults: build 1.0)
#
# The peer does strictly less work: .import stores every field as text with
# no validation, no timestamp parsing, no JSON properties and no upsert;
# both write a WAL-mode database with synchronous=NORMAL and a primary key
# on the event id.
set -euo pipefail
BUILD=${1:-build}
SCALE=${2:-1.0}
OUT=bench/out/ingest
BIN=$BUILD/opspilot
command -v sqlite3 >/dev/null || { echo "needs the sqlite3 shell: apt-get install sqlite3" >&2; exit 1; }
rm -rf "$OUT" && mkdir -p "$OUT"
"$BIN" -q demo --scale "$SCALE" generate --out "$OUT/shop" >/dev/null
EVENTS="$OUT/shop/events.csv"
ROWS=$(($(wc -l <"$EVENTS") - 1))

now() { date +%s.%N; }

"$BIN" --data-dir "$OUT/op" -q ingest items "$OUT/shop/items.csv" >/dev/null
t0=$(now)
"$BIN" --data-dir "$OUT/op" -q ingest events "$EVENTS" >/dev/null
t1=$(now)
OP=$(echo "$t1 - $t0" | bc -l)

sqlite3 "$OUT/peer.db" <<'SQL' >/dev/null
PRAGMA journal_mode=WAL;
CREATE TABLE events (event_id TEXT PRIMARY KEY, user_id TEXT, event_type TEXT, item_id TEXT,
  timestamp TEXT, session_id TEXT, value TEXT, channel TEXT, region TEXT);
SQL
t0=$(now)
sqlite3 "$OUT/peer.db" <<SQL >/dev/null
PRAGMA synchronous=NORMAL;
PRAGMA cache_size=-262144;
.import --csv --skip 1 $EVENTS events
SQL
t1=$(now)
PEER=$(echo "$t1 - $t0" | bc -l)

printf "rows                       %d\n" "$ROWS"
printf "opspilot ingest events     %.2f s  %.0fk rows/s\n" "$OP" "$(echo "$ROWS / $OP / 1000" | bc -l)"
printf "sqlite3 .import (peer)     %.2f s  %.0fk rows/s\n" "$PEER" "$(echo "$ROWS / $PEER / 1000" | bc -l)"
printf "speed ratio opspilot/peer  %.2f\n" "$(echo "$PEER / $OP" | bc -l)"
