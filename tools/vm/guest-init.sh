#!/bin/sh
# /init of the Soft-RoCE test VM (tools/vm/build-image.sh puts it there). Loads the RDMA
# modules, joins two Soft-RoCE devices over a veth pair (rxe0 on vethA 198.18.0.1, rxe1
# on vethB 198.18.0.2), runs the checks and powers off. Each check prints exactly one
# line "FABRICCTL-VM: PASS <name>" or "FABRICCTL-VM: FAIL <name>: <why>", followed by its
# output; "FABRICCTL-VM: DONE" ends the run. tools/vm/run-vm-tests.sh reads these lines.
# Timing inside the emulator is meaningless: checks test correctness, never speed.
export PATH=/usr/local/bin:/usr/sbin:/usr/bin
export HOME=/root
# Full path: busybox sh runs its own applets first, and busybox ip cannot make veth pairs.
IP=/usr/sbin/ip

CHECK_TIMEOUT=240
ADDR_A=198.18.0.1
ADDR_B=198.18.0.2

# ---- checks (each runs as `/init --check NAME` under a timeout) ----

check_modules() {
  for m in $(cat /modules/order); do
    grep -q "^$m " /proc/modules || { echo "module $m is not loaded"; return 1; }
  done
}

check_rdma_links() {
  rdma link show
  rdma link show | grep -q 'link rxe0/1 state ACTIVE .* netdev vethA' || { echo "rxe0 not ACTIVE on vethA"; return 1; }
  rdma link show | grep -q 'link rxe1/1 state ACTIVE .* netdev vethB' || { echo "rxe1 not ACTIVE on vethB"; return 1; }
}

# The GID index of the RoCE v2 IPv4-mapped GID of ADDR on DEVICE (what perftest needs -x for).
gid_index() {
  dev=$1 addr=$2
  for f in /sys/class/infiniband/$dev/ports/1/gids/*; do
    i=${f##*/}
    case "$(cat "$f" 2>/dev/null)" in
      0000:0000:0000:0000:0000:ffff:*) ;;
      *) continue ;;
    esac
    [ "$(cat /sys/class/infiniband/$dev/ports/1/gid_attrs/types/$i 2>/dev/null)" = "RoCE v2" ] && { echo "$i"; return 0; }
  done
  return 1
}

# Waits until something listens on TCP PORT (servers start slowly under emulation).
wait_listen() {
  hex=$(printf ':%04X ' "$1")
  for i in $(seq 1 40); do
    grep -q "$hex.* 0A " /proc/net/tcp && return 0
    sleep 0.5
  done
  echo "nothing listens on port $1"
  return 1
}

# perftest TOOL PORT ARGS...: server on rxe1, client on rxe0, each with its RoCE v2 IPv4
# GID. perftest checks its own clock against the CPU before reporting ("Correlation
# coefficient r^2 < 0.9 ... Can't produce a report"); under emulation that self-check
# fails now and then, which says nothing about RDMA, so only that failure is retried.
perftest() {
  tool=$1 port=$2
  shift 2
  gb=$(gid_index rxe1 $ADDR_B) && ga=$(gid_index rxe0 $ADDR_A) || { echo "no RoCE v2 IPv4 GID"; return 1; }
  for attempt in 1 2 3; do
    $tool -d rxe1 -x "$gb" -p "$port" "$@" > /tmp/perftest_server.log 2>&1 &
    srv=$!
    wait_listen "$port" || { kill $srv 2>/dev/null; return 1; }
    $tool -d rxe0 -x "$ga" -p "$port" "$@" $ADDR_B > /tmp/perftest_client.log 2>&1
    rc=$?
    # A client that failed early leaves the server waiting for it.
    [ $rc -eq 0 ] || { sleep 2; kill $srv 2>/dev/null; }
    wait $srv
    src=$?
    cat /tmp/perftest_client.log
    sed 's/^/server: /' /tmp/perftest_server.log
    [ $rc -eq 0 ] && [ $src -eq 0 ] && return 0
    grep -q "Can't produce a report" /tmp/perftest_client.log /tmp/perftest_server.log || return 1
    echo "perftest's clock self-check failed under emulation; retrying ($attempt)"
    port=$((port + 10))
  done
  return 1
}

check_perftest_send_lat() { perftest ib_send_lat 18515 -n 200 -s 64; }
check_perftest_write_bw() { perftest ib_write_bw 18516 -n 200 -s 65536 --report_gbits; }

check_devices() {
  fabricctl devices || return 1
  fabricctl devices --json > /tmp/devices.json || { cat /tmp/devices.json; return 1; }
  cat /tmp/devices.json
  for want in '"outcome": "found"' '"name": "rxe0"' '"name": "rxe1"' '"ok": true' '"netdev": "vethA"' \
              '"netdev": "vethB"' '"netdev_state": "up"' '"state": "ACTIVE"' '"link_layer": "Ethernet"' \
              '"gid": "0000:0000:0000:0000:0000:ffff:c612:0001"' '"gid": "0000:0000:0000:0000:0000:ffff:c612:0002"' \
              '"type": "RoCE v2"' '"device": "rxe1"'; do
    grep -qF "$want" /tmp/devices.json || { echo "devices --json lacks $want"; return 1; }
  done
}

