#!/usr/bin/env bash
# fabricctl probe: argument errors, token checks, and a loopback run end to end.
set -euo pipefail
bin="$(realpath "$1")"
source "$(dirname "$0")/testlib.sh" # makes and enters $work, removed on exit
agent_pid=""
stop_agent() {
  if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
}
on_exit stop_agent
fail() { echo "FAIL: $*" >&2; exit 1; }

expect_rc() {  # expect_rc CODE CMD...
  local want="$1"; shift
  set +e; "$@" >out 2>err; local rc=$?; set -e
  [ "$rc" = "$want" ] || { cat out err >&2; fail "expected exit $want, got $rc: $*"; }
}

printf 'cli-probe-test-token-0123456789\n' >tok
chmod 600 tok
printf 'cli-probe-test-token-0123456789\n' >open-tok
chmod 644 open-tok

"$bin" probe --help | grep -q "serve" || fail "probe --help lists serve"
"$bin" probe run --help | grep -q -- "--transport" || fail "probe run --help lists --transport"

expect_rc 2 "$bin" probe run 127.0.0.1 --token-file open-tok
grep -qx "fabricctl: open-tok: token file is accessible by group or others (mode 644); run chmod 600" err ||
  fail "open token file: $(cat err)"
expect_rc 2 "$bin" probe run 127.0.0.1 --token-file missing
grep -q "^fabricctl: missing: cannot read token file: No such file or directory" err || fail "missing token: $(cat err)"
expect_rc 2 "$bin" probe run 127.0.0.1 --token-file tok --sizes 8,0
grep -qx "fabricctl: --sizes: '0' is not a message size in 1..67108864 (suffix K or M allowed)" err ||
  fail "bad --sizes: $(cat err)"
expect_rc 2 "$bin" probe run 127.0.0.1 --test latency --token-file tok
expect_rc 2 "$bin" probe run 127.0.0.1 --iters 5 --duration 1 --token-file tok
expect_rc 2 "$bin" probe run 127.0.0.1:99999 --token-file tok
grep -q "port must be a number in 0..65535" err || fail "bad port: $(cat err)"
expect_rc 2 "$bin" probe serve --listen 198.19.255.254:18520 --token-file tok
grep -q "cannot listen on 198.19.255.254:18520: bind" err || fail "foreign listen address: $(cat err)"

# A bare number is a port on the default address for --listen, never an IPv4 address
# (glibc reads "18607" as 0.0.72.175), and an error for a peer.
expect_rc 2 "$bin" probe run 18607 --token-file tok
grep -qx "fabricctl: 18607: '18607' is a bare number: write HOST:PORT (e.g. 127.0.0.1:18607)" err ||
  fail "bare number peer: $(cat err)"
expect_rc 2 "$bin" probe serve --listen 10.1:18520 --token-file tok
grep -qx "fabricctl: --listen: '10.1:18520': '10.1' is not an IPv4 address (write it as a.b.c.d)" err ||
  fail "short IPv4 form: $(cat err)"

# A token file that is not a small regular file is refused at once; a FIFO with no writer
# would block a plain open forever.
mkfifo fifo-tok && chmod 600 fifo-tok
expect_rc 2 timeout 10 "$bin" probe serve --listen 127.0.0.1:0 --token-file fifo-tok
grep -qx "fabricctl: fifo-tok: token file is a FIFO; give a regular file" err || fail "FIFO token: $(cat err)"
mkdir dir-tok && chmod 700 dir-tok
expect_rc 2 timeout 10 "$bin" probe run 127.0.0.1 --token-file dir-tok
grep -qx "fabricctl: dir-tok: token file is a directory; give a regular file" err || fail "dir token: $(cat err)"
expect_rc 2 timeout 10 "$bin" probe run 127.0.0.1 --token-file /dev/zero
grep -qx "fabricctl: /dev/zero: token file is a device; give a regular file" err || fail "device token: $(cat err)"
head -c 100000 /dev/zero | tr '\0' k >big-tok && chmod 600 big-tok
expect_rc 2 timeout 10 "$bin" probe run 127.0.0.1 --token-file big-tok
grep -qx "fabricctl: big-tok: token file is 100000 bytes, more than a token can be (at most 4096)" err ||
  fail "big token: $(cat err)"

