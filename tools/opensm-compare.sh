#!/usr/bin/env bash
# Peer comparison: Debian's OpenSM (under ibsim) against fabricctl on the same topology.
#
#   tools/opensm-compare.sh [-b BUILD_DIR] [-c CASES] [-e ENGINES] [-t TIMEOUT_S] [-k] [-w]
#
# For every case (ft1k: fat-tree k=16 3 tiers, 1,024 endpoints; ft5k: fat-tree k=28 3 tiers,
# 5,488 endpoints; torus: 6x6x6 torus, 216 endpoints; torus1k: 10x10x10 torus, 1,000
# endpoints; ftpart: fat-tree k=16 3 tiers with 300 of its 1,024 endpoints, a partly built
# cluster; tiny: 2-tier k=8, for a smoke run):
#   1. fabricctl topo gen -> an ibsim file; ibsim -s loads it (own IBSIM_SOCKNAME);
#   2. ibnetdiscover under ibsim -> the topology both sides use (same GUIDs as OpenSM sees);
#   3. per OpenSM engine (minhop, updn, ftree, dfsssp, nue): `opensm --once -R E` with
#      umad2sim, log flags 0x47 (0x40 writes the dumps) and --dump_files_dir, under `timeout`; routing time is taken
#      from OpenSM's own log: "ucast_mgr_route: building routing with 'E'" to
#      "osm_ucast_mgr_process: ... tables configured" (excludes discovery, LID assignment
#      and the MADs that program the switches); a fallback (ftree on a torus falls back to
#      minhop) is reported;
#   4. fabricctl route verify + route stats on OpenSM's opensm-lfts.dump (read by ReadRoutes);
#   5. fabricctl route compute with our engines on the same topology: once with verification
#      and the route files (deadlock freedom, verification time, route stats), then twice
#      more without either; the routing time is the best `route_seconds` of the three, the
#      same phase OpenSM's figure covers. nue is compared with fabricctl's nue-style
#      `escape` engine given the same VLs (OpenSM's nue_max_num_vls defaults to 1, so
#      `--vls 1`); dor (torus case only) with fabricctl's `torus` engine.
# Writes OUT/compare.md (a Markdown table) and, with -w, puts it into docs/performance.md
# between the opensm-compare markers. -k keeps the work directory.
#
# OpenSM's dump holds LFTs only: the SLs that dfsssp/nue hand out through path records
# are not in it, so their tables are verified on one VL (marked "LFT only" in the table).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/.." && pwd)"
build="$src/build"
cases="ft1k,torus"
engines=""  # default: minhop,updn,ftree,dfsssp,nue (and dor on the torus)
timeout_s=900
keep=0
write=0
while getopts "b:c:e:t:kwh" opt; do
  case "$opt" in
    b) build="$OPTARG" ;;
    c) cases="$OPTARG" ;;
    e) engines="$OPTARG" ;;
    t) timeout_s="$OPTARG" ;;
    k) keep=1 ;;
    w) write=1 ;;
    *) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
fabricctl="$build/fabricctl"
umad2sim=/usr/lib/x86_64-linux-gnu/umad2sim/libumad2sim.so
for tool in ibsim opensm ibnetdiscover timeout python3; do
  command -v "$tool" >/dev/null || { echo "opensm-compare: $tool not found (tools/install-deps.sh)" >&2; exit 2; }
done
[[ -x "$fabricctl" ]] || { echo "opensm-compare: $fabricctl not built" >&2; exit 2; }
[[ -r "$umad2sim" ]] || { echo "opensm-compare: $umad2sim missing (libumad2sim0)" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/opensm-compare.XXXXXX")"
sim_pid=""
cleanup() {
  [[ -n "$sim_pid" ]] && bash "$src/tools/ibsim/stop-ibsim.sh" "$sim_pid" || true
  if ((keep)); then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
sock="opensm-compare-$$"

case_args() {
  case "$1" in
    tiny) echo "fat-tree k=8 tiers=2" ;;
    ft1k) echo "fat-tree k=16 tiers=3" ;;
    ft5k) echo "fat-tree k=28 tiers=3" ;;
    torus) echo "torus dims=6x6x6" ;;
    torus1k) echo "torus dims=10x10x10" ;;
    ftpart) echo "fat-tree k=16 tiers=3 endpoints=300" ;;
    *) echo "opensm-compare: unknown case '$1' (tiny, ft1k, ft5k, torus, torus1k, ftpart)" >&2; return 2 ;;
  esac
}

# ibsim's tables hold 2,048 nodes, 256 switches and 13,312 ports unless -N/-S/-P raise them.
ibsim_size_args() {
  awk '/^(Switch|Hca|Ca|Rt)[ \t]/ {n++; if ($1 == "Switch") s++; p += $2 + 1}
       END {N = n > 2048 ? n : 2048; S = s > 256 ? s : 256; P = p > 13312 ? p : 13312;
            if (n > 2048 || s > 256 || p > 13312) printf "-N %d -S %d -P %d", N, S, P}' "$1"
}

