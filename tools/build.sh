#!/usr/bin/env bash
# Configures and builds into build/ (the standard build directory).
set -euo pipefail
cd "$(dirname "$0")/.."
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
fi
# As many jobs as this machine has cores, unless JOBS says otherwise.
cmake --build build -j"${JOBS:-$(nproc)}"
