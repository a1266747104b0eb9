#!/usr/bin/env bash
# Progress lines on stderr: shown when stderr is a terminal (under util-linux `script`),
# never when stderr is piped or --json is given, and never mixed into stdout's results.
# Usage: progress_test.sh FABRICCTL SOURCE_DIR
set -euo pipefail
fabricctl=$1
source "$(dirname "$0")/testlib.sh"

# Piped: nothing on stderr, results on stdout.
expect_rc 0 "$fabricctl" topo gen fat-tree --set k=8 tiers=3 -o ft.topo
[ ! -s err.txt ] || fail "topo gen wrote to a piped stderr: $(cat err.txt)"
expect_rc 0 "$fabricctl" route compute ft.topo -o routes
[ ! -s err.txt ] || fail "route compute wrote to a piped stderr: $(cat err.txt)"
has out.txt "deadlock-free: yes"
for cmd in "route verify ft.topo routes" "route stats ft.topo routes --permutations 2" \
  "sweep plan ft.topo routes -o plan.json"; do
  expect_rc 0 "$fabricctl" $cmd
  [ ! -s err.txt ] || fail "$cmd wrote to a piped stderr: $(cat err.txt)"
done

command -v script >/dev/null || { echo "progress_test: no util-linux script; terminal case skipped"; exit 0; }
# On a terminal: "command: stage..." lines, each cleared before the results are printed.
on_tty() { script -q -e -c "$*" /dev/null </dev/null >tty.txt 2>&1; }
on_tty "$fabricctl" route compute ft.topo -o routes2
has tty.txt "route compute: routing and verifying..."
has tty.txt $'\x1b[K'
has tty.txt "deadlock-free: yes"
on_tty "$fabricctl" route verify ft.topo routes
has tty.txt "route verify: verifying 1 subnet..."
on_tty "$fabricctl" topo gen fat-tree --set k=8 tiers=3 -o ft2.topo
has tty.txt "topo gen: generating fat-tree..."
on_tty "$fabricctl" sweep run ft.topo routes --fabric sim -o r.json
has tty.txt "sweep run: planning..."
has tty.txt "sweep run: round 1/"
# --json on a terminal: the JSON alone.
on_tty "$fabricctl" route compute ft.topo --json
! grep -q "route compute:" tty.txt || fail "progress with --json: $(cat -v tty.txt | head -3)"
python3 -c "import json,sys; json.loads(open('tty.txt').read().replace('\r',''))" || fail "--json output is not JSON alone"
echo "progress_test: ok"
