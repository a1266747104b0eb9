#!/usr/bin/env bash
# Builds build-san/ (tools/build-san.sh: clang 16, ASan+UBSan, libFuzzer targets) and runs,
# with every sanitizer report fatal: the unit, CLI and ibsim tests, then every fuzz target
# (seed corpus replayed, then fuzzed FABRICCTL_FUZZ_SECONDS each, default 25).
#   bash tools/sanitize.sh [CTEST ARGS...]      e.g. -L unit, -R fuzz/qp_info
# Fails when a test fails, a fuzz target crashes, or any process left a report in
# build-san/sanitizer-reports/ (printed here).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build-san.sh
reports=build-san/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"
status=0
ctest --test-dir build-san --output-on-failure --timeout 1800 -j2 -L 'unit|cli|ibsim|fuzz' "$@" || status=1
shopt -s nullglob
found=("$reports"/*)
if [ ${#found[@]} -gt 0 ]; then
  echo "sanitize: ${#found[@]} sanitizer report(s) in $reports:" >&2
  for report in "${found[@]}"; do
    echo "---- $report" >&2
    cat "$report" >&2
  done
  status=1
fi
if [ "$status" = 0 ]; then echo "sanitize: no test failure, no sanitizer report, no fuzz crash"; fi
exit $status
