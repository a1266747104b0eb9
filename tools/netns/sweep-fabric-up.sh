#!/usr/bin/env bash
# Builds a small two-tier fabric on this machine for real sweeps: hosts and switches, each
# in its own network namespace, joined by veth pairs (one veth pair = one cable). Switches
# are Linux bridges; each host has one address in 198.18.10.0/24. Default: 3 leaves with 2
# hosts each under one spine.
#
#     h0  h1     h2  h3     h4  h5       namespaces  <P>h<N>, <P>leaf<L>, <P>spine
#      \  /       \  /       \  /        host N      198.18.10.(N+1)/24 on dev <P>-h<N> (port 1)
#     leaf0      leaf1      leaf2        leaf L      bridge br0; port p on dev <P>-l<L>p<p>:
#        \[H+1]    |[H+1]   /[H+1]                   1..H hosts, H+1 the uplink
#         [1]    [2]     [3]  spine      spine       bridge br0; port L+1 on dev <P>-s0p<L+1>
#
# Writes into OUTDIR the matching topology (topo.ibnd, ibnetdiscover text: hosts are CAs
# with one port, bridges are switches, port numbers are the veth cabling above, every link
# 4xHDR; link names are `leaf0[3] -- spine[1]` etc.) and the agents file for
# `sweep run --agents` (agents.txt: `hN 198.18.10.(N+1):PORT netns=<P>hN`).
# Idempotent: a fabric with the same prefix is removed first; a failure half-way removes
# what was built. Needs root and `ip netns`.
#
# usage: sweep-fabric-up.sh PREFIX OUTDIR [LEAVES [HOSTS_PER_LEAF [AGENT_PORT]]]
#   PREFIX          1-8 letters, digits or _ (interface names are at most 15 characters)
#   LEAVES          2..16 (default 3); HOSTS_PER_LEAF 1..8 (default 2)
#   AGENT_PORT      port the probe agents will listen on (default 18520), for agents.txt
set -euo pipefail

usage="usage: sweep-fabric-up.sh PREFIX OUTDIR [LEAVES [HOSTS_PER_LEAF [AGENT_PORT]]]"
prefix="${1:?$usage}"
outdir="${2:?$usage}"
leaves="${3:-3}"
per_leaf="${4:-2}"
agent_port="${5:-18520}"
bad() { echo "sweep-fabric-up: $*" >&2; exit 2; }
if [ "${#prefix}" -gt 8 ] || ! [[ "$prefix" =~ ^[a-zA-Z0-9_]+$ ]]; then bad "prefix '$prefix' must be 1-8 letters, digits or _"; fi
if ! [[ "$leaves" =~ ^[0-9]+$ ]] || [ "$leaves" -lt 2 ] || [ "$leaves" -gt 16 ]; then bad "leaves '$leaves' must be 2..16"; fi
if ! [[ "$per_leaf" =~ ^[0-9]+$ ]] || [ "$per_leaf" -lt 1 ] || [ "$per_leaf" -gt 8 ]; then bad "hosts per leaf '$per_leaf' must be 1..8"; fi
if ! [[ "$agent_port" =~ ^[0-9]+$ ]] || [ "$agent_port" -lt 1 ] || [ "$agent_port" -gt 65535 ]; then bad "agent port '$agent_port' must be 1..65535"; fi
hosts=$((leaves * per_leaf))
uplink=$((per_leaf + 1))
mkdir -p "$outdir"

here="$(cd "$(dirname "$0")" && pwd)"
"$here/sweep-fabric-down.sh" "$prefix"
trap '"$here/sweep-fabric-down.sh" "$prefix"' ERR

switches=(spine)
for ((l = 0; l < leaves; l++)); do switches+=("leaf$l"); done
names=("${switches[@]}")
for ((h = 0; h < hosts; h++)); do names+=("h$h"); done
for n in "${names[@]}"; do
  ip netns add "${prefix}$n"
  ip -n "${prefix}$n" link set lo up
done
for sw in "${switches[@]}"; do
  # No STP: a tree has no loop, and ports forward at once instead of after 2 x 15 s.
  ip -n "${prefix}$sw" link add br0 type bridge stp_state 0
  ip -n "${prefix}$sw" link set br0 up
done

# attach NS DEV: brings up one cable end; a switch end joins that switch's bridge.
attach() {
  case "$1" in
    leaf* | spine) ip -n "${prefix}$1" link set "$2" master br0 ;;
  esac
  ip -n "${prefix}$1" link set "$2" up
}
# cable NS_A DEV_A NS_B DEV_B: one veth pair, created directly inside both namespaces.
cable() {
  ip link add "$2" netns "${prefix}$1" type veth peer name "$4" netns "${prefix}$3"
  attach "$1" "$2"
  attach "$3" "$4"
}
for ((h = 0; h < hosts; h++)); do
  cable "h$h" "${prefix}-h$h" "leaf$((h / per_leaf))" "${prefix}-l$((h / per_leaf))p$((h % per_leaf + 1))"
  ip -n "${prefix}h$h" addr add "198.18.10.$((h + 1))/24" dev "${prefix}-h$h"
