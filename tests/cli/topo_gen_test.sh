#!/usr/bin/env bash
# CLI test for `fabricctl topo gen`: listing, help, summaries, files, exit codes, messages.
# Usage: topo_gen_test.sh <fabricctl> <source-dir>
set -euo pipefail
fabricctl=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_exit CODE CMD...: runs CMD, keeps stdout/stderr in $tmp/out and $tmp/err.
expect_exit() {
  local want=$1; shift
  local got=0
  "$@" >"$tmp/out" 2>"$tmp/err" || got=$?
  [ "$got" -eq "$want" ] || { cat "$tmp/out" "$tmp/err" >&2; fail "'$*' exited $got, expected $want"; }
}
contains() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks '$2'"; }; }

# --list and --help name every generator and its parameters.
expect_exit 0 "$fabricctl" topo gen --list
for g in fat-tree rail supernode dragonfly torus scalex640 scalex-cluster; do contains "$tmp/out" "  $g"; done
contains "$tmp/out" "oversubscription [1]"
contains "$tmp/out" "preset [nvl72]"
expect_exit 0 "$fabricctl" topo gen --help
contains "$tmp/out" "scalex-cluster"
contains "$tmp/out" "super_nodes [16]"
expect_exit 0 "$fabricctl" topo gen --list --json
contains "$tmp/out" '"name": "dragonfly"'

# Counts: the classic k=8 fat tree, both --set spellings.
expect_exit 0 "$fabricctl" topo gen fat-tree --set k=8 tiers=3
contains "$tmp/out" "fat-tree: 208 nodes (80 switches, 128 endpoints), 384 links, 1 subnets"
contains "$tmp/out" "not written"
expect_exit 0 "$fabricctl" topo gen fat-tree --set k=8 --set tiers=3
contains "$tmp/out" "(80 switches, 128 endpoints)"

