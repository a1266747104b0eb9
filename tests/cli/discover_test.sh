#!/usr/bin/env bash
# discover / counters / deploy without hardware: help, input errors with file:line, and
# clear errors (no hang) when there is no umad device or no simulator.
set -euo pipefail
fabricctl="$1"
source "$(dirname "$0")/testlib.sh" # makes and enters $work, removed on exit

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_exit() {  # expect_exit CODE CMD...
  local want="$1"; shift
  set +e; timeout 20 "$@" >out.txt 2>err.txt; local got=$?; set -e
  [[ "$got" == "$want" ]] || { cat out.txt err.txt >&2; fail "exit $got, expected $want: $*"; }
}

expect_exit 0 "$fabricctl" discover --help
grep -q -- "--max-hops" out.txt || fail "discover --help lacks --max-hops"
grep -q -- "--inflight" out.txt || fail "discover --help lacks --inflight"
expect_exit 0 "$fabricctl" counters --help
grep -q -- "--thresholds" out.txt || fail "counters --help lacks --thresholds"
expect_exit 0 "$fabricctl" deploy --help
grep -q -- "--dry-run" out.txt || fail "deploy --help lacks --dry-run"
grep -q -- "Usage: fabricctl deploy \[OPTIONS\] TOPO_OR_ROUTES \[ROUTES\]" out.txt ||
  { cat out.txt >&2; fail "deploy usage line not pinned"; }
expect_exit 2 "$fabricctl" deploy a.topo b c
grep -q "not expected: c" err.txt || { cat err.txt >&2; fail "deploy with three files not refused"; }

# A thresholds file is checked before any MAD is sent.
printf '# thresholds\nSymbolErrorCounter=10\nPortRcvError=5\n' > th.txt
expect_exit 2 "$fabricctl" counters --thresholds th.txt
grep -q "th.txt:3: unknown error counter 'PortRcvError' (did you mean 'PortRcvErrors'?)" err.txt ||
  { cat err.txt >&2; fail "thresholds error not pinned"; }
printf 'LinkDownedCounter=ten\n' > th2.txt
expect_exit 2 "$fabricctl" counters --thresholds th2.txt
grep -q "th2.txt:1: threshold of LinkDownedCounter must be a non-negative integer, not 'ten'" err.txt ||
  fail "bad value not pinned"

expect_exit 2 "$fabricctl" discover --max-hops 0
expect_exit 2 "$fabricctl" deploy --via bogus routes.dump
expect_exit 2 "$fabricctl" deploy missing.topo missing.dump
grep -q "missing.topo" err.txt || fail "deploy does not name the missing file"

if [[ ! -e /sys/class/infiniband_mad ]]; then
  expect_exit 2 "$fabricctl" discover
  grep -q "no InfiniBand device with a umad interface" err.txt || { cat err.txt >&2; fail "no-device error"; }
  # A named device: the same answer, not libibumad's made-up default CA ("mthca0").
  expect_exit 2 "$fabricctl" discover -C nosuch
  grep -q "nosuch:0: no InfiniBand device with a umad interface" err.txt || { cat err.txt >&2; fail "-C nosuch error"; }
fi
umad2sim=/usr/lib/x86_64-linux-gnu/umad2sim/libumad2sim.so
if [[ -e "$umad2sim" ]]; then
  expect_exit 2 env IBSIM_SOCKNAME="fctl-none-$$" LD_PRELOAD="$umad2sim" "$fabricctl" discover
  grep -q "no ibsim simulator with IBSIM_SOCKNAME=fctl-none-$$ is running" err.txt || { cat err.txt >&2; fail "no-sim error"; }
fi
echo "discover CLI tests passed"
