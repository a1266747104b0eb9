#!/usr/bin/env bash
# Removes the namespace pair made by netns-up.sh (the veth pair goes with them).
# Idempotent: missing namespaces are not an error.
# usage: netns-down.sh PREFIX
set -uo pipefail
prefix="${1:?usage: netns-down.sh PREFIX}"
for ns in "${prefix}a" "${prefix}b"; do
  if ip netns list | grep -qw "^$ns"; then
    # Processes left inside would keep the namespace alive; they are ours, end them.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null || true
  fi
done
exit 0
