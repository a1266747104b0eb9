#!/usr/bin/env bash
# Peer comparison: Debian's OpenSM (under ibsim) against fabricctl on the same topology.
#
#   tools/opensm-compare.sh [-b BUILD_DIR] [-c CASES] [-f FILE]... [-e OPENSM_ENGINES]
#                           [-r OUR_RUNS] [-t TIMEOUT_S] [-O CACHE_DIR] [-s | -C] [-k] [-w]
#
# Cases (-c, comma-separated; default: every case but tiny and ftpart; `all` for all):
#   jf50, jf200, jf2k    jellyfish (random regular) of 50 / 200 / 2,000 switches
#   ftfail, ftfail5k     fat trees k=16 / k=28, 3 tiers, 3% of the switch cables and 2 / 4
#                        switches failed
#   torusfail, dffail    6x6x6 torus and a 136-router dragonfly, one switch cable failed
#   ftslow, jfslow       k=16 fat tree and jf200 with 10% of the switch cables at 4xDDR
#   ft1k, ft5k, torus, torus1k, ftpart, tiny   healthy fat trees (k=16, k=28), tori
#                        (6x6x6, 10x10x10), a k=16 tree with 300 endpoints, a k=8 2-tier tree
#   jf80mix, jf120sw     jellyfish of 80 switches with 5% of the cables failed and 5% slow,
#                        of 120 switches with 3 switches failed
#   torusgap, torus2dslow   a 4x6x5 torus with a switch failed, an 8x8 torus with 10% slow
#   df54fail, ft12fail, lsslow   a 54-router dragonfly with 3 cables failed, a k=12 fat
#                        tree with 3 switches and 5% of the cables failed, a k=16 leaf-spine
#                        with 15% of the cables slow and 2% failed (other seeds than above)
#   ftover, jfpar, sndirect   a 3:1 oversubscribed k=16 fat tree with 5% of the cables
#                        failed, a 60-switch jellyfish with parallel cables, a 4x4x4 direct
#                        super node (torus of accelerator switches, 2 cables per neighbour,
#                        2 failed)
#   lscables, lsdual     production-shaped leaf-spines: 24 leaves with 6 cables to each of 3
#                        spines, 4 cables failed and 3 at 4xEDR; 16 leaves with 4 cables to
#                        each of 4 spines, hosts dual-homed to leaf pairs, 3 cables failed
# -f FILE adds an ibnetdiscover (or ibsim, JSON) topology file as a case; repeatable.
#
# Per case:
#   1. fabricctl topo gen (or topo convert FILE) -> an ibsim file; ibsim -s loads it;
#   2. ibnetdiscover under ibsim -> the topology both sides use (same GUIDs as OpenSM sees);
#   3. per OpenSM engine (-e; default minhop,updn,ftree,dfsssp,nue,nue8, and dor on tori):
#      `opensm --once -R E` with umad2sim and --dump_files_dir; nue runs with
#      nue_max_num_vls 1 (its default), nue8 is `-R nue --nue_max_num_vls 8 -Q` (QoS on, so
#      SL2VL tables are set), dfsssp keeps its default (every VL the ports have: 8 under
#      ibsim). Routing time from OpenSM's own log ("building routing with 'E'" to "tables
#      configured": no discovery, LID assignment or switch programming); VLs from its log
#      (dfsssp "Virtual Lanes needed", nue "Processing virtual layer"); a fallback to
#      minhop is reported; a run of under 10 s is repeated twice and the best time kept;
#   4. fabricctl route verify and route stats on OpenSM's opensm-lfts.dump. The dump holds
#      LFTs only, so a multi-VL table (dfsssp, nue8) is checked on one VL ("LFT only");
#   5. fabricctl route compute on the same topology (-r; default auto1, auto8, minhop,
#      updn, ftree, dfsssp, escape1, nue1 and nue8 when `route compute --help` lists nue,
#      torus on tori): autoN = --engine auto --vls N, escape1/nue1 = --vls 1, others with
#      the default --vls 8; a name ending in -1p (nue1-1p, minhop-1p) adds --one-pass and
#      is compared with the same OpenSM engine. One verified run (busiest channel, VLs,
#      hops, deadlock freedom), two more with --no-verify unless it routed for over 10 s;
#      the routing time is the best `route_seconds` of the runs.
# Writes OUT/compare.md: per case a table (side, engine, busiest channel in routes,
# worst load per capacity when cable rates differ, VLs, max/avg hops, routing seconds,
# deadlock freedom, speed-up over OpenSM's same engine) and two verdict lines: ours
# `auto --vls 1` against the best deadlock-free 1-VL OpenSM table, ours `auto --vls 8`
# against OpenSM's dfsssp (busiest channel and VLs). -w puts it into docs/performance.md
# between the opensm-compare markers; -k keeps the work directory.
#
# Cache (-O DIR): OpenSM's results do not change when fabricctl does. Per case, keyed by the
# SHA-256 of the ibsim file OpenSM is given, DIR/<key>/ keeps ibnetdiscover's topology and
# per OpenSM engine its LFT dump and what its log said (time, VLs, fallback). A run with a
# filled cache starts no simulator and no OpenSM. A cached timeout is retried when -t is
# larger than the one it ran with. -s runs the OpenSM side only (to fill the cache); -C
# runs no OpenSM at all and reports what the cache holds (a case it lacks is left out, an
# engine it lacks reads "not cached").
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/.." && pwd)"
build="$src/build"
small_cases="jf80mix,jf120sw,torusgap,torus2dslow,df54fail,ft12fail,lsslow,ftover,jfpar,sndirect,lscables,lsdual"
all_cases="jf50,jf200,jf2k,ftfail,ftfail5k,torusfail,dffail,ftslow,jfslow,ft1k,ft5k,torus,torus1k,$small_cases,ftpart,tiny"
cases="jf50,jf200,jf2k,ftfail,ftfail5k,torusfail,dffail,ftslow,jfslow,ft1k,ft5k,torus,torus1k,$small_cases"
files=()
engines=""
runs=""
timeout_s=900
cache=""
opensm_only=0
cached_only=0
cases_given=0
keep=0
write=0
while getopts "b:c:f:e:r:t:O:sCkwh" opt; do
  case "$opt" in
    b) build="$OPTARG" ;;
    c) cases="$OPTARG" cases_given=1 ;;
    f) files+=("$OPTARG") ;;
    e) engines="$OPTARG" ;;
    r) runs="$OPTARG" ;;
    t) timeout_s="$OPTARG" ;;
    O) cache="$OPTARG" ;;
    s) opensm_only=1 ;;
    C) cached_only=1 ;;
    k) keep=1 ;;
    w) write=1 ;;
    *) sed -n '2,62p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
