#!/usr/bin/env bash
# The nightly fuzz run: every libFuzzer target for MINUTES each (default 30), two at a time,
# after replaying its seed corpus (tools/fuzz/run-fuzz.sh). The working corpus in
# build-san/fuzz/corpus/ is kept between runs, so each night starts where the last stopped.
#   bash tools/fuzz/long-fuzz.sh [MINUTES] [TARGET...]
# A crash fails the script and prints the reproducer; add it (renamed for what it shows) to
# tests/fuzz/<target>/ with the fix, so every CI run replays it.
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=${1:-30}
shift || true
FABRICCTL_FUZZ_JOBS=${FABRICCTL_FUZZ_JOBS:-2} exec bash tools/fuzz/run-fuzz.sh "$((minutes * 60))" "$@"
