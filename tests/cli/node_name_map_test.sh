#!/usr/bin/env bash
# CLI tests for --node-name-map (infiniband-diags' `0xGUID "name"` file): topo show, topo
# convert, topo diff, check, route compute and route verify name the mapped nodes by the
# map's names and the others as before (topo show and topo diff print names only for
# degraded or differing links: they are checked to accept the map); a malformed map is an error at file:line, exit 2.
# Usage: node_name_map_test.sh FABRICCTL SOURCE_DIR
set -euo pipefail
fabricctl=$1
src=$2
source "$(dirname "$0")/testlib.sh"
dump="$src/tests/data/topo/edr_6sw_96hca_one_ddr.ibnd"

cat >names.map <<'MAP'
# rack A
0x7cfe900300a0b2c0 "leaf-3 (rack A)"
0x7cfe900300a0c1c0 spine-1   # a bare word
MAP
slow_link="leaf-3 (rack A)[34] -- spine-1[16]"

# The slow cable of the dump, named by the map everywhere it is printed.
expect_rc 1 "$fabricctl" check --topology "$dump" --node-name-map names.map
has out.txt "    $slow_link: runs at 4xDDR"
expect_rc 1 "$fabricctl" check --topology "$dump" --node-name-map names.map --json
[ "$(json_get out.txt "['findings'][0]['link']")" = "$slow_link" ] || fail "check --json link"
expect_rc 0 "$fabricctl" topo show "$dump" --node-name-map names.map
# Nodes the map does not name keep their NodeDescription.
expect_rc 0 "$fabricctl" topo convert "$dump" -o named.json --node-name-map names.map
grep -q '"description": "leaf-3 (rack A)"' named.json || fail "converted file lacks the mapped name"
grep -q '"description": "MF0;ib-leaf01:MSB7700/U1"' named.json || fail "unmapped node renamed"
expect_rc 0 "$fabricctl" topo diff "$dump" named.json --node-name-map names.map

# Routes are matched by GUID, so routes of the unnamed topology check against the named one.
expect_rc 0 "$fabricctl" route compute "$dump" -o routes --node-name-map names.map
expect_rc 0 "$fabricctl" route verify "$dump" routes --node-name-map names.map --json
[ "$(json_get out.txt "['sound']")" = True ] || fail "route verify with the map"

# Strict: file:line, the line and a clear message; exit 2 before anything runs.
printf '0x7cfe900300a0b2c0 "a"\nleaf03 "b"\n' >bad.map
expect_rc 2 "$fabricctl" check --topology "$dump" --node-name-map bad.map
has err.txt "fabricctl: bad.map:2: 'leaf03' is not a GUID (expected 0xGUID \"name\")"
has err.txt '  leaf03 "b"'
printf '0x10 "a"\n0x010 "b"\n' >twice.map
expect_rc 2 "$fabricctl" topo show "$dump" --node-name-map twice.map
has err.txt "twice.map:2: GUID 0x0000000000000010 already named on line 1"
expect_rc 2 "$fabricctl" route compute "$dump" --node-name-map missing.map
has err.txt "missing.map"
echo "node_name_map_test: ok"
