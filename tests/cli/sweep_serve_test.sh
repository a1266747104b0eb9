#!/usr/bin/env bash
# CLI tests for `fabricctl sweep serve` on the simulated fabric: a pass per period logged,
# the textfile and the HTTP page with every routed link and the injected fault, SIGTERM
# ends it with exit 0, and the load limit and missing outputs refused with exit 2.
# Usage: sweep_serve_test.sh FABRICCTL SOURCE_DIR
set -euo pipefail
fabricctl=$1
source "$(dirname "$0")/testlib.sh"

"$fabricctl" topo gen fat-tree --set k=4 tiers=2 -o ft.topo >/dev/null
"$fabricctl" route compute ft.topo --engine ftree -o routes >/dev/null
links=$(json_get <("$fabricctl" topo show ft.topo --json) "['links']")

# A 1 s period for 3.5 s with a slow cable: a log line and a JSON line per pass (at least
# two even on a busy machine), the cable flagged in the textfile, every routed link listed.
expect_rc 0 timeout 30 "$fabricctl" sweep serve ft.topo routes --inject 'ft-h00[1]:bw=0.2' --period 1 \
  --max-load 0.5 --for 3.5 --metrics-file m.prom --json
has err.txt "sweep serve: "
has err.txt "pass 2: "
has err.txt "1 findings: bandwidth "
passes=$(wc -l <out.txt)
[ "$passes" -ge 2 ] || fail "JSON pass lines: $(cat out.txt)"
has err.txt "sweep serve: stopped after $passes passes"
[ "$(grep -c '^fabricctl_link_measured{' m.prom)" = "$links" ] || fail "links in m.prom"
[ "$(grep -c '^fabricctl_link_finding{.*kind="bandwidth"} 1$' m.prom)" = 1 ] || fail "finding: $(grep finding m.prom)"
grep -q '^fabricctl_link_finding{link="[^"]*ft-h00\[1\][^"]*",subnet="subnet0",tier="0-1",kind="bandwidth"} 1$' m.prom ||
  fail "finding labels: $(grep finding m.prom)"
has_line m.prom "fabricctl_monitor_passes_total $passes"
if command -v promtool >/dev/null; then promtool check metrics <m.prom >/dev/null 2>&1 || fail "promtool rejects m.prom"; fi

# HTTP: /metrics served, other paths 404; SIGTERM ends the monitor with exit 0.
if command -v curl >/dev/null; then
  "$fabricctl" sweep serve ft.topo routes --period 1 --max-load 0.5 --metrics-listen 127.0.0.1:0 2>serve.log &
  pid=$!
  for _ in $(seq 100); do grep -q "metrics on" serve.log 2>/dev/null && break; sleep 0.1; done
  url=$(sed -n 's|^sweep serve: metrics on \(http://.*/metrics\)$|\1|p' serve.log)
  [ -n "$url" ] || { kill "$pid"; fail "no metrics address: $(cat serve.log)"; }
  for _ in $(seq 100); do curl -sf --max-time 5 "$url" | grep -q '^fabricctl_monitor_passes_total [1-9]' && break; sleep 0.1; done
  curl -sf --max-time 5 "$url" >page.txt || { kill "$pid"; fail "scrape failed"; }
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${url%/metrics}/other")
  kill -TERM "$pid"
  rc=0
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || fail "exit $rc after SIGTERM: $(cat serve.log)"
  [ "$code" = 404 ] || fail "GET /other answered $code"
  [ "$(grep -c '^fabricctl_link_health{' page.txt)" = "$links" ] || fail "page: $(head page.txt)"
  if command -v promtool >/dev/null; then promtool check metrics <page.txt || fail "promtool rejects the scrape"; fi
  has serve.log "sweep serve: stopped after"
fi

# Refused: probes too long for the load limit (with the figures), no place for the metrics.
expect_rc 2 "$fabricctl" sweep serve ft.topo routes --period 10 --max-load 0.01 --probe-seconds 0.5 --metrics-file x
has err.txt "fabricctl: probes of 0.5 s would take"
has err.txt "of the busiest channel"
[ ! -e x ] || fail "metrics file written by a refused monitor"
expect_rc 2 "$fabricctl" sweep serve ft.topo routes
has err.txt "give --metrics-listen and/or --metrics-file"
expect_rc 2 "$fabricctl" sweep serve ft.topo routes --fabric tcp --metrics-file x
has err.txt "--fabric tcp needs --agents FILE"
echo "PASS: sweep serve"
