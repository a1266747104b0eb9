#!/usr/bin/env bash
# Real host-to-host sweep: the routed namespace fabric (tools/netns/routed-fabric-up.sh:
# 4 leaves x 4 hosts x 2 spines, switch namespaces forwarding as the computed LFTs say, a
# separate management network), one probe agent per host namespace, and the coordinator in
# the root namespace reaching the agents over management only. Checks:
#   1. probe traffic flows host to host: the fabric veths carry the probes' bytes and the
#      management veths carry only control traffic;
#   2. one leaf-spine cable shaped with tc tbf is the one finding, for bandwidth;
#   3. before the shaping the sweep is healthy, and the history holds both sweeps;
#   4. an agent killed: exactly the probes from and to its host are unmeasured, with reasons.
# Needs root, `ip netns`, tc and python3; prints SKIP and exits 0 without them.
# usage: sweep_hosts_test.sh FABRICCTL SOURCE_DIR
set -euo pipefail
bin="$(realpath "$1")"
src="$(realpath "$2")"

if [ "$(id -u)" != 0 ]; then echo "SKIP: sweep_hosts_test needs root (network namespaces, tc)"; exit 0; fi
if ! ip netns list >/dev/null 2>&1; then echo "SKIP: sweep_hosts_test needs 'ip netns' (iproute2)"; exit 0; fi
if ! command -v tc >/dev/null || ! command -v python3 >/dev/null; then
  echo "SKIP: sweep_hosts_test needs tc and python3"
  exit 0
fi

# shellcheck source=tests/netns/fabric_agents_lib.sh
. "$src/tests/netns/fabric_agents_lib.sh"
fabric_test_begin sh
fail() {
  echo "FAIL: $*" >&2
  for f in agent*.log; do [ -s "$f" ] && { echo "--- $f" >&2; tail -5 "$f" >&2; }; done
  exit 1
}
rc=0
run() {
  set +e
  timeout 120 "$@" >out 2>err
  rc=$?
  set -e
}

FABRICCTL="$bin" bash "$src/tools/netns/routed-fabric-up.sh" "$prefix" fabric 4 4 2 18520 >/dev/null
# shellcheck disable=SC1091
source fabric/fabric.env

start_fabric_agents

"$bin" sweep plan "$FABRIC_TOPO" "$FABRIC_ROUTES" -o plan.json >out 2>err || fail "sweep plan: $(cat out err)"
sweep=("$bin" sweep run "$FABRIC_TOPO" "$FABRIC_ROUTES" --plan plan.json --fabric tcp --agents "$FABRIC_AGENTS"
  --token-file token --probe-seconds 0.3 --timeout 3)

# tx bytes of every management veth (both ends) and of every fabric veth, summed.
bytes_of() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/tx_bytes"; }
traffic() {
  local mgmt=0 fabric=0 h i a b
  for ((h = 0; h < FABRIC_HOST_COUNT; h++)); do
    local ns_var="FABRIC_H${h}_NS" dev_var="FABRIC_H${h}_MGMT_DEV" peer_var="FABRIC_H${h}_MGMT_PEER"
    mgmt=$((mgmt + $(bytes_of "${!ns_var}" "${!dev_var}") + $(cat "/sys/class/net/${!peer_var}/statistics/tx_bytes")))
  done
  for ((i = 0; i < FABRIC_CABLES; i++)); do
    a="FABRIC_CABLE_${i}_A_NS" b="FABRIC_CABLE_${i}_A_DEV"
    fabric=$((fabric + $(bytes_of "${!a}" "${!b}")))
    a="FABRIC_CABLE_${i}_B_NS" b="FABRIC_CABLE_${i}_B_DEV"
    fabric=$((fabric + $(bytes_of "${!a}" "${!b}")))
  done
  echo "$mgmt $fabric"
}

# 1 + 3. Healthy fabric: exit 0, and the probes' bytes crossed the fabric, not management.
read -r mgmt0 fabric0 < <(traffic)
run "${sweep[@]}" -o healthy.json --history history.db
[ "$rc" = 0 ] || fail "healthy sweep: expected exit 0, got $rc: $(cat out err) $(cat healthy.json 2>/dev/null)"
read -r mgmt1 fabric1 < <(traffic)
python3 - healthy.json "$((mgmt1 - mgmt0))" "$((fabric1 - fabric0))" <<'PY' || fail "healthy sweep: $(cat healthy.json)"
import json, sys
j = json.load(open(sys.argv[1]))
mgmt, fabric = int(sys.argv[2]), int(sys.argv[3])
assert j["mode"] == "tcp" and j["healthy"] is True and j["findings"] == [], j
p = j["probes"]
assert p["unmeasured"] == 0 and p["failed"] == 0 and p["measured"] == p["total"] > 0, p
# Bandwidth probes move megabytes per probe; orders and results are a few hundred bytes.
assert fabric > 10_000_000, f"fabric veths carried only {fabric} bytes"
assert mgmt < fabric / 100, f"management carried {mgmt} bytes against {fabric} on the fabric"
print(f"traffic: management {mgmt} bytes, fabric {fabric} bytes")
PY