# Seconds between two OpenSM log lines "Mon DD HH:MM:SS uuuuuu [..]".
log_span() {
  python3 - "$1" "$2" "$3" <<'PY'
import re, sys
log, start_pat, end_pat = sys.argv[1], sys.argv[2], sys.argv[3]
def t(line):
    m = re.match(r"\w+ +\d+ (\d+):(\d+):(\d+) (\d+)", line)
    return int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) + int(m[4]) / 1e6 if m else None
start = end = None
for line in open(log, errors="replace"):
    if start is None and start_pat in line: start = t(line)
    elif start is not None and end_pat in line: end = t(line); break
if start is None or end is None: print("")
else: print(f"{(end - start) % 86400:.4f}")
PY
}

json_field() {  # json_field FILE PYTHON_EXPR
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null || echo "?"
}

table="$work/compare.md"
{
  echo "| topology | engine | OpenSM routing s | fabricctl routing s (verify s) | speed-up | max channel load OpenSM / ours (bound) | VLs OpenSM / ours | deadlock-free OpenSM / ours |"
  echo "|---|---|---|---|---|---|---|---|"
} >"$table"

IFS=, read -r -a case_list <<<"$cases"
for c in "${case_list[@]}"; do
  case_engines="$engines"
  if [[ -z "$case_engines" ]]; then
    case_engines="minhop,updn,ftree,dfsssp,nue"
    [[ "$c" == torus* ]] && case_engines+=",dor"
  fi
  IFS=, read -r -a engine_list <<<"$case_engines"
  read -r -a gen <<<"$(case_args "$c")"
  dir="$work/$c"
  mkdir -p "$dir"
  set_args=()
  for kv in "${gen[@]:1}"; do set_args+=(--set "$kv"); done
  "$fabricctl" topo gen "${gen[0]}" "${set_args[@]}" -o "$dir/net.ibsim" >/dev/null
  # shellcheck disable=SC2046
  sim_pid="$(bash "$src/tools/ibsim/start-ibsim.sh" -s "$sock" -d "$dir/sim" -t 120 "$dir/net.ibsim" \
             $(ibsim_size_args "$dir/net.ibsim"))"
  IBSIM_SOCKNAME="$sock" LD_PRELOAD="$umad2sim" timeout "$timeout_s" ibnetdiscover >"$dir/topo.ibnd" 2>"$dir/ibnd.err" || {
    echo "opensm-compare: $c: ibnetdiscover failed:" >&2; tail -5 "$dir/ibnd.err" >&2; exit 2; }
  endpoints="$(json_field <("$fabricctl" topo show "$dir/topo.ibnd" --json) "d['endpoints']")"
  label="${gen[*]} ($endpoints endpoints)"
  for e in "${engine_list[@]}"; do
    od="$dir/opensm-$e"
    mkdir -p "$od"
    rc=0
    IBSIM_SOCKNAME="$sock" LD_PRELOAD="$umad2sim" timeout "$timeout_s" \
      opensm --once -R "$e" -D 0x47 -f "$od/opensm.log" --dump_files_dir "$od" >"$od/out.txt" 2>&1 || rc=$?
    os_time="$(log_span "$od/opensm.log" "building routing with '$e'" "tables configured")"
    used="$e"
    # A failed engine: OpenSM logs why ("ERR ...", "<e>: cannot build ...") and falls back
    # to minhop; the table names both.
    if grep -q "ucast_mgr_route: $e: cannot build" "$od/opensm.log" 2>/dev/null; then
      fell="$(grep -o "osm_ucast_mgr_process: [a-zA-Z0-9_-]* tables configured" "$od/opensm.log" | tail -1 | awk '{print $2}' || true)"
      why="$(grep -o "ERR [0-9A-F]*: .*" "$od/opensm.log" | grep -v "neighbor does not point back" | tail -1 | sed -E 's/^ERR [0-9A-F]*: *//' | cut -c1-60 || true)"
      # Some engines give up without an ERR line ("updn_lid_matrices: disabling UPDN
      # algorithm, no root nodes were found"): take the last warning before the failure.
      [[ -n "$why" ]] || why="$(sed -n "1,/ucast_mgr_route: $e: cannot build/p" "$od/opensm.log" |
                               grep -oE "0x0[12] -> [a-z_]+: .*" | grep -v "cannot build" | tail -1 |
                               sed -E 's/^0x0[12] -> [a-z_]+: //' | cut -c1-60 || true)"
      used="$e failed (${why:-see log}), fell back to ${fell:-?}"
    fi
    ((rc == 124)) && os_time="timeout ${timeout_s}s"
    [[ -n "$os_time" ]] || os_time="n/a (rc $rc)"
    os_load="?" os_vls="?" os_dlf="?"
    if [[ -s "$od/opensm-lfts.dump" ]]; then
      "$fabricctl" route stats "$dir/topo.ibnd" "$od/opensm-lfts.dump" --json --permutations 0 >"$od/stats.json" 2>"$od/stats.err" || true
      os_load="$(json_field "$od/stats.json" "d['max_channel_load']")"
      os_dlf="$(json_field "$od/stats.json" "'yes' if d['deadlock_free'] else 'NO'")"
      # dfsssp logs "Virtual Lanes needed: N"; the others use one VL (nue: nue_max_num_vls=1 by default).
      os_vls="$(grep -o "Virtual Lanes needed: [0-9]*" "$od/opensm.log" | tail -1 | awk '{print $4}' || true)"
      os_vls="${os_vls:-1}"
      case "$e" in dfsssp | nue) os_dlf="$os_dlf (LFT only)" ;; esac
    fi
    # Ours: the same engine where we have it; nue -> escape with nue's default VL budget,
    # dor -> the torus engine.
    ours="$e" ours_args=()
    case "$e" in
      nue) ours="escape" ours_args=(--vls 1) ;;
      dor) ours="torus" ;;
    esac
    rd="$dir/ours-$ours"
    our_time="?" our_load="?" our_vls="?" our_dlf="?" bound="?" verify_s="?"
    if [[ ! -e "$rd.json" ]]; then
      "$fabricctl" route compute "$dir/topo.ibnd" --engine "$ours" "${ours_args[@]}" -o "$rd" --json >"$rd.json" 2>"$rd.err" || true
      [[ -d "$rd" ]] && "$fabricctl" route stats "$dir/topo.ibnd" "$rd" --json --permutations 0 >"$rd.stats.json" 2>/dev/null || true
      for run in 2 3; do
        "$fabricctl" route compute "$dir/topo.ibnd" --engine "$ours" "${ours_args[@]}" --no-verify --json \
          >"$rd.run$run.json" 2>/dev/null || true
      done
    fi
    if [[ -s "$rd.json" ]]; then
      our_time="$(python3 -c "import json,sys
