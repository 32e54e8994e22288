#!/usr/bin/env bash
# Installs the Debian packages Croupier builds against, then configures and builds it.
# Idempotent: when every package is present it installs nothing and says nothing;
# the build only recompiles what changed.  Usage: tools/setup.sh [BUILD_DIR]
set -euo pipefail

packages=(
  cmake g++ make ccache
  libcaf-dev liblmdb-dev lmdb-utils libcereal-dev libsodium-dev doctest-dev
  libspdlog-dev libboost1.74-dev nlohmann-json3-dev libedit-dev
  python3
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]}; run this script as root (or install them with apt-get)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
if [[ ! -f $build/CMakeCache.txt ]]; then
  echo "setup: configuring $build" >&2
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
# Show what gets compiled (progress on a first build), nothing when all is up to date.
set +e
cmake --build "$build" -j2 2>&1 | grep -v -e 'Built target' -e 'Consolidate compiler generated dependencies'
status=${PIPESTATUS[0]}
set -e
if [[ $status -ne 0 ]]; then
  echo "setup: the build failed (see above)" >&2
fi
exit "$status"
