#!/usr/bin/env bash
# Stops a simulator started by start-ibsim.sh: stop-ibsim.sh PID [TIMEOUT_S]
# SIGTERM, then SIGKILL when it has not exited after TIMEOUT_S seconds (default 5).
set -euo pipefail
if [[ $# -lt 1 ]]; then
  echo "usage: $0 PID [TIMEOUT_S]" >&2
  exit 2
fi
pid="$1"
timeout_s="${2:-5}"
# Only ever an ibsim process: a stale pid may have been reused.
if [[ "$(ps -o comm= -p "$pid" 2>/dev/null)" != "ibsim" ]]; then
  exit 0
fi
kill "$pid" 2>/dev/null || exit 0
deadline=$((SECONDS + timeout_s))
while kill -0 "$pid" 2>/dev/null; do
  if ((SECONDS >= deadline)); then
    kill -9 "$pid" 2>/dev/null || true
    break
  fi
  sleep 0.05
done
