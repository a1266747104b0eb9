#!/usr/bin/env bash
# Stops the one-node cluster slurm-up.sh started in DIR: slurmd, slurmctld, munged (by the
# pids in their pid files, never by name). Idempotent.
# usage: slurm-down.sh DIR
set -uo pipefail
if [ $# -ne 1 ]; then echo "usage: slurm-down.sh DIR" >&2; exit 2; fi
dir="$1"
stop() { # PIDFILE
  [ -s "$1" ] || return 0
  local pid
  pid="$(cat "$1")"
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null
}
stop "$dir/slurmd.pid"
stop "$dir/slurmctld.pid"
stop "$dir/munge/munged.pid"
exit 0
