#!/usr/bin/env bash
# CLI tests for `fabricctl route compute` and `route diff`: outputs, exit codes, files and
# pinned error messages. Usage: route_test.sh FABRICCTL SOURCE_DIR
set -euo pipefail
fabricctl=$1
source "$(dirname "$0")/testlib.sh"

"$fabricctl" topo gen fat-tree --set k=8 tiers=2 -o ft.topo >/dev/null
"$fabricctl" topo gen torus --set dims=4x4 -o torus.topo >/dev/null

# ftree on a 2-tier fat tree: sound, JSON summary keys, only routes.json by default.
expect_rc 0 "$fabricctl" route compute ft.topo --engine ftree -o r1 --json
cp out.txt r1.json
[ "$(json_get r1.json "['engine']")" = ftree ] || fail "engine"
[ "$(json_get r1.json "['deadlock_free']")" = True ] || fail "deadlock_free"
[ "$(json_get r1.json "['unreachable_pairs']")" = 0 ] || fail "unreachable_pairs"
[ "$(json_get r1.json "['max_hops']")" = 4 ] || fail "max_hops"
[ "$(json_get r1.json "['vls']")" = 1 ] || fail "vls"
[ "$(json_get r1.json "['subnets'][0]['engine']")" = ftree ] || fail "subnet engine"
[ "$(json_get r1.json "['subnets'][0]['switches']")" = 12 ] || fail "switches"
[ "$(json_get r1.json "['subnets'][0]['endpoints']")" = 32 ] || fail "endpoints"
for key in max_channel_load seconds write_seconds; do json_get r1.json "['$key']" >/dev/null || fail "no $key"; done
[ -f r1/routes.json ] || fail "routes.json not written"
[ ! -e r1/opensm-lfts.dump ] || fail "dump written without --files dump"

# The OpenSM dump on request, in dump_fts' layout; diff of identical tables is 0.
expect_rc 0 "$fabricctl" route compute ft.topo --engine ftree -o r2 --files json,dump
has r2/opensm-lfts.dump "  Lid  Out   Destination"
has r2/opensm-lfts.dump "valid lids dumped "
expect_rc 0 "$fabricctl" route diff r1 r2
has out.txt "same: 12 switches, identical LFTs"
expect_rc 0 "$fabricctl" route diff r1/routes.json r2/opensm-lfts.dump

# Another engine changes entries: exit 1, counts in text and JSON.
expect_rc 0 "$fabricctl" route compute ft.topo --engine minhop -o r3
# Durations for people: a routing this small takes milliseconds, not "0.000 s".
grep -Eq "^routed 1 subnet of ft.topo with --engine minhop in [0-9]+\.[0-9]+ ms, verified in [0-9]+\.[0-9]+ ms$" out.txt ||
  fail "durations: $(head -1 out.txt)"
grep -Eq "^wrote r3 in [0-9]+\.[0-9]+ (ms|s)$" out.txt || fail "write duration: $(tail -1 out.txt)"
expect_rc 1 "$fabricctl" route diff r1 r3
has out.txt "switches differ:"
expect_rc 1 "$fabricctl" route diff r1 r3 --json
[ "$(json_get out.txt "['same']")" = False ] || fail "diff json same"

# A torus: ftree declines with a reason; the chain falls back to updn; minhop has a credit loop.
expect_rc 2 "$fabricctl" route compute torus.topo --engine ftree
has err.txt "fabricctl: subnet subnet0: no engine of 'ftree' could route it:"
has err.txt "ftree not applicable: 't-x00-y00' (tier 1) is cabled to 't-x01-y00' (tier 1): not a fat tree"
expect_rc 0 "$fabricctl" route compute torus.topo --engine ftree,updn
has out.txt "fallback after ftree not applicable"
has out.txt "deadlock-free: yes; unreachable pairs: 0"
expect_rc 1 "$fabricctl" route compute torus.topo --engine minhop
has out.txt "deadlock-free: NO"
has out.txt "credit loop in subnet subnet0:"

# --no-verify: the summary's own checks stand in (and still see minhop's credit loop).
expect_rc 1 "$fabricctl" route compute torus.topo --engine minhop --no-verify
has out.txt "checked (--no-verify)"
has out.txt "deadlock-free: NO"
expect_rc 0 "$fabricctl" route compute ft.topo --no-verify --json
[ "$(json_get out.txt "['verified']")" = False ] || fail "verified"
[ "$(json_get out.txt "['deadlock_free']")" = True ] || fail "no-verify deadlock_free"

# --one-pass: verified tables, nue says so; a value it cannot read is refused.
expect_rc 0 "$fabricctl" route compute torus.topo --engine nue --vls 1 --one-pass --json
[ "$(json_get out.txt "['deadlock_free']")" = True ] || fail "one-pass deadlock_free"
has out.txt "one pass"
expect_rc 2 "$fabricctl" route compute torus.topo --one-pass=maybe
has err.txt "Could not convert: --one-pass = maybe"

