#!/usr/bin/env bash
# Builds a routed two-tier fabric on this machine for real sweeps: every host and every
# switch in its own network namespace, every cable one veth pair. Switches route, they do
# not bridge: each switch namespace holds one static /32 route per host, out of the port
# its linear forwarding table (LFT) names, so IP packets take exactly the paths that
# `fabricctl route compute --engine updn` computed for the matching topology. Several
# spines carry traffic (updn spreads destinations over them) and there is no loop to
# break. A separate management network joins every host to the root namespace.
#
#        spine0              spine1         namespaces <P>h<N>, <P>leaf<L>, <P>spine<S>
#       [1]  [2]...        [1]  [2]...      spine S port L+1 = dev <P>-s<S>p<L+1> -> leaf L
#        |     \___________/    |           leaf L port p = dev <P>-l<L>p<p>:
#        |      ____/ \____     |             p = 1..H       host L*H+p-1
#       [H+1] [H+2]     [H+1] [H+2]           p = H+1+S      uplink to spine S
#         leaf0            leaf1  ...       host N port 1 = dev <P>-h<N>
#        [1]..[H]         [1]..[H]
#        h0 .. hH-1       hH .. h2H-1       (H = HOSTS_PER_LEAF)
#
#     management: host N dev <P>-hm<N> (198.19.0.(N+1)/24) -- root dev <P>-m<N>, joined by
#     the root-namespace bridge <P>-mgmt (198.19.0.254/24)
#
# Addresses: host N 198.18.0.(N+1)/32 on <P>-h<N>; its routes: 198.18.0.0/16 and default
# via its leaf (onlink), so fabric traffic never takes the management network (which only
# has 198.19.0.0/24). Leaf L is 198.18.1.(L+1), spine S 198.18.2.(S+1), set on every
# fabric port of the switch (one address per switch, as on unnumbered links); a route
# towards a switch port is `via <neighbour switch> dev <port> onlink`, towards a host port
# `dev <port>`. Switches forward (ip_forward=1, rp_filter 0, no redirects); IPv6 is off
# everywhere, so the only traffic on the veths is what you send.
# MGMT_NET=198.19.K (environment, default 198.19.0) picks another management /24, so
# fabrics with different prefixes can run side by side (their fabric addresses never meet:
# they live only inside the namespaces).
#
# Writes into OUTDIR:
#   topo.ibnd   ibnetdiscover text; hosts are one-port CAs h0.., switches leaf0.., spine0..
#               (records in that order: leaves, spines, hosts), every link 4xHDR. fabricctl
#               names the cables `leaf0[1] -- h0[1]` and `leaf0[H+1+S] -- spineS[1]`.
#   routes/     `fabricctl route compute topo.ibnd --engine updn -o routes` (routes.json)
#   agents.txt  agents file v2: `hN[1] 198.18.0.(N+1):PORT control=198.19.0.(N+1):PORT`
#   fabric.env  shell-sourceable names (FABRIC_* variables, listed where it is written)
# fabricctl: $FABRICCTL, else build/fabricctl of this source tree.
# Idempotent: a fabric with the same prefix is removed first; a failure half-way removes
# what was built. Needs root, `ip netns` and python3.
#
# usage: routed-fabric-up.sh PREFIX OUTDIR [LEAVES [HOSTS_PER_LEAF [SPINES [AGENT_PORT]]]]
#   PREFIX          1-8 letters, digits or _ (interface names are at most 15 characters)
#   LEAVES          2..16 (default 4); HOSTS_PER_LEAF 1..16 (default 4), at most 253 hosts
#   SPINES          1..8 (default 2)
#   AGENT_PORT      port the probe agents will listen on (default 18520), for agents.txt
set -euo pipefail

