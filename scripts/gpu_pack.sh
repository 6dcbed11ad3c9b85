#!/usr/bin/env bash
# Packs, from this Debian 12 machine (after `make` has installed the packages),
# the libraries that a CUDA machine's image lacks, into a prefix that
# scripts/gpu_check.sh builds against there: SQLite's header, XGBoost (+ dmlc),
# faiss (static), cpp-httplib (+ brotli), toml++ and GoogleTest.
# Usage: scripts/gpu_pack.sh [DIR]   (default .gpu; keep it out of git)
set -euo pipefail
dir=${1:-.gpu}
lib=/usr/lib/x86_64-linux-gnu
rm -rf "$dir"
mkdir -p "$dir/include" "$dir/lib/x86_64-linux-gnu/cmake" "$dir/lib/x86_64-linux-gnu/pkgconfig"
cp /usr/include/sqlite3.h /usr/include/sqlite3ext.h /usr/include/httplib.h "$dir/include/"
cp -r /usr/include/xgboost /usr/include/faiss /usr/include/toml++ /usr/include/gtest /usr/include/brotli "$dir/include/"
out=$dir/lib/x86_64-linux-gnu
# Real files under their link names: carried trees keep no symbolic links.
for so in libsqlite3.so libxgboost.so libxgboost.so.0 libdmlc.so.0 libcpp-httplib.so libcpp-httplib.so.0.11 \
          libtomlplusplus.so libtomlplusplus.so.3 libbrotlicommon.so.1 libbrotlidec.so.1 libbrotlienc.so.1; do
  cp -L "$lib/$so" "$out/$so"
done
cp "$lib/libfaiss.a" "$lib/libgtest.a" "$lib/libgtest_main.a" "$out/"
cp -r "$lib/cmake/tomlplusplus" "$out/cmake/"
# A .pc with a relocatable prefix and no private requirements (brotli's .pc
# files are not on that image; the shared library carries its own needs).
cat > "$out/pkgconfig/cpp-httplib.pc" <<'PC'
prefix=${pcfiledir}/../../..
includedir=${prefix}/include
libdir=${prefix}/lib/x86_64-linux-gnu

Name: cpp-httplib
Description: A C++ HTTP/HTTPS server and client library
Version: 0.11.4
Libs: -L${libdir} -lcpp-httplib
Cflags: -I${includedir} -DCPPHTTPLIB_OPENSSL_SUPPORT -DCPPHTTPLIB_ZLIB_SUPPORT -DCPPHTTPLIB_BROTLI_SUPPORT
PC
du -sh "$dir"