[[ "$cases" == all ]] && cases="$all_cases"
# -f alone compares the files only.
((${#files[@]} > 0 && !cases_given)) && cases=""
umad2sim=/usr/lib/x86_64-linux-gnu/umad2sim/libumad2sim.so
for tool in ibsim opensm ibnetdiscover timeout python3 sha256sum; do
  command -v "$tool" >/dev/null || { echo "opensm-compare: $tool not found (tools/install-deps.sh)" >&2; exit 2; }
done
[[ -x "$build/fabricctl" ]] || { echo "opensm-compare: $build/fabricctl not built" >&2; exit 2; }
[[ -r "$umad2sim" ]] || { echo "opensm-compare: $umad2sim missing (libumad2sim0)" >&2; exit 2; }
for f in "${files[@]}"; do [[ -r "$f" ]] || { echo "opensm-compare: -f $f: not readable" >&2; exit 2; }; done

build="$(cd "$build" && pwd)"
for i in "${!files[@]}"; do files[i]="$(cd "$(dirname "${files[i]}")" && pwd)/$(basename "${files[i]}")"; done
fabricctl="$build/fabricctl"
work="$(mktemp -d "${TMPDIR:-/tmp}/opensm-compare.XXXXXX")"
[[ -n "$cache" ]] || cache="$work/cache"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"
# umad2sim leaves a sys-PID directory where each program runs: keep them in the work dir.
cd "$work"
sim_pid=""
cleanup() {
  [[ -n "$sim_pid" ]] && bash "$src/tools/ibsim/stop-ibsim.sh" "$sim_pid" || true
  if ((keep)); then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
sock="opensm-compare-$$"

case_args() {
  case "$1" in
    jf50) echo "jellyfish switches=50 degree=8 hosts=4" ;;
    jf200) echo "jellyfish switches=200 degree=12 hosts=5" ;;
    jf2k) echo "jellyfish switches=2000 degree=16 hosts=1" ;;
    ftfail) echo "fat-tree k=16 tiers=3 fail_links=0.03 fail_switches=2" ;;
    ftfail5k) echo "fat-tree k=28 tiers=3 fail_links=0.03 fail_switches=4" ;;
    torusfail) echo "torus dims=6x6x6 fail_links=1" ;;
    dffail) echo "dragonfly groups=17 routers=8 hosts=4 global=2 fail_links=1" ;;
    ftslow) echo "fat-tree k=16 tiers=3 slow_links=0.1" ;;
    jfslow) echo "jellyfish switches=200 degree=12 hosts=5 slow_links=0.1" ;;
    tiny) echo "fat-tree k=8 tiers=2" ;;
    ft1k) echo "fat-tree k=16 tiers=3" ;;
    ft5k) echo "fat-tree k=28 tiers=3" ;;
    torus) echo "torus dims=6x6x6" ;;
    torus1k) echo "torus dims=10x10x10" ;;
    ftpart) echo "fat-tree k=16 tiers=3 endpoints=300" ;;
    jf80mix) echo "jellyfish switches=80 degree=6 hosts=3 seed=7 fail_links=0.05 slow_links=0.05" ;;
    jf120sw) echo "jellyfish switches=120 degree=10 hosts=4 seed=13 fail_switches=3" ;;
    torusgap) echo "torus dims=4x6x5 fail_switches=1 seed=3" ;;
    torus2dslow) echo "torus dims=8x8 hosts=2 slow_links=0.1 seed=2" ;;
    df54fail) echo "dragonfly groups=9 routers=6 hosts=3 global=2 fail_links=3 seed=5" ;;
    ft12fail) echo "fat-tree k=12 tiers=3 fail_switches=3 fail_links=0.05 seed=9" ;;
    lsslow) echo "fat-tree k=16 tiers=2 slow_links=0.15 fail_links=0.02 seed=4" ;;
    ftover) echo "fat-tree k=16 tiers=3 oversubscription=3:1 fail_links=0.05 seed=3" ;;
    jfpar) echo "jellyfish switches=60 degree=5 hosts=6 parallel=true seed=4" ;;
    sndirect) echo "supernode mode=direct dims=4x4x4 links=2 accelerators=64 fail_links=2 seed=3" ;;
    lscables) echo "leaf-spine leaves=24 spines=3 cables=6 hosts=18 fail_links=4 slow_links=3 slow_rate=4xEDR seed=11" ;;
    lsdual) echo "leaf-spine leaves=16 spines=4 cables=4 hosts=16 dual_homed=true fail_links=3 seed=13" ;;
    *) echo "opensm-compare: unknown case '$1' ($all_cases)" >&2; return 2 ;;
  esac
}

