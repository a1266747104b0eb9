#!/usr/bin/env bash
# Builds the libFuzzer targets (tools/fuzz/*_fuzz.cc) into build-san/ (tools/build-san.sh:
# clang 16, ASan, UBSan) and runs each: its seed corpus tests/fuzz/<target>/ replayed, then
# fuzzed for SECONDS (default 120) (tools/fuzz/fuzz-target.sh).
#   bash tools/fuzz/run-fuzz.sh [SECONDS] [TARGET...]
# FABRICCTL_FUZZ_JOBS targets run at once (default 1). New corpus inputs go to
# build-san/fuzz/corpus/<target>/, reproducers to build-san/fuzz/crashes/<target>/; a crash
# makes the script fail.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-120}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in tools/fuzz/*_fuzz.cc; do targets+=("$(basename "$src" .cc)"); done
fi
bash tools/build-san.sh "${targets[@]}"
jobs=${FABRICCTL_FUZZ_JOBS:-1}
printf '%s\n' "${targets[@]}" |
  FABRICCTL_FUZZ_SECONDS='' xargs -P "$jobs" -I{} bash tools/fuzz/fuzz-target.sh build-san/{} "$seconds" build-san/fuzz
