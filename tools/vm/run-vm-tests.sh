#!/usr/bin/env bash
# Real verbs on Soft-RoCE: builds the test VM (tools/vm/build-image.sh), boots it under
# qemu (software emulation; no KVM needed), and checks the console for one PASS line per
# expected check. Exit 0 only when every expected check passed and the guest finished;
# non-zero on any FAIL, a missing check, or the hard timeout.
#
#   tools/vm/run-vm-tests.sh FABRICCTL_BINARY
#
# Environment: FABRICCTL_VM_TIMEOUT (seconds, default 900), FABRICCTL_VM_DIR (image and
# console log; default <binary dir>/vm), FABRICCTL_VM_SMP (default 2), FABRICCTL_VM_CACHE,
# FABRICCTL_VM_KVM=1 (use KVM instead of software emulation).
set -euo pipefail

die() { echo "run-vm-tests: $*" >&2; exit 2; }
[ $# -ge 1 ] || die "usage: run-vm-tests.sh FABRICCTL_BINARY"
fabricctl=$(readlink -f "$1")
[ -x "$fabricctl" ] || die "$1: not an executable"
here=$(cd "$(dirname "$0")" && pwd)
vmdir=${FABRICCTL_VM_DIR:-$(dirname "$fabricctl")/vm}
timeout_s=${FABRICCTL_VM_TIMEOUT:-900}
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found: apt-get install qemu-system-x86"

# What the guest must report as passed (names of check_* functions in guest-init.sh).
expected=(modules rdma_links devices probe_verbs sweep_verbs perftest_send_lat perftest_write_bw)

# The unit-test binary, when built, runs its vm_* suites inside the guest too.
extras=()
tests_bin=$(dirname "$fabricctl")/tests/fabricctl_tests
if [ -x "$tests_bin" ]; then
  extras+=("$tests_bin")
  expected+=(verbs_unit)
fi

bash "$here/build-image.sh" "$fabricctl" "$vmdir" "${extras[@]}"

log="$vmdir/console.log"
accel=()
# TCG by default: /dev/kvm may exist where KVM does not work (nested), and qemu then aborts.
if [ "${FABRICCTL_VM_KVM:-0}" = 1 ]; then accel=(-enable-kvm -cpu host); else accel=(-accel tcg,thread=multi -cpu max); fi
echo "run-vm-tests: booting (timeout ${timeout_s}s, console in $log)"
start=$(date +%s)
set +e
timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 "${accel[@]}" -nographic -no-reboot -m 1G \
  -smp "${FABRICCTL_VM_SMP:-2}" -nic none -kernel "$vmdir/vmlinuz" -initrd "$vmdir/initrd.img" \
  -append "console=ttyS0 panic=-1 quiet loglevel=4" </dev/null >"$log" 2>&1
qemu_rc=$?
set -e
elapsed=$(( $(date +%s) - start ))
tr -d '\r' < "$log" > "$log.txt"
cat "$log.txt"

status=0
if [ $qemu_rc -eq 124 ] || [ $qemu_rc -eq 137 ]; then
  echo "run-vm-tests: FAIL: the VM did not finish within ${timeout_s}s"
  status=1
fi
for c in "${expected[@]}"; do
  if ! grep -q "^FABRICCTL-VM: PASS $c\$" "$log.txt"; then
    echo "run-vm-tests: FAIL: check '$c' did not pass"
    status=1
  fi
done
if grep -q '^FABRICCTL-VM: FAIL' "$log.txt"; then
  grep '^FABRICCTL-VM: FAIL' "$log.txt" | sed 's/^/run-vm-tests: /'
  status=1
fi
grep -q '^FABRICCTL-VM: DONE$' "$log.txt" || { echo "run-vm-tests: FAIL: the guest did not reach DONE"; status=1; }
if [ $status -eq 0 ]; then
  echo "run-vm-tests: PASS (${#expected[@]} checks, ${elapsed}s)"
fi
exit $status
