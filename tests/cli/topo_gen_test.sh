#!/usr/bin/env bash
# CLI test for `fabricctl topo gen`: listing, help, summaries, files, exit codes, messages.
# Usage: topo_gen_test.sh <fabricctl> <source-dir>
set -euo pipefail
fabricctl=$1
source "$(dirname "$0")/testlib.sh" # makes and enters $work, removed on exit

fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_exit CODE CMD...: runs CMD, keeps stdout/stderr in $work/out and $work/err.
expect_exit() {
  local want=$1; shift
  local got=0
  "$@" >"$work/out" 2>"$work/err" || got=$?
  [ "$got" -eq "$want" ] || { cat "$work/out" "$work/err" >&2; fail "'$*' exited $got, expected $want"; }
}
contains() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks '$2'"; }; }

# --list and --help name every generator and its parameters.
expect_exit 0 "$fabricctl" topo gen --list
for g in fat-tree rail supernode dragonfly torus scalex640 scalex-cluster; do contains "$work/out" "  $g"; done
contains "$work/out" "oversubscription [1]"
contains "$work/out" "preset [nvl72]"
expect_exit 0 "$fabricctl" topo gen --help
contains "$work/out" "scalex-cluster"
contains "$work/out" "super_nodes [16]"
expect_exit 0 "$fabricctl" topo gen --list --json
contains "$work/out" '"name": "dragonfly"'

# Counts: the classic k=8 fat tree, both --set spellings.
expect_exit 0 "$fabricctl" topo gen fat-tree --set k=8 tiers=3
contains "$work/out" "fat-tree: 208 nodes (80 switches, 128 endpoints), 384 links, 1 subnets"
contains "$work/out" "not written"
expect_exit 0 "$fabricctl" topo gen fat-tree --set k=8 --set tiers=3
contains "$work/out" "(80 switches, 128 endpoints)"