# The verbs transport's own vm_* doctest suite: both ends in one process, rxe0 -> rxe1.
check_verbs_unit() {
  fabricctl_tests --test-suite='vm*' --no-intro --duration=true
}

# The real thing: an agent on rxe1 (198.18.0.2), a client on rxe0, TCP control channel.
check_probe_verbs() {
  umask 077
  echo "fabricctl-vm-probe-token-0123456789abcdef" > /tmp/token
  fabricctl probe serve --listen $ADDR_B:18520 --token-file /tmp/token -d rxe1 > /tmp/agent.log 2>&1 &
  agent=$!
  wait_listen 18520 || { sed 's/^/agent: /' /tmp/agent.log; return 1; }
  fabricctl probe run $ADDR_B:18520 --transport verbs -d rxe0 --token-file /tmp/token --test all \
    --sizes 8,4096,65536 --iters 200 --json > /tmp/probe.json
  rc=$?
  fabricctl probe run $ADDR_B:18520 --transport verbs -d rxe0 --token-file /tmp/token --test bw --size 4096 \
    --duration 1 > /tmp/probe.txt
  rc2=$?
  fabricctl probe run $ADDR_B:18520 --transport verbs -d rxe0 --token-file /tmp/token --test lat --verbs-lat write \
    --sizes 1,4096 --iters 100 >> /tmp/probe.txt
  rc3=$?
  kill $agent 2>/dev/null; wait $agent 2>/dev/null
  cat /tmp/probe.json /tmp/probe.txt
  sed 's/^/agent: /' /tmp/agent.log
  [ $rc -eq 0 ] || { echo "probe run (json) exited $rc"; return 1; }
  [ $rc2 -eq 0 ] || { echo "probe run (duration) exited $rc2"; return 1; }
  [ $rc3 -eq 0 ] || { echo "probe run (--verbs-lat write) exited $rc3"; return 1; }
  for want in '"transport": "verbs"' '"schema": "fabricctl.probe.v1"' '"message_size": 65536' '"messages": 200' \
              '"iterations": 200'; do
    grep -qF "$want" /tmp/probe.json || { echo "probe json lacks $want"; return 1; }
  done
  [ "$(grep -c '"message_size"' /tmp/probe.json)" -eq 6 ] || { echo "expected 3 latency + 3 bandwidth results"; return 1; }
}

# A host-to-host sweep over verbs: two agents, each on its own RDMA device and network
# interface (rxe0 on vethA, rxe1 on vethB), joined in the topology through one switch. The
# coordinator orders each agent to probe the other from its own device; no probe runs from
# the coordinator.
check_sweep_verbs() {
  umask 077
  echo "fabricctl-vm-sweep-token-0123456789abcdef" > /tmp/token
  cat > /tmp/vm.topo <<'TOPO'
vendid=0x2c9
devid=0xd2f0
sysimgguid=0x0002c90300000101
switchguid=0x0002c90300000101(0002c90300000101)
Switch	2 "S-0002c90300000101"		# "sw" base port 0 lid 1 lmc 0
[1]	"H-0002c90300001000"[1](0002c90300001001) 		# "h0" lid 2 4xHDR
[2]	"H-0002c90300001010"[1](0002c90300001011) 		# "h1" lid 3 4xHDR

vendid=0x2c9
devid=0x101b
sysimgguid=0x0002c90300001000
caguid=0x0002c90300001000
Ca	1 "H-0002c90300001000"		# "h0"
[1](0002c90300001001) 	"S-0002c90300000101"[1]		# lid 2 lmc 0 "sw" lid 1 4xHDR

vendid=0x2c9
devid=0x101b
sysimgguid=0x0002c90300001010
caguid=0x0002c90300001010
Ca	1 "H-0002c90300001010"		# "h1"
[1](0002c90300001011) 	"S-0002c90300000101"[2]		# lid 3 lmc 0 "sw" lid 1 4xHDR
TOPO
  printf 'h0[1] %s:18521 rdma=rxe0:1\nh1[1] %s:18521 rdma=rxe1:1\n' $ADDR_A $ADDR_B > /tmp/vm-agents.txt
  fabricctl route compute /tmp/vm.topo --engine updn -o /tmp/vm-routes > /tmp/sweep.log 2>&1 || { cat /tmp/sweep.log; return 1; }
  fabricctl probe serve --listen $ADDR_A:18521 --token-file /tmp/token -d rxe0 --peers /tmp/vm-agents.txt \
    > /tmp/agent-a.log 2>&1 &
  a=$!
  fabricctl probe serve --listen $ADDR_B:18521 --token-file /tmp/token -d rxe1 --peers /tmp/vm-agents.txt \
    > /tmp/agent-b.log 2>&1 &
  b=$!
  wait_listen 18521 || { cat /tmp/agent-a.log /tmp/agent-b.log; return 1; }
  sleep 1
  fabricctl sweep run /tmp/vm.topo /tmp/vm-routes --fabric verbs --agents /tmp/vm-agents.txt \
    --token-file /tmp/token --coverage 1 --reprobe 0 --probe-seconds 0.5 --timeout 20 -o /tmp/sweep.json >> /tmp/sweep.log 2>&1
  rc=$?
  kill $a $b 2>/dev/null; wait $a $b 2>/dev/null
  cat /tmp/sweep.log
  sed 's/^/agent-a: /' /tmp/agent-a.log
  sed 's/^/agent-b: /' /tmp/agent-b.log
  [ $rc -le 1 ] || { echo "sweep run exited $rc"; return 1; }
  for want in '"mode": "verbs"' '"unmeasured": 0' '"failed": 0'; do
    grep -qF "$want" /tmp/sweep.json || { echo "sweep report lacks $want"; cat /tmp/sweep.json; return 1; }
  done
  grep -q '"measured": [1-9]' /tmp/sweep.json || { echo "no probe measured"; return 1; }
}

