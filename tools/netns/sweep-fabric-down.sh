#!/usr/bin/env bash
# Removes the fabric made by sweep-fabric-up.sh with the same prefix: ends the processes
# left inside its namespaces (the probe agents), then deletes the namespaces (their veth
# pairs and bridges go with them). Idempotent: missing namespaces are not an error.
# usage: sweep-fabric-down.sh PREFIX
set -uo pipefail
prefix="${1:?usage: sweep-fabric-down.sh PREFIX}"
if [ "${#prefix}" -gt 8 ] || ! [[ "$prefix" =~ ^[a-zA-Z0-9_]+$ ]]; then
  echo "sweep-fabric-down: prefix '$prefix' must be 1-8 letters, digits or _" >&2
  exit 2
fi
# Exactly the names sweep-fabric-up.sh makes: <P>spine, <P>leaf<L>, <P>h<N>.
for path in /var/run/netns/"${prefix}"*; do
  [ -e "$path" ] || continue
  ns="${path##*/}"
  [[ "${ns#"$prefix"}" =~ ^(spine|leaf[0-9]+|h[0-9]+)$ ]] || continue
  # Processes left inside would keep the namespace alive; they were started there for
  # this fabric, end them by pid.
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null || true
done
exit 0
