#!/usr/bin/env bash
# The HTML reports as a browser shows them: the `check` report of a dump with one slow
# cable and the `sweep run` report of a simulated fabric with one injected slow cable, each
# opened in headless Chromium with no network but loopback (report_browser.py): no console
# message, nothing fetched, a page that is not blank, the culprit link in a table row.
# Also promtool on `sweep run --prom`. Usage: report_browser_test.sh FABRICCTL SOURCE_DIR
set -euo pipefail
fabricctl=$1
src=$2
source "$(dirname "$0")/testlib.sh"
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || fail "chromium is not installed (tools/install-deps.sh installs it)"
command -v promtool >/dev/null || fail "promtool is not installed (tools/install-deps.sh installs prometheus)"
# A network namespace of its own (as root), else inside a user namespace.
isolate=()
if unshare -n true 2>/dev/null; then
  isolate=(unshare -n)
elif unshare -rn true 2>/dev/null; then
  isolate=(unshare -rn)
fi
browse() { "${isolate[@]}" python3 "$src/tests/cli/report_browser.py" "$chromium" "$@" || fail "report_browser: $1"; }

# check: the one 4xDDR cable of the dump.
dump="$src/tests/data/topo/edr_6sw_96hca_one_ddr.ibnd"
expect_rc 1 "$fabricctl" check --topology "$dump" --html check.html
browse check.html "MF0;ib-leaf03:MSB7700/U1[34] -- SwitchIB Mellanox Technologies (0x7cfe900300a0c1c0)[16]"

# sweep run: a cable at a fifth of its bandwidth, found and named.
"$fabricctl" topo gen fat-tree --set k=4 tiers=2 -o ft.topo >/dev/null
"$fabricctl" route compute ft.topo --engine ftree -o routes >/dev/null
expect_rc 1 "$fabricctl" sweep run ft.topo routes --fabric sim --inject 'ft-h00[1]:bw=0.2' -o sweep.json \
  --html sweep.html --prom sweep.prom
link=$(json_get sweep.json "['findings'][0]['link']")
[[ "$link" == *"ft-h00[1]"* ]] || fail "sweep finding: $link"
browse sweep.html "$link"
promtool check metrics <sweep.prom || fail "promtool rejects sweep.prom"
grep -q '^fabricctl_' sweep.prom || fail "sweep.prom has no fabricctl metrics"
echo "report_browser_test: ok"
