#!/usr/bin/env bash
# The routed namespace fabric (tools/netns/routed-fabric-up.sh) carries traffic exactly as
# the computed LFTs say: a 4 leaves x 4 hosts x 2 spines fabric comes up; every host
# reaches 3 others and h0 reaches every host of another leaf over the fabric addresses;
# for each of h0's pairs the veths of the uplinks on the traced request and reply paths
# (`fabricctl route trace`) carry the echoes and no other uplink does; both spines carry
# traffic; the management veths carry none of it; the teardown leaves no namespace or
# interface behind. Also: bad arguments are refused before anything is built, and a
# failure half-way (route compute failing) removes what was built.
# Needs root, `ip netns` and python3; prints SKIP and exits 0 without them.
# usage: routed_fabric_test.sh FABRICCTL SOURCE_DIR
set -euo pipefail
bin="$(realpath "$1")"
src="$(realpath "$2")"

if [ "$(id -u)" != 0 ]; then echo "SKIP: routed_fabric_test needs root (network namespaces)"; exit 0; fi
if ! ip netns list >/dev/null 2>&1; then echo "SKIP: routed_fabric_test needs 'ip netns' (iproute2)"; exit 0; fi
if ! command -v python3 >/dev/null; then echo "SKIP: routed_fabric_test needs python3"; exit 0; fi

up="$src/tools/netns/routed-fabric-up.sh"
down="$src/tools/netns/routed-fabric-down.sh"
# A prefix of this run (at most 8 characters) and a management /24 no other fabric on this
# machine uses keep parallel runs apart.
prefix="rf$(($$ % 1000000))"
for ((k = $$ % 200 + 50, tries = 0; tries < 200; k = (k + 1) % 256, tries++)); do
  [ -z "$(ip -o -4 addr show to "198.19.$k.254/32")" ] && break
done
export MGMT_NET="198.19.$k"
# shellcheck source=tests/cli/testlib.sh
. "$src/tests/cli/testlib.sh" # makes and enters $work, removed on exit after the on_exit steps
cleanup() { bash "$down" "$prefix"; }
on_exit cleanup
trap 'exit 130' INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }

# leftovers: what of this prefix exists (namespaces, interfaces in the root namespace).
leftovers() {
  ip netns list | awk '{print $1}' | grep -E "^${prefix}(h|leaf|spine)[0-9]+$" || true
  ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^${prefix}-" || true
}

# 1. Bad arguments: exit 2 and nothing built.
for args in "bad-prefix! out" "toolongpfx out" "$prefix out 1" "$prefix out 4 17" "$prefix out 4 4 9" \
  "$prefix out 4 4 2 0" "$prefix out 16 16" "$prefix"; do
  set +e
  FABRICCTL="$bin" bash "$up" $args >out 2>err
  rc=$?
  set -e
  [ "$rc" = 2 ] || fail "routed-fabric-up $args: exit $rc, expected 2: $(cat out err)"
done
set +e
MGMT_NET=198.20.0 FABRICCTL="$bin" bash "$up" "$prefix" out >out 2>err
rc=$?
set -e
[ "$rc" = 2 ] && grep -q "MGMT_NET" err || fail "MGMT_NET outside 198.19/16 accepted: $rc $(cat out err)"
[ -z "$(leftovers)" ] || fail "refused arguments left: $(leftovers)"

# 2. A failure half-way (route compute fails once the namespaces exist) removes everything.
set +e
FABRICCTL=/bin/false bash "$up" "$prefix" half 2 1 1 >out 2>err
rc=$?
set -e
[ "$rc" != 0 ] || fail "routed-fabric-up with a failing fabricctl succeeded"
[ -z "$(leftovers)" ] || fail "a failure half-way left: $(leftovers)"

# 3. The fabric: 4 leaves x 4 hosts x 2 spines.
start=$SECONDS
FABRICCTL="$bin" bash "$up" "$prefix" fabric 4 4 2 18520 >out 2>err || fail "routed-fabric-up: $(cat out err)"
up_seconds=$((SECONDS - start))
# shellcheck disable=SC1091
. fabric/fabric.env
[ "$FABRIC_PREFIX" = "$prefix" ] && [ "$FABRIC_HOST_COUNT" = 16 ] && [ "$FABRIC_CABLES" = 24 ] ||
  fail "fabric.env: $(head -12 fabric/fabric.env)"
[ "$(grep -c '^h[0-9]*\[1\] 198\.18\.0\.[0-9]*:18520 control=198\.19\.[0-9]*\.[0-9]*:18520$' fabric/agents.txt)" = 16 ] ||
  fail "agents.txt: $(cat fabric/agents.txt)"
grep -qx "h5\[1\] 198.18.0.6:18520 control=$MGMT_NET.6:18520" fabric/agents.txt || fail "agents.txt h5: $(cat fabric/agents.txt)"

