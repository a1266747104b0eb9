#!/usr/bin/env bash
# Live `fabricctl check` under ibsim, every live flag given (-C, -P, --interval, --timeout,
# --retries, --inflight, --no-routes, --json, --prom, --thresholds): a healthy subnet with
# its SM exits 0 with no finding; symbol errors rising during the interval (ibsim's
# PerformanceSet) and a cable unlinked under the installed routes exit 1 and name the
# fault; bad flag values exit 2 with the reason. Prints SKIP and passes without ibsim,
# libumad2sim or opensm. Usage: check_live_ibsim_test.sh FABRICCTL SOURCE_DIR
set -euo pipefail
fabricctl=$1
src=$2
umad2sim=/usr/lib/x86_64-linux-gnu/umad2sim/libumad2sim.so
if ! command -v ibsim >/dev/null || ! command -v opensm >/dev/null || [ ! -e "$umad2sim" ]; then
  echo "SKIP: ibsim, opensm or $umad2sim missing"
  exit 0
fi
source "$(dirname "$0")/testlib.sh"

sock="fctlchk$$"
sim_pid=""
sm_pid=""
stop_sm() {
  if [ -n "$sm_pid" ]; then
    kill "$sm_pid" 2>/dev/null || true
    wait "$sm_pid" 2>/dev/null || true
    sm_pid=""
  fi
}
cleanup() {
  stop_sm
  if [ -n "$sim_pid" ]; then "$src/tools/ibsim/stop-ibsim.sh" "$sim_pid" || true; fi
}
on_exit cleanup

# Runs a command against the simulator, at most 60 s.
on_sim() { timeout -k 2 60 env IBSIM_SOCKNAME="$sock" LD_PRELOAD="$umad2sim" "$@"; }
console() {
  echo "$1" >"$work/sim/console"
  sleep 0.3 # the console has no acknowledgement; let ibsim apply the line
}
# json_findings FILE: one line per finding worse than info, "kind|place|violation".
json_findings() {
  python3 - "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for f in d["findings"]:
    if f["severity"] == "info":
        continue
    place = f.get("link") or f.get("port") or f.get("node") or f.get("fabric") or ""
    print(f"{f['kind']}|{place}|{f['evidence'].get('violation', '')}")
EOF
}

# 2 leaves, 2 spines, 2 hosts a leaf; leaf<l> port 3 to spine0, port 4 to spine1. ibsim
# attaches its clients (fabricctl, opensm) to the first node, leaf0: device ibsim0, port 0.
{
  for l in 0 1; do
    printf 'Switch\t4 "leaf%s"\n[1]\t"host%s-0"[1]\n[2]\t"host%s-1"[1]\n' "$l" "$l" "$l"
    printf '[3]\t"spine0"[%s]\n[4]\t"spine1"[%s]\n\n' "$((l + 1))" "$((l + 1))"
  done
  for s in 0 1; do printf 'Switch\t2 "spine%s"\n[1]\t"leaf0"[%s]\n[2]\t"leaf1"[%s]\n\n' "$s" "$((s + 3))" "$((s + 3))"; done
  for l in 0 1; do
    for h in 0 1; do printf 'Hca\t1 "host%s-%s"\n[1]\t"leaf%s"[%s]\n\n' "$l" "$h" "$l" "$((h + 1))"; done
  done
} >fabric.net
sim_pid=$("$src/tools/ibsim/start-ibsim.sh" -s "$sock" -d "$work/sim" -t 30 fabric.net)

# An SM that keeps running, so that SMInfo is answered: the healthy subnet has no finding.
IBSIM_SOCKNAME="$sock" LD_PRELOAD="$umad2sim" opensm -f "$work/opensm.log" >/dev/null 2>&1 </dev/null &
sm_pid=$!
for _ in $(seq 1 120); do
  if on_sim sminfo 2>/dev/null | grep -q SMINFO_MASTER; then break; fi
  sleep 0.5
done
on_sim sminfo 2>/dev/null | grep -q SMINFO_MASTER || fail "opensm did not become master"

printf '# thresholds\nSymbolErrorCounter=0\n' >th.txt
live=(-C ibsim0 -P 0 --timeout 200 --retries 3 --inflight 16)
check() { on_sim "$fabricctl" check "${live[@]}" "$@"; }

# Healthy: exit 0, no finding at all, the routes read back and judged.
expect_rc 0 check --interval 0.5 --thresholds th.txt --json --prom healthy.prom
cp out.txt healthy.json
[ "$(json_get healthy.json "['findings'].__len__()")" = 0 ] || fail "findings on a healthy subnet"
[ "$(json_get healthy.json "['healthy']")" = True ] || fail "healthy"
[ "$(json_get healthy.json "['source']")" = "live: ibsim0:0" ] || fail "not read through ibsim0 port 0"
python3 -c "import json,sys; d=json.load(open('healthy.json')); sys.exit('routes' not in d['checks_run'])" ||
  fail "routes not checked: $(cat healthy.json)"
has healthy.prom 'fabricctl_check_healthy 1'
has healthy.prom 'fabricctl_check_port_pma_value{'
if command -v promtool >/dev/null; then
  promtool check metrics <healthy.prom || fail "promtool rejects healthy.prom"
fi
# --node-name-map on the live subnet: spine0 by its mapped name in discover's topology file
# and in check's Prometheus labels.
on_sim "$fabricctl" discover -C ibsim0 -P 0 --json >disc.json
guid=$(python3 -c "import json; print([n['guid'] for n in json.load(open('disc.json'))['nodes'] if n['description'] == 'spine0'][0])")
printf '# live test\n%s "core switch A"\n' "$guid" >names.map
on_sim "$fabricctl" discover -C ibsim0 -P 0 --node-name-map names.map -o named.topo >/dev/null ||
  fail "discover --node-name-map"
