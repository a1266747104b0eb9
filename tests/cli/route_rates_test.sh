#!/usr/bin/env bash
# CLI tests for cable rates in routing and for the OpenSM hand-off of multi-VL routes: the
# busiest channel and the worst load per capacity in `route compute` and `route stats`, and
# `deploy --via opensm` refusing routes that need more than one VL.
# Usage: route_rates_test.sh FABRICCTL SOURCE_DIR
set -euo pipefail
fabricctl=$1
source "$(dirname "$0")/testlib.sh"

"$fabricctl" topo gen fat-tree --set k=8 tiers=2 -o ft.topo >/dev/null
# One leaf-to-spine cable trained at 4xSDR (8 Gb/s) among 4xNDR ones (400 Gb/s): its line in
# the leaf's section and the matching one in the spine's.
python3 - <<'PY' || fail "could not slow a cable"
import re
lines = open("ft.topo").read().split("\n")
def sections():
    here = None
    for i, line in enumerate(lines):
        if line.startswith("Switch"):
            here = re.search(r'"(S-[0-9a-f]+)"', line).group(1)
        yield i, here, line
leaf, port, spine, spine_port = next(
    (here, *re.match(r'\[(\d+)\]\t"(S-[0-9a-f]+)"\[(\d+)\]', line).groups())
    for i, here, line in sections() if here and re.search(r'"ft-l2-.*4xNDR$', line))
ends = {(leaf, f'[{port}]\t"{spine}"[{spine_port}]'), (spine, f'[{spine_port}]\t"{leaf}"[{port}]')}
changed = 0
for i, here, line in sections():
    if any(here == s and line.startswith(t) for s, t in ends):
        lines[i] = line.replace("4xNDR", "4xSDR")
        changed += 1
assert changed == 2, changed
open("slow.topo", "w").write("\n".join(lines))
PY

# One rate: the text says nothing of capacity; JSON has the figure, equal to the routes.
expect_rc 0 "$fabricctl" route compute ft.topo --engine minhop
if grep -q "capacity\|load/cap" out.txt; then fail "per-capacity figures shown with one rate"; fi
expect_rc 0 "$fabricctl" route compute ft.topo --engine minhop --json
cp out.txt uniform.json
[ "$(json_get uniform.json "['max_load_per_capacity'] == d['max_channel_load']")" = True ] || fail "uniform JSON"
[ "$(json_get uniform.json "['subnets'][0]['max_load_per_capacity'] == d['subnets'][0]['max_channel_load']")" = True ] ||
  fail "uniform subnet JSON"

# A slow cable: both figures, in text and JSON; rate-aware minhop and updn keep the worst
# load per capacity below half of what the rate-blind tables (routed for ft.topo) give on the
# same cabling: 28 routes over a 1/50 share.
for engine in minhop updn; do
  expect_rc 0 "$fabricctl" route compute ft.topo --engine $engine -o blind-$engine
  expect_rc 0 "$fabricctl" route stats slow.topo blind-$engine --permutations 0 --json
  blind=$(json_get out.txt "['max_load_per_capacity']")
  expect_rc 0 "$fabricctl" route compute slow.topo --engine $engine
  has out.txt "load/cap"
  grep -Eq "max channel load [0-9]+ \([0-9.]+ per capacity\)" out.txt || fail "$engine: text summary: $(cat out.txt)"
  expect_rc 0 "$fabricctl" route compute slow.topo --engine $engine --json -o r-$engine
  cp out.txt slow-$engine.json
  per_cap=$(json_get slow-$engine.json "['max_load_per_capacity']")
  max_load=$(json_get slow-$engine.json "['max_channel_load']")
  python3 -c "import sys; sys.exit(0 if $max_load <= $per_cap < $blind / 2 else 1)" ||
    fail "$engine: max_load_per_capacity $per_cap (max_channel_load $max_load, rate-blind $blind)"
  [ "$(json_get slow-$engine.json "['deadlock_free']")" = True ] || fail "$engine: deadlock_free"
