#!/usr/bin/env bash
# CLI tests for `fabricctl manage status` on a state directory (the service itself runs
# under ibsim: tests/routing/manage/manage_ibsim_test.cc), and the service's refusals of
# bad flags. Usage: manage_test.sh FABRICCTL SOURCE_DIR
set -euo pipefail
fabricctl=$1
source "$(dirname "$0")/testlib.sh"

mkdir state
cat > state/status.json <<'JSON'
{"pid": 42, "nodes": 14, "links": 16, "period_seconds": 0.5, "started_unix": 1.0,
 "last_sweep_unix": 0, "sweeps": 12, "changes": 2, "full_reroutes": 1, "blocks_written": 9,
 "last_repair_blocks": 5, "last_repair_seconds": 0.0125, "last_detect_seconds": 0.004,
 "links_down": 1, "links_held_down": 0, "switches_down": 0, "unreachable_lids": 0}
JSON
expect_rc 0 "$fabricctl" manage status --state-dir state
has out.txt "manager pid 42: 14 nodes, 16 links"
has out.txt "last sweep: never; sweeps 12, changes handled 2, full reroutes 1"
has out.txt "down: 1 links (0 held down by damping), 0 switches; unreachable LIDs 0, endpoints cut off 0"
has out.txt "last change: repaired in 12.5 ms (5 LFT blocks written); 9 blocks since start"
expect_rc 0 "$fabricctl" manage status --state-dir state --json
[ "$(json_get out.txt "['changes']")" = 2 ] || fail "changes"

# Unreachable endpoints are a finding.
sed -i 's/"unreachable_lids": 0/"unreachable_lids": 3/' state/status.json
expect_rc 1 "$fabricctl" manage status --state-dir state

# No status file, or not one: an error naming the file.
expect_rc 2 "$fabricctl" manage status --state-dir nowhere
has err.txt "nowhere/status.json"
echo '[1, 2]' > state/status.json
expect_rc 2 "$fabricctl" manage status --state-dir state
has err.txt "state/status.json: not a route manager status file"

# Bad flags are refused before anything is opened.
expect_rc 2 "$fabricctl" manage --period 0
expect_rc 2 "$fabricctl" manage run --sm opensm
expect_rc 2 "$fabricctl" manage --engine nosuch --state-dir state --for 1
has err.txt "nosuch"
echo "manage_test: ok"
