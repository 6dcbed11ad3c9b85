#!/usr/bin/env bash
# Installs the Debian packages OpsPilot needs, when missing. Idempotent and
# quiet when everything is present. Used by `make demo` and `make test`.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libsqlite3-dev libssl-dev
  libcpp-httplib-dev nlohmann-json3-dev libcli11-dev libtomlplusplus-dev
  libspdlog-dev libfmt-dev libeigen3-dev libicu-dev
  libxgboost-dev liblinear-dev libtorch-dev libfaiss-dev libopenblas-dev
  googletest libgtest-dev libbenchmark-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "bootstrap: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "bootstrap: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "bootstrap: done" >&2
