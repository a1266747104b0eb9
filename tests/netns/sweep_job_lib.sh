# Shared by sweep_mpi_test.sh and sweep_slurm_test.sh (sourced, not a test of its own):
# a namespace fabric where every host is a network namespace, a wrapper that runs rank R of
# a job inside host R's namespace, and the checks on the job's reports.
# The caller sets: bin (fabricctl), src (source tree), prefix, work; and defines fail().
#
# How the ranks reach the launcher: OpenMPI 4.1 and Slurm 22.05 start each rank next to a
# PMIx server (in mpirun, or in slurmstepd), and PMIx 4 talks to its clients over TCP only
# (no unix sockets since PMIx 4), on loopback. A rank inside a host namespace cannot reach
# the root namespace's loopback, so the server must take connections on the management
# network that joins every host namespace to the root namespace: job_pmix_env names it.
# Between the ranks, MPI itself uses shared memory (btl self,vader), which no network
# namespace separates.

# job_fabric_up: builds the routed fabric (tools/netns/routed-fabric-up.sh: switches that
# route by the computed LFTs, several spines, a management network) in $work/fabric and sets
#   hosts topo routes agents       host count and the sweep's inputs (agents file v2)
#   shape_link shape_a_ns shape_a_dev shape_b_ns shape_b_dev   a leaf-spine cable to shape
#   mgmt_cidr                      the management network (root namespace <-> every host)
#   fabric_down                    the command that removes the fabric
# JOB_LEAVES, JOB_HOSTS_PER_LEAF, JOB_SPINES size it (default 4 x 4 x 2: 16 hosts).
job_fabric_up() {
  fabric_down=(bash "$src/tools/netns/routed-fabric-down.sh" "$prefix")
  # A management /24 of this run, so fabrics of tests running side by side do not meet.
  MGMT_NET="198.19.$((100 + ${prefix//[!0-9]/} % 100))" FABRICCTL="$bin" \
    bash "$src/tools/netns/routed-fabric-up.sh" "$prefix" "$work/fabric" \
    "${JOB_LEAVES:-4}" "${JOB_HOSTS_PER_LEAF:-4}" "${JOB_SPINES:-2}" >/dev/null
  # shellcheck disable=SC1091
  . "$work/fabric/fabric.env"
  hosts=$FABRIC_HOST_COUNT topo=$FABRIC_TOPO routes=$FABRIC_ROUTES agents=$FABRIC_AGENTS
  mgmt_cidr="$FABRIC_MGMT_NET.0/24"
  local up=$hosts # cables 0..hosts-1 are the host cables; the first uplink follows
  eval "shape_link=\$FABRIC_CABLE_${up}_LINK shape_a_ns=\$FABRIC_CABLE_${up}_A_NS"
  eval "shape_a_dev=\$FABRIC_CABLE_${up}_A_DEV shape_b_ns=\$FABRIC_CABLE_${up}_B_NS"
  eval "shape_b_dev=\$FABRIC_CABLE_${up}_B_DEV"
  job_sim_check
}

# The simulated fabric must localise a slow shape_link with this topology and routing (else
# no real sweep could); it also gives the link's name as the reports write it.
job_sim_check() {
  local end="${shape_link%% -- *}"
  "$bin" sweep run "$topo" "$routes" --fabric sim --inject "$end:bw=0.1" -o "$work/sim.json" >/dev/null &&
    fail "simulated sweep with $end slow found nothing"
  shape_link="$(python3 - "$work/sim.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert len(j["injected"]) == 1 and len(j["findings"]) == 1, j
assert j["findings"][0]["link"] == j["injected"][0]["link"], j["findings"]
print(j["injected"][0]["link"])
PY
)" || fail "the simulated sweep does not localise $end"
}

# job_pmix_env: the environment of a PMIx server (mpirun, slurmd) that ranks in the host
# namespaces can reach: it listens on the management network, not on loopback.
job_pmix_env() {
  echo "PMIX_MCA_ptl_tcp_remote_connections=1 PMIX_MCA_ptl_tcp_if_include=$mgmt_cidr"
}