# ibsim's tables hold 2,048 nodes, 256 switches and 13,312 ports unless -N/-S/-P raise them.
ibsim_size_args() {
  awk '/^(Switch|Hca|Ca|Rt)[ \t]/ {n++; if ($1 == "Switch") s++; p += $2 + 1}
       END {N = n > 2048 ? n : 2048; S = s > 256 ? s : 256; P = p > 13312 ? p : 13312;
            if (n > 2048 || s > 256 || p > 13312) printf "-N %d -S %d -P %d", N, S, P}' "$1"
}

# What OpenSM's log says about one run -> meta.json: routing seconds, the engine that
# configured the tables (a fallback names both), VLs, exit code.
opensm_meta() {  # LOG ENGINE RC TIMEOUT_S NUE_MAX_VLS OUT LOADAVG CPU_FILE
  python3 - "$@" <<'PY'
import json, re, sys
log, engine, rc, timeout_s, nue_vls, out, loadavg, cpu_file = sys.argv[1:9]
try:
    cpu = round(sum(float(x) for x in open(cpu_file).read().split()[-2:]), 3)
except (OSError, ValueError):
    cpu = None
rc = int(rc)
lines = open(log, errors="replace").read().splitlines() if rc != 127 else []
def t(line):
    m = re.match(r"\w+ +\d+ (\d+):(\d+):(\d+) (\d+)", line)
    return int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) + int(m[4]) / 1e6 if m else None
