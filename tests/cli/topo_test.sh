#!/usr/bin/env bash
# CLI tests for `fabricctl topo show / convert / diff`: outputs, exit codes and pinned
# error messages. Usage: topo_test.sh FABRICCTL SOURCE_DIR
set -euo pipefail
fabricctl=$1
source "$(dirname "$0")/testlib.sh"

# The plan: two switches joined twice, a host on each; h2 trained at 4xNDR though it also
# enables 1x and HDR (so it is not degraded).
cat >plan.json <<'EOF'
{
"format": "fabricctl-topology",
"version": 1,
"nodes": [
{"description": "sw1", "device_id": "0xd2f0", "guid": "0x0000000000000100", "labels": {"level": "scale-out", "tier": 1}, "ports": [
  [0, "0x0000000000000100", 1, 0, "Active", "LinkUp", "", "", "", "", "", ""],
  [1, "0x0000000000000100", 0, 0, "Active", "LinkUp", "4x", "4x", "4x", "NDR", "NDR", "NDR"],
  [2, "0x0000000000000100", 0, 0, "Down", "Polling", "", "", "", "", "", ""],
  [3, "0x0000000000000100", 0, 0, "Active", "LinkUp", "4x", "4x", "4x", "NDR", "NDR", "NDR"],
  [4, "0x0000000000000100", 0, 0, "Active", "LinkUp", "4x", "4x", "4x", "NDR", "NDR", "NDR"]],
 "system_guid": "0x0000000000000000", "type": "switch", "vendor_id": "0x2c9"},
{"description": "sw2", "device_id": "0xd2f0", "guid": "0x0000000000000200", "labels": {"level": "scale-out", "tier": 1}, "ports": [
  [0, "0x0000000000000200", 2, 0, "Active", "LinkUp", "", "", "", "", "", ""],
  [1, "0x0000000000000200", 0, 0, "Active", "LinkUp", "4x", "4x", "4x", "NDR", "NDR", "NDR"],
  [2, "0x0000000000000200", 0, 0, "Down", "Polling", "", "", "", "", "", ""],
  [3, "0x0000000000000200", 0, 0, "Active", "LinkUp", "4x", "4x", "4x", "NDR", "NDR", "NDR"],
  [4, "0x0000000000000200", 0, 0, "Active", "LinkUp", "4x", "4x", "4x", "NDR", "NDR", "NDR"]],
 "system_guid": "0x0000000000000000", "type": "switch", "vendor_id": "0x2c9"},
{"description": "h1", "device_id": "0x101b", "guid": "0x0000000000001001", "labels": {"tier": 0}, "ports": [
  [0, "0x0000000000000000", 0, 0, "Down", "Polling", "", "", "", "", "", ""],
  [1, "0x0000000000001002", 3, 0, "Active", "LinkUp", "4x", "4x", "4x", "NDR", "NDR", "NDR"]],
 "system_guid": "0x0000000000001000", "type": "ca", "vendor_id": "0x2c9"},
{"description": "h2", "device_id": "0x101b", "guid": "0x0000000000002001", "labels": {"tier": 0}, "ports": [
  [0, "0x0000000000000000", 0, 0, "Down", "Polling", "", "", "", "", "", ""],
  [1, "0x0000000000002002", 4, 0, "Active", "LinkUp", "4x", "1x,4x", "1x,4x", "NDR", "HDR,NDR", "HDR,NDR"]],
 "system_guid": "0x0000000000002000", "type": "ca", "vendor_id": "0x2c9"}
],
"links": [
[0, 3, 1, 3],
[0, 4, 1, 4],
[2, 1, 0, 1],
[3, 1, 1, 1]
]
}
EOF

# --- topo show ------------------------------------------------------------------------
expect_rc 0 "$fabricctl" topo show plan.json
has_line out.txt "nodes                4  (2 switches, 2 endpoints, 0 routers)"
has_line out.txt "ports               10  physical, 8 connected"
has_line out.txt "links                4"
has_line out.txt "  NAME       LEVEL      SWITCHES  ENDPOINT PORTS"
has_line out.txt "  scale-out  scale-out         2               2"
has_line out.txt "     1         2          0"
has_line out.txt "  4xNDR   400      4"
has_line out.txt "degraded links       0  (none below what both ends enable and support)"

