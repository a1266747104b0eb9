#!/usr/bin/env bash
# Hostile routes.json and sweep plans: errors with file, line and JSON path, never a crash;
# plan coverage recomputed, so a thin plan cannot pass a fabric with a link down.
set -euo pipefail
bin=$(realpath "$1")
source "$2/tests/cli/testlib.sh"

# A multi-VL routes.json whose pair_sl holds a deeply nested value: was a stack overflow
# in route stats / verify / diff, deploy and sweep plan.
"$bin" topo gen torus --set dims=3x3 -o tor.json >/dev/null
"$bin" route compute tor.json --engine torus -o r >/dev/null
python3 - <<'PY'
text = open("r/routes.json").read()
key = '"pair_sl": ['
at = text.index(key) + len(key)
open("deep.json", "w").write(text[:at] + "[" * 300000 + "]" * 300000 + "," + text[at:])
text = text.replace('"vls": 2', '"vls": 4294967298', 1)
open("vls.json", "w").write(text)
PY
for cmd in "route stats" "route verify"; do
  expect_rc 2 "$bin" $cmd tor.json deep.json
  has err.txt "JSON nested deeper than 64 levels"
  grep -q "^fabricctl: deep.json:[0-9]*: " err.txt || fail "$cmd: no file:line in $(cat err.txt)"
done
expect_rc 2 "$bin" sweep plan tor.json deep.json -o p.json
has err.txt "deep.json:"
# A number past 32 bits is out of range, not truncated to 2.
expect_rc 2 "$bin" route stats tor.json vls.json
has err.txt "/subnets/0/vls: expected 1..15, got 4294967298"

# Sweep plans: a fat tree routed by ftree, planned in full, then cut to one probe.
"$bin" topo gen fat-tree --set k=4 --set tiers=2 -o ft.json >/dev/null
"$bin" route compute ft.json --engine ftree -o rft >/dev/null
"$bin" sweep plan ft.json rft -o plan.json >/dev/null
python3 - <<'PY'
import json
plan = json.load(open("plan.json"))
one = dict(plan, schedule=plan["schedule"][:1])  # the full plan's coverage figures stay
json.dump(one, open("one.json", "w"), indent=1)
far = dict(plan, schedule=[[a, b, {0: 4294967295}.get(r, 100000000 + r)] for a, b, r in plan["schedule"]])
json.dump(far, open("far.json", "w"))
dup = dict(plan, schedule=plan["schedule"][:1] * 2)
json.dump(dup, open("dup.json", "w"), indent=1)
bad = dict(plan, channels="all")
json.dump(bad, open("bad.json", "w"), indent=1)
PY
# One probe reported full coverage and `healthy` with a link down elsewhere.
expect_rc 1 "$bin" sweep run ft.json rft --plan one.json --inject "ft-h07[1]:down" -o rep.json
has out.txt "plan: 1 probes in 1 rounds"
has out.txt "coverage: 32 channels, 4 covered, 0 at target"
has out.txt "not healthy: no findings, but 28 channels crossed by no probe"
[ "$(json_get rep.json '["healthy"]')" = False ] || fail "report says healthy"
[ "$(json_get rep.json '["plan"]["channels_covered"]')" = 4 ] || fail "report copies the file's coverage"
# Round numbers far apart are renumbered: same rounds as the planner's.
expect_rc 0 "$bin" sweep run ft.json rft --plan far.json -o rep.json
has out.txt "plan: 24 probes in 6 rounds"
# ... and with real agents they no longer crash the runner (nothing listens: unmeasured).
printf 'fuzz-free-cli-token-0123456789ab\n' >tok
chmod 600 tok
for h in 0 1 2 3 4 5 6 7; do echo "ft-h0$h 127.0.0.1:1"; done >agents.txt
expect_rc 1 "$bin" sweep run ft.json rft --fabric tcp --plan far.json --agents agents.txt --token-file tok \
  --timeout 0.2 -o rep.json
has out.txt "24 unmeasured"
expect_rc 2 "$bin" sweep run ft.json rft --plan dup.json -o rep.json
has_line err.txt "fabricctl: dup.json:18: /schedule/1: duplicate of /schedule/0"
expect_rc 2 "$bin" sweep run ft.json rft --plan bad.json -o rep.json
has_line err.txt 'fabricctl: bad.json:2: /channels: expected an unsigned integer 0..18446744073709551615, got "all"'
echo PASS
