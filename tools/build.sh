#!/usr/bin/env bash
# Configures and builds into build/ (the standard build directory). With CI=true (set by
# CI services and by .ci/run) every compiler warning is an error; a developer build warns.
set -euo pipefail
cd "$(dirname "$0")/.."
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
werror=OFF
if [ "${CI:-}" = true ]; then werror=ON; fi
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFABRICCTL_WERROR=$werror "$@"
elif [ $# -gt 0 ] || ! grep -qx "FABRICCTL_WERROR:BOOL=$werror" build/CMakeCache.txt; then
  cmake -S . -B build -DFABRICCTL_WERROR=$werror "$@"
fi
# As many jobs as this machine has cores, unless JOBS says otherwise.
cmake --build build -j"${JOBS:-$(nproc)}"