# scalex-cluster: 10,240 accelerators, 16 scale-up subnets and one scale-out subnet.
expect_exit 0 "$fabricctl" topo gen scalex-cluster --json
contains "$tmp/out" '"endpoints": 10240'
contains "$tmp/out" '"switches": 2400'
[ "$(grep -c '"name": "scale-up/sn' "$tmp/out")" -eq 16 ] || fail "expected 16 scale-up subnets"
[ "$(grep -c '"name": "scale-out"' "$tmp/out")" -eq 1 ] || fail "expected one scale-out subnet"

# Writing a file: it exists afterwards and the summary says so.
expect_exit 0 "$fabricctl" topo gen supernode --set preset=cm384 -o "$tmp/cm384.topo"
[ -f "$tmp/cm384.topo" ] || fail "cm384.topo not written"
contains "$tmp/out" "wrote $tmp/cm384.topo"
contains "$tmp/out" "(448 switches, 384 endpoints)"
expect_exit 0 "$fabricctl" topo gen torus --set dims=4x4 -o "$tmp/t.json"
[ -f "$tmp/t.json" ] || fail "t.json not written"

# The written files read back as the same fabric (JSON keeps the labels, so subnet names).
expect_exit 0 "$fabricctl" topo gen scalex-cluster --set super_nodes=2 -o "$tmp/c.json"
expect_exit 0 "$fabricctl" topo gen scalex-cluster --set super_nodes=2 -o "$tmp/c.topo"
expect_exit 0 "$fabricctl" topo show "$tmp/c.json" --json
contains "$tmp/out" '"endpoints": 1280'
contains "$tmp/out" '"switches": 260'
contains "$tmp/out" '"name": "scale-up/sn1"'
contains "$tmp/out" '"name": "scale-out"'
expect_exit 0 "$fabricctl" topo diff "$tmp/c.json" "$tmp/c.topo"
# Same parameters, same file.
expect_exit 0 "$fabricctl" topo gen scalex-cluster --set super_nodes=2 -o "$tmp/c2.topo"
cmp -s "$tmp/c.topo" "$tmp/c2.topo" || fail "topo gen is not deterministic"

# Errors: exit 2, one line naming the problem, with a suggestion where one fits.
expect_exit 2 "$fabricctl" topo gen fat-tre
contains "$tmp/err" "fabricctl: unknown topology generator 'fat-tre' (did you mean 'fat-tree'?)"
expect_exit 2 "$fabricctl" topo gen fat-tree --set kk=8
contains "$tmp/err" "fabricctl: fat-tree: unknown parameter 'kk' (did you mean 'k'?)"
expect_exit 2 "$fabricctl" topo gen fat-tree --set tiers=4
contains "$tmp/err" "fabricctl: fat-tree: bad value '4' for tiers: expected an integer in 2..3"
expect_exit 2 "$fabricctl" topo gen fat-tree --set k
contains "$tmp/err" "fabricctl: --set expects key=value, not 'k'"
expect_exit 2 "$fabricctl" topo gen --set k=8 fat-tree
contains "$tmp/err" "fabricctl: --set expects key=value, not 'fat-tree' (give NAME before --set)"
expect_exit 2 "$fabricctl" topo gen fat-tree --set k=8 --set k=16
contains "$tmp/err" "fabricctl: --set k is given twice"
expect_exit 2 "$fabricctl" topo gen
contains "$tmp/err" "NAME is required"
expect_exit 2 "$fabricctl" topo gen torus --format xml -o "$tmp/x"
contains "$tmp/err" "--format xml: expected auto, ibnetdiscover, json or ibsim"
[ ! -e "$tmp/x" ] || fail "a failed run must not write its output"
expect_exit 2 "$fabricctl" topo gen torus -o "$tmp/no/such/dir/t.topo"

# -o - writes the fabric alone to standard output; the summary goes to standard error.
expect_exit 0 "$fabricctl" topo gen fat-tree --set k=4 tiers=2 -o "$tmp/ft4.topo"
expect_exit 0 "$fabricctl" topo gen fat-tree --set k=4 tiers=2 -o -
cmp -s "$tmp/out" "$tmp/ft4.topo" || fail "-o - wrote more than the fabric to standard output"
contains "$tmp/err" "wrote standard output"
expect_exit 0 "$fabricctl" topo gen fat-tree --set k=4 tiers=2 -o - --format json --json
head -c 1 "$tmp/out" | grep -q '{' || fail "-o - --format json: not JSON"
contains "$tmp/err" '"output": "-"'
if grep -q '"generator"' "$tmp/out"; then fail "the --json summary went to standard output with -o -"; fi

# Unknown names and values in every generator give the generator's name and the choices.
expect_exit 2 "$fabricctl" topo gen supernode --set preset=nvl73
contains "$tmp/err" "fabricctl: supernode: bad value 'nvl73' for preset: expected"
contains "$tmp/err" "(did you mean 'nvl72'?)"
expect_exit 2 "$fabricctl" topo gen torus --set dims=4x4x4x4
contains "$tmp/err" "fabricctl: torus: bad value '4x4x4x4' for dims: expected 2 or 3 sizes in 1..64 joined by 'x', such as 4x4x4"
expect_exit 2 "$fabricctl" topo gen fat-tree --set k=99999999999999999999999
contains "$tmp/err" "fabricctl: fat-tree: bad value '99999999999999999999999' for k: expected an integer in 4..254"
expect_exit 2 "$fabricctl" topo gen scalex-cluster --set super_nodes=201
contains "$tmp/err" "fabricctl: scalex-cluster: scale-out: a 3-tier tree of radix 80"
expect_exit 2 "$fabricctl" topo gen rail --set rate=4xFOO
contains "$tmp/err" "fabricctl: rail: bad value '4xFOO' for rate: expected width and speed such as 4xNDR, 2xXDR, 4xHDR"
# Parameters past memory: refused at once with the sizes, nothing written.
expect_exit 2 "$fabricctl" topo gen dragonfly --set groups=10000 routers=128 global=127 hosts=0 -o "$tmp/huge.topo"
contains "$tmp/err" "fabricctl: dragonfly: the fabric would have 1280000 nodes and 326400000 ports"
[ ! -e "$tmp/huge.topo" ] || fail "a refused fabric was written"
# Command-line errors name the command and where to read more, exit 2.
expect_exit 2 "$fabricctl" topo gen fat-tree --bogus
contains "$tmp/err" "fabricctl: topo gen: The following argument was not expected: --bogus"
contains "$tmp/err" "Run 'fabricctl topo gen --help' for more information."
expect_exit 2 "$fabricctl" topo
contains "$tmp/err" "fabricctl: topo: A subcommand is required; commands: gen, show, convert, diff"
expect_exit 2 "$fabricctl" topo show
contains "$tmp/err" "fabricctl: topo show: FILE is required"

echo "topo_gen_test: ok"
