#!/usr/bin/env bash
# The nightly sweep as an OpenMPI job (`sweep run --fabric mpi` under mpirun) on a fabric
# of network namespaces: one rank per host, each rank started inside its host's namespace,
# so it owns that host's port and serves probes there only while the job runs. MPI's own
# traffic between the ranks is shared memory (btl self,vader); each rank reaches mpirun's
# PMIx server over the management network (see sweep_job_lib.sh for why).
# Checks: one shaped leaf-spine cable is the one finding (bandwidth); with the shaping
# removed the sweep is healthy (latency findings aside: sweep_job_lib.sh); no host
# namespace has a listener before or after a job; a host whose cable is down has its probes
# unmeasured with the reason; a rank that owns no port stops the job with a message naming
# it; probes are bound to their source port's dev=; rank 0 warns when the ranks have fewer
# than two CPUs each.
# Needs root, `ip netns`, tc and mpirun; prints SKIP and exits 0 without them.
# usage: sweep_mpi_test.sh FABRICCTL SOURCE_DIR
set -euo pipefail
bin="$(realpath "$1")"
src="$(realpath "$2")"

if [ "$(id -u)" != 0 ]; then echo "SKIP: sweep_mpi_test needs root (network namespaces, tc)"; exit 0; fi
if ! ip netns list >/dev/null 2>&1; then echo "SKIP: sweep_mpi_test needs 'ip netns' (iproute2)"; exit 0; fi
if ! command -v tc >/dev/null; then echo "SKIP: sweep_mpi_test needs tc (iproute2)"; exit 0; fi
if ! command -v mpirun >/dev/null; then echo "SKIP: sweep_mpi_test needs mpirun (openmpi-bin)"; exit 0; fi

prefix="sm$(($$ % 1000000))"
# shellcheck source=tests/cli/testlib.sh
. "$src/tests/cli/testlib.sh" # makes and enters $work, removed on exit after the on_exit steps
fabric_down=(true)
cleanup() { "${fabric_down[@]}"; }
on_exit cleanup
trap 'exit 130' INT TERM
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# shellcheck source=tests/netns/sweep_job_lib.sh
. "$src/tests/netns/sweep_job_lib.sh"

job_fabric_up
job_wrapper "$work/rank.sh"
"$bin" sweep plan "$topo" "$routes" -o plan.json >/dev/null || fail "sweep plan"

# mpirun RANKS ARGS...: the sweep as a job, its exit code in rc, rank output in out/err.
# --bind-to none: ranks share two cores with their probe threads; --oversubscribe: more
# ranks than cores.
rc=0
job() {
  local ranks=$1
  shift
  set +e
  env $(job_pmix_env) OMPI_MCA_btl=self,vader timeout 300 mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$ranks" \
    "$work/rank.sh" "$bin" sweep run "$topo" "$routes" --plan plan.json --fabric mpi --agents "$agents" \
    --probe-seconds 0.3 --timeout 3 "$@" >out 2>err
  rc=$?
  set -e
}

# Without a launcher the process is a job of one rank (an MPI singleton) in the root
# namespace, which holds no DATA_ADDR: it must say so, or that MPI is not built in.
set +e
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 60 "$bin" sweep run "$topo" "$routes" \
  --fabric mpi --agents "$agents" -o single.json >out 2>err
rc=$?
set -e
if grep -q "built without MPI" err; then echo "SKIP: sweep_mpi_test: fabricctl was built without MPI"; exit 0; fi
[ "$rc" = 2 ] && grep -q "rank 0 (host .*): owns no endpoint port" err || fail "singleton: exit $rc: $(cat out err)"

# 1. The shaped cable is the one finding; nothing listens before or after.
job_nothing_listens "before the job"
job_shape on
start=$SECONDS
job "$hosts" -o shaped.json
[ "$rc" = 1 ] || fail "shaped job: expected exit 1, got $rc: $(cat out err)"
shaped_seconds=$((SECONDS - start))
job_check_report shaped.json shaped "$shape_link"
grep "^finding: bandwidth " out | grep -qF "$shape_link" || fail "rank 0 did not print the finding: $(cat out)"
[ "$(grep -c '^report: ' out)" = 1 ] || fail "expected one rank to print the report: $(cat out)"
# All ranks run on this host: with fewer than two CPUs each, rank 0 warns that latency
# measured here includes the host's load; with two or more each, it does not.
cpus=$(nproc)
if [ $((2 * hosts)) -gt "$cpus" ]; then
  grep -q "^note: ranks share too few CPUs on 1 host (.*: $hosts ranks, $cpus CPUs\{0,1\}):" out ||
    fail "no warning for $hosts ranks on $cpus CPUs: $(cat out)"
elif grep -q "^note: ranks share too few CPUs" out; then
  fail "warned with $hosts ranks on $cpus CPUs: $(cat out)"