# A timeout that is not a number of milliseconds in range is refused by its flag name
# (NaN is neither above 0 nor at most 600, and must not reach a float-to-integer cast).
for t in nan -1 0 0.0001 601 inf; do
  expect_rc 2 "$bin" probe run 127.0.0.1:1 --token-file tok --timeout "$t"
  grep -qx "fabricctl: --timeout must be in \[0.001, 600\] seconds" err || fail "--timeout $t: $(cat err)"
done

# Likewise a duration (the flag's range check lets NaN through; it used to become the
# default duration silently).
for d in nan -1 0.0001 3601 inf 1e300; do
  expect_rc 2 "$bin" probe run 127.0.0.1:1 --token-file tok --duration "$d"
  grep -q -- "--duration.*0\.001.*3600" err || fail "--duration $d: $(cat err)"
done

# Nothing listens on this port: a clear error, quickly.
expect_rc 2 "$bin" probe run 127.0.0.1:1 --token-file tok --timeout 2
grep -q "^fabricctl: 127.0.0.1:1: cannot connect to 127.0.0.1:1: Connection refused" err || fail "refused: $(cat err)"

"$bin" probe serve --listen 0 --token-file tok 2>agent.log &  # a bare port: on 127.0.0.1
agent_pid=$!
for _ in $(seq 100); do grep -q "listening on" agent.log && break; sleep 0.05; done
port="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' agent.log)"
[ -n "$port" ] || fail "agent did not report its port: $(cat agent.log)"

"$bin" probe run "127.0.0.1:$port" --token-file tok --sizes 8,64K --iters 200 --json >run.json
python3 - run.json <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["schema"] == "fabricctl.probe.v1", j
assert [s["message_size"] for s in j["latency"]] == [8, 65536], j
assert [s["message_size"] for s in j["bandwidth"]] == [8, 65536], j
for s in j["latency"]:
    assert s["iterations"] == 200 and 0 < s["min_us"] <= s["p50_us"] <= s["p99_us"] <= s["max_us"], s
for s in j["bandwidth"]:
    assert s["messages"] == 200 and s["bytes"] == 200 * s["message_size"] and s["gbps"] > 0, s
PY

"$bin" probe run "127.0.0.1:$port" --token-file tok --test lat --size 32 --iters 100 >run.txt
grep -q "^latency (one-way, us) to 127.0.0.1:$port over tcp" run.txt || fail "text output: $(cat run.txt)"
grep -qE "^ +32 +100 " run.txt || fail "text row: $(cat run.txt)"

printf 'another-token-entirely-0123456789\n' >bad
chmod 600 bad
expect_rc 2 "$bin" probe run "127.0.0.1:$port" --token-file bad --iters 10
grep -qx "fabricctl: 127.0.0.1:$port: agent's reply failed authentication: the agent uses a different token" err ||
  fail "wrong token: $(cat err)"
"$bin" probe run "127.0.0.1:$port" --token-file tok --test lat --iters 10 >/dev/null || fail "agent stopped serving"
grep -q "closed before authenticating: connection closed by peer" agent.log || fail "agent log: $(cat agent.log)"

# A hostile peer: idle connections do not take the session slots (there are 4).
exec 5<>/dev/tcp/127.0.0.1/"$port" 6<>/dev/tcp/127.0.0.1/"$port" 7<>/dev/tcp/127.0.0.1/"$port" 8<>/dev/tcp/127.0.0.1/"$port"
"$bin" probe run "127.0.0.1:$port" --token-file tok --test lat --iters 10 >/dev/null ||
  fail "idle connections locked the agent: $(tail -5 agent.log)"
exec 5>&- 6>&- 7>&- 8>&-

# Without the verbs transport built in, or without an RDMA device here: exit 2 and say why.
if ! ls /sys/class/infiniband/* >/dev/null 2>&1; then
  expect_rc 2 "$bin" probe run "127.0.0.1:$port" --token-file tok --transport verbs --iters 10
  grep -q "^fabricctl: " err || fail "--transport verbs: no error message"
fi
echo "probe CLI: ok"
