#!/usr/bin/env bash
# fabricctl probe: argument errors, token checks, and a loopback run end to end.
set -euo pipefail
bin="$(realpath "$1")"
work="$(mktemp -d)"
agent_pid=""
cleanup() {
  if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
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

# Nothing listens on this port: a clear error, quickly.
expect_rc 2 "$bin" probe run 127.0.0.1:1 --token-file tok --timeout 2
grep -q "^fabricctl: 127.0.0.1:1: cannot connect to 127.0.0.1:1: Connection refused" err || fail "refused: $(cat err)"

"$bin" probe serve --listen 127.0.0.1:0 --token-file tok 2>agent.log &
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
grep -q "closed: authentication failed: bad HMAC" agent.log || fail "agent log: $(cat agent.log)"

# Without the verbs transport built in, or without an RDMA device here: exit 2 and say why.
if ! ls /sys/class/infiniband/* >/dev/null 2>&1; then
  expect_rc 2 "$bin" probe run "127.0.0.1:$port" --token-file tok --transport verbs --iters 10
  grep -q "^fabricctl: " err || fail "--transport verbs: no error message"
fi
echo "probe CLI: ok"