fi
# mpirun itself says that a rank exited non-zero (rank 0's 1: findings); no rank may.
if grep -q "^fabricctl: " err; then fail "ranks printed errors: $(cat err)"; fi
job_nothing_listens "after the job"

# 2. Shaping removed: healthy, exit 0.
job_shape off
job "$hosts" -o healthy.json
[ -s healthy.json ] || fail "unshaped job: exit $rc, no report: $(cat out err)"
job_expect_healthy "$rc" healthy.json
job_nothing_listens "after the second job"

# 3. Probes leave by the source port's dev=: with every host's own fabric interface named
#    the job measures every probe, except those from h0, whose dev= names no interface:
#    they are unmeasured with the reason, so the binding is applied, not ignored.
while read -r desc rest; do
  case "$desc" in
  h0\[1\]) echo "$desc $rest dev=nosuchdev0" ;;
  h*\[1\])
    n="${desc#h}"
    dev_var="FABRIC_H${n%%\[*}_DEV"
    echo "$desc $rest dev=${!dev_var}"
    ;;
  *) echo "$desc $rest" ;;
  esac
done <"$agents" >agents-dev.txt
grep -q "^h1\[1\] .* dev=$FABRIC_H1_DEV\$" agents-dev.txt || fail "agents-dev.txt: $(cat agents-dev.txt)"
agents=agents-dev.txt job "$hosts" -o dev.json
[ "$rc" = 1 ] || fail "job with a wrong dev=: expected exit 1, got $rc: $(cat out err)"
python3 - dev.json plan.json "h0[1]" <<'PY' || fail "dev= report: $(cat dev.json)"
import json, sys
j = json.load(open(sys.argv[1]))
sourced = sum(1 for src, _, _ in json.load(open(sys.argv[2]))["schedule"] if src == sys.argv[3])
p = j["probes"]
# Re-probes of suspects may add probes from h0[1]; every unmeasured one is from it.
assert sourced > 0 and sourced <= p["unmeasured"] <= sourced + p["reprobes"], (p, sourced)
assert p["measured"] + p["failed"] == p["total"] - p["unmeasured"], p
PY
grep -q "^unmeasured: h0\[1\] -> .*nosuchdev0" out || fail "no dev= reason: $(cat out)"
if grep '^unmeasured: ' out | grep -v '^unmeasured: \.\.\. and ' | grep -v '^unmeasured: h0\[1\] -> '; then
  fail "unmeasured probes not from h0[1]: $(cat out)"
fi

# 4. The last host's cable down: its probes cannot run and are unmeasured with their
#    reason (each bounded by --timeout), the others are measured; the job is not healthy.
#    Re-probes of suspects may add probes to and from that host: every unmeasured probe,
#    and every reason printed, names it.
last=$((hosts - 1))
eval "last_dev=\$FABRIC_H${last}_DEV"
ip -n "${prefix}h$last" link set "$last_dev" down
job "$hosts" -o cable-down.json
[ "$rc" = 1 ] || fail "job with a host cable down: expected exit 1, got $rc: $(cat out err)"
grep '^unmeasured: ' out | grep -v '^unmeasured: \.\.\. and ' >reasons.txt || true
python3 - cable-down.json plan.json "h$last[1]" reasons.txt <<'PY' || fail "cable-down report: $(cat cable-down.json out)"
import json, sys
j = json.load(open(sys.argv[1]))
host = sys.argv[3]
touching = sum(1 for src, dst, _ in json.load(open(sys.argv[2]))["schedule"] if host in (src, dst))
reasons = open(sys.argv[4]).read().splitlines()
p = j["probes"]
assert j["healthy"] is False, j
assert touching > 0 and touching <= p["unmeasured"] <= touching + p["reprobes"], (p, touching)
assert p["measured"] + p["failed"] == p["total"] - p["unmeasured"], p
assert reasons and all(host in r.split(": ")[1] for r in reasons), reasons
assert len(reasons) == min(10, p["unmeasured"]), (len(reasons), p)
PY
ip -n "${prefix}h$last" link set "$last_dev" up

# 5. One rank more than hosts: that rank has no namespace of its own, so it runs in the
#    root namespace, owns no port, and the job stops before probing, naming it.
job "$((hosts + 1))" -o idle.json
[ "$rc" = 2 ] || fail "job with an idle rank: expected exit 2, got $rc: $(cat out err)"
grep -q "rank $hosts (host .*, addresses .*): owns no endpoint port" err || fail "idle rank not named: $(cat err)"
[ ! -e idle.json ] || fail "a job that could not start wrote a report"
job_nothing_listens "after the failed job"

echo "PASS: sweep mpi ($hosts ranks; '$shape_link' flagged when shaped in ${shaped_seconds} s, healthy when not;" \
  "cable down -> unmeasured; idle rank named; no listener outside a job; probes bound to dev=)"