start = end = None
for line in lines:
    if start is None and f"building routing with '{engine}'" in line: start = t(line)
    elif start is not None and "tables configured" in line: end = t(line); break
seconds = (end - start) % 86400 if start is not None and end is not None else None
used, fallback = engine, None
fail = next((i for i, l in enumerate(lines) if f"ucast_mgr_route: {engine}: cannot build" in l), None)
if fail is not None:
    conf = [re.search(r"osm_ucast_mgr_process: ([\w-]+) tables configured", l) for l in lines]
    conf = [m[1] for m in conf if m]
    errs = [re.sub(r"^.*ERR [0-9A-F]*: *", "", l) for l in lines if re.search(r"ERR [0-9A-F]*:", l)
            and "neighbor does not point back" not in l]
    # Some engines give up without an ERR line: take the last warning before the failure.
    warns = [re.sub(r"^.*0x0[12] -> [a-z_]+: ", "", l) for l in lines[:fail]
             if re.search(r"0x0[12] -> [a-z_]+: ", l) and "cannot build" not in l]
    why = (errs or warns or ["see log"])[-1][:60]
    fallback = conf[-1] if conf else "?"
    used = f"{engine} failed ({why}), fell back to {fallback}"
vls = 1
dfsssp = [int(m[1]) for l in lines if (m := re.search(r"Virtual Lanes needed: (\d+)", l))]
# nue spreads the destinations over min(nue_max_num_vls, the ports' data VLs) layers and
# logs no count below debug level.
data_vls = [int(m[1]) for l in lines if (m := re.search(r"minimal data VLs to:(\d+)", l))]
spread = any("Distributing destination lids onto available VLs" in l for l in lines)
if fallback is None and dfsssp: vls = dfsssp[-1]
elif fallback is None and spread: vls = min([int(nue_vls)] + data_vls)
json.dump({"engine": engine, "seconds": seconds, "used": used, "fell_back": fallback is not None,
           "vls": vls, "rc": rc, "timed_out": rc == 124, "timeout_s": int(timeout_s),
           "load_average": float(loadavg), "process_cpu_seconds": cpu}, open(out, "w"))
PY
}

# Whether the run described by JSON file $1 routed (rc 0 where it says) in under 10 s, its
# time under key $2: only such runs are repeated, as longer ones vary by a few per cent.
routed_quickly() {  # JSON KEY
  python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); t = m.get(sys.argv[2]); sys.exit(0 if t is not None and t < 10 and m.get("rc", 0) == 0 else 1)' \
    "$1" "$2" 2>/dev/null
}

# Fills $cc/opensm-$e unless the cache has it. Like ours, a run of under 10 s is repeated
# twice and the best routing time kept (OpenSM's log times of one fabric vary by up to 3x
# between runs); the LFT dump and everything else come from the first run.
run_opensm() {  # CACHE_CASE_DIR ENGINE
  local cc=$1 e=$2 od="$1/opensm-$2" r="$2" extra=() nue_vls=1
  if [[ -s "$od/meta.json" ]]; then
    local was
    was="$(python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(m['timeout_s'] if m['timed_out'] else 0)" "$od/meta.json")"
    ((was == 0 || was >= timeout_s)) && return 0
  fi
  case "$e" in
    nue8) r=nue extra=(--nue_max_num_vls 8 -Q) nue_vls=8 ;;
    nue) extra=(--nue_max_num_vls 1) ;;
  esac
  rm -rf "$od.tmp" "$od"
  mkdir -p "$od.tmp"
  local run
  for run in 1 2 3; do
    local rc=0 load rd="$od.tmp/run$run"
    mkdir -p "$rd"
    load="$(cut -d' ' -f1 /proc/loadavg)"
    # The log's wall time stretches on a busy machine: keep the load average and OpenSM's
    # CPU seconds (the whole run, discovery included) next to it.
    IBSIM_SOCKNAME="$sock" LD_PRELOAD="$umad2sim" /usr/bin/time -f "%U %S" -o "$rd/cpu" timeout "$timeout_s" \
      opensm --once -R "$r" "${extra[@]}" -D 0x47 -f "$rd/opensm.log" --dump_files_dir "$rd" \
      >"$rd/out.txt" 2>&1 || rc=$?
    opensm_meta "$rd/opensm.log" "$r" "$rc" "$timeout_s" "$nue_vls" "$rd/meta.json" "$load" "$rd/cpu"
    rm -f "$rd/opensm.log"  # runs to gigabytes on large fabrics
    routed_quickly "$rd/meta.json" seconds || break
  done
  # The first run's meta with the least routing time of the runs, and each run's time.
  python3 - "$od.tmp" <<'PY'
