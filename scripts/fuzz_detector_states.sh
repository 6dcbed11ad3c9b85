#!/usr/bin/env bash
# Saved detector states under AddressSanitizer and UBSan: every detector's
# state, 8 bytes overwritten with extremes at every 13th offset (61st for
# forecast), loaded, and scored on. A state must be refused or keep scoring in
# [0, 1] with no sanitizer report. Not part of `make test` (a sanitized build
# of the anomaly libraries takes about 8 minutes on 2 cores).
#
#   scripts/fuzz_detector_states.sh [ASAN_BUILD_DIR=build-asan]
set -euo pipefail
B=${1:-build-asan}
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOPSPILOT_SANITIZE=ON -DOPSPILOT_BUILD_TESTS=OFF > /dev/null
cmake --build "$B" --target bench_anomaly -j "$(nproc)"
# Link the driver as bench_anomaly is linked, with the driver in its place.
link=$(sed -e "s#CMakeFiles/bench_anomaly.dir/bench/anomaly_bench.cc.o#$B/fuzz_detector_states.o#" \
           -e "s#-o bench_anomaly#-o $B/fuzz_detector_states#" "$B/CMakeFiles/bench_anomaly.dir/link.txt")
c++ -O2 -g -fsanitize=address,undefined -fno-omit-frame-pointer -std=c++20 -Isrc -c scripts/fuzz_detector_states.cc \
  -o "$B/fuzz_detector_states.o"
(cd "$B" && eval "${link//$B\//}")
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$B/fuzz_detector_states"
