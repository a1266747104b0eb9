#!/usr/bin/env bash
# CLI tests for `fabricctl check` on files: the one slow link of a real-shaped dump, routes
# with a credit loop, counter readings over an interval, JSON shape, HTML and Prometheus
# output (promtool when installed), exit codes. Usage: check_test.sh FABRICCTL SOURCE_DIR
set -euo pipefail
fabricctl=$1
src=$2
source "$(dirname "$0")/testlib.sh"
dump="$src/tests/data/topo/edr_6sw_96hca_one_ddr.ibnd"

# The dump of 6 switches and 96 HCAs: exactly the one leaf-spine link at 4xDDR.
expect_rc 1 "$fabricctl" check --topology "$dump"
has out.txt "warning (1)"
has out.txt "    MF0;ib-leaf03:MSB7700/U1[34] -- SwitchIB Mellanox Technologies (0x7cfe900300a0c1c0)[16]: runs at 4xDDR (16 Gb/s), expected 4xEDR (100 Gb/s): 5 parallel links run at 4xEDR"
has out.txt "0 errors, 1 warnings, 0 info"
expect_rc 1 "$fabricctl" check --topology "$dump" --json --html report.html --prom metrics.prom
cp out.txt c.json
[ "$(json_get c.json "['findings'].__len__()")" = 1 ] || fail "one finding"
[ "$(json_get c.json "['findings'][0]['kind']")" = link-rate ] || fail "kind"
[ "$(json_get c.json "['findings'][0]['severity']")" = warning ] || fail "severity"
[ "$(json_get c.json "['findings'][0]['link']")" = "MF0;ib-leaf03:MSB7700/U1[34] -- SwitchIB Mellanox Technologies (0x7cfe900300a0c1c0)[16]" ] || fail "link"
[ "$(json_get c.json "['findings'][0]['evidence']['active']")" = 4xDDR ] || fail "active"
[ "$(json_get c.json "['findings'][0]['evidence']['expected']")" = 4xEDR ] || fail "expected"
[ "$(json_get c.json "['findings'][0]['evidence']['basis']")" = "5 parallel links run at 4xEDR" ] || fail "basis"
[ "$(json_get c.json "['healthy']")" = False ] || fail "healthy"

# HTML: self-contained (nothing fetched), the finding in it.
has report.html "<!DOCTYPE html>"
has report.html "5 parallel links run at 4xEDR"
! grep -qE "(src|href)=['\"]?(https?:)?//" report.html || fail "report.html fetches from the network"
! grep -q "<script" report.html || fail "report.html has scripts"

# Prometheus textfile: rates and expectations per port with link/node/guid/port labels.
has metrics.prom 'fabricctl_check_healthy 0'
has metrics.prom 'fabricctl_check_findings{kind="link-rate",severity="warning"} 1'
has metrics.prom 'fabricctl_check_port_rate_gbps{link="MF0;ib-leaf03:MSB7700/U1[34] -- SwitchIB Mellanox Technologies (0x7cfe900300a0c1c0)[16]",node="MF0;ib-leaf03:MSB7700/U1",guid="0x7cfe900300a0b2c0",port="34"} 16'
has metrics.prom 'fabricctl_check_port_expected_rate_gbps{link="MF0;ib-leaf03:MSB7700/U1[34] -- SwitchIB Mellanox Technologies (0x7cfe900300a0c1c0)[16]",node="MF0;ib-leaf03:MSB7700/U1",guid="0x7cfe900300a0b2c0",port="34",basis="parallel"} 100'
if command -v promtool >/dev/null; then
  promtool check metrics <metrics.prom || fail "promtool rejects metrics.prom"
fi