done
# route stats: both figures and the per-capacity bound.
expect_rc 0 "$fabricctl" route stats slow.topo r-minhop --permutations 0
has out.txt "  per capacity     max "
expect_rc 0 "$fabricctl" route stats slow.topo r-minhop --permutations 0 --json
cp out.txt stats.json
[ "$(json_get stats.json "['rates_differ']")" = True ] || fail "stats rates_differ"
python3 -c "
import json; d = json.load(open('stats.json')); c = d['subnets'][0]['channel_load']
assert c['max_per_capacity'] >= c['max'], c
assert c['lower_bound_per_capacity'] >= c['lower_bound'], c
assert c['max_per_capacity'] >= c['lower_bound_per_capacity'], c
assert d['max_load_per_capacity'] == c['max_per_capacity'], d
" || fail "stats per-capacity figures"
expect_rc 0 "$fabricctl" route stats ft.topo r-minhop --permutations 0
if grep -q "per capacity" out.txt; then fail "stats: per-capacity line with one rate"; fi

# Multi-VL routes never reach OpenSM's file engine: refused with exit 2, nothing written.
"$fabricctl" topo gen torus --set dims=4x4 -o torus.topo >/dev/null
expect_rc 0 "$fabricctl" route compute torus.topo --engine torus -o tor --files json,dump
[ -f tor/sl-table.txt ] || fail "torus routes without sl-table.txt"
has out.txt "not for OpenSM's file engine"
head -1 tor/opensm-lfts.dump | grep -q "engine torus, 2 VLs: LFTs only" || fail "dump header: $(head -1 tor/opensm-lfts.dump)"
for routes in tor tor/routes.json tor/opensm-lfts.dump; do
  expect_rc 2 "$fabricctl" deploy torus.topo $routes --via opensm -o dout
  has err.txt "refusing to hand these routes to OpenSM: subnet subnet0 routed by torus on 2 VLs."
  has err.txt "route with --vls 1"
  has err.txt "fabricctl deploy\` (without --via)"
  [ ! -e dout ] || fail "deploy --via opensm wrote $(ls dout) for multi-VL routes ($routes)"
done
# One VL: handed over as before.
expect_rc 0 "$fabricctl" route compute torus.topo --engine updn -o one --files json,dump
if grep -q "OpenSM's file engine" out.txt; then fail "1-VL dump labelled as not for OpenSM"; fi
expect_rc 0 "$fabricctl" deploy torus.topo one --via opensm -o dout
has out.txt "opensm -R file -U dout/opensm-lfts.dump"
[ -f dout/opensm-lfts.dump ] || fail "no dump handed to OpenSM"
# Whole destinations per port: on the EDR file a leaf with one 4xDDR cable among 11 at
# 4xEDR sends its 24 hosts' routes to 72 destinations; within 168 per capacity its EDR
# cables hold 7 destinations each and the DDR one 1 (78), within less 67. The cut bound
# spreads them as if divisible: 155. `route stats` shows both.
edr="$2/tests/data/topo/edr_6sw_96hca_one_ddr.ibnd"
expect_rc 0 "$fabricctl" route compute "$edr" --engine ftree -o edr
expect_rc 0 "$fabricctl" route stats "$edr" edr --permutations 0
has out.txt "with whole destinations per port: 168.0"
expect_rc 0 "$fabricctl" route stats "$edr" edr --permutations 0 --json
step=$(json_get out.txt "['subnets'][0]['channel_load']['step_bound_per_capacity']")
python3 -c "import sys; sys.exit(0 if abs($step - 168) < 1e-9 else 1)" || fail "step bound per capacity $step"
[ "$(json_get out.txt "['subnets'][0]['channel_load']['lower_bound_per_capacity'] < 156")" = True ] || fail "cut bound per capacity"
echo "route_rates_test: ok"