grep -q '"core switch A"' named.topo || fail "discover -o lacks the mapped name: $(head -20 named.topo)"
! grep -q '"spine0"' named.topo || fail "discover -o kept spine0's NodeDescription"
expect_rc 0 check --interval 0.2 --node-name-map names.map --prom named.prom
has named.prom 'node="core switch A"'
# --no-routes: the tables are not read back, so routes are not among the checks run.
expect_rc 0 check --interval 0.2 --no-routes --json
python3 -c "import json,sys; d=json.load(open('out.txt')); sys.exit('routes' in d['checks_run'])" ||
  fail "--no-routes still checked routes"

# Symbol errors rising on leaf1[3] (to spine0) during the interval: the counter is raised
# again and again while check runs, so the two readings differ whenever they are taken.
raise_symbol_errors() {
  local value=0
  while kill -0 "$1" 2>/dev/null; do
    value=$((value + 5))
    console "PerformanceSet \"leaf1\"[3] PortCounters.SymbolErrorCounter=$value"
  done
}
rc=0
check --interval 2 --thresholds th.txt --json --prom errors.prom >errors.json 2>err.txt &
check_pid=$!
raise_symbol_errors "$check_pid"
wait "$check_pid" || rc=$?
[ "$rc" = 1 ] || { cat errors.json err.txt >&2; fail "exit $rc with rising symbol errors, expected 1"; }
[ "$(json_findings errors.json)" = "counters|leaf1[3]|" ] || { cat errors.json >&2; fail "not the one counters finding"; }
[ "$(json_get errors.json "['findings'][0]['evidence']['over_threshold']['SymbolErrorCounter']['delta']")" -gt 0 ] ||
  fail "no SymbolErrorCounter delta"
has errors.prom 'fabricctl_check_healthy 0'
has errors.prom 'fabricctl_check_findings{kind="counters",severity="warning"} 1'
if command -v promtool >/dev/null; then
  promtool check metrics <errors.prom || fail "promtool rejects errors.prom"
fi
# The same rise under a threshold above it: no finding.
printf 'SymbolErrorCounter=1000000\n' >high.txt
rc=0
check --interval 1 --thresholds high.txt --json >high.json 2>err.txt &
check_pid=$!
raise_symbol_errors "$check_pid"
wait "$check_pid" || rc=$?
[ "$rc" = 0 ] || { cat high.json err.txt >&2; fail "exit $rc under a high threshold, expected 0"; }
[ "$(json_findings high.json)" = "" ] || fail "findings under a high threshold"

# Bad flag values: exit 2 before anything is sent, the reason on stderr.
expect_rc 2 check --interval -1
has err.txt "check: --interval: '-1' is not a number of seconds above 0 and at most 86400"
expect_rc 2 check --interval 0
has err.txt "check: --interval: '0' is not a number of seconds above 0 and at most 86400"
expect_rc 2 check --inflight 0
has err.txt "check: --inflight: Value 0 not in range 1 to 256"
expect_rc 2 check --retries 101
has err.txt "check: --retries: Value 101 not in range 0 to 100"
expect_rc 2 check --timeout 0
has err.txt "check: --timeout: Value 0 not in range 1 to 60000"
expect_rc 2 check --thresholds missing.txt
has err.txt "check: --thresholds: File does not exist: missing.txt"
expect_rc 2 on_sim "$fabricctl" check -C nosuch0
has err.txt "nosuch0:0: no such device (devices: ibsim0)"

# A cable unlinked under the routes: with the SM gone (it would route around the cable),
# the tables still send traffic out of leaf1[3], which has no cable now.
stop_sm
console 'Unlink "leaf1"[3]'
expect_rc 1 check --interval 0.2 --json --prom unlinked.prom
cp out.txt unlinked.json
json_findings unlinked.json >unlinked.txt
has_line unlinked.txt "routes|subnet0|dead-port"
has_line unlinked.txt "sm|subnet|"
# PMA reads of leaf1 and its hosts are routed through the missing cable: they go
# unanswered (collection, counters). Nothing else is found.
[ "$(grep -cv -e '^routes|' -e '^sm|' -e '^collection|' -e '^counters|' unlinked.txt)" = 0 ] ||
  { cat unlinked.txt >&2; fail "findings of other kinds"; }
# The dead entries are those of the two ends of the missing cable.
python3 - unlinked.json <<'EOF2' || fail "dead-port examples do not name leaf1[3] and spine0[2]"
import json, re, sys
d = json.load(open(sys.argv[1]))
dead = [f for f in d["findings"] if f["kind"] == "routes" and f["evidence"]["violation"] == "dead-port"]
texts = [e["text"] for f in dead for e in f["evidence"]["examples"]]
pattern = r"(leaf1 forwards LID \d+ to port 3|spine0 forwards LID \d+ to port 2), which has no cable"
sys.exit(not texts or not all(re.fullmatch(pattern, t) for t in texts))
EOF2
if command -v promtool >/dev/null; then
  promtool check metrics <unlinked.prom || fail "promtool rejects unlinked.prom"
fi
# Without the routes the dead port is not seen; the missing SM still is.
expect_rc 1 check --interval 0.2 --no-routes --json
json_findings out.txt >noroutes.txt
! grep -q '^routes|' noroutes.txt || fail "--no-routes still judged routes"
has_line noroutes.txt "sm|subnet|"
echo "live check CLI tests passed"