expect_rc 0 "$fabricctl" topo show --json plan.json
for line in '"nodes": 4,' '"switches": 2,' '"endpoints": 2,' '"links": 4,' '"degraded_links": [],' \
            '"name": "scale-out",'; do
  grep -qF -- "$line" out.txt || { cat out.txt >&2; fail "show --json lacks $line"; }
done

# A link trained at 1xHDR where both ends can do 4xNDR is degraded.
sed 's/\[1, "0x0000000000002002", 4, 0, "Active", "LinkUp", "4x", "1x,4x", "1x,4x", "NDR"/[1, "0x0000000000002002", 4, 0, "Active", "LinkUp", "1x", "1x,4x", "1x,4x", "HDR"/' \
  plan.json >slow.json
expect_rc 0 "$fabricctl" topo show slow.json
has_line out.txt "degraded links       1"
has_line out.txt "  LINK             ACTIVE  BEST"
has_line out.txt "  sw2[1] -- h2[1]  1xHDR   4xNDR"
expect_rc 0 "$fabricctl" topo show --json slow.json
grep -qF '"active": "1xHDR",' out.txt || fail "degraded link missing from --json"

# Standard input, with the format given.
expect_rc 0 "$fabricctl" topo show --format json - <plan.json
has_line out.txt "links                4"

# --- topo convert -----------------------------------------------------------------------
expect_rc 0 "$fabricctl" topo convert plan.json -o copy.json
has_line err.txt "fabricctl: wrote copy.json (4 nodes, 4 links)"
expect_rc 0 "$fabricctl" topo convert copy.json -o copy2.json
cmp copy.json copy2.json || fail "convert is not stable"
expect_rc 0 "$fabricctl" topo convert copy.json --format json -o copy3.txt
cmp copy.json copy3.txt || fail "--format json did not write JSON"
expect_rc 0 "$fabricctl" topo diff plan.json copy.json
has_line out.txt "identical: every planned node and link is there as planned"
expect_rc 2 "$fabricctl" topo convert plan.json -o "$work/no/such/dir/out.json"
grep -q "^fabricctl: .*no/such/dir/out.json" err.txt || { cat err.txt >&2; fail "write error not reported"; }

# --- topo diff --------------------------------------------------------------------------
# Found: h1 replaced by a host without a GUID, sw1[4]--sw2[4] and sw2[1]--h2[1] swapped
# into sw1[4]--h2[1] and sw2[4]--sw2[1], and sw1[3]--sw2[3] trained at 2x.
sed -e 's/\[0, 4, 1, 4\],/[0, 4, 3, 1],/' -e 's/\[3, 1, 1, 1\]/[1, 4, 1, 1]/' -e 's/"h1"/"h1-new"/' \
    -e 's/"0x0000000000001001"/"0x0000000000000000"/' \
    -e '/"sw[12]"/,/^ "system_guid"/s/\[3, \("0x0*[12]00"\), 0, 0, "Active", "LinkUp", "4x"/[3, \1, 0, 0, "Active", "LinkUp", "2x"/' \
    plan.json >found.json
expect_rc 1 "$fabricctl" topo diff plan.json found.json
has_line out.txt "matched 3 nodes (0 by description)"
has_line out.txt "DIFFERENCE    WHERE                       DETAIL"
has_line out.txt "missing node  h1 (ca 0x0000000000001001)  1 planned link"
has_line out.txt "extra node    h1-new (ca)                 1 link"
has_line out.txt "miswired      sw1[4] -- sw2[4]            sw1[4] -> h2[1]; sw2[4] -> sw2[1]"
has_line out.txt "miswired      sw2[1] -- h2[1]             sw2[1] -> sw2[4]; h2[1] -> sw1[4]"
has_line out.txt "below plan    sw1[3] -- sw2[3]            planned 4xNDR, active 2xNDR"
has_line out.txt "5 differences: 1 missing node, 1 extra node, 2 miswired, 1 below plan"
# A node description with an escape sequence reaches the terminal with '?' for control bytes.
sed 's/"h1-new"/"h1\\u001b[2Jnew"/' found.json >found-esc.json
expect_rc 1 "$fabricctl" topo diff plan.json found-esc.json
has out.txt "extra node    h1?[2Jnew (ca)"
if grep -q $'\x1b' out.txt; then fail "topo diff printed an escape byte"; fi

expect_rc 1 "$fabricctl" topo diff --json plan.json found.json
for line in '"identical": false,' '"kind": "miswired",' '"kind": "below_plan",' '"actual_peer": "h2[1]",' \
            '"planned": "4xNDR"'; do
  grep -qF -- "$line" out.txt || { cat out.txt >&2; fail "diff --json lacks $line"; }
