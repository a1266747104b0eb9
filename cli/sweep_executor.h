#pragma once
// The inputs of a sweep and where its probes run, for `sweep run` and `sweep serve`: the
// options both take, the topology, routes and plan, and the executor --fabric names (the
// simulated fabric or probe agents).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "fabric/mad/transport.h"
#include "probes/sweep/agents_file.h"
#include "probes/sweep/faults.h"
#include "probes/sweep/mad_counters.h"
#include "probes/sweep/mpi_executor.h"
#include "probes/sweep/probe_executor.h"
#include "probes/sweep/sweep_plan.h"
#include "probes/transport.h"
#include "routing/routes.h"

namespace fabricctl::cli {

struct RunOptionsCli {
  std::string topology, routes, plan, output;
  std::string fabric = "sim";
  std::vector<std::string> inject;
  uint64_t seed = 1;
  double noise = 0.0;
  uint32_t coverage = 2;
  double bw_fraction = 0.75;
  uint32_t reprobe = 8;  // extra probes through each suspect link (0: none)
  std::string html, prom, history;
  std::string agents, token_file;
  unsigned parallel = 64;
  double probe_seconds = 0.5;
  double timeout_seconds = 5;
  std::string ib_dev;
  std::string counters;  // sim, mad, none; default: sim for --fabric sim, none otherwise
  std::string ca;        // --counters mad: local RDMA device and port for the MADs
  int ca_port = 0;
  std::string probe_transport = "tcp";  // mpi: how ranks probe each other
  bool allow_idle_ranks = false;
  bool json = false;
};

struct Loaded {
  Fabric fabric;
  RouteSet routes;
};

// The topology and routes of a sweep.
Result<Loaded> Load(const std::string& topology, const std::string& routes);
// The plan of --plan, or a new one (--coverage, --seed).
Result<sweep::SweepPlan> LoadOrPlan(const RunOptionsCli& o, const Loaded& loaded);

// Where the probes run and where counters come from, for --fabric.
struct Executor {
  std::unique_ptr<sweep::ProbeExecutor> probes;
  std::unique_ptr<sweep::CounterSource> counters;  // null when the fabric gives none
  sweep::AgentsFile agents;                        // kept alive for the remote executor
  std::unique_ptr<mad::Transport> mad;
  sweep::MadCounterSource* mad_counters = nullptr;  // when counters come through the PMAs
  std::unique_ptr<sweep::MpiJob> job;               // mpi: this rank's membership in the job; rank 0 probes through it
  sweep::ProbeExecutor& Probes() { return job ? job->executor() : *probes; }
};

// --inject, parsed and applied (empty without --inject).
Result<sweep::FaultSet> ParseFaults(const RunOptionsCli& o, const Fabric& fabric);
Result<std::unique_ptr<Executor>> MakeAgentExecutor(const RunOptionsCli& o, const Fabric& fabric);
// --counters as given, or its default for --fabric.
std::string CounterMode(const RunOptionsCli& o);
Result<void> AttachCounters(const RunOptionsCli& o, const Fabric& fabric, const sweep::FaultSet& faults, Executor& e);
Result<std::unique_ptr<Executor>> MakeMpiExecutor(const RunOptionsCli& o, const Fabric& fabric);
// `faults` (for --fabric sim) must outlive the executor.
Result<std::unique_ptr<Executor>> MakeExecutor(const RunOptionsCli& o, const Fabric& fabric,
                                               const sweep::FaultSet& faults);

}  // namespace fabricctl::cli
