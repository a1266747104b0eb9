#!/usr/bin/env bash
# CLI test for the failure options every `topo gen` generator takes, and for jellyfish:
# counts, reproducibility, slow rates in the written files, errors, and routing the result.
# Usage: topo_gen_degrade_test.sh <fabricctl> <source-dir>
set -euo pipefail
fabricctl=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_exit() {
  local want=$1; shift
  local got=0
  "$@" >"$tmp/out" 2>"$tmp/err" || got=$?
  [ "$got" -eq "$want" ] || { cat "$tmp/out" "$tmp/err" >&2; fail "'$*' exited $got, expected $want"; }
}
contains() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks '$2'"; }; }

# The common parameters are listed once, after the generators.
expect_exit 0 "$fabricctl" topo gen --list
[ "$(grep -c 'fail_links \[0\]' "$tmp/out")" -eq 1 ] || fail "fail_links should be listed once"
contains "$tmp/out" "slow_rate [4xDDR]"
contains "$tmp/out" "  jellyfish"
expect_exit 0 "$fabricctl" topo gen --list --json
contains "$tmp/out" '"common_params"'

# k=16 3 tiers: 320 switches, 1,024 endpoints, 2,048 switch cables; 3% of them is 61.
expect_exit 0 "$fabricctl" topo gen fat-tree --set k=16 tiers=3 fail_links=0.03 --json
contains "$tmp/out" '"links": 3011'
expect_exit 0 "$fabricctl" topo gen fat-tree --set k=16 tiers=3 fail_links=0.03 fail_switches=2 -o "$tmp/a.topo"
contains "$tmp/out" "318 switches"
expect_exit 0 "$fabricctl" topo gen fat-tree --set k=16 tiers=3 fail_links=0.03 fail_switches=2 -o "$tmp/b.topo"
cmp -s "$tmp/a.topo" "$tmp/b.topo" || fail "the same seed gave different files"
expect_exit 0 "$fabricctl" topo gen fat-tree --set k=16 tiers=3 fail_links=0.03 fail_switches=2 seed=5 -o "$tmp/c.topo"
cmp -s "$tmp/a.topo" "$tmp/c.topo" && fail "another seed gave the same file"

# The degraded tree routes deadlock-free with updn, and with auto.
expect_exit 0 "$fabricctl" route compute "$tmp/a.topo" --engine updn --json
contains "$tmp/out" '"deadlock_free": true'
contains "$tmp/out" '"unreachable_pairs": 0'
expect_exit 0 "$fabricctl" route compute "$tmp/a.topo" --engine auto --vls 1 --json
contains "$tmp/out" '"deadlock_free": true'

# Slow cables: 4xDDR on both ends in the ibnetdiscover and the ibsim file.
expect_exit 0 "$fabricctl" topo gen torus --set dims=4x4 slow_links=5 rate=4xHDR -o "$tmp/t.topo"
[ "$(grep -c '4xDDR' "$tmp/t.topo")" -eq 10 ] || fail "expected 10 port lines at 4xDDR in t.topo"
expect_exit 0 "$fabricctl" topo gen torus --set dims=4x4 slow_links=5 rate=4xHDR -o "$tmp/t.ibsim"
[ "$(grep -c '4xDDR' "$tmp/t.ibsim")" -eq 10 ] || fail "expected 10 port lines at 4xDDR in t.ibsim"

# Jellyfish: connected, one subnet, reproducible.
expect_exit 0 "$fabricctl" topo gen jellyfish --set switches=60 degree=7 hosts=2 seed=3 --json
contains "$tmp/out" '"switches": 60'
contains "$tmp/out" '"endpoints": 120'
contains "$tmp/out" '"links": 330'
[ "$(grep -c '"name":' "$tmp/out")" -eq 1 ] || fail "jellyfish should be one subnet"
expect_exit 0 "$fabricctl" topo gen jellyfish --set switches=60 degree=7 hosts=2 seed=3 fail_links=5 -o "$tmp/j.topo"
expect_exit 0 "$fabricctl" route compute "$tmp/j.topo" --engine updn --json
contains "$tmp/out" '"deadlock_free": true'

# Errors name the key and the value, exit 2.
expect_exit 2 "$fabricctl" topo gen fat-tree --set fail_links=lots
contains "$tmp/err" "fat-tree: bad value 'lots' for fail_links"
expect_exit 2 "$fabricctl" topo gen torus --set dims=4x4 fail_switches=16
contains "$tmp/err" "bad value '16' for fail_switches"
expect_exit 2 "$fabricctl" topo gen torus --set slow_rate=4xWARP
contains "$tmp/err" "bad value '4xWARP' for slow_rate"
expect_exit 2 "$fabricctl" topo gen jellyfish --set switches=4 degree=4
contains "$tmp/err" "jellyfish: degree 4 needs at least 5 switches"
echo "topo gen degrade: ok"