done

# Without GUIDs on the plan side nodes are matched by description.
sed 's/"guid": "0x0000000000001001"/"guid": "0x0"/' plan.json >plan-noguid.json
expect_rc 0 "$fabricctl" topo diff plan-noguid.json plan.json
has_line out.txt "matched 4 nodes (1 by description)"

# --- generated fabrics and ibnetdiscover files -----------------------------------------
source_dir=$2
expect_rc 0 "$fabricctl" topo gen fat-tree --set k=8 --set tiers=3 -o ft.json
expect_rc 0 "$fabricctl" topo show ft.json
has_line out.txt "nodes              208  (80 switches, 128 endpoints, 0 routers)"
has_line out.txt "links              384"
has_line out.txt "  scale-out  scale-out        80             128"
has_line out.txt "     3        16          0"
expect_rc 0 "$fabricctl" topo convert ft.json -o ft.ibnd
expect_rc 0 "$fabricctl" topo show ft.ibnd
has_line out.txt "nodes              208  (80 switches, 128 endpoints, 0 routers)"
# ibnetdiscover text carries no labels, but the cabling and rates must survive.
expect_rc 0 "$fabricctl" topo diff ft.json ft.ibnd
has_line out.txt "matched 208 nodes (0 by description)"
expect_rc 0 "$fabricctl" topo convert ft.ibnd -o ft2.json
expect_rc 0 "$fabricctl" topo diff ft2.json ft.json
# One cable unplugged: the first link line after "links": [.
sed '/^"links": \[/{n;d}' ft.json >ft-cut.json
expect_rc 1 "$fabricctl" topo diff ft.json ft-cut.json
has_line out.txt "1 difference: 1 missing link"

expect_rc 0 "$fabricctl" topo show "$source_dir/tests/data/topo/ibsim_small.ibnd"
has_line out.txt "nodes                6  (3 switches, 3 endpoints, 0 routers)"
has_line out.txt "links                8"

# --- bad input: exit 2 and a message with the location --------------------------------
expect_rc 2 "$fabricctl" topo show missing.json
has_line err.txt "fabricctl: missing.json: cannot open: No such file or directory"

printf '{\n"format": "fabricctl-topology",\n"version": 1,\n"nodes": [,\n' >syntax.json
expect_rc 2 "$fabricctl" topo show syntax.json
has_line err.txt "fabricctl: syntax.json:4: JSON syntax error at byte 59: syntax error while parsing value - unexpected ','; expected '[', '{', or a literal"
has_line err.txt '  "nodes": [,'
has_line err.txt '            ^'

sed 's/"version": 1/"version": 2/' plan.json >v2.json
expect_rc 2 "$fabricctl" topo diff plan.json v2.json
has_line err.txt "fabricctl: v2.json: /version: unsupported version 2, this fabricctl reads version 1"

sed 's/\[3, 1, 1, 1\]/[3, 1, 9, 1]/' plan.json >dangling.json
expect_rc 2 "$fabricctl" topo show dangling.json
has_line err.txt "fabricctl: dangling.json:32: /links/3/2: node 9 does not exist (there are 4 nodes)"

sed 's/"guid": "0x0000000000000200"/"guid": "0x0000000000000100"/' plan.json >dup.json
expect_rc 2 "$fabricctl" topo convert dup.json -o never.json
has_line err.txt "fabricctl: dup.json:12: /nodes/1/guid: duplicate node GUID 0x0000000000000100, also /nodes/0"
[ ! -e never.json ] || fail "convert wrote output for bad input"

sed '0,/"Polling", "", "", "", "", "", ""\],/s//"Polling", "", "", "", "", ""],/' plan.json >short.json
expect_rc 2 "$fabricctl" topo show short.json
grep -qF "fabricctl: short.json:5: /nodes/0/ports/2: expected a port array of 12 values" err.txt || { cat err.txt >&2; fail "short port"; }

expect_rc 2 "$fabricctl" topo show --format xml plan.json
grep -qF -- "--format: xml not in {auto,ibnetdiscover,json,ibsim}" err.txt || { cat err.txt >&2; fail "--format check"; }
expect_rc 2 "$fabricctl" topo diff plan.json
expect_rc 2 "$fabricctl" topo convert plan.json

echo "topo_test: ok"
