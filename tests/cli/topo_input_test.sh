#!/usr/bin/env bash
# CLI test: what a user gets for bad topology input and bad output paths. Every case exits
# 2 with one `fabricctl: where[:line]: message` line (plus the offending text), never
# crashes, and leaves no output or temporary file behind.
# Usage: topo_input_test.sh <fabricctl> <source-dir>
set -euo pipefail
fabricctl=$1
source "$(dirname "$0")/testlib.sh" # makes and enters $work, removed on exit

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_exit() {
  local want=$1; shift
  local got=0
  "$@" >out.txt 2>err.txt || got=$?
  [ "$got" -eq "$want" ] || { cat out.txt err.txt >&2; fail "'$*' exited $got, expected $want"; }
}
# first_line_is FILE TEXT: the first line of FILE is exactly TEXT.
first_line_is() {
  [ "$(head -n 1 "$1")" = "$2" ] || { cat "$1" >&2; fail "$1 starts with '$(head -n 1 "$1")', expected '$2'"; }
}
# Only the files the test made itself: no partial output, no leftover temporary file.
only_files() {
  local have
  have=$(ls -A | grep -v -e '^out.txt$' -e '^err.txt$' | sort | tr '\n' ' ')
  [ "$have" = "$* " ] || fail "directory holds '$have', expected '$* '"
}

# A small valid fabric to start from.
expect_exit 0 "$fabricctl" topo gen fat-tree --set k=4 tiers=2 -o good.topo
[ "$(wc -l <good.topo)" -gt 20 ] || fail "good.topo is too short"

# --- reading ---------------------------------------------------------------------------
expect_exit 2 "$fabricctl" topo show nope.topo
first_line_is err.txt "fabricctl: nope.topo: cannot open: No such file or directory"
mkdir adir
expect_exit 2 "$fabricctl" topo show adir
first_line_is err.txt "fabricctl: adir: is a directory, expected a file"
: >empty.topo
expect_exit 2 "$fabricctl" topo show empty.topo
first_line_is err.txt "fabricctl: empty.topo: empty file, expected an ibnetdiscover, ibsim or JSON topology"
printf '#\n# Topology file: generated on a switch with no links\n#\n' >comments.topo
expect_exit 2 "$fabricctl" topo show comments.topo
first_line_is err.txt "fabricctl: comments.topo: no Switch, Ca or Rt record: not an ibnetdiscover topology"

# Binary data (a gzip header) stops at the first NUL byte, even from an endless device.
printf 'Switch 8 "s"\n\x1f\x8b\x08\x00\x1b[31mred\x00\xff\n' >garbage.topo
expect_exit 2 "$fabricctl" topo show garbage.topo
first_line_is err.txt "fabricctl: garbage.topo:2: binary data (a NUL byte at offset 16): expected a text file; a compressed file must be uncompressed first"
expect_exit 2 timeout 20 "$fabricctl" topo show /dev/urandom
grep -q '^fabricctl: /dev/urandom:[0-9]*: binary data (a NUL byte at offset [0-9]*)' err.txt || { cat err.txt >&2; fail "/dev/urandom"; }
# Text garbage with escape sequences: line 1, and no escape byte reaches the terminal.
printf '\x1b[2J\x1b]0;owned\x07\xff\n' >escapes.topo
expect_exit 2 "$fabricctl" topo show escapes.topo
first_line_is err.txt "fabricctl: escapes.topo:1: expected a node record (Switch, Ca, Hca, Rt), a vendid/devid/sysimgguid/switchguid/caguid/rtguid line, or a comment"
if LC_ALL=C grep -q $'\x1b' err.txt; then fail "an escape byte reached the terminal"; fi
# A 1 MB single line is shown as a window, not in full.
head -c 1000000 /dev/zero | tr '\0' 'x' >long.topo
expect_exit 2 "$fabricctl" topo show long.topo
[ "$(wc -c <err.txt)" -lt 1000 ] || fail "the error repeats the whole 1 MB line"