# Every cable's name in fabric.env is the name fabricctl gives that link, and its two
# veths are peers of one pair (same ifindex pairing, in the named namespaces).
"$bin" topo convert "$FABRIC_TOPO" -o topo.json 2>err || fail "topo convert: $(cat err)"
ends=()
for ((i = 0; i < FABRIC_CABLES; i++)); do
  link="FABRIC_CABLE_${i}_LINK" a_ns="FABRIC_CABLE_${i}_A_NS" a_dev="FABRIC_CABLE_${i}_A_DEV"
  b_ns="FABRIC_CABLE_${i}_B_NS" b_dev="FABRIC_CABLE_${i}_B_DEV"
  peer="$(ip -n "${!a_ns}" -o link show dev "${!a_dev}")" || fail "cable $i: no ${!a_dev} in ${!a_ns}"
  b_index="$(ip -n "${!b_ns}" -o link show dev "${!b_dev}" | cut -d: -f1)" || fail "cable $i: no ${!b_dev} in ${!b_ns}"
  [[ "$peer" == *"@if$b_index:"* ]] || fail "cable $i: ${!a_dev} is not the peer of ${!b_dev}: $peer"
  echo "${!link}" >>cable-names
  a_end="${!link%% -- *}" b_end="${!link##* -- }"
  ends+=("$a_end ${!a_ns} ${!a_dev}" "$b_end ${!b_ns} ${!b_dev}")
done
printf '%s\n' "${ends[@]}" >ends.txt
python3 - topo.json cable-names <<'PY' || fail "cable names differ from fabricctl's link names"
import json, sys
topo = json.load(open(sys.argv[1]))
desc = [n["description"] for n in topo["nodes"]]
got = sorted(f"{desc[a]}[{pa}] -- {desc[b]}[{pb}]" for a, pa, b, pb in topo["links"])
names = sorted(line.rstrip("\n") for line in open(sys.argv[2]))
assert got == names, (got, names)
PY

# ping.py SIZE COUNT DST...: ICMP echoes of SIZE payload bytes from this namespace, one at
# a time, each awaited up to 2 s; prints `DST RECEIVED/COUNT`, exit 1 unless all came back.
cat >ping.py <<'PY'
import os, socket, struct, sys, time
size, count, targets = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
def checksum(data):
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident = os.getpid() & 0xFFFF
def echo(dst, seq):
    payload = bytes(size)
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    sock.sendto(struct.pack("!BBHHH", 8, 0, checksum(header + payload), ident, seq) + payload, (dst, 0))
    deadline = time.monotonic() + 2
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data, (src, _) = sock.recvfrom(65535)
        except socket.timeout:
            return False
        kind, _, _, rid, rseq = struct.unpack("!BBHHH", data[(data[0] & 15) * 4:][:8])
        if kind == 0 and rid == ident and rseq == seq and src == dst:
            return True
    return False
short = False
for n, dst in enumerate(targets):
    got = sum(echo(dst, (n * count + i) & 0xFFFF) for i in range(count))
    print(f"{dst} {got}/{count}")
    short |= got < count
