#!/usr/bin/env bash
# The nightly sweep as a Slurm job on a fabric of network namespaces: a one-node cluster
# (munged, slurmctld, slurmd: tools/slurm/slurm-up.sh) starts one task per namespace host,
# the tasks become MPI ranks through Slurm's PMIx plugin (`srun --mpi=pmix`; Debian 12's
# OpenMPI has no PMI-2 support), and each task enters its host's namespace.
# Checks: `srun` of the sweep flags exactly the shaped leaf-spine cable (bandwidth); the
# site batch script tools/fabricctl-sweep.sbatch, submitted with `sbatch --wait`, reports
# the fabric healthy once the shaping is gone (latency findings aside: sweep_job_lib.sh)
# and writes its report, HTML page, metrics and history; no host namespace has a listener
# before or after the jobs.
# Needs root, `ip netns`, tc, slurm-wlm, munge and mpirun; prints SKIP and exits 0 without.
# usage: sweep_slurm_test.sh FABRICCTL SOURCE_DIR
set -euo pipefail
bin="$(realpath "$1")"
src="$(realpath "$2")"

if [ "$(id -u)" != 0 ]; then echo "SKIP: sweep_slurm_test needs root (network namespaces, tc, slurmd)"; exit 0; fi
if ! ip netns list >/dev/null 2>&1; then echo "SKIP: sweep_slurm_test needs 'ip netns' (iproute2)"; exit 0; fi
if ! command -v tc >/dev/null; then echo "SKIP: sweep_slurm_test needs tc (iproute2)"; exit 0; fi
for cmd in slurmctld slurmd srun sbatch munged mpirun; do
  if ! command -v "$cmd" >/dev/null; then echo "SKIP: sweep_slurm_test needs $cmd (slurm-wlm, munge, openmpi-bin)"; exit 0; fi
done
if [ ! -e /usr/lib/x86_64-linux-gnu/pmix2/lib/libpmix.so ] && [ ! -e /usr/lib/pmix2/lib/libpmix.so ]; then
  echo "SKIP: sweep_slurm_test needs libpmix-dev (Slurm's PMIx plugin opens its libpmix.so)"; exit 0
fi

prefix="sl$(($$ % 1000000))"
# shellcheck source=tests/cli/testlib.sh
. "$src/tests/cli/testlib.sh" # makes and enters $work, removed on exit after the on_exit steps
fabric_down=(true)
cleanup() {
  bash "$src/tools/slurm/slurm-down.sh" "$work/slurm"
  "${fabric_down[@]}"
}
on_exit cleanup
trap 'exit 130' INT TERM
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/slurm/slurmd.log "$work"/slurm/slurmctld.log; do
    [ -s "$f" ] && { echo "--- $f" >&2; tail -5 "$f" >&2; }
  done
  exit 1
}
# shellcheck source=tests/netns/sweep_job_lib.sh
. "$src/tests/netns/sweep_job_lib.sh"

job_fabric_up
job_wrapper "$work/rank.sh"
"$bin" sweep plan "$topo" "$routes" -o plan.json >/dev/null || fail "sweep plan"
# slurmd passes its environment to slurmstepd, whose PMIx server must be reachable from
# the host namespaces. Ports apart from a cluster that may run on this machine.
# shellcheck disable=SC2046
env $(job_pmix_env) bash "$src/tools/slurm/slurm-up.sh" "$work/slurm" $((hosts + 2)) $((20000 + $$ % 20000)) \
  || fail "slurm-up"
# shellcheck disable=SC1091
. "$work/slurm/env"

# 1. srun: the shaped cable is the one finding.
job_nothing_listens "before the jobs"
job_shape on
start=$SECONDS
set +e
timeout 300 srun -n "$hosts" --mpi=pmix --kill-on-bad-exit=1 -t 10 \
  "$work/rank.sh" "$bin" sweep run "$topo" "$routes" --plan plan.json --fabric mpi --agents "$agents" \
  --probe-seconds 0.3 --timeout 3 -o shaped.json >out 2>err
rc=$?
set -e
srun_seconds=$((SECONDS - start))
if grep -q "built without MPI" err; then echo "SKIP: sweep_slurm_test: fabricctl was built without MPI"; exit 0; fi
# srun exits with the highest task exit code: rank 0's 1 (findings).
[ "$rc" = 1 ] || fail "srun shaped job: expected exit 1, got $rc: $(cat out err)"
job_check_report shaped.json shaped "$shape_link"
grep "^finding: bandwidth " out | grep -qF "$shape_link" || fail "rank 0 did not print the finding: $(cat out)"
job_nothing_listens "after the srun job"

# 2. The site's batch script, one task per host (here all on one node), unshaped: healthy.
job_shape off
mkdir reports
start=$SECONDS
set +e
FABRICCTL="$bin" FABRICCTL_LAUNCH="$work/rank.sh" FABRICCTL_SWEEP_OPTIONS="--plan $work/plan.json --probe-seconds 0.3 --timeout 3" \
  timeout 300 sbatch --wait -n "$hosts" --ntasks-per-node="$hosts" -o "$work/batch.out" \
  "$src/tools/fabricctl-sweep.sbatch" "$topo" "$routes" "$agents" "$work/reports" >out 2>err
rc=$?
set -e
sbatch_seconds=$((SECONDS - start))
report="$(ls reports/sweep-*.json)" || fail "batch job (exit $rc) wrote no report: $(cat out err "$work/batch.out")"
job_expect_healthy "$rc" "$report"
for f in "${report%.json}.html" "${report%.json}.prom" reports/history.db; do
  [ -s "$f" ] || fail "batch job did not write $f: $(ls reports)"
done
if [ "$latency_findings" = 0 ]; then
  grep -q "^healthy: no findings" "$work/batch.out" || fail "batch output: $(cat "$work/batch.out")"
fi
job_nothing_listens "after the batch job"

echo "PASS: sweep slurm ($hosts tasks; srun flagged '$shape_link' in ${srun_seconds} s;" \
  "sbatch script healthy in ${sbatch_seconds} s; no listener outside a job)"
