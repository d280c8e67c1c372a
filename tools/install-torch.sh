#!/usr/bin/env bash
# Installs Debian's libtorch (libtorch-dev 1.13.1) with g++ and cmake, and builds GradOracle's native
# bridge (src/GradOracle.Torch/native -> native/build/libgradoracle_torch.so). Idempotent: installs only
# what is missing and rebuilds only when the bridge's sources are newer than the library.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
native="$here/src/GradOracle.Torch/native"
build="$native/build"
lib="$build/libgradoracle_torch.so"

missing=()
dpkg -s libtorch-dev >/dev/null 2>&1 || missing+=(libtorch-dev)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
bash "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh" ${missing[@]+"${missing[@]}"}

if [ ! -f "$lib" ] || [ -n "$(find "$native" -maxdepth 1 -type f -newer "$lib")" ]; then
  echo "install-torch: building the bridge"
  mkdir -p "$build"
  cmake -S "$native" -B "$build" -DCMAKE_BUILD_TYPE=Release > "$build/cmake.log" 2>&1 || { cat "$build/cmake.log"; exit 1; }
  cmake --build "$build" -j 2 >> "$build/cmake.log" 2>&1 || { cat "$build/cmake.log"; exit 1; }
fi
echo "install-torch: $lib ($(dpkg-query -W -f='libtorch-dev ${Version}' libtorch-dev))"
