#!/usr/bin/env bash
# Runs every benchmark in bench/ against the build in $1 (default build/).
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
echo "== core"; "$BUILD/bench_core"
echo "== ingest"; bench/ingest.sh "$BUILD"
echo "== text"; bench/text.sh "$BUILD"
echo "== text predict"; bench/text_predict.sh "$BUILD"