CHECKS="modules rdma_links devices"
[ -x /usr/local/bin/fabricctl_tests ] && CHECKS="$CHECKS verbs_unit"
CHECKS="$CHECKS probe_verbs sweep_verbs perftest_send_lat perftest_write_bw"

# ---- plumbing ----

if [ "${1:-}" = "--check" ]; then
  "check_$2"
  exit $?
fi

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t configfs configfs /sys/kernel/config 2>/dev/null
echo "FABRICCTL-VM: BOOTED $(uname -r)"

for m in $(cat /modules/order); do
  insmod /modules/$m.ko || echo "FABRICCTL-VM: insmod $m failed"
done
mount -t configfs configfs /sys/kernel/config 2>/dev/null

$IP link set lo up
$IP link add vethA type veth peer name vethB
$IP link set vethA address 02:00:c6:12:00:01
$IP link set vethB address 02:00:c6:12:00:02
$IP addr add $ADDR_A/24 dev vethA
$IP addr add $ADDR_B/24 dev vethB
$IP link set vethA up
$IP link set vethB up
# Both addresses are local to this one kernel, so by default rxe0 -> rxe1 packets would be
# routed through lo, where rdma_rxe drops them (lo has no rxe device). Route by output
# device over the wire instead, accept packets with a local source, and pin the neighbours.
for i in all default vethA vethB; do
  echo 1 > /proc/sys/net/ipv4/conf/$i/accept_local
  echo 0 > /proc/sys/net/ipv4/conf/$i/rp_filter
done
$IP rule add pref 10 oif vethA lookup 100
$IP rule add pref 11 oif vethB lookup 101
$IP route add $ADDR_B dev vethA src $ADDR_A table 100
$IP route add $ADDR_A dev vethB src $ADDR_B table 101
$IP rule del pref 0 lookup local
$IP rule add pref 100 lookup local
$IP neigh replace $ADDR_B lladdr 02:00:c6:12:00:02 dev vethA nud permanent
$IP neigh replace $ADDR_A lladdr 02:00:c6:12:00:01 dev vethB nud permanent

rdma link add rxe0 type rxe netdev vethA || echo "FABRICCTL-VM: rdma link add rxe0 failed"
rdma link add rxe1 type rxe netdev vethB || echo "FABRICCTL-VM: rdma link add rxe1 failed"
# GIDs appear asynchronously after the address is known to the rxe device.
for i in 1 2 3 4 5 6 7 8 9 10; do
  gid_index rxe0 $ADDR_A >/dev/null && gid_index rxe1 $ADDR_B >/dev/null && break
  sleep 1
done
echo "FABRICCTL-VM: NETWORK READY"

for c in $CHECKS; do
  timeout $CHECK_TIMEOUT /init --check "$c" > /tmp/check.log 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    echo "FABRICCTL-VM: PASS $c"
  elif [ $rc -eq 143 ] || [ $rc -eq 124 ]; then
    echo "FABRICCTL-VM: FAIL $c: timed out after ${CHECK_TIMEOUT}s"
  else
    echo "FABRICCTL-VM: FAIL $c: exit $rc"
  fi
  sed "s/^/  [$c] /" /tmp/check.log
done

echo "FABRICCTL-VM: DONE"
sync
poweroff -f
# If power-off is unavailable, exiting init panics the kernel; panic=-1 and qemu's
# -no-reboot turn that into qemu exiting.
exit 0
