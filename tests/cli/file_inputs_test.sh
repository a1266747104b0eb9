#!/usr/bin/env bash
# Every file input of fabricctl against odd files (empty, blank, a directory, a FIFO nobody
# writes to, /dev/zero, NUL bytes, bytes that are not UTF-8, terminal escapes, a 1 MB line,
# a missing file): each must end at once with exit 2 and one message that names the file,
# holds no raw control byte and no huge echo, and never says "internal error".
set -euo pipefail
bin=$(realpath "$1")
source "$2/tests/cli/testlib.sh"

"$bin" topo gen fat-tree --set k=4 --set tiers=2 -o ft.json >/dev/null
"$bin" topo gen torus --set dims=3x3 -o tor.json >/dev/null
"$bin" route compute ft.json --engine ftree -o rft >/dev/null
"$bin" sweep plan ft.json rft -o plan.json >/dev/null

printf 'file-inputs-cli-token-0123456789\n' >tok
chmod 600 tok
mkdir odd odd/dir
: >odd/empty
printf '\n  \n# only a comment\n' >odd/blank
printf '# x\n\0abc\n' >odd/nul
printf '\xff\xfe\xc3\x28 \xed\xa0\x80\n' >odd/badutf8
printf '\x1b[31mRED\x1b]0;title\x07\x9b2J \xc2\x9b2J\n' >odd/ctrl
head -c 1048576 /dev/zero | tr '\0' A >odd/longline
mkfifo odd/fifo
odd_files=(odd/empty odd/blank odd/nul odd/badutf8 odd/ctrl odd/longline odd/dir odd/fifo /dev/zero odd/missing)

# @ stands for the odd file.
slots=(
  "topo show @"
  "topo show --format json @"
  "topo show --format ibsim @"
  "topo convert @ -o out.json"
  "topo diff ft.json @"
  "route compute @ --files none"
  "route compute ft.json --engine updn --root-guid-file @ --files none"
  "route verify ft.json @"
  "route stats ft.json @ --permutations 0"
  "route diff @ rft"
  "route trace ft.json @ ft-h00 ft-h01"
  "sweep plan ft.json @ -o p.json"
  "sweep run ft.json rft --plan @ -o rep.json"
  "sweep run ft.json rft --fabric tcp --agents @ --token-file tok -o rep.json"
  "deploy ft.json @ --via opensm -o dout"
)
for slot in "${slots[@]}"; do
  for file in "${odd_files[@]}"; do
    cmd=${slot/@/$file}
    rc=0
    # shellcheck disable=SC2086
    timeout 20 "$bin" $cmd >out.txt 2>err.txt </dev/null || rc=$?
    what="fabricctl $cmd"
    # An empty dump holds no switch: compared with a real one, every switch differs (exit 1).
    if [[ $slot == "route diff"* && ($file == odd/empty || $file == odd/blank) ]]; then
      [ "$rc" = 1 ] && grep -q "only in rft" out.txt || fail "exit $rc: $what: $(cat out.txt err.txt)"
      continue
    fi
    [ "$rc" = 2 ] || { cat err.txt >&2; fail "exit $rc, expected 2: $what"; }
    ! grep -qi 'internal error' out.txt err.txt || fail "internal error: $what: $(cat err.txt)"
    head -1 err.txt | grep -qF "fabricctl: $file" || fail "no file named first: $what: $(head -c 300 err.txt)"
    ! LC_ALL=C grep -qP '[\x00-\x08\x0b-\x1f\x7f-\xff]' out.txt err.txt || fail "raw control bytes: $what"
    longest=$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' err.txt)
    [ "$longest" -le 400 ] || fail "a $longest-byte line: $what"
  done
done
echo "file_inputs_test: ok"
