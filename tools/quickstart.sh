#!/usr/bin/env bash
# The main job on the built-in simulated cluster: install what is needed, build, generate
# scalex-cluster (16 super nodes x 640 accelerators), route every subnet and verify the
# routes deadlock-free, then run a simulated link-health sweep with a few injected faults
# and write the reports (JSON, HTML, Prometheus metrics, SQLite history).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
bash tools/build.sh
out=${FABRICCTL_OUT:-out}
mkdir -p "$out"
fab=./build/fabricctl

echo "== generate scalex-cluster"
$fab topo gen scalex-cluster -o "$out/scalex-cluster.json"
echo "== route every subnet (auto engine per subnet) and verify"
$fab route compute "$out/scalex-cluster.json" --engine auto -o "$out/routes"
$fab route verify "$out/scalex-cluster.json" "$out/routes"
echo "== simulated link-health sweep with injected faults"
rc=0
$fab sweep run "$out/scalex-cluster.json" "$out/routes" --fabric sim --noise 0.05 --seed 7 \
  --inject 'sn03-acc0123[5]:bw=0.5' --inject 'sn07-up-l1-12[45]:latency=3' --inject random:2 \
  -o "$out/sweep-report.json" --html "$out/sweep-report.html" --prom "$out/sweep.prom" \
  --history "$out/sweep-history.db" || rc=$?
# 1 = findings, which is what the injected faults must produce.
if [ "$rc" -ne 1 ]; then
  echo "quickstart: the sweep should have reported the injected faults (exit 1), got exit $rc" >&2
  exit 1
fi
echo "HTML report: $(cd "$out" && pwd)/sweep-report.html"