# scalex-cluster: 10,240 accelerators, 16 scale-up subnets and one scale-out subnet.
expect_exit 0 "$fabricctl" topo gen scalex-cluster --json
contains "$work/out" '"endpoints": 10240'
contains "$work/out" '"switches": 2400'
[ "$(grep -c '"name": "scale-up/sn' "$work/out")" -eq 16 ] || fail "expected 16 scale-up subnets"
[ "$(grep -c '"name": "scale-out"' "$work/out")" -eq 1 ] || fail "expected one scale-out subnet"

# Writing a file: it exists afterwards and the summary says so.
expect_exit 0 "$fabricctl" topo gen supernode --set preset=cm384 -o "$work/cm384.topo"
[ -f "$work/cm384.topo" ] || fail "cm384.topo not written"
contains "$work/out" "wrote $work/cm384.topo"
contains "$work/out" "(448 switches, 384 endpoints)"
expect_exit 0 "$fabricctl" topo gen torus --set dims=4x4 -o "$work/t.json"
[ -f "$work/t.json" ] || fail "t.json not written"

# The written files read back as the same fabric (JSON keeps the labels, so subnet names).
expect_exit 0 "$fabricctl" topo gen scalex-cluster --set super_nodes=2 -o "$work/c.json"
expect_exit 0 "$fabricctl" topo gen scalex-cluster --set super_nodes=2 -o "$work/c.topo"
expect_exit 0 "$fabricctl" topo show "$work/c.json" --json
contains "$work/out" '"endpoints": 1280'
contains "$work/out" '"switches": 260'
contains "$work/out" '"name": "scale-up/sn1"'
contains "$work/out" '"name": "scale-out"'
expect_exit 0 "$fabricctl" topo diff "$work/c.json" "$work/c.topo"
# Same parameters, same file.
expect_exit 0 "$fabricctl" topo gen scalex-cluster --set super_nodes=2 -o "$work/c2.topo"
cmp -s "$work/c.topo" "$work/c2.topo" || fail "topo gen is not deterministic"

# Errors: exit 2, one line naming the problem, with a suggestion where one fits.
expect_exit 2 "$fabricctl" topo gen fat-tre
contains "$work/err" "fabricctl: unknown topology generator 'fat-tre' (did you mean 'fat-tree'?)"
expect_exit 2 "$fabricctl" topo gen fat-tree --set kk=8
contains "$work/err" "fabricctl: fat-tree: unknown parameter 'kk' (did you mean 'k'?)"
expect_exit 2 "$fabricctl" topo gen fat-tree --set tiers=4
contains "$work/err" "fabricctl: fat-tree: bad value '4' for tiers: expected an integer in 2..3"
expect_exit 2 "$fabricctl" topo gen fat-tree --set k
contains "$work/err" "fabricctl: --set expects key=value, not 'k'"
expect_exit 2 "$fabricctl" topo gen --set k=8 fat-tree
contains "$work/err" "fabricctl: --set expects key=value, not 'fat-tree' (give NAME before --set)"
expect_exit 2 "$fabricctl" topo gen fat-tree --set k=8 --set k=16
contains "$work/err" "fabricctl: --set k is given twice"
expect_exit 2 "$fabricctl" topo gen
contains "$work/err" "NAME is required"
expect_exit 2 "$fabricctl" topo gen torus --format xml -o "$work/x"
contains "$work/err" "--format xml: expected auto, ibnetdiscover, json or ibsim"
[ ! -e "$work/x" ] || fail "a failed run must not write its output"
expect_exit 2 "$fabricctl" topo gen torus -o "$work/no/such/dir/t.topo"

# -o - writes the fabric alone to standard output; the summary goes to standard error.
expect_exit 0 "$fabricctl" topo gen fat-tree --set k=4 tiers=2 -o "$work/ft4.topo"
expect_exit 0 "$fabricctl" topo gen fat-tree --set k=4 tiers=2 -o -
cmp -s "$work/out" "$work/ft4.topo" || fail "-o - wrote more than the fabric to standard output"
contains "$work/err" "wrote standard output"
expect_exit 0 "$fabricctl" topo gen fat-tree --set k=4 tiers=2 -o - --format json --json
head -c 1 "$work/out" | grep -q '{' || fail "-o - --format json: not JSON"
contains "$work/err" '"output": "-"'
if grep -q '"generator"' "$work/out"; then fail "the --json summary went to standard output with -o -"; fi

# Unknown names and values in every generator give the generator's name and the choices.
expect_exit 2 "$fabricctl" topo gen supernode --set preset=nvl73
contains "$work/err" "fabricctl: supernode: bad value 'nvl73' for preset: expected"
contains "$work/err" "(did you mean 'nvl72'?)"
expect_exit 2 "$fabricctl" topo gen torus --set dims=4x4x4x4
contains "$work/err" "fabricctl: torus: bad value '4x4x4x4' for dims: expected 2 or 3 sizes in 1..64 joined by 'x', such as 4x4x4"
expect_exit 2 "$fabricctl" topo gen fat-tree --set k=99999999999999999999999
contains "$work/err" "fabricctl: fat-tree: bad value '99999999999999999999999' for k: expected an integer in 4..254"
expect_exit 2 "$fabricctl" topo gen scalex-cluster --set super_nodes=201
contains "$work/err" "fabricctl: scalex-cluster: scale-out: a 3-tier tree of radix 80"
expect_exit 2 "$fabricctl" topo gen rail --set rate=4xFOO
contains "$work/err" "fabricctl: rail: bad value '4xFOO' for rate: expected width and speed such as 4xNDR, 2xXDR, 4xHDR"
# Parameters past memory: refused at once with the sizes, nothing written.
expect_exit 2 "$fabricctl" topo gen dragonfly --set groups=10000 routers=128 global=127 hosts=0 -o "$work/huge.topo"
contains "$work/err" "fabricctl: dragonfly: the fabric would have 1280000 nodes and 326400000 ports"
[ ! -e "$work/huge.topo" ] || fail "a refused fabric was written"
# Command-line errors name the command and where to read more, exit 2.
expect_exit 2 "$fabricctl" topo gen fat-tree --bogus
contains "$work/err" "fabricctl: topo gen: The following argument was not expected: --bogus"
contains "$work/err" "Run 'fabricctl topo gen --help' for more information."
expect_exit 2 "$fabricctl" topo
contains "$work/err" "fabricctl: topo: A subcommand is required; commands: gen, show, convert, diff"
expect_exit 2 "$fabricctl" topo show
contains "$work/err" "fabricctl: topo show: FILE is required"

echo "topo_gen_test: ok"
