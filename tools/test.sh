#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test (unit, CLI, ibsim, netns, vm).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
bash tools/build.sh
ctest --test-dir build --output-on-failure --timeout 1800 "$@"
