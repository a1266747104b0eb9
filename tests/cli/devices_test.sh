#!/usr/bin/env bash
# fabricctl devices: help, and the plain no-device path on hosts without RDMA devices
# (the Soft-RoCE VM, tools/vm/, covers hosts with devices).
set -euo pipefail
fabricctl=$1
source "$(dirname "$0")/testlib.sh" # makes and enters $work, removed on exit

"$fabricctl" devices --help > "$work/help"
grep -q -- '--json' "$work/help"

if [ -n "$(ls -A /sys/class/infiniband 2>/dev/null)" ]; then
  echo "host has RDMA devices; checking they list"
  "$fabricctl" devices --json > "$work/out.json"
  grep -q '"outcome": "found"' "$work/out.json"
  exit 0
fi

set +e
"$fabricctl" devices > "$work/out" 2> "$work/err"; rc=$?
set -e
[ "$rc" -eq 1 ] || { echo "expected exit 1 without devices, got $rc"; exit 1; }
grep -q '^fabricctl: no RDMA devices' "$work/err" || { echo "no plain message:"; cat "$work/err"; exit 1; }
[ ! -s "$work/out" ] || { echo "unexpected stdout:"; cat "$work/out"; exit 1; }

set +e
"$fabricctl" devices --json > "$work/out.json" 2> "$work/err"; rc=$?
set -e
[ "$rc" -eq 1 ] || { echo "expected exit 1 with --json, got $rc"; exit 1; }
grep -q '"schema": "fabricctl.devices.v1"' "$work/out.json"
grep -q '"outcome": "no_devices"' "$work/out.json"
grep -q '"reason": "no RDMA devices' "$work/out.json"
echo "devices_test: ok"
