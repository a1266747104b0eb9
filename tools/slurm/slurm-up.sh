#!/usr/bin/env bash
# Brings up a one-node Slurm cluster on this machine for tests: its own munged (own key and
# socket), slurmctld and slurmd, all with their files in DIR, listening on loopback ports
# only. The node `localhost` offers CPUS CPUs (default 32, more than the machine has, so a
# job may start one task per namespace host); the partition `test` is the default.
# PMIx (`srun --mpi=pmix`) works once libpmix-dev is installed: Debian 12's Slurm plugin
# opens /usr/lib/x86_64-linux-gnu/pmix2/lib/libpmix.so, which only that package ships.
# Writes DIR/slurm.conf and DIR/env (`export SLURM_CONF=...`, source it before srun,
# sbatch, squeue). Waits until the node is idle. Stop it with slurm-down.sh DIR.
# Needs root and slurm-wlm, munge.
# usage: slurm-up.sh DIR [CPUS [CTLD_PORT]]   (CTLD_PORT and CTLD_PORT+1 must be free; default 16817)
set -euo pipefail
usage="usage: slurm-up.sh DIR [CPUS [CTLD_PORT]]"
dir="${1:?$usage}"
cpus="${2:-32}"
port="${3:-16817}"
bad() { echo "slurm-up: $*" >&2; exit 2; }
[[ "$cpus" =~ ^[0-9]+$ ]] && [ "$cpus" -ge 1 ] && [ "$cpus" -le 1024 ] || bad "CPUS '$cpus' must be 1..1024"
[[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1024 ] && [ "$port" -le 65000 ] || bad "CTLD_PORT '$port' must be 1024..65000"
for cmd in munged mungekey slurmctld slurmd scontrol sinfo; do
  command -v "$cmd" >/dev/null || bad "needs $cmd (slurm-wlm, munge)"
done
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
chmod 700 "$dir"
mkdir -p "$dir/munge" "$dir/state" "$dir/spool"
chmod 700 "$dir/munge"

here="$(cd "$(dirname "$0")" && pwd)"
trap '"$here/slurm-down.sh" "$dir"' ERR

# munge: a key of this cluster only, a socket in DIR (munged refuses root without --force).
mungekey --create --keyfile="$dir/munge/munge.key" --force
munged --force --socket="$dir/munge/munge.sock" --key-file="$dir/munge/munge.key" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"

cat >"$dir/slurm.conf" <<EOF
ClusterName=fabricctl
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
# No cgroup setup needed: processes are tracked by parent, tasks are not pinned.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# The node's CPUs as written here, not as counted: the tests start more ranks than cores.
SlurmdParameters=config_overrides
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
KillOnBadExit=1
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=60 State=UP OverSubscribe=FORCE
EOF
echo "export SLURM_CONF=$dir/slurm.conf" >"$dir/env"
export SLURM_CONF="$dir/slurm.conf"

slurmctld -f "$dir/slurm.conf"
slurmd -f "$dir/slurm.conf" -N localhost
for _ in $(seq 100); do
  state="$(sinfo -h -n localhost -o %T 2>/dev/null || true)"
  [ "$state" = idle ] && exit 0
  sleep 0.2
done
bad "node not idle after 20 s (state '${state:-none}'); see $dir/slurmctld.log, $dir/slurmd.log"