usage="usage: routed-fabric-up.sh PREFIX OUTDIR [LEAVES [HOSTS_PER_LEAF [SPINES [AGENT_PORT]]]]"
bad() { echo "routed-fabric-up: $*" >&2; exit 2; }
[ $# -ge 2 ] && [ $# -le 6 ] || bad "$usage"
prefix="$1"
outdir="$2"
leaves="${3:-4}"
per_leaf="${4:-4}"
spines="${5:-2}"
agent_port="${6:-18520}"
mgmt_net="${MGMT_NET:-198.19.0}"
number_in() { [[ "$1" =~ ^[0-9]{1,5}$ ]] && [ "$((10#$1))" -ge "$2" ] && [ "$((10#$1))" -le "$3" ]; }
if [ "${#prefix}" -gt 8 ] || ! [[ "$prefix" =~ ^[a-zA-Z0-9_]+$ ]]; then bad "prefix '$prefix' must be 1-8 letters, digits or _"; fi
[ -n "$outdir" ] || bad "OUTDIR must not be empty"
number_in "$leaves" 2 16 || bad "leaves '$leaves' must be 2..16"
number_in "$per_leaf" 1 16 || bad "hosts per leaf '$per_leaf' must be 1..16"
number_in "$spines" 1 8 || bad "spines '$spines' must be 1..8"
number_in "$agent_port" 1 65535 || bad "agent port '$agent_port' must be 1..65535"
if ! [[ "$mgmt_net" =~ ^198\.19\.([0-9]{1,3})$ ]] || [ "${BASH_REMATCH[1]}" -gt 255 ]; then
  bad "MGMT_NET '$mgmt_net' must be 198.19.K with K 0..255"
fi
leaves=$((10#$leaves)) per_leaf=$((10#$per_leaf)) spines=$((10#$spines)) agent_port=$((10#$agent_port))
hosts=$((leaves * per_leaf))
[ "$hosts" -le 253 ] || bad "$leaves leaves x $per_leaf hosts = $hosts hosts: at most 253 (one management /24)"

here="$(cd "$(dirname "$0")" && pwd)"
fabricctl="${FABRICCTL:-$here/../../build/fabricctl}"
[ -x "$fabricctl" ] || bad "no fabricctl at '$fabricctl' (build it, or set FABRICCTL)"
command -v python3 >/dev/null || bad "needs python3 (reads the computed LFTs)"
bridge="${prefix}-mgmt"
# Another fabric's bridge with this management address would make the root namespace's
# routes to the hosts ambiguous.
in_use="$(ip -o -4 addr show to "$mgmt_net.254/32" | awk '{print $2}' | grep -vx "$bridge" || true)"
[ -z "$in_use" ] || bad "management address $mgmt_net.254 is in use on '$in_use'; pick another MGMT_NET=198.19.K"
mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"

"$here/routed-fabric-down.sh" "$prefix"
# From here on any way out but success (a failed command, a refused routes file, a signal)
# removes what was built.
remove_unless_done() {
  local status=$?
  [ "$status" = 0 ] || "$here/routed-fabric-down.sh" "$prefix"
}
trap remove_unless_done EXIT
trap 'exit 130' INT TERM

leaf_addr() { echo "198.18.1.$(($1 + 1))"; }
spine_addr() { echo "198.18.2.$(($1 + 1))"; }
host_addr() { echo "198.18.0.$(($1 + 1))"; }
leaf_dev() { echo "${prefix}-l$1p$2"; }
spine_dev() { echo "${prefix}-s$1p$2"; }
uplink() { echo $((per_leaf + 1 + $1)); } # leaf port of the cable to spine $1

switches=()
for ((l = 0; l < leaves; l++)); do switches+=("leaf$l"); done
for ((s = 0; s < spines; s++)); do switches+=("spine$s"); done
host_names=()
for ((h = 0; h < hosts; h++)); do host_names+=("h$h"); done

# Commands are gathered per namespace and run as one `ip -batch` each: one ip process per
# namespace instead of one per command. ns_cmds[NAME] holds those of namespace <P>NAME.
declare -A ns_cmds
root_cmds=""
run_batches() { # runs and empties the gathered commands of NAME...
  local n
  for n in "$@"; do
    if [ -n "${ns_cmds[$n]:-}" ]; then ip -n "${prefix}$n" -batch - <<<"${ns_cmds[$n]}"; fi
    ns_cmds[$n]=""
  done
}

# Namespaces first, with their settings, so every interface is born with them.
for n in "${switches[@]}" "${host_names[@]}"; do root_cmds+="netns add ${prefix}$n"$'\n'; done
ip -batch - <<<"$root_cmds"
ipv6_off=(net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1)
routing=(net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0)
pids=()
for n in "${switches[@]}" "${host_names[@]}"; do
  case "$n" in
    h*) ip netns exec "${prefix}$n" sysctl -qw "${ipv6_off[@]}" & ;;
    *) ip netns exec "${prefix}$n" sysctl -qw "${ipv6_off[@]}" "${routing[@]}" & ;;
  esac
  pids+=($!)
  ns_cmds[$n]="link set lo up"$'\n'
done
for pid in "${pids[@]}"; do wait "$pid"; done

# cable NS_A DEV_A NS_B DEV_B: one veth pair, created directly inside both namespaces.
root_cmds=""
cable() {
  root_cmds+="link add $2 netns ${prefix}$1 type veth peer name $4 netns ${prefix}$3"$'\n'
  ns_cmds[$1]+="link set $2 up"$'\n'
  ns_cmds[$3]+="link set $4 up"$'\n'
}
for ((h = 0; h < hosts; h++)); do
  l=$((h / per_leaf))
  dev="$(leaf_dev $l $((h % per_leaf + 1)))"
  cable "h$h" "${prefix}-h$h" "leaf$l" "$dev"
  ns_cmds[h$h]+="addr add $(host_addr $h)/32 dev ${prefix}-h$h
route add $(leaf_addr $l)/32 dev ${prefix}-h$h scope link
route add 198.18.0.0/16 via $(leaf_addr $l) dev ${prefix}-h$h onlink
route add default via $(leaf_addr $l) dev ${prefix}-h$h onlink
"
  ns_cmds[leaf$l]+="addr add $(leaf_addr $l)/32 dev $dev"$'\n'
done
for ((l = 0; l < leaves; l++)); do
  for ((s = 0; s < spines; s++)); do
    cable "leaf$l" "$(leaf_dev $l "$(uplink $s)")" "spine$s" "$(spine_dev $s $((l + 1)))"
    ns_cmds[leaf$l]+="addr add $(leaf_addr $l)/32 dev $(leaf_dev $l "$(uplink $s)")"$'\n'
    ns_cmds[spine$s]+="addr add $(spine_addr $s)/32 dev $(spine_dev $s $((l + 1)))"$'\n'
  done
done

# Management: the bridge in the root namespace, one veth per host namespace.
root_cmds+="link add $bridge type bridge stp_state 0"$'\n'
for ((h = 0; h < hosts; h++)); do
  root_cmds+="link add ${prefix}-m$h type veth peer name ${prefix}-hm$h netns ${prefix}h$h"$'\n'
  ns_cmds[h$h]+="link set ${prefix}-hm$h up
addr add $mgmt_net.$((h + 1))/24 dev ${prefix}-hm$h
"
done
ip -batch - <<<"$root_cmds"
# The root-namespace ends speak no IPv6 either (no router solicitations on the hosts' veths).
no_ipv6() { echo 1 >"/proc/sys/net/ipv6/conf/$1/disable_ipv6" 2>/dev/null || true; }
no_ipv6 "$bridge"
root_cmds="link set $bridge up"$'\n'"addr add $mgmt_net.254/24 dev $bridge"$'\n'
for ((h = 0; h < hosts; h++)); do
  no_ipv6 "${prefix}-m$h"
  root_cmds+="link set ${prefix}-m$h master $bridge up"$'\n'
done
ip -batch - <<<"$root_cmds"
run_batches "${switches[@]}" "${host_names[@]}"

# The topology. GUIDs: leaf L 0x0002c90300000101 + L, spine S 0x0002c90300000181 + S;
# host N node 0x0002c90300001000 + 16 N, port GUID node + 1. LIDs: leaf L 1 + L, spine S
# 1 + LEAVES + S, host N 1 + LEAVES + SPINES + N.
hex() { printf '%016x' "$1"; }
leaf_guid() { hex $((0x0002c90300000101 + $1)); }
spine_guid() { hex $((0x0002c90300000181 + $1)); }
host_guid() { hex $((0x0002c90300001000 + 16 * $1)); }
host_port_guid() { hex $((0x0002c90300001001 + 16 * $1)); }
leaf_lid() { echo $((1 + $1)); }
spine_lid() { echo $((1 + leaves + $1)); }
host_lid() { echo $((1 + leaves + spines + $1)); }
switch_head() { # GUID PORTS DESC LID
  printf 'vendid=0x2c9\ndevid=0xd2f0\nsysimgguid=0x%s\nswitchguid=0x%s(%s)\n' "$1" "$1" "$1"
  printf 'Switch\t%d "S-%s"\t\t# "%s" base port 0 lid %d lmc 0\n' "$2" "$1" "$3" "$4"
}
write_topology() {
  printf '#\n# Topology file: routed-fabric-up.sh %s (veth links; port numbers as cabled)\n#\n\n' "$prefix"
  for ((l = 0; l < leaves; l++)); do
    switch_head "$(leaf_guid $l)" $((per_leaf + spines)) "leaf$l" "$(leaf_lid $l)"
    for ((p = 1; p <= per_leaf; p++)); do
      h=$((l * per_leaf + p - 1))
      printf '[%d]\t"H-%s"[1](%s) \t\t# "h%d" lid %d 4xHDR\n' "$p" "$(host_guid $h)" "$(host_port_guid $h)" "$h" "$(host_lid $h)"
    done
    for ((s = 0; s < spines; s++)); do
      printf '[%d]\t"S-%s"[%d]\t\t# "spine%d" lid %d 4xHDR\n' "$(uplink $s)" "$(spine_guid $s)" $((l + 1)) "$s" "$(spine_lid $s)"
    done
    printf '\n'
  done
  for ((s = 0; s < spines; s++)); do
    switch_head "$(spine_guid $s)" "$leaves" "spine$s" "$(spine_lid $s)"
    for ((l = 0; l < leaves; l++)); do
      printf '[%d]\t"S-%s"[%d]\t\t# "leaf%d" lid %d 4xHDR\n' $((l + 1)) "$(leaf_guid $l)" "$(uplink $s)" "$l" "$(leaf_lid $l)"
    done
    printf '\n'
  done
  for ((h = 0; h < hosts; h++)); do
    g="$(host_guid $h)"
    l=$((h / per_leaf))
    printf 'vendid=0x2c9\ndevid=0x101b\nsysimgguid=0x%s\ncaguid=0x%s\n' "$g" "$g"
    printf 'Ca\t1 "H-%s"\t\t# "h%d"\n' "$g" "$h"
    printf '[1](%s) \t"S-%s"[%d]\t\t# lid %d lmc 0 "leaf%d" lid %d 4xHDR\n\n' \
      "$(host_port_guid $h)" "$(leaf_guid $l)" $((h % per_leaf + 1)) "$(host_lid $h)" "$l" "$(leaf_lid $l)"
  done
}
topo="$outdir/topo.ibnd"
write_topology >"$topo.tmp"
mv "$topo.tmp" "$topo"
"$fabricctl" route compute "$topo" --engine updn -o "$outdir/routes" >/dev/null

# The LFTs as `SWITCH HOST PORT` lines: for every switch, the out port towards each host
# (matched by node GUID, since route compute may number LIDs its own way).
lft_ports() {
  for ((h = 0; h < hosts; h++)); do echo "0x$(host_guid $h) $h"; done |
    python3 -c '
import json, sys
hosts = dict(line.split() for line in sys.stdin)
subnets = json.load(open(sys.argv[1]))["subnets"]
for net in subnets:
    dests = [(hosts[guid], lid) for lid, guid, _ in net["lids"] if guid in hosts]
    for sw in net["switches"]:
        for host, lid in dests:
            print(sw["description"], host, int(sw["lft"][2 * lid:2 * lid + 2], 16))
' "$outdir/routes/routes.json"
}
# route_to SWITCH PORT: how that switch reaches the far end of PORT, as `ip route` words.
route_to() {
  local n="${1//[a-z]/}" port="$2"
  case "$1" in
    leaf*)
      if [ "$port" -ge 1 ] && [ "$port" -le "$per_leaf" ]; then
        echo "dev $(leaf_dev "$n" "$port")"
      elif [ "$port" -gt "$per_leaf" ] && [ "$port" -le $((per_leaf + spines)) ]; then
        echo "via $(spine_addr $((port - per_leaf - 1))) dev $(leaf_dev "$n" "$port") onlink"
      fi ;;
    spine*)
      if [ "$port" -ge 1 ] && [ "$port" -le "$leaves" ]; then
        echo "via $(leaf_addr $((port - 1))) dev $(spine_dev "$n" "$port") onlink"
      fi ;;
  esac
}
lfts="$(lft_ports)"
[ "$(wc -l <<<"$lfts")" -eq $(((leaves + spines) * hosts)) ] ||
  bad "$outdir/routes/routes.json: expected $(((leaves + spines) * hosts)) LFT entries towards hosts, got $(wc -l <<<"$lfts")"
