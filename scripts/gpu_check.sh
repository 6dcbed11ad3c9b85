#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and a CUDA PyTorch (python3 -c 'import torch'):
# builds opspilot-nn and the neural-model tests against that PyTorch's libtorch,
# then runs the tests with OPSPILOT_DEVICE=cuda (every model, trainer and
# assertion of the CPU suite, on the GPU) and a CLI training run on CUDA.
# The libraries that image lacks come from scripts/gpu_pack.sh (run on Debian 12).
# Usage: [PACK=.gpu] [BUILD=build-cuda] [FILTER=ctest regex] [JOBS=8] [MODELS=cnn] scripts/gpu_check.sh
set -euo pipefail
pack=$(realpath "${PACK:-.gpu}")
build=${BUILD:-build-cuda}
libdir=$pack/lib/x86_64-linux-gnu
# Use the machine's own GoogleTest when it has one: headers and library must match.
if ls /usr/lib/x86_64-linux-gnu/libgtest.* /usr/lib/libgtest.* >/dev/null 2>&1; then
  rm -rf "$pack/include/gtest" "$libdir"/libgtest*.a
fi
torch_prefix=$(python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
export PATH=/usr/local/cuda/bin:$PATH PKG_CONFIG_PATH=$libdir/pkgconfig
export LD_LIBRARY_PATH=$libdir:${LD_LIBRARY_PATH:-}
gen=(); keep=(); command -v ninja >/dev/null && gen=(-G Ninja) && keep=(-- -k 0)
cmake -S . -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DOPSPILOT_WITH_CUDA=ON \
  -DOPSPILOT_BUILD_BENCHMARKS=OFF -DCMAKE_PREFIX_PATH="$torch_prefix;$pack"
cmake --build "$build" -j"$(nproc)" --target opspilot-nn opspilot_nn_tests "${keep[@]}"
python3 -c 'import torch; print("GPU:", torch.cuda.get_device_name(0))'
# PyTorch's pip libtorch.so exports its own std::filesystem (statically linked
# from an older toolchain); resolved ahead of libstdc++'s, its remove_all jumps
# to a null pointer. Loading libstdc++ first keeps its symbols in front.
export LD_PRELOAD=$(g++ -print-file-name=libstdc++.so.6)
# One process per test (ctest): a crash names its test and the others still run.
OPSPILOT_DEVICE=cuda ctest --test-dir "$build" -j"${JOBS:-8}" --output-on-failure -R "${FILTER:-.}" -E _NOT_BUILT && status=0 || status=$?
# Training time on the GPU against the same machine's CPU (all its cores): the
# generated English intents of bench/text_data.py, each of MODELS (default cnn; the
# transformer's pre-training takes over 7 minutes on 16 CPU cores).
data=$build/textdata
python3 bench/text_data.py "$data" >/dev/null
for m in ${MODELS:-cnn}; do
  for dev in cpu cuda; do
    t0=$(date +%s.%N)
    "$build/opspilot-nn" -q --device "$dev" --threads "$(nproc)" text train --data "$data/intent_en/train.csv" \
      --task intent --model "$m" --out "$build/model_${m}_$dev" >/dev/null
    t1=$(date +%s.%N)
    acc=$("$build/opspilot-nn" -q --json text evaluate --model "$build/model_${m}_$dev" \
      --data "$data/intent_en/test.csv" | python3 -c 'import json,sys; print(round(100*json.load(sys.stdin)["accuracy"],1))')
    printf "text train --model %-11s --device %-4s %6.1f s   test accuracy %s%%\n" "$m" "$dev" "$(python3 -c "print($t1 - $t0)")" "$acc"
  done
done
exit $status