# Port numbers past 255, on the record and on the port line, and past 64 bits.
printf 'Switch 300 "s"\n' >ports.topo
expect_exit 2 "$fabricctl" topo show ports.topo
first_line_is err.txt "fabricctl: ports.topo:1: expected a number of ports 1..255 after 'Switch'"
printf 'Switch 99999999999999999999999 "s"\n' >ports.topo
expect_exit 2 "$fabricctl" topo show ports.topo
first_line_is err.txt "fabricctl: ports.topo:1: expected a number of ports 1..255 after 'Switch'"
printf 'Switch 8 "s"\n[70000]\t"h"[1]\n' >ports.topo
expect_exit 2 "$fabricctl" topo show ports.topo
first_line_is err.txt 'fabricctl: ports.topo:2: port 70000 out of range: "s" has ports 1..8'
printf 'Switch 8 "s"\n[1]\t"h"[300]\n\nHca 1 "h"\n[1]\t"s"[1]\n' >ports.topo
expect_exit 2 "$fabricctl" topo show ports.topo
first_line_is err.txt "fabricctl: ports.topo:2: peer port 300 out of range 1..255"

# A file cut short: the cut record's peers are missing, or its last line is half written.
head -n 30 good.topo >cut.topo
expect_exit 2 "$fabricctl" topo show cut.topo
grep -qE '^fabricctl: cut\.topo:[0-9]+: unknown node "[SHR]-[0-9a-f]{16}": no record in this file defines it$' err.txt ||
  { cat err.txt >&2; fail "cut.topo: expected an unknown-node error"; }
head -c "$(($(grep -b -m1 -F '[1]' good.topo | cut -d: -f1) + 6))" good.topo >half.topo
expect_exit 2 "$fabricctl" topo show half.topo
grep -qE "^fabricctl: half\.topo:[0-9]+: expected '\(port GUID in hex\)' after the port number$" err.txt ||
  { cat err.txt >&2; fail "half.topo: expected a half-line error"; }

# CRLF line ends (a file saved on Windows) read as the same fabric.
sed 's/$/\r/' good.topo >crlf.topo
expect_exit 0 "$fabricctl" topo diff good.topo crlf.topo

# --- writing -----------------------------------------------------------------------------
rm -f nope.topo cut.topo half.topo long.topo ports.topo garbage.topo escapes.topo comments.topo empty.topo crlf.topo
expect_exit 2 "$fabricctl" topo gen torus --set dims=4x4 -o adir
first_line_is err.txt "fabricctl: adir: is a directory, expected a file name"
expect_exit 2 "$fabricctl" topo gen torus --set dims=4x4 -o new/
first_line_is err.txt "fabricctl: new/: is a directory, expected a file name"
expect_exit 2 "$fabricctl" topo gen torus --set dims=4x4 -o no/such/dir/t.topo
first_line_is err.txt "fabricctl: no/such/dir/t.topo: cannot write into directory 'no/such/dir': No such file or directory"
expect_exit 2 "$fabricctl" topo gen torus --set dims=4x4 -o good.topo/t.topo
first_line_is err.txt "fabricctl: good.topo/t.topo: 'good.topo' is not a directory"
expect_exit 2 "$fabricctl" topo gen torus --set dims=4x4 -o /proc/x
first_line_is err.txt "fabricctl: /proc/x: cannot create a file in '/proc': No such file or directory"
expect_exit 2 "$fabricctl" topo convert good.topo -o /proc/x.json
first_line_is err.txt "fabricctl: /proc/x.json: cannot create a file in '/proc': No such file or directory"
expect_exit 2 "$fabricctl" topo convert good.topo -o adir
first_line_is err.txt "fabricctl: adir: is a directory, expected a file name"
[ -z "$(ls -A adir)" ] || fail "adir is not empty"
# A FIFO (like /dev/null) is written into, not replaced by a regular file.
mkfifo pipe
cat pipe >piped.topo &
reader=$!
expect_exit 0 timeout 60 "$fabricctl" topo gen fat-tree --set k=4 tiers=2 -o pipe
wait "$reader"
[ -p pipe ] || fail "the FIFO was replaced"
cmp -s piped.topo good.topo || fail "the FIFO did not carry the fabric"
rm -f pipe piped.topo
only_files adir good.topo

echo "topo_input_test: ok"