while read -r sw h port; do
  how="$(route_to "$sw" "$port")"
  [ -n "$how" ] || bad "$outdir/routes/routes.json: $sw has no cabled port towards h$h (LFT says port $port)"
  ns_cmds[$sw]+="route add $(host_addr "$h")/32 $how"$'\n'
done <<<"$lfts"
run_batches "${switches[@]}"

{
  printf '# DESC DATA_ADDR:PORT control=MGMT_ADDR:PORT (routed-fabric-up.sh %s)\n' "$prefix"
  for ((h = 0; h < hosts; h++)); do
    printf 'h%d[1] %s:%d control=%s.%d:%d\n' "$h" "$(host_addr $h)" "$agent_port" "$mgmt_net" $((h + 1)) "$agent_port"
  done
} >"$outdir/agents.txt.tmp"
mv "$outdir/agents.txt.tmp" "$outdir/agents.txt"

# fabric.env: every name a test needs, as shell variables (values quoted for `.`).
#   FABRIC_PREFIX FABRIC_OUTDIR FABRIC_TOPO FABRIC_ROUTES FABRIC_AGENTS FABRIC_AGENT_PORT
#   FABRIC_LEAVES FABRIC_HOSTS_PER_LEAF FABRIC_SPINES FABRIC_HOST_COUNT
#   FABRIC_HOSTS, FABRIC_SWITCHES     descriptions: "h0 h1 ..", "leaf0 .. spine0 .."
#   FABRIC_HOST_NS, FABRIC_SWITCH_NS  the namespaces, in the same order
#   FABRIC_MGMT_BRIDGE FABRIC_MGMT_NET FABRIC_MGMT_ADDR   root bridge, 198.19.K, its address
#   FABRIC_H<N>_{NS,DEV,ADDR,LEAF,MGMT_DEV,MGMT_PEER,MGMT_ADDR}   host N: namespace, fabric
#       veth and address, its leaf, management veth (in NS), its root-side peer, address
#   FABRIC_CABLES                     number of cables; cable I (0..) is
#   FABRIC_CABLE_<I>_{LINK,A_NS,A_DEV,B_NS,B_DEV}   the link as fabricctl names it
#       (`leaf0[1] -- h0[1]`, `leaf0[5] -- spine0[1]`) and the namespace and veth of its
#       first-named end A and its other end B. Cables 0..N-1 are the host cables (cable
#       I = host I), then every uplink, leaf by leaf, spine by spine.
cable_lines=()
add_cable() { # LINK A_NS A_DEV B_NS B_DEV
  local i=${#cable_lines[@]}
  cable_lines+=("$(printf "FABRIC_CABLE_%d_LINK='%s'\nFABRIC_CABLE_%d_A_NS=%s\nFABRIC_CABLE_%d_A_DEV=%s\nFABRIC_CABLE_%d_B_NS=%s\nFABRIC_CABLE_%d_B_DEV=%s" \
    "$i" "$1" "$i" "$2" "$i" "$3" "$i" "$4" "$i" "$5")")
}
for ((h = 0; h < hosts; h++)); do
  l=$((h / per_leaf)) p=$((h % per_leaf + 1))
  add_cable "leaf${l}[$p] -- h${h}[1]" "${prefix}leaf$l" "$(leaf_dev $l $p)" "${prefix}h$h" "${prefix}-h$h"
done
for ((l = 0; l < leaves; l++)); do
  for ((s = 0; s < spines; s++)); do
    add_cable "leaf${l}[$(uplink $s)] -- spine${s}[$((l + 1))]" "${prefix}leaf$l" "$(leaf_dev $l "$(uplink $s)")" \
      "${prefix}spine$s" "$(spine_dev $s $((l + 1)))"
  done
done
words() { local IFS=' '; echo "$*"; }
{
  printf '# routed-fabric-up.sh %s %s %d %d %d %d\n' "$prefix" "$outdir" "$leaves" "$per_leaf" "$spines" "$agent_port"
  printf 'FABRIC_PREFIX=%s\nFABRIC_OUTDIR=%q\nFABRIC_TOPO=%q\nFABRIC_ROUTES=%q\nFABRIC_AGENTS=%q\n' \
    "$prefix" "$outdir" "$topo" "$outdir/routes" "$outdir/agents.txt"
  printf 'FABRIC_AGENT_PORT=%d\nFABRIC_LEAVES=%d\nFABRIC_HOSTS_PER_LEAF=%d\nFABRIC_SPINES=%d\nFABRIC_HOST_COUNT=%d\n' \
    "$agent_port" "$leaves" "$per_leaf" "$spines" "$hosts"
  printf 'FABRIC_HOSTS="%s"\nFABRIC_SWITCHES="%s"\n' "$(words "${host_names[@]}")" "$(words "${switches[@]}")"
  printf 'FABRIC_HOST_NS="%s"\nFABRIC_SWITCH_NS="%s"\n' "$(words "${host_names[@]/#/$prefix}")" \
    "$(words "${switches[@]/#/$prefix}")"
  printf 'FABRIC_MGMT_BRIDGE=%s\nFABRIC_MGMT_NET=%s\nFABRIC_MGMT_ADDR=%s.254\n' "$bridge" "$mgmt_net" "$mgmt_net"
  for ((h = 0; h < hosts; h++)); do
    printf 'FABRIC_H%d_NS=%s\nFABRIC_H%d_DEV=%s\nFABRIC_H%d_ADDR=%s\nFABRIC_H%d_LEAF=leaf%d\n' \
      "$h" "${prefix}h$h" "$h" "${prefix}-h$h" "$h" "$(host_addr $h)" "$h" $((h / per_leaf))
    printf 'FABRIC_H%d_MGMT_DEV=%s\nFABRIC_H%d_MGMT_PEER=%s\nFABRIC_H%d_MGMT_ADDR=%s.%d\n' \
      "$h" "${prefix}-hm$h" "$h" "${prefix}-m$h" "$h" "$mgmt_net" $((h + 1))
  done
  printf 'FABRIC_CABLES=%d\n' "${#cable_lines[@]}"
  printf '%s\n' "${cable_lines[@]}"
} >"$outdir/fabric.env.tmp"
mv "$outdir/fabric.env.tmp" "$outdir/fabric.env"

# Up on every cable end before reporting success (veth carrier is up once both ends are).
for n in "${switches[@]}" "${host_names[@]}"; do
  for _ in $(seq 50); do
    ip -n "${prefix}$n" -o link show | grep -q "state LOWERLAYERDOWN\|state DOWN" || break
    sleep 0.1
  done
done
trap - EXIT INT TERM
echo "routed-fabric-up: $hosts hosts ${prefix}h0.. (198.18.0.1-$hosts, management $mgmt_net.1-$hosts) under $leaves leaves and $spines spines, routed by updn; $outdir/{topo.ibnd,routes,agents.txt,fabric.env}"
