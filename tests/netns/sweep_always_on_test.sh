#!/usr/bin/env bash
# Real always-on monitoring on the routed namespace fabric (tools/netns/routed-fabric-up.sh:
# 4 leaves x 4 hosts x 2 spines, every host and switch a network namespace, every cable a
# veth pair, switches forwarding as the computed LFTs say): a probe agent in every host
# namespace and `sweep serve --fabric tcp` in the root namespace with a 20 s period,
# scraped over HTTP with curl. Every link shows up measured with no finding; then one
# leaf-spine cable is shaped with tc tbf to 100 Mb/s and must be flagged within one period;
# unshaped, the finding goes within a period; SIGTERM stops the monitor cleanly, leaving a
# textfile that promtool (when installed) accepts. The agents probe each other on the
# monitor's orders, which reach them over the management network (the fabric's agents.txt:
# `hN[1] DATA_ADDR:PORT control=MGMT_ADDR:PORT`).
# Needs root and `ip netns`; prints SKIP and exits 0 without them.
# usage: sweep_always_on_test.sh FABRICCTL SOURCE_DIR
set -euo pipefail
bin="$(realpath "$1")"
src="$(realpath "$2")"

if [ "$(id -u)" != 0 ]; then echo "SKIP: sweep_always_on_test needs root (network namespaces, tc)"; exit 0; fi
if ! ip netns list >/dev/null 2>&1; then echo "SKIP: sweep_always_on_test needs 'ip netns' (iproute2)"; exit 0; fi
for tool in tc curl python3; do
  command -v $tool >/dev/null || { echo "SKIP: sweep_always_on_test needs $tool"; exit 0; }
done

period=20
# shellcheck source=tests/netns/fabric_agents_lib.sh
. "$src/tests/netns/fabric_agents_lib.sh"
fabric_test_begin ao
fail() {
  echo "FAIL: $*" >&2
  for f in serve.log agent*.log; do [ -s "$f" ] && { echo "--- $f" >&2; tail -8 "$f" >&2; }; done
  exit 1
}

FABRICCTL="$bin" bash "$src/tools/netns/routed-fabric-up.sh" "$prefix" fabric 4 4 2 >/dev/null
. fabric/fabric.env
"$bin" sweep plan "$FABRIC_TOPO" "$FABRIC_ROUTES" -o plan.json >out 2>&1 || fail "sweep plan: $(cat out)"
# The first uplink, leaf0[5] -- spine0[1], and its veths.
up="$FABRIC_HOST_COUNT"
eval "shaped_link=\$FABRIC_CABLE_${up}_LINK a_ns=\$FABRIC_CABLE_${up}_A_NS a_dev=\$FABRIC_CABLE_${up}_A_DEV"
eval "b_ns=\$FABRIC_CABLE_${up}_B_NS b_dev=\$FABRIC_CABLE_${up}_B_DEV"
[ "$shaped_link" = "leaf0[5] -- spine0[1]" ] || fail "first uplink is '$shaped_link'"

# The plan localises a slow cable there on the simulated fabric too (and `sweep serve
# --fabric sim` flags it).
timeout 60 "$bin" sweep serve "$FABRIC_TOPO" "$FABRIC_ROUTES" --plan plan.json --fabric sim \
  --inject 'leaf0[5]:bw=0.1' --period 1 --max-load 1 --for 2.5 --metrics-file sim.prom 2>sim.log ||
  fail "simulated serve: $(cat sim.log)"
grep -qF "fabricctl_link_finding{link=\"$shaped_link\",subnet=\"subnet0\",tier=\"1-2\",kind=\"bandwidth\"} 1" sim.prom ||
  fail "simulated monitor did not flag the uplink: $(grep finding sim.prom)"
grep -q '^pass 2: ' sim.log || fail "simulated monitor logged no second pass: $(cat sim.log)"

start_fabric_agents

# Probes of 0.3 s; the monitor refuses to start if they would take more than 20% of the
# busiest channel in a 20 s period (its first log line gives the figures).
"$bin" sweep serve "$FABRIC_TOPO" "$FABRIC_ROUTES" --plan plan.json --fabric tcp --agents "$FABRIC_AGENTS" \
  --token-file token --probe-seconds 0.3 --timeout 3 --period "$period" --max-load 0.2 --window 2 \
  --metrics-listen 127.0.0.1:0 --metrics-file monitor.prom --for 240 --json >passes.jsonl 2>serve.log &
serve_pid=$!
pids+=("$serve_pid")
for _ in $(seq 100); do grep -q "metrics on http://" serve.log && break; sleep 0.1; done
url="$(sed -n 's|^sweep serve: metrics on \(http://127\.0\.0\.1:[0-9]*/metrics\)$|\1|p' serve.log)"
[ -n "$url" ] || fail "no metrics address in the log"

scrape() { curl -sf --max-time 5 "$url" >scrape.txt; }
value() { awk -v m="$1" '$1 == m { print $2 }' scrape.txt; }
# wait_for SECONDS CONDITION...: scrapes every second until CONDITION holds; false at the end.
wait_for() {
  local end=$((SECONDS + $1))
  shift
  while [ $SECONDS -lt $end ]; do
    if scrape && "$@"; then return 0; fi
    sleep 1
  done
  return 1
}
passes_at_least() { [ "$(value fabricctl_monitor_passes_total)" -ge "$1" ] 2>/dev/null; }
shaped_flagged() { grep -qF "fabricctl_link_finding{link=\"$shaped_link\",subnet=" scrape.txt; }
no_findings() { ! grep -q '^fabricctl_link_finding{' scrape.txt; }

