#!/usr/bin/env bash
# CLI test for the failure options every `topo gen` generator takes, and for jellyfish:
# counts, reproducibility, slow rates in the written files, errors, and routing the result.
# Usage: topo_gen_degrade_test.sh <fabricctl> <source-dir>
set -euo pipefail
fabricctl=$1
source "$(dirname "$0")/testlib.sh"
tmp=$work

# The common parameters are listed once, after the generators.
expect_rc 0 "$fabricctl" topo gen --list
[ "$(grep -c 'fail_links \[0\]' out.txt)" -eq 1 ] || fail "fail_links should be listed once"
has out.txt "slow_rate [4xDDR]"
has out.txt "  jellyfish"
expect_rc 0 "$fabricctl" topo gen --list --json
has out.txt '"common_params"'

# k=16 3 tiers: 320 switches, 1,024 endpoints, 2,048 switch cables; 3% of them is 61.
expect_rc 0 "$fabricctl" topo gen fat-tree --set k=16 tiers=3 fail_links=0.03 --json
has out.txt '"links": 3011'
expect_rc 0 "$fabricctl" topo gen fat-tree --set k=16 tiers=3 fail_links=0.03 fail_switches=2 -o "$tmp/a.topo"
has out.txt "318 switches"
expect_rc 0 "$fabricctl" topo gen fat-tree --set k=16 tiers=3 fail_links=0.03 fail_switches=2 -o "$tmp/b.topo"
cmp -s "$tmp/a.topo" "$tmp/b.topo" || fail "the same seed gave different files"
expect_rc 0 "$fabricctl" topo gen fat-tree --set k=16 tiers=3 fail_links=0.03 fail_switches=2 seed=5 -o "$tmp/c.topo"
cmp -s "$tmp/a.topo" "$tmp/c.topo" && fail "another seed gave the same file"

# The degraded tree routes deadlock-free with updn, and with auto.
expect_rc 0 "$fabricctl" route compute "$tmp/a.topo" --engine updn --json
has out.txt '"deadlock_free": true'
has out.txt '"unreachable_pairs": 0'
expect_rc 0 "$fabricctl" route compute "$tmp/a.topo" --engine auto --vls 1 --json
has out.txt '"deadlock_free": true'

# Slow cables: 4xDDR on both ends in the ibnetdiscover and the ibsim file.
expect_rc 0 "$fabricctl" topo gen torus --set dims=4x4 slow_links=5 rate=4xHDR -o "$tmp/t.topo"
[ "$(grep -c '4xDDR' "$tmp/t.topo")" -eq 10 ] || fail "expected 10 port lines at 4xDDR in t.topo"
expect_rc 0 "$fabricctl" topo gen torus --set dims=4x4 slow_links=5 rate=4xHDR -o "$tmp/t.ibsim"
[ "$(grep -c '4xDDR' "$tmp/t.ibsim")" -eq 10 ] || fail "expected 10 port lines at 4xDDR in t.ibsim"

# Jellyfish: connected, one subnet, reproducible.
expect_rc 0 "$fabricctl" topo gen jellyfish --set switches=60 degree=7 hosts=2 seed=3 --json
has out.txt '"switches": 60'
has out.txt '"endpoints": 120'
has out.txt '"links": 330'
[ "$(grep -c '"name":' out.txt)" -eq 1 ] || fail "jellyfish should be one subnet"
expect_rc 0 "$fabricctl" topo gen jellyfish --set switches=60 degree=7 hosts=2 seed=3 fail_links=5 -o "$tmp/j.topo"
expect_rc 0 "$fabricctl" route compute "$tmp/j.topo" --engine updn --json
has out.txt '"deadlock_free": true'

# Errors name the key and the value, exit 2.
expect_rc 2 "$fabricctl" topo gen fat-tree --set fail_links=lots
has err.txt "fat-tree: bad value 'lots' for fail_links"
expect_rc 2 "$fabricctl" topo gen torus --set dims=4x4 fail_switches=16
has err.txt "bad value '16' for fail_switches"
expect_rc 2 "$fabricctl" topo gen torus --set slow_rate=4xWARP
has err.txt "bad value '4xWARP' for slow_rate"
expect_rc 2 "$fabricctl" topo gen jellyfish --set switches=4 degree=4
has err.txt "jellyfish: degree 4 needs at least 5 switches"
echo "topo gen degrade: ok"