# Errors with suggestions and locations.
expect_rc 2 "$fabricctl" route compute ft.topo --engine fre
has err.txt "fabricctl: unknown routing engine 'fre'; did you mean 'ftree'? (engines: auto, minhop, updn, ftree"
expect_rc 2 "$fabricctl" route compute ft.topo --engine scale-upp=ftree
has err.txt "engine selector 'scale-upp' matches no subnet"
printf '0x0000000000000001\nnot-a-guid\n' >roots.txt
expect_rc 2 "$fabricctl" route compute ft.topo --engine updn --root-guid-file roots.txt
has err.txt "fabricctl: roots.txt:2: expected one GUID per line, like 0x0002c9030000abcd"
sed '5s/.*/0x0001 1x1 garbage/' r2/opensm-lfts.dump >bad.dump
expect_rc 2 "$fabricctl" route diff r2/opensm-lfts.dump bad.dump
has err.txt "fabricctl: bad.dump:5: expected an output port number 0..254 after the LID"
expect_rc 2 "$fabricctl" route diff r1 missing-dir

# One run's files are one set: a run into a used directory removes the files of the earlier
# set it does not write, so an old 2-VL sl-table.txt is not applied to new 1-VL dumps.
expect_rc 0 "$fabricctl" route compute torus.topo --engine torus -o set --files json,dump
[ -f set/sl-table.txt ] || fail "torus routes without sl-table.txt"
expect_rc 0 "$fabricctl" route compute torus.topo --engine updn -o set --files dump
[ "$(ls -A set | tr '\n' ' ')" = "opensm-lfts.dump routes.manifest " ] || fail "left in set/: $(ls -A set)"
expect_rc 0 "$fabricctl" route verify torus.topo set
has out.txt "1 VL used"
# Readers refuse a mixed or incomplete directory and say which file.
cp r2/opensm-lfts.dump set/opensm-lfts.old.dump
expect_rc 2 "$fabricctl" route verify torus.topo set
has err.txt "fabricctl: set/opensm-lfts.old.dump: not in set/routes.manifest: the directory mixes route files of different runs"
expect_rc 2 "$fabricctl" route diff set r2
has err.txt "set/opensm-lfts.old.dump: not in set/routes.manifest"
rm set/opensm-lfts.old.dump set/routes.manifest
expect_rc 2 "$fabricctl" route stats torus.topo set
has err.txt "fabricctl: set: no routes.manifest: not a complete route set"
expect_rc 0 "$fabricctl" route verify torus.topo set/opensm-lfts.dump

# A writer killed mid-write (-9): every reader refuses the directory, and the next run
# removes the temporary file it left and writes a complete set.
"$fabricctl" topo gen torus --set dims=10x10x10 -o big.topo >/dev/null
expect_rc 0 "$fabricctl" route compute ft.topo --engine ftree -o killed --files json,dump
"$fabricctl" route compute big.topo --engine minhop --no-verify --files dump -o killed >/dev/null 2>&1 &
writer=$!
seen=""
for _ in $(seq 1 12000); do
  seen=$(find killed -name '.fabricctl-tmp.*' -size +1M | head -1)
  [ -n "$seen" ] && break
  kill -0 "$writer" 2>/dev/null || break
  sleep 0.01
done
[ -n "$seen" ] || fail "no temporary file of the big write seen"
kill -9 "$writer"
wait "$writer" 2>/dev/null || true
[ ! -e killed/routes.manifest ] || fail "a manifest survived the interrupted write"
expect_rc 2 "$fabricctl" route verify ft.topo killed
has err.txt "fabricctl: killed: no routes.manifest: not a complete route set"
expect_rc 2 "$fabricctl" route stats ft.topo killed
expect_rc 2 "$fabricctl" route trace ft.topo killed 0x0 0x1
expect_rc 2 "$fabricctl" route diff killed r2
has err.txt "fabricctl: killed: no routes.manifest"
expect_rc 0 "$fabricctl" route compute ft.topo --engine ftree -o killed --files dump
[ "$(ls -A killed | tr '\n' ' ')" = "opensm-lfts.dump routes.manifest " ] || fail "left in killed/: $(ls -A killed)"
expect_rc 0 "$fabricctl" route diff killed r2

# A root GUID file naming a GUID that is not a switch of the topology is an error.
printf '# roots\n0x0002c9030000abcd\n' >roots.txt
expect_rc 2 "$fabricctl" route compute ft.topo --engine updn --root-guid-file roots.txt
has err.txt "fabricctl: roots.txt:2: root GUID 0x0002c9030000abcd is not a node of the topology"

# An OpenSM dump of routes on several VLs comes with a note: not for OpenSM's file engine.
"$fabricctl" topo gen torus --set dims=4x4x4 -o torus.topo >/dev/null
expect_rc 0 "$fabricctl" route compute torus.topo --engine dfsssp --files json,dump -o torus-routes
has out.txt "note: subnet subnet0: opensm-lfts.dump is for inspection and for fabricctl (with sl-table.txt), not for OpenSM's file engine"
expect_rc 0 "$fabricctl" route compute torus.topo --engine dfsssp --files json -o torus-json
! grep -q "not for OpenSM's file engine" out.txt || fail "note without a dump"

echo "route CLI tests passed"