import glob, json, os, sys
d = sys.argv[1]
runs = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(d, "run*", "meta.json")))]
meta = runs[0]
times = [m["seconds"] for m in runs if m["seconds"] is not None]
meta["seconds_each"] = times
if times: meta["seconds"] = min(times)
json.dump(meta, open(os.path.join(d, "meta.json"), "w"))
PY
  if [[ -s "$od.tmp/run1/opensm-lfts.dump" ]]; then mv "$od.tmp/run1/opensm-lfts.dump" "$od.tmp/"; fi
  rm -rf "$od.tmp"/run*
  mv "$od.tmp" "$od"
  echo "opensm-compare: $(basename "$cc"): OpenSM $e: $(cat "$od/meta.json")" >&2
}

# One of our runs: NAME -> route compute arguments; NAME-1p adds --one-pass.
our_args() {
  if [[ "$1" == *-1p ]]; then
    echo "$(our_args "${1%-1p}") --one-pass"
    return
  fi
  case "$1" in
    auto1) echo "--engine auto --vls 1" ;;
    auto8) echo "--engine auto --vls 8" ;;
    escape1) echo "--engine escape --vls 1" ;;
    nue1) echo "--engine nue --vls 1" ;;
    nue8) echo "--engine nue --vls 8" ;;
    *) echo "--engine $1" ;;
  esac
}

run_ours() {  # CASE_DIR TOPO NAME
  local d=$1 topo=$2 name=$3 args
  read -r -a args <<<"$(our_args "$name")"
  "$fabricctl" route compute "$topo" "${args[@]}" --json >"$d/ours-$name.json" 2>"$d/ours-$name.err" || true
  routed_quickly "$d/ours-$name.json" route_seconds || return 0
  for run in 2 3; do
    "$fabricctl" route compute "$topo" "${args[@]}" --no-verify --json >"$d/ours-$name.run$run.json" 2>/dev/null || true
  done
}