# Identities a file can show: a LID given to two ports (node002 takes node001's LID 7).
sed -e 's/"node002 HCA-1" lid 8 /"node002 HCA-1" lid 7 /' -e 's/# lid 8 lmc 0/# lid 7 lmc 0/' "$dump" >duplid.ibnd
expect_rc 1 "$fabricctl" check --topology duplid.ibnd
has out.txt "error (1)"
has out.txt "  duplicate-lid"
has out.txt "    node001 HCA-1[1]: LID 7 is answered by 2 ports: node001 HCA-1[1], node002 HCA-1[1]"
# A repeated node GUID: the reader refuses the file, naming both lines.
sed -e 's/caguid=0x248a070300f1a020/caguid=0x248a070300f1a010/' -e 's/"H-248a070300f1a020"/"H-248a070300f1a010"/' "$dump" >dupguid.ibnd
expect_rc 2 "$fabricctl" check --topology dupguid.ibnd
has err.txt "duplicate node"

# Every generator preset and the simulator fabrics: healthy, exit 0.
for g in fat-tree rail supernode dragonfly torus scalex640; do
  "$fabricctl" topo gen "$g" -o "$g.json" >/dev/null
  expect_rc 0 "$fabricctl" check --topology "$g.json"
  has out.txt "healthy: no errors or warnings"
done
for f in ibsim_small.net ibsim_small.ibnd ibsim_extras.ibnd ibsim_example_2sw2path4hca2port.ibnd production_shape.ibnd; do
  expect_rc 0 "$fabricctl" check --topology "$src/tests/data/topo/$f"
done

# The plan: links are expected at the planned rate.
"$fabricctl" topo gen fat-tree --set k=4 tiers=2 rate=4xHDR -o plan.json >/dev/null
"$fabricctl" topo gen fat-tree --set k=4 tiers=2 rate=4xEDR -o actual.json >/dev/null
expect_rc 0 "$fabricctl" check --topology actual.json
expect_rc 1 "$fabricctl" check --topology actual.json --plan plan.json --json
cp out.txt p.json
links=$(python3 -c "import json; print(len(json.load(open('actual.json'))['links']))")
[ "$(json_get p.json "['findings'].__len__()")" = "$links" ] || fail "every link below plan"
[ "$(json_get p.json "['findings'][0]['evidence']['basis']")" = plan ] || fail "plan basis"

# Installed routes: a credit loop (minhop on a torus) is a routes error; sound ones pass.
"$fabricctl" topo gen torus --set dims=4x4 -o torus.json >/dev/null
"$fabricctl" route compute torus.json --engine minhop -o minhop --files json,dump >/dev/null || true
"$fabricctl" route compute torus.json --engine torus -o torus >/dev/null
expect_rc 0 "$fabricctl" check --topology torus.json --routes torus
has out.txt "checked: link-rate, identity, routes"
expect_rc 1 "$fabricctl" check --topology torus.json --routes minhop/opensm-lfts.dump --json
cp out.txt r.json
[ "$(json_get r.json "['findings'][0]['kind']")" = routes ] || fail "routes kind"
[ "$(json_get r.json "['findings'][0]['severity']")" = error ] || fail "routes severity"
[ "$(json_get r.json "['findings'][0]['evidence']['violation']")" = credit-loop ] || fail "credit loop"
# Compared with intended routes: every switch whose table differs.
expect_rc 1 "$fabricctl" check --topology torus.json --routes minhop/opensm-lfts.dump --intended torus/routes.json
has out.txt "installed table differs from the intended one"

# Counters: two readings 10 s apart; symbol errors rose on one port.
cat >before.json <<'JSON'
{"ports": [{"guid": "0x248a070300f1a010", "port": 1, "counters": {"SymbolErrorCounter": 3, "PortXmitData": 1000}},
           {"node": "node002 HCA-1", "port": 1, "counters": {"SymbolErrorCounter": 0}}]}
JSON
cat >after.json <<'JSON'
{"ports": [{"guid": "0x248a070300f1a010", "port": 1, "counters": {"SymbolErrorCounter": 53, "PortXmitData": 9000}},
           {"node": "node002 HCA-1", "port": 1, "counters": {"SymbolErrorCounter": 0}}]}
