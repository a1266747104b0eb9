#!/usr/bin/env bash
# Removes the fabric made by routed-fabric-up.sh with the same prefix: ends the processes
# left inside its namespaces (the probe agents), deletes the namespaces (their veth pairs
# go with them), then the management bridge <P>-mgmt and any management veth <P>-m<N>
# left in the root namespace. Idempotent: missing pieces are not an error.
# usage: routed-fabric-down.sh PREFIX
set -uo pipefail
if [ $# -ne 1 ]; then echo "usage: routed-fabric-down.sh PREFIX" >&2; exit 2; fi
prefix="$1"
if [ "${#prefix}" -gt 8 ] || ! [[ "$prefix" =~ ^[a-zA-Z0-9_]+$ ]]; then
  echo "routed-fabric-down: prefix '$prefix' must be 1-8 letters, digits or _" >&2
  exit 2
fi
# Exactly the names routed-fabric-up.sh makes: <P>leaf<L>, <P>spine<S>, <P>h<N>.
namespaces=()
for path in /var/run/netns/"${prefix}"*; do
  [ -e "$path" ] || continue
  ns="${path##*/}"
  [[ "${ns#"$prefix"}" =~ ^(spine[0-9]+|leaf[0-9]+|h[0-9]+)$ ]] && namespaces+=("$ns")
done
if [ ${#namespaces[@]} -gt 0 ]; then
  # Processes left inside would keep a namespace alive; they were started there for this
  # fabric: end them by pid. A process is inside when its net namespace is one of ours
  # (same inode); one pass over /proc instead of one `ip netns pids` per namespace.
  declare -A ours
  for inode in $(cd /var/run/netns && stat -L -c %i "${namespaces[@]}" 2>/dev/null); do ours["net:[$inode]"]=1; done
  while read -r dir link; do
    if [ -n "$link" ] && [ -n "${ours[$link]:-}" ]; then
      pid="${dir#/proc/}" && kill -9 "${pid%/ns}" 2>/dev/null
    fi
  done < <(find /proc/[0-9]*/ns/net -maxdepth 0 -printf '%h %l\n' 2>/dev/null)
  printf 'netns del %s\n' "${namespaces[@]}" | ip -force -batch - 2>/dev/null
fi
for dev in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//'); do
  [[ "${dev#"$prefix"}" =~ ^-(mgmt|m[0-9]+)$ ]] || continue
  ip link del "$dev" 2>/dev/null || true
done
exit 0