IFS=, read -r -a case_list <<<"$cases"
for f in "${files[@]}"; do case_list+=("file:$f"); done
have_nue=0
# An engine is listed in `route compute --help` as "  NAME   help".
"$fabricctl" route compute --help 2>/dev/null | grep -qE '^  nue ' && have_nue=1
order=()
for c in "${case_list[@]}"; do
  [[ -n "$c" ]] || continue
  name="$c"
  [[ "$c" == file:* ]] && name="file-$(basename "${c#file:}" | tr -c 'A-Za-z0-9._\n-' '_')"
  dir="$work/$name"
  mkdir -p "$dir"
  order+=("$name")
  if [[ "$c" == file:* ]]; then
    label="$(basename "${c#file:}")"
    "$fabricctl" topo convert "${c#file:}" -o "$dir/net.ibsim" >/dev/null
  else
    read -r -a gen <<<"$(case_args "$c")"
    label="${gen[*]}"
    set_args=()
    for kv in "${gen[@]:1}"; do set_args+=(--set "$kv"); done
    "$fabricctl" topo gen "${gen[0]}" "${set_args[@]}" -o "$dir/net.ibsim" >/dev/null
  fi
  key="$(sha256sum "$dir/net.ibsim" | cut -c1-16)"
  cc="$cache/$key"
  mkdir -p "$cc"
  echo "$label" >"$cc/label"

  case_engines="$engines"
  if [[ -z "$case_engines" ]]; then
    case_engines="minhop,updn,ftree,dfsssp,nue,nue8"
    [[ "$c" == torus* ]] && case_engines+=",dor"
  fi
  IFS=, read -r -a engine_list <<<"$case_engines"
  if ((cached_only)) && [[ ! -s "$cc/topo.ibnd" ]]; then
    echo "opensm-compare: $name: not in the cache $cache, left out" >&2
    unset 'order[${#order[@]}-1]'
    continue
  fi
  missing=0
  [[ -s "$cc/topo.ibnd" ]] || missing=1
  for e in "${engine_list[@]}"; do [[ -s "$cc/opensm-$e/meta.json" ]] || missing=1; done
  if ((!cached_only)) && { ((missing)) || grep -qs '"timed_out": true' "$cc"/opensm-*/meta.json; }; then
    # shellcheck disable=SC2046
    sim_pid="$(bash "$src/tools/ibsim/start-ibsim.sh" -s "$sock" -d "$dir/sim" -t 300 "$dir/net.ibsim" \
               $(ibsim_size_args "$dir/net.ibsim"))"
    if [[ ! -s "$cc/topo.ibnd" ]]; then
      IBSIM_SOCKNAME="$sock" LD_PRELOAD="$umad2sim" timeout "$timeout_s" ibnetdiscover >"$cc/topo.ibnd.tmp" 2>"$dir/ibnd.err" || {
        echo "opensm-compare: $name: ibnetdiscover failed:" >&2; tail -5 "$dir/ibnd.err" >&2; exit 2; }
      mv "$cc/topo.ibnd.tmp" "$cc/topo.ibnd"
    fi
    for e in "${engine_list[@]}"; do run_opensm "$cc" "$e"; done
    bash "$src/tools/ibsim/stop-ibsim.sh" "$sim_pid"
    sim_pid=""
  fi
  topo="$cc/topo.ibnd"
  printf '%s\n' "$label" >"$dir/label"
  printf '%s\n' "${engine_list[@]}" >"$dir/opensm-engines"
  ((opensm_only)) && continue

  # Our checks of OpenSM's tables (our verifier may change, so these are not cached).
  for e in "${engine_list[@]}"; do
    dump="$cc/opensm-$e/opensm-lfts.dump"
    [[ -s "$dump" ]] || continue
    "$fabricctl" route verify "$topo" "$dump" --json >"$dir/opensm-$e.verify.json" 2>/dev/null || true
    "$fabricctl" route stats "$topo" "$dump" --json --permutations 0 >"$dir/opensm-$e.stats.json" 2>/dev/null || true
  done
  case_runs="$runs"
  if [[ -z "$case_runs" ]]; then
    case_runs="auto1,auto8,minhop,updn,ftree,dfsssp,escape1"
    ((have_nue)) && case_runs+=",nue1,nue8"
    [[ "$c" == torus* ]] && case_runs+=",torus"
  fi
  IFS=, read -r -a run_list <<<"$case_runs"
  for r in "${run_list[@]}"; do
    run_ours "$dir" "$topo" "$r"
    echo "opensm-compare: $name: ours $r done" >&2
  done
  printf '%s\n' "${run_list[@]}" >"$dir/our-runs"
  for e in "${engine_list[@]}"; do
    [[ -s "$cc/opensm-$e/meta.json" ]] && cp "$cc/opensm-$e/meta.json" "$dir/opensm-$e.meta.json"
  done
  cp "$topo" "$dir/topo.ibnd"
done
((opensm_only)) && { echo "opensm-compare: OpenSM results cached in $cache" >&2; exit 0; }

table="$work/compare.md"
python3 "$here/opensm-compare-table.py" "$work" "${order[@]}" >"$table"
cat "$table"
if ((write)); then
  python3 - "$src/docs/performance.md" "$table" "$(date -u +%Y-%m-%d)" "$(nproc)" \
    "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')" <<'PY'
import os, sys
doc, table, day, cores, cpu = sys.argv[1:6]
text = open(doc).read()
begin, end = "<!-- opensm-compare:begin -->", "<!-- opensm-compare:end -->"
body = (f"{begin}\nMachine: {cores} cores ({cpu}). Regenerate: `tools/opensm-compare.sh -O CACHE -w` "
        f"(OpenSM 3.3.23 under ibsim; OpenSM results from the cache of `-O`):\n\n{open(table).read()}{end}")
if begin not in text:
    raise SystemExit("docs/performance.md has no opensm-compare markers")
a, b = text.index(begin), text.index(end) + len(end)
text = text[:a] + body + text[b:]
open(doc + ".tmp", "w").write(text)
os.replace(doc + ".tmp", doc)
PY
  echo "wrote docs/performance.md" >&2
fi