sys.exit(1 if short else 0)
PY
# ping_from HOST SIZE COUNT HOST...: echoes between the fabric addresses of hosts hN.
ping_from() {
  local ns="FABRIC_H${1#h}_NS" size="$2" count="$3" targets=() t addr
  shift 3
  for t in "$@"; do addr="FABRIC_H${t#h}_ADDR"; targets+=("${!addr}"); done
  ip netns exec "${!ns}" timeout 30 python3 ping.py "$size" "$count" "${targets[@]}" >ping.out 2>&1 ||
    fail "pings from $ns over the fabric: $(cat ping.out)"
}
# snapshot FILE [NAMESPACE...]: the interface counters of the namespaces (default: all
# of the fabric and `-`, the root namespace), a line `NAMESPACE JSON` each (`ip -s -j`).
snapshot() {
  local file="$1" ns
  shift
  [ $# -gt 0 ] || set -- $FABRIC_SWITCH_NS $FABRIC_HOST_NS -
  for ns in "$@"; do
    printf '%s ' "$ns"
    if [ "$ns" = - ]; then ip -s -j link show; else ip -n "$ns" -s -j link show; fi
    echo
  done >"$file"
}
# counters.py, imported by the checks below: load(FILE) -> {(namespace, dev): (tx, rx)}.
cat >counters.py <<'PY'
import json
def load(path):
    out = {}
    for line in filter(str.strip, open(path)):
        ns, text = line.split(" ", 1)
        for i in json.loads(text):
            out[(ns, i["ifname"])] = (i["stats64"]["tx"]["bytes"], i["stats64"]["rx"]["bytes"])
    return out
def delta(before_path, after_path):
    before, after = load(before_path), load(after_path)
    return {k: (after[k][0] - before[k][0], after[k][1] - before[k][1]) for k in after if k in before}
PY
size=1000 # payload bytes: an echo is more than any ARP packet a link might carry meanwhile

# 4. Every host to 3 others (its leaf and two more), h0 to every host of another leaf.
snapshot sample.before
for ((h = 0; h < FABRIC_HOST_COUNT; h++)); do
  ping_from "h$h" "$size" 3 "h$(((h + 1) % 16))" "h$(((h + 6) % 16))" "h$(((h + 11) % 16))"
done
ping_from h0 "$size" 3 h4 h5 h6 h7 h8 h9 h10 h11 h12 h13 h14 h15
snapshot sample.after
mgmt_devs=()
for ((h = 0; h < FABRIC_HOST_COUNT; h++)); do
  ns="FABRIC_H${h}_NS" dev="FABRIC_H${h}_MGMT_DEV" peer="FABRIC_H${h}_MGMT_PEER"
  mgmt_devs+=("${!ns} ${!dev}" "- ${!peer}")
done
printf '%s\n' "${mgmt_devs[@]}" >mgmt.txt
python3 - sample.before sample.after mgmt.txt "$size" "$FABRIC_SPINES" "$prefix" <<'PY' || fail "sample counters"
import sys
from counters import delta as counter_delta
size, spines, prefix = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
delta = counter_delta(sys.argv[1], sys.argv[2])
for line in open(sys.argv[3]):
    ns, dev = line.split()
    tx, rx = delta[(ns, dev)]
    assert tx < size and rx < size, f"management veth {dev} ({ns}) carried {tx} bytes out, {rx} in"
for s in range(spines):
    sent = sum(tx for (ns, dev), (tx, _) in delta.items() if ns == f"{prefix}spine{s}")
    # 12 cross-leaf echo pairs from h0 alone: at least a few of them on each spine
    assert sent >= 4 * size, f"spine{s} forwarded only {sent} bytes"
    print(f"spine{s}: {sent} bytes")
PY

# 5. The LFTs decide the path: for each of h0's cross-leaf pairs, the switch ports on the
#    traced request path (h0 -> hN) and reply path (hN -> h0) send the echoes, and no other
#    switch port sends as much as one of them.
count=5
for ((d = 4; d < FABRIC_HOST_COUNT; d++)); do
  snapshot "pair$d.before" $FABRIC_SWITCH_NS
  ping_from h0 "$size" "$count" "h$d"
  snapshot "pair$d.after" $FABRIC_SWITCH_NS
  for way in "h0 h$d" "h$d h0"; do
    # shellcheck disable=SC2086
    "$bin" route trace "$FABRIC_TOPO" "$FABRIC_ROUTES" $way --json >>"trace$d.json" ||
      fail "route trace $way: $(cat "trace$d.json")"
  done
done
python3 - ends.txt "$size" "$count" "$FABRIC_HOST_COUNT" <<'PY' || fail "traffic does not follow the LFTs"
import json, sys
from counters import delta as counter_delta
ends = {name: (ns, dev) for name, ns, dev in (l.split() for l in open(sys.argv[1]))}
size, count, hosts = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
spines_used = set()
for d in range(4, hosts):
    delta = counter_delta(f"pair{d}.before", f"pair{d}.after")
    decoder, text, at, on_path = json.JSONDecoder(), open(f"trace{d}.json").read(), 0, set()
    while text[at:].strip():
        trace, at = decoder.raw_decode(text, at)
        at += len(text[at:]) - len(text[at:].lstrip())
        assert trace["end"] == "delivered", trace
        for hop in trace["hops"]:
            if hop["from"].startswith(("leaf", "spine")):
                on_path.add(ends[f'{hop["from"]}[{hop["from_port"]}]'])
            if hop["from"].startswith("spine"):
                spines_used.add(hop["from"])
    assert len(on_path) == 6, f"h0 <-> h{d}: {on_path}"  # leaf, spine, leaf each way
    for key, (tx, _) in delta.items():
        if key in on_path:
            assert tx >= count * size, f"h0 <-> h{d}: {key} on the traced path sent {tx} bytes"
        else:
            assert tx < size, f"h0 <-> h{d}: {key} off the traced path sent {tx} bytes"
assert len(spines_used) >= 2, f"the LFTs of h0's pairs use only {spines_used}"
print(f"12 pairs follow their traces over {sorted(spines_used)}")
PY

# 6. Teardown leaves nothing of this prefix, and a second teardown is fine.
bash "$down" "$prefix" || fail "routed-fabric-down"
[ -z "$(leftovers)" ] || fail "routed-fabric-down left: $(leftovers)"
bash "$down" "$prefix" || fail "a second routed-fabric-down"
echo "PASS: routed fabric (4x4x2 up in ${up_seconds}s; pings over the fabric only, paths as traced, both spines used; torn down)"
