#!/usr/bin/env bash
# CLI tests for `fabricctl route verify`, `route stats` and `route trace`: exit codes, the
# printed credit loop, JSON keys, pinned error messages. Usage: route_check_test.sh FABRICCTL SOURCE_DIR
set -euo pipefail
fabricctl=$1
source "$(dirname "$0")/testlib.sh"

"$fabricctl" topo gen torus --set dims=4x4 -o torus.topo >/dev/null
"$fabricctl" topo gen fat-tree --set k=8 tiers=2 -o ft.topo >/dev/null
"$fabricctl" route compute torus.topo --engine minhop -o minhop --files json,dump >/dev/null || true
"$fabricctl" route compute torus.topo --engine torus -o torus >/dev/null
"$fabricctl" route compute ft.topo --engine ftree -o ftree >/dev/null

# minhop on a 4x4 torus: a credit loop, printed as switch:port channels that close on the
# first one. (Which loop is found first depends on minhop's balancing, so only its form is
# pinned; tests/routing/verifier_test.cc pins exact cycles on hand-made tables.)
expect_rc 1 "$fabricctl" route verify torus.topo minhop
loop="$(grep -oE "^credit-loop: credit loop in subnet subnet0: t-x0[0-3]-y0[0-3]:[2-5]( -> t-x0[0-3]-y0[0-3]:[2-5])+$" out.txt | head -1)"
[[ -n "$loop" ]] || { cat out.txt >&2; fail "no credit loop printed as switch:port channels"; }
channels="${loop#*subnet0: }"
[[ "${channels%% -> *}" == "${channels##* -> }" ]] || fail "credit loop does not close: $channels"
has out.txt "NOT sound: 1 violation"
# The same from the OpenSM-format dump.
expect_rc 1 "$fabricctl" route verify torus.topo minhop/opensm-lfts.dump
has out.txt "t-x00-y00:2 -> t-x01-y00:2"
expect_rc 1 "$fabricctl" route verify torus.topo minhop --json
cp out.txt v.json
[ "$(json_get v.json "['sound']")" = False ] || fail "sound"
[ "$(json_get v.json "['cdg_cycles']")" = 1 ] || fail "cdg_cycles"
[ "$(json_get v.json "['pairs']")" = 240 ] || fail "pairs"
[ "$(json_get v.json "['violations'][0]['cycle'][0]['switch']")" = t-x00-y00 ] || fail "cycle switch"
[ "$(json_get v.json "['violations'][0]['cycle'][0]['port']")" = 2 ] || fail "cycle port"

# The torus engine: sound with 2 VLs.
expect_rc 0 "$fabricctl" route verify torus.topo torus
has out.txt "subnet0: 240 pairs, 0 unreachable, 0 in loops, 0 through endpoints, 0 dead entries; CDG"
has out.txt "2 VLs used"
has out.txt "sound: every pair reachable, no loops, deadlock-free"

# A broken table: drop one LFT entry (switch LID 1, destination LID 4) from the dump and
# fix the section's entry count, so the reader accepts it and the verifier must find it.
python3 - minhop/opensm-lfts.dump broken.dump <<'PY'
import re, sys
lines, out, state = open(sys.argv[1]).read().split("\n"), [], 0
for line in lines:
    if state == 0 and "switch Lid 1 guid" in line: state = 1
    elif state == 1 and line.startswith("0x0004 "): state = 2; continue
    elif state == 2 and line.rstrip().endswith("valid lids dumped"):
        line = re.sub(r"^\d+", lambda m: str(int(m.group()) - 1), line); state = 3
    out.append(line)
assert state == 3, state
open(sys.argv[2], "w").write("\n".join(out))
PY
expect_rc 1 "$fabricctl" route verify torus.topo broken.dump
has out.txt "unreachable: t-x00-y00-h0[1] -> t-x01-y00-h0[1] (LID 4): t-x00-y00 has no LFT entry for LID 4"

# Errors: exit 2 with the file named.
expect_rc 2 "$fabricctl" route verify torus.topo nosuchdir
expect_rc 2 "$fabricctl" route verify nosuch.topo torus
expect_rc 2 "$fabricctl" route verify ft.topo torus  # routes of another fabric
expect_rc 2 "$fabricctl" route verify torus.topo torus --format foo
has err.txt "fabricctl: unknown topology format 'foo' (auto, ibnetdiscover, json, ibsim)"
expect_rc 0 "$fabricctl" route verify torus.topo torus --format ibnetdiscover

# stats: exact edge forwarding index of ftree on a 2-tier k=8 fat tree (32 hosts, 4 per leaf,
# 4 uplinks: each carries 4 x 28 / 4 = 28 routes), JSON keys.
expect_rc 0 "$fabricctl" route stats ft.topo ftree --json --seed 5 --permutations 20
cp out.txt s.json
[ "$(json_get s.json "['subnets'][0]['channel_load']['max']")" = 28 ] || fail "max load"
[ "$(json_get s.json "['subnets'][0]['channel_load']['lower_bound']")" = 28 ] || fail "lower bound"
[ "$(json_get s.json "['subnets'][0]['hops']['max']")" = 4 ] || fail "hops"
[ "$(json_get s.json "['subnets'][0]['vls_used']")" = 1 ] || fail "vls_used"
[ "$(json_get s.json "['deadlock_free']")" = True ] || fail "deadlock_free"
[ "$(json_get s.json "['seed']")" = 5 ] || fail "seed"
python3 -c "import json; d=json.load(open('s.json')); b=d['subnets'][0]['effective_bisection_bandwidth']; assert 0 < b <= 1, b"
expect_rc 0 "$fabricctl" route stats torus.topo torus
has out.txt "VLs              2 declared, 2 used, deadlock-free"
has out.txt "eff. bisection"

# trace: by description, LID, GUID; ports and VLs; errors pinned.
expect_rc 0 "$fabricctl" route trace torus.topo torus t-x00-y00-h0 t-x02-y03
has out.txt "From t-x00-y00-h0[1] to t-x02-y03[0] (LID 29), subnet subnet0, SL 0"
has out.txt "[1] t-x00-y00-h0[1] -> t-x00-y00[1]  VL 0"
has out.txt "delivered in 4 hops"
expect_rc 0 "$fabricctl" route trace torus.topo torus lid:2 29 --json
cp out.txt t.json
[ "$(json_get t.json "['end']")" = delivered ] || fail "trace end"
[ "$(json_get t.json "['hops'][0]['from']")" = t-x00-y00-h0 ] || fail "trace from"
expect_rc 1 "$fabricctl" route trace torus.topo broken.dump t-x00-y00-h0 t-x01-y00-h0
has out.txt "broken (no-route): t-x00-y00 has no LFT entry for LID 4"
expect_rc 2 "$fabricctl" route trace torus.topo torus nosuch t-x02-y03
has err.txt "'nosuch' is not a node description, GUID (0x...) or LID"

# Node descriptions with terminal control sequences are printed with '?' for control bytes.
"$fabricctl" topo convert torus.topo -o torus.json >/dev/null 2>&1
sed 's/"t-x01-y00"/"t-x01\\u001b]0;pwned\\u0007-y00"/' torus.json >torus-esc.json
expect_rc 0 "$fabricctl" route compute torus-esc.json --engine torus -o esc
expect_rc 0 "$fabricctl" route trace torus-esc.json esc t-x00-y00-h0 t-x01-y00-h0
has out.txt "-> t-x01?]0;pwned?-y00["
if grep -q $'[\x1b\x07]' out.txt; then fail "route trace printed a control byte"; fi
echo ok
