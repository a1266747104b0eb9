#!/usr/bin/env bash
# Installs what is needed, builds, and runs the main job on the built-in simulated cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
bash tools/build.sh
out=${FABRICCTL_OUT:-out}
mkdir -p "$out"
./build/fabricctl topo gen scalex-cluster -o "$out/scalex-cluster.json"
./build/fabricctl topo show "$out/scalex-cluster.json"