t = []
for f in sys.argv[1:]:
    try: t.append(json.load(open(f))['route_seconds'])
    except Exception: pass
print(f'{min(t):.4f}')" "$rd.json" "$rd.run2.json" "$rd.run3.json")"
      verify_s="$(json_field "$rd.json" "f\"{d['verify_seconds']:.4f}\"")"
      our_load="$(json_field "$rd.json" "d['max_channel_load']")"
      our_vls="$(json_field "$rd.json" "d['vls']")"
      our_dlf="$(json_field "$rd.json" "'yes' if d['deadlock_free'] else 'NO'")"
      bound="$(json_field "$rd.stats.json" "max(s['channel_load']['lower_bound'] for s in d['subnets'])")"
    else
      # "subnet X: no engine of 'E' could route it:\n  E not applicable: why": keep the why.
      why="$(grep -oE "(not applicable|failed): .*" "$rd.err" | head -1 | sed -E 's/^(not applicable|failed): //' | cut -c1-70 || true)"
      our_time="declined: ${why:-$(head -c 120 "$rd.err" | tr '\n' ' ')}"
    fi
    speedup="$(python3 -c "import sys
try: print(f'{float(sys.argv[1]) / max(float(sys.argv[2]), 1e-4):.1f}x')
except ValueError: print('-')" "$os_time" "$our_time")"
    [[ "$verify_s" == "?" ]] || our_time="$our_time ($verify_s)"
    [[ "$ours" == "$e" ]] || our_time="$our_time, $ours ${ours_args[*]}"
    echo "| $label | $used | $os_time | $our_time | $speedup | $os_load / $our_load ($bound) | $os_vls / $our_vls | $os_dlf / $our_dlf |" >>"$table"
    echo "$c $e: opensm $os_time s, ours $our_time s, load $os_load / $our_load" >&2
  done
  bash "$src/tools/ibsim/stop-ibsim.sh" "$sim_pid"
  sim_pid=""
done

cat "$table"
if ((write)); then
  python3 - "$src/docs/performance.md" "$table" "$(date -u +%Y-%m-%d)" "$(nproc)" <<'PY'
import sys
doc, table, day, cores = sys.argv[1:5]
text = open(doc).read()
begin, end = "<!-- opensm-compare:begin -->", "<!-- opensm-compare:end -->"
body = f"{begin}\nMeasured {day} on {cores} cores by `tools/opensm-compare.sh -w`:\n\n{open(table).read()}{end}"
if begin in text:
    a, b = text.index(begin), text.index(end) + len(end)
    text = text[:a] + body + text[b:]
else:
    raise SystemExit("docs/performance.md has no opensm-compare markers")
tmp = doc + ".tmp"
open(tmp, "w").write(text)
import os; os.replace(tmp, doc)
PY
  echo "wrote docs/performance.md" >&2
fi