# job_wrapper FILE: writes the command each rank runs: enter the namespace of host RANK,
# then run the rest of the command line. The rank comes from the launcher: OpenMPI
# (OMPI_COMM_WORLD_RANK) or Slurm (SLURM_PROCID). A rank beyond the hosts stays in the
# root namespace (a host the agents file does not list).
job_wrapper() {
  cat >"$1" <<EOF
#!/usr/bin/env bash
rank="\${OMPI_COMM_WORLD_RANK:-\${SLURM_PROCID:?neither OMPI_COMM_WORLD_RANK nor SLURM_PROCID is set}}"
[ -e "/var/run/netns/${prefix}h\$rank" ] || exec "\$@"
exec ip netns exec "${prefix}h\$rank" "\$@"
EOF
  chmod +x "$1"
}

# job_shape on|off: the leaf-spine cable at 100 Mb/s on both ends (unshaped veth carries Gb/s).
job_shape() {
  if [ "$1" = on ]; then
    ip netns exec "$shape_a_ns" tc qdisc add dev "$shape_a_dev" root tbf rate 100mbit burst 32kbit latency 50ms
    ip netns exec "$shape_b_ns" tc qdisc add dev "$shape_b_dev" root tbf rate 100mbit burst 32kbit latency 50ms
  else
    ip netns exec "$shape_a_ns" tc qdisc del dev "$shape_a_dev" root
    ip netns exec "$shape_b_ns" tc qdisc del dev "$shape_b_dev" root
  fi
}

# job_nothing_listens WHEN: no host namespace has a TCP listener (the job's probe servers
# live only while the job runs).
job_nothing_listens() {
  for ((h = 0; h < hosts; h++)); do
    local l
    l="$(ip netns exec "${prefix}h$h" ss -Hltn)"
    [ -z "$l" ] || fail "$1: h$h has listeners: $l"
  done
}

# job_expect_healthy RC FILE: the unshaped job's exit code RC and report FILE agree on a
# healthy fabric: no findings and exit 0, or latency findings only (job_check_report says
# why they are tolerated) and exit 1. Sets latency_findings to their count.
job_expect_healthy() {
  job_check_report "$2" healthy
  latency_findings=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$2")
  local want=0
  [ "$latency_findings" = 0 ] || want=1
  [ "$1" = "$want" ] || fail "healthy job with $latency_findings latency findings: expected exit $want, got $1"
  [ "$latency_findings" = 0 ] || echo "note: $2: $latency_findings latency findings on an unshaped fabric (CPU contention)"
}

# job_check_report FILE shaped|healthy [LINK]: the job's report says what the fabric is.
job_check_report() {
  python3 - "$@" <<'PY' || fail "report $1 ($2): $(cat "$1")"
import json, sys
j = json.load(open(sys.argv[1]))
want = sys.argv[2]
assert j["format"] == "fabricctl-sweep-report" and j["mode"] == "mpi", j
p = j["probes"]
assert p["unmeasured"] == 0 and p["failed"] == 0 and p["measured"] == p["total"] > 0, p
f = j["findings"]
if want == "healthy":
    # Latency findings only, for the reason below: every rank's latency tests share the
    # CPUs with the other ranks' and their servers' (a 2-core CI machine gave four latency
    # findings, and 65 of 168 probes slower than three noise sigmas, on a job with no
    # shaping at all). A bandwidth, loss, down or errors finding, or any failed or
    # unmeasured probe, fails.
    assert all(o["kind"] == "latency" for o in f), f"a healthy fabric's job found {f}"
    assert j["healthy"] is (f == []), j
else:
    assert j["healthy"] is False, j
    # The shaped link comes first and is the only finding of any kind but latency. In job
    # mode every rank probes at once, and here all sixteen hosts and the switches between them
    # share two CPUs, so a probe's round-trip time is as much the scheduler's as the path's:
    # on a 2-core CI machine half the plan's probes came out 25% or more slower than the
    # fastest half, and latency findings on two other links followed (scores 0.57 and 0.5
    # against the shaped link's 1.0). Such findings are tolerated below the shaped link's
    # score; a second bandwidth, loss or down finding, or one that outranks it, fails.
    assert f, "no finding"
    assert f[0]["link"] == sys.argv[3], f"flagged {f[0]['link']}, shaped {sys.argv[3]}"
    others = f[1:]
    assert all(o["kind"] == "latency" and o["score"] < f[0]["score"] for o in others), \
        f"expected the shaped link's finding and weaker latency findings at most, got {f}"
    assert f[0]["kind"] == "bandwidth", f
    ev = f[0]["evidence"]
    assert ev["failing_probes"] == ev["probes"] > 0 and ev["worst_ratio"] < 0.3, ev
PY
}