JSON
expect_rc 1 "$fabricctl" check --topology "$dump" --counters before.json --counters after.json --interval 10 --json --prom c.prom
cp out.txt k.json
[ "$(json_get k.json "['counts']['warning']")" = 2 ] || fail "link-rate + counters"
[ "$(json_get k.json "[\"findings\"][0][\"port\"]")" = "node001 HCA-1[1]" ] || fail "counters port"
[ "$(json_get k.json "['findings'][0]['evidence']['over_threshold']['SymbolErrorCounter']['delta']")" = 50 ] || fail "delta"
has c.prom 'fabricctl_check_port_pma_rate{link="MF0;ib-leaf01:MSB7700/U1[1] -- node001 HCA-1[1]",node="node001 HCA-1",guid="0x248a070300f1a010",port="1",counter="SymbolErrorCounter"} 5'
if command -v promtool >/dev/null; then
  promtool check metrics <c.prom || fail "promtool rejects c.prom"
fi
printf 'SymbolErrorCounter=100\n' >thresholds.txt
expect_rc 1 "$fabricctl" check --topology "$dump" --counters before.json --counters after.json --thresholds thresholds.txt
has out.txt "0 errors, 1 warnings, 0 info"

# XmitWait as a share of the interval: node002's 4xEDR port waited 1.25 s of 10 s.
cat >wait_before.json <<'JSON'
{"ports": [{"node": "node002 HCA-1", "port": 1, "counters": {"PortXmitWait": 1000}}]}
JSON
cat >wait_after.json <<'JSON'
{"ports": [{"node": "node002 HCA-1", "port": 1, "counters": {"PortXmitWait": 3906251000}}]}
JSON
expect_rc 1 "$fabricctl" check --topology "$dump" --counters wait_before.json --counters wait_after.json --interval 10 --prom w.prom
has out.txt "node002 HCA-1[1]: congested: PortXmitWait +3906250000, waiting to send 12.5% of the time (above 5%) in 10 s"
has w.prom 'fabricctl_check_port_xmit_wait_share{link="MF0;ib-leaf01:MSB7700/U1[2] -- node002 HCA-1[1]",node="node002 HCA-1",guid='
printf 'PortXmitWaitShare=0.2\n' >share.txt
expect_rc 1 "$fabricctl" check --topology "$dump" --counters wait_before.json --counters wait_after.json --interval 10 --thresholds share.txt
has out.txt "0 errors, 1 warnings, 0 info"  # the DDR link only
printf '# congestion\nPortXmitWaitShare=5%%\n' >bad_share.txt
expect_rc 2 "$fabricctl" check --topology "$dump" --counters wait_before.json --counters wait_after.json --thresholds bad_share.txt
has err.txt "bad_share.txt:2: PortXmitWaitShare must be a share from 0 to 1 (0.05: 5%), not '5%'"

# Errors: exit 2 with the file and line.
echo '{"ports": [{"guid": "0x1", "port": 1, "counters": {}}]}' >bad.json
expect_rc 2 "$fabricctl" check --topology "$dump" --counters bad.json
has err.txt "bad.json:1: /ports/0/guid: no node of the topology has GUID 0x0000000000000001"
echo '{"ports": [{"guid": "0x248a070300f1a010", "port": 1, "counters": {"SymbolErrors": 1}}]}' >bad2.json
expect_rc 2 "$fabricctl" check --topology "$dump" --counters bad2.json
has err.txt "unknown counter name"
expect_rc 2 "$fabricctl" check --topology missing.ibnd
expect_rc 2 "$fabricctl" check --topology "$dump" --counters a --counters b --counters c
has err.txt "--counters takes one reading, or two"
expect_rc 0 "$fabricctl" check --help
has out.txt "--topology"
echo "check_test: ok"
