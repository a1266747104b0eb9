#!/usr/bin/env bash
# Creates two network namespaces joined by a veth pair, for probe tests on a real (if
# virtual) link:  <prefix>a (198.18.X.1/30, dev <prefix>-a) <-> <prefix>b (198.18.X.2/30).
# With a rate, both directions are shaped by a tbf qdisc (this kernel has tbf, not netem).
# Idempotent: an existing pair with the same prefix is removed first. Needs root.
#
# usage: netns-up.sh PREFIX [RATE] [SUBNET_INDEX]
#   PREFIX        short name, at most 12 characters (interface names are limited to 15)
#   RATE          e.g. 200mbit, 1gbit; omitted or "none" = unshaped
#   SUBNET_INDEX  0..63: X in 198.18.X.0/30 (default 0); only 198.18.0.0/15 is ever used
set -euo pipefail

prefix="${1:?usage: netns-up.sh PREFIX [RATE] [SUBNET_INDEX]}"
rate="${2:-none}"
index="${3:-0}"
if [ "${#prefix}" -gt 12 ] || ! [[ "$prefix" =~ ^[a-zA-Z0-9_]+$ ]]; then
  echo "netns-up: prefix '$prefix' must be 1-12 letters, digits or _" >&2
  exit 2
fi
if ! [[ "$index" =~ ^[0-9]+$ ]] || [ "$index" -gt 63 ]; then
  echo "netns-up: subnet index '$index' must be 0..63" >&2
  exit 2
fi

here="$(cd "$(dirname "$0")" && pwd)"
ns_a="${prefix}a"
ns_b="${prefix}b"
addr_a="198.18.${index}.1"
addr_b="198.18.${index}.2"

"$here/netns-down.sh" "$prefix"
# Anything that fails from here on leaves nothing half-built behind.
trap '"$here/netns-down.sh" "$prefix"' ERR

ip netns add "$ns_a"
ip netns add "$ns_b"
ip link add "${prefix}-a" netns "$ns_a" type veth peer name "${prefix}-b" netns "$ns_b"
ip -n "$ns_a" addr add "$addr_a/30" dev "${prefix}-a"
ip -n "$ns_b" addr add "$addr_b/30" dev "${prefix}-b"
for ns in "$ns_a" "$ns_b"; do ip -n "$ns" link set lo up; done
ip -n "$ns_a" link set "${prefix}-a" up
ip -n "$ns_b" link set "${prefix}-b" up

if [ "$rate" != "none" ]; then
  if ! [[ "$rate" =~ ^([0-9]+)(kbit|mbit|gbit)$ ]]; then
    echo "netns-up: rate '$rate' must look like 200mbit, 500kbit or 1gbit" >&2
    false
  fi
  case "${BASH_REMATCH[2]}" in
    kbit) bps=$((BASH_REMATCH[1] * 1000)) ;;
    mbit) bps=$((BASH_REMATCH[1] * 1000000)) ;;
    gbit) bps=$((BASH_REMATCH[1] * 1000000000)) ;;
  esac
  # The bucket must hold more than one timer tick of traffic or tbf cannot reach the
  # rate; 10 ms of traffic (at least 32 KiB) is enough and a negligible burst.
  burst=$((bps / 8 / 100))
  if [ "$burst" -lt 32768 ]; then burst=32768; fi
  ip netns exec "$ns_a" tc qdisc replace dev "${prefix}-a" root tbf rate "$rate" burst "$burst" latency 100ms
  ip netns exec "$ns_b" tc qdisc replace dev "${prefix}-b" root tbf rate "$rate" burst "$burst" latency 100ms
fi

# The link must be up on both ends before we report success (no ping on minimal hosts).
for i in $(seq 50); do
  if ip -n "$ns_b" link show "${prefix}-b" | grep -q "state UP"; then break; fi
  sleep 0.1
done
trap - ERR
echo "netns-up: $ns_a ($addr_a, ${prefix}-a) <-> $ns_b ($addr_b, ${prefix}-b), rate $rate"