# 2. The first uplink of leaf1 shaped to 100 Mb/s on both ends: exactly that link, bandwidth.
cable=$((FABRIC_HOST_COUNT + FABRIC_SPINES))  # leaf1's first uplink (host cables come first)
link_var="FABRIC_CABLE_${cable}_LINK"
a_ns="FABRIC_CABLE_${cable}_A_NS" a_dev="FABRIC_CABLE_${cable}_A_DEV"
b_ns="FABRIC_CABLE_${cable}_B_NS" b_dev="FABRIC_CABLE_${cable}_B_DEV"
shaped_link="${!link_var}"
case "$shaped_link" in leaf1\[*\]\ --\ spine*) ;; *) fail "cable $cable is $shaped_link, not leaf1's uplink" ;; esac
for end in "${!a_ns} ${!a_dev}" "${!b_ns} ${!b_dev}"; do
  read -r ns dev <<<"$end"
  ip netns exec "$ns" tc qdisc add dev "$dev" root tbf rate 100mbit burst 32kbit latency 50ms
done
run "${sweep[@]}" -o shaped.json --html shaped.html --history history.db
[ "$rc" = 1 ] || fail "shaped sweep: expected exit 1, got $rc: $(cat out err)"
python3 - shaped.json "$shaped_link" <<'PY' || fail "shaped sweep report: $(cat shaped.json)"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["healthy"] is False, j
p = j["probes"]
assert p["unmeasured"] == 0 and p["failed"] == 0, p
names = {sys.argv[2], " -- ".join(reversed(sys.argv[2].split(" -- ")))}
f = j["findings"]
assert len(f) == 1, f"expected one finding, got {f}"
assert f[0]["link"] in names, f"flagged {f[0]['link']}, shaped {sys.argv[2]}"
assert f[0]["kind"] == "bandwidth", f
PY
grep -q "<svg" shaped.html || fail "HTML report has no heat map"
if grep -qiE '(src|href)="https?:' shaped.html; then fail "HTML report fetches from the network"; fi
for end in "${!a_ns} ${!a_dev}" "${!b_ns} ${!b_dev}"; do
  read -r ns dev <<<"$end"
  ip netns exec "$ns" tc qdisc del dev "$dev" root
done

# The history holds both sweeps: the healthy one, then the one with the finding.
"$bin" sweep history history.db --json >history.json || fail "sweep history: $(cat history.json)"
python3 - history.json <<'PY' || fail "history: $(cat history.json)"
import json, sys
s = json.load(open(sys.argv[1]))["sweeps"]
assert len(s) == 2, s
assert s[0]["mode"] == "tcp" and s[0]["findings"] == 0 and s[0]["healthy"] is True, s[0]
assert s[1]["mode"] == "tcp" and s[1]["findings"] == 1 and s[1]["healthy"] is False, s[1]
PY

# 4. h5's agent killed: the probes from and to h5 are unmeasured, each with a reason.
kill "${pids[agents_first + 5]}"
wait "${pids[agents_first + 5]}" 2>/dev/null || true
run "${sweep[@]}" -o agent-gone.json
[ "$rc" = 1 ] || fail "sweep with an agent gone: expected exit 1, got $rc: $(cat out err)"
python3 - agent-gone.json plan.json <<'PY' || fail "agent-gone report: $(cat agent-gone.json)"
import json, sys
j = json.load(open(sys.argv[1]))
with_h5 = sum(1 for s, d, _ in json.load(open(sys.argv[2]))["schedule"] if "h5[1]" in (s, d))
assert j["healthy"] is False, j
p = j["probes"]
# Re-probes, if any, may add probes; the plan's own probes through h5 are all unmeasured.
assert with_h5 > 0 and p["unmeasured"] >= with_h5, (p, with_h5)
assert p["measured"] + p["unmeasured"] + p["failed"] == p["total"], p
PY
grep -q "^unmeasured: .*h5\[1\]" out || fail "no reason for the unmeasured probes: $(cat out)"
if grep "^unmeasured: " out | grep -v -e "h5\[1\]" -e "^unmeasured: \.\.\. and"; then
  fail "unmeasured probes not from or to h5: $(cat out)"
fi

echo "PASS: host-to-host sweep (traffic on the fabric only, $shaped_link flagged when shaped, healthy when not, agent gone -> unmeasured)"
