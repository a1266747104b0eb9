#!/usr/bin/env bash
# fabricctl devices: help, and the plain no-device path on hosts without RDMA devices
# (the Soft-RoCE VM, tools/vm/, covers hosts with devices).
set -euo pipefail
fabricctl=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$fabricctl" devices --help > "$tmp/help"
grep -q -- '--json' "$tmp/help"

if [ -n "$(ls -A /sys/class/infiniband 2>/dev/null)" ]; then
  echo "host has RDMA devices; checking they list"
  "$fabricctl" devices --json > "$tmp/out.json"
  grep -q '"outcome": "found"' "$tmp/out.json"
  exit 0
fi

set +e
"$fabricctl" devices > "$tmp/out" 2> "$tmp/err"; rc=$?
set -e
[ "$rc" -eq 1 ] || { echo "expected exit 1 without devices, got $rc"; exit 1; }
grep -q '^fabricctl: no RDMA devices' "$tmp/err" || { echo "no plain message:"; cat "$tmp/err"; exit 1; }
[ ! -s "$tmp/out" ] || { echo "unexpected stdout:"; cat "$tmp/out"; exit 1; }

set +e
"$fabricctl" devices --json > "$tmp/out.json" 2> "$tmp/err"; rc=$?
set -e
[ "$rc" -eq 1 ] || { echo "expected exit 1 with --json, got $rc"; exit 1; }
grep -q '"schema": "fabricctl.devices.v1"' "$tmp/out.json"
grep -q '"outcome": "no_devices"' "$tmp/out.json"
grep -q '"reason": "no RDMA devices' "$tmp/out.json"
echo "devices_test: ok"
