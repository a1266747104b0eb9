#!/usr/bin/env bash
# Starts ibsim on a topology file in the background and waits until it is ready.
#
#   start-ibsim.sh [-s SOCKNAME] [-d DIR] [-t TIMEOUT_S] NETFILE [IBSIM_ARGS...]
#
# Prints the simulator's pid on stdout. DIR (default: a new mktemp dir) holds
#   DIR/ibsim.log  what ibsim printed,
#   DIR/console    a FIFO wired to ibsim's console: echo 'Unlink "sw1"[3]' > DIR/console
# Programs then run against it with:
#   IBSIM_SOCKNAME=SOCKNAME LD_PRELOAD=$(umad2sim_lib) ibnetdiscover
# Stop it with stop-ibsim.sh PID. Exit 2 (and no simulator left behind) when it does not
# become ready within TIMEOUT_S seconds (default 30).
set -euo pipefail

sockname="${IBSIM_SOCKNAME:-sim}"
dir=""
timeout_s=30
while getopts "s:d:t:" opt; do
  case "$opt" in
    s) sockname="$OPTARG" ;;
    d) dir="$OPTARG" ;;
    t) timeout_s="$OPTARG" ;;
    *) echo "usage: $0 [-s SOCKNAME] [-d DIR] [-t TIMEOUT_S] NETFILE [IBSIM_ARGS...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [[ $# -lt 1 ]]; then
  echo "usage: $0 [-s SOCKNAME] [-d DIR] [-t TIMEOUT_S] NETFILE [IBSIM_ARGS...]" >&2
  exit 2
fi
netfile="$1"
shift
if ! command -v ibsim >/dev/null; then
  echo "start-ibsim: ibsim not found (apt-get install ibsim-utils)" >&2
  exit 2
fi
if [[ ! -r "$netfile" ]]; then
  echo "start-ibsim: cannot read $netfile" >&2
  exit 2
fi
[[ -n "$dir" ]] || dir="$(mktemp -d "${TMPDIR:-/tmp}/ibsim.XXXXXX")"
mkdir -p "$dir"
rm -f "$dir/console"
mkfifo "$dir/console"

# Opening the FIFO read-write keeps a writer alive, so ibsim never sees end of input and
# writers (echo ... > console) never block.
IBSIM_SOCKNAME="$sockname" setsid ibsim -s "$@" "$netfile" <>"$dir/console" >"$dir/ibsim.log" 2>&1 &
pid=$!

deadline=$((SECONDS + timeout_s))
until grep -q "Network simulator ready" "$dir/ibsim.log" 2>/dev/null; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "start-ibsim: ibsim exited before it was ready; its log ($dir/ibsim.log):" >&2
    tail -n 20 "$dir/ibsim.log" >&2 || true
    exit 2
  fi
  if ((SECONDS >= deadline)); then
    kill "$pid" 2>/dev/null || true
    echo "start-ibsim: ibsim not ready after ${timeout_s}s (log: $dir/ibsim.log)" >&2
    exit 2
  fi
  sleep 0.05
done
echo "$pid"
