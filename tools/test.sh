#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test (unit, CLI, ibsim, netns, vm), then
# the same unit, CLI and ibsim tests under ASan+UBSan and a bounded run of every fuzz target
# (tools/sanitize.sh; FABRICCTL_SKIP_SANITIZE=1 skips that stage). CTEST ARGS go to the
# first ctest run.
#   bash tools/test.sh [CTEST ARGS...]
# Prints how long each stage took; fails when any stage fails.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
timings=()
# stage NAME CMD...: runs CMD, records its time, and remembers a failure.
stage() {
  local name=$1 start=$SECONDS rc=0
  shift
  echo "== test.sh: $name"
  "$@" || rc=$?
  timings+=("$(printf '%-32s %5ds%s' "$name" $((SECONDS - start)) "$([ $rc = 0 ] || echo '  FAILED')")")
  if [ $rc != 0 ]; then status=1; fi
  return 0
}
stage "install dependencies" bash tools/install-deps.sh
stage "build (build/)" bash tools/build.sh
if [ $status = 0 ]; then
  stage "tests (ctest build/)" ctest --test-dir build --output-on-failure --timeout 1800 "$@"
  if [ "${FABRICCTL_SKIP_SANITIZE:-0}" != 1 ]; then
    stage "sanitizers + fuzz (build-san/)" bash tools/sanitize.sh
  fi
fi
echo "== test.sh: stage times"
printf '  %s\n' "${timings[@]}"
printf '  %-32s %5ds\n' total "$SECONDS"
exit $status