# 1. After the first pass every link is listed and measured, and none is a culprit.
wait_for $((period * 2 + 10)) passes_at_least 1 || fail "no pass completed: $(cat scrape.txt)"
links="$FABRIC_CABLES"  # 16 host cables + 8 uplinks
[ "$(grep -c '^fabricctl_link_measured{.*} 1$' scrape.txt)" = "$links" ] ||
  fail "not every link measured: $(grep '^fabricctl_link_measured' scrape.txt)"
# Health is the share of passing probe verdicts: on shared veth CPUs single probes cross
# the thresholds now and then, so only the findings (tomography) must be empty here.
[ "$(grep -c '^fabricctl_link_health{' scrape.txt)" = "$links" ] || fail "health: $(grep health scrape.txt)"
no_findings || fail "findings before any shaping: $(grep finding scrape.txt)"
grep -qF "fabricctl_link_measured{link=\"$shaped_link\",subnet=\"subnet0\",tier=\"1-2\"} 1" scrape.txt ||
  fail "uplink labels: $(grep -F "$shaped_link" scrape.txt)"
grep -qF 'fabricctl_link_measured{link="leaf0[1] -- h0[1]",subnet="subnet0",tier="0-1"} 1' scrape.txt ||
  fail "host cable labels: $(grep -F 'h0[1]' scrape.txt)"
[ "$(value fabricctl_monitor_probes_unmeasured)" = 0 ] || fail "unmeasured probes: $(cat scrape.txt)"
if command -v promtool >/dev/null; then promtool check metrics <scrape.txt || fail "promtool rejects the scrape"; fi
code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${url%/metrics}/")"
[ "$code" = 404 ] || fail "GET / answered $code, not 404"

# 2. The uplink shaped to 100 Mb/s (unshaped veth carries Gb/s): flagged within one period.
ip netns exec "$a_ns" tc qdisc add dev "$a_dev" root tbf rate 100mbit burst 32kbit latency 50ms
ip netns exec "$b_ns" tc qdisc add dev "$b_dev" root tbf rate 100mbit burst 32kbit latency 50ms
shaped_at=$SECONDS
# A round already running when the shaping began may still measure the old rate; each
# probe runs once per period after that. The slack covers a round and a scrape.
wait_for $((period + 8)) shaped_flagged || fail "shaped uplink not flagged within a period: $(grep -e finding -e passes scrape.txt)"
echo "flagged $((SECONDS - shaped_at)) s after shaping (period $period s)"
grep -qF "fabricctl_link_finding{link=\"$shaped_link\",subnet=\"subnet0\",tier=\"1-2\",kind=\"bandwidth\"} 1" scrape.txt ||
  fail "finding labels: $(grep finding scrape.txt)"
[ "$(grep -c '^fabricctl_link_finding{' scrape.txt)" = 1 ] || fail "other links flagged: $(grep finding scrape.txt)"
health="$(grep -F "fabricctl_link_health{link=\"$shaped_link\"," scrape.txt | awk '{ print $2 }')"
awk -v h="$health" 'BEGIN { exit !(h < 1) }' || fail "shaped uplink health $health"

# 3. Unshaped: the finding goes within a period.
ip netns exec "$a_ns" tc qdisc del dev "$a_dev" root
ip netns exec "$b_ns" tc qdisc del dev "$b_dev" root
wait_for $((period + 8)) no_findings || fail "finding stays after unshaping: $(grep finding scrape.txt)"

# 4. SIGTERM: the monitor ends the round in flight and exits 0, the textfile is valid.
kill -TERM "$serve_pid"
rc=0
for _ in $(seq 300); do kill -0 "$serve_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$serve_pid" 2>/dev/null && fail "monitor still running 30 s after SIGTERM"
wait "$serve_pid" || rc=$?
[ "$rc" = 0 ] || fail "monitor exit $rc after SIGTERM"
grep -q '^sweep serve: stopped after [0-9]* passes' serve.log || fail "no stop line: $(tail -3 serve.log)"
grep -q '^fabricctl_monitor_passes_total [1-9]' monitor.prom || fail "metrics file: $(head monitor.prom)"
if command -v promtool >/dev/null; then promtool check metrics <monitor.prom || fail "promtool rejects the file"; fi
# One JSON line per completed pass (the finding may come and go within one pass: the
# analysis runs after every round).
python3 - passes.jsonl "$shaped_link" <<'PY' || fail "JSON pass lines: $(cat passes.jsonl)"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) >= 1, lines
assert [l["pass"] for l in lines] == list(range(1, len(lines) + 1)), lines
assert not lines[0]["findings"], lines
assert all(f == "bandwidth " + sys.argv[2] for l in lines for f in l["findings"]), lines
assert all(l["probes"] == lines[0]["probes"] > 0 and l["unmeasured"] == 0 for l in lines), lines
assert all(0 < l["load"] <= 0.2 for l in lines), lines
PY
echo "PASS: always-on monitor ($shaped_link flagged within a ${period} s period when shaped, clear when not)"