done
for ((l = 0; l < leaves; l++)); do
  cable "leaf$l" "${prefix}-l${l}p$uplink" spine "${prefix}-s0p$((l + 1))"
done

# The topology. GUIDs: spine 0x0002c90300000100, leaf L 0x0002c90300000101 + L; host N
# node 0x0002c90300001000 + 16 N, port GUID node + 1. LIDs: spine 1, leaf L 2 + L,
# host N 2 + LEAVES + N.
hex() { printf '%016x' "$1"; }
spine_guid="$(hex 0x0002c90300000100)"
leaf_guid() { hex $((0x0002c90300000101 + $1)); }
host_guid() { hex $((0x0002c90300001000 + 16 * $1)); }
host_port_guid() { hex $((0x0002c90300001001 + 16 * $1)); }
host_lid() { echo $((2 + leaves + $1)); }
topo="$outdir/topo.ibnd"
{
  printf '#\n# Topology file: sweep-fabric-up.sh %s (veth links; port numbers as cabled)\n#\n\n' "$prefix"
  printf 'vendid=0x2c9\ndevid=0xd2f0\nsysimgguid=0x%s\nswitchguid=0x%s(%s)\n' "$spine_guid" "$spine_guid" "$spine_guid"
  printf 'Switch\t%d "S-%s"\t\t# "spine" base port 0 lid 1 lmc 0\n' "$leaves" "$spine_guid"
  for ((l = 0; l < leaves; l++)); do
    printf '[%d]\t"S-%s"[%d]\t\t# "leaf%d" lid %d 4xHDR\n' $((l + 1)) "$(leaf_guid $l)" "$uplink" "$l" $((2 + l))
  done
  printf '\n'
  for ((l = 0; l < leaves; l++)); do
    g="$(leaf_guid $l)"
    printf 'vendid=0x2c9\ndevid=0xd2f0\nsysimgguid=0x%s\nswitchguid=0x%s(%s)\n' "$g" "$g" "$g"
    printf 'Switch\t%d "S-%s"\t\t# "leaf%d" base port 0 lid %d lmc 0\n' "$uplink" "$g" "$l" $((2 + l))
    for ((p = 1; p <= per_leaf; p++)); do
      h=$((l * per_leaf + p - 1))
      printf '[%d]\t"H-%s"[1](%s) \t\t# "h%d" lid %d 4xHDR\n' "$p" "$(host_guid $h)" "$(host_port_guid $h)" "$h" "$(host_lid $h)"
    done
    printf '[%d]\t"S-%s"[%d]\t\t# "spine" lid 1 4xHDR\n\n' "$uplink" "$spine_guid" $((l + 1))
  done
  for ((h = 0; h < hosts; h++)); do
    g="$(host_guid $h)"
    l=$((h / per_leaf))
    printf 'vendid=0x2c9\ndevid=0x101b\nsysimgguid=0x%s\ncaguid=0x%s\n' "$g" "$g"
    printf 'Ca\t1 "H-%s"\t\t# "h%d"\n' "$g" "$h"
    printf '[1](%s) \t"S-%s"[%d]\t\t# lid %d lmc 0 "leaf%d" lid %d 4xHDR\n\n' \
      "$(host_port_guid $h)" "$(leaf_guid $l)" $((h % per_leaf + 1)) "$(host_lid $h)" "$l" $((2 + l))
  done
} >"$topo.tmp"
mv "$topo.tmp" "$topo"

{
  printf '# DESC ADDR:PORT netns=NAME (sweep-fabric-up.sh %s)\n' "$prefix"
  for ((h = 0; h < hosts; h++)); do
    printf 'h%d 198.18.10.%d:%d netns=%sh%d\n' "$h" $((h + 1)) "$agent_port" "$prefix" "$h"
  done
} >"$outdir/agents.txt.tmp"
mv "$outdir/agents.txt.tmp" "$outdir/agents.txt"

# Up on every host before reporting success (the bridge ends forward as soon as their
# carrier is up: no STP).
for ((h = 0; h < hosts; h++)); do
  for _ in $(seq 50); do
    ip -n "${prefix}h$h" link show "${prefix}-h$h" | grep -q "state UP" && break
    sleep 0.1
  done
done
trap - ERR
echo "sweep-fabric-up: $hosts hosts ${prefix}h0.. (198.18.10.1-$hosts) under $leaves leaves ${prefix}leaf0.. and ${prefix}spine; $topo, $outdir/agents.txt"
