#pragma once
// Everything a sweep needs before its first probe, for `sweep run` and `sweep serve`: the
// topology, routes and plan, the injected faults, and where probes run and counters come
// from (the simulated fabric, probe agents, or the ranks of an MPI job). The commands give
// their options here and only report what comes back.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
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
#include "routing/routes.h"

namespace fabricctl::sweep {

// The inputs of a sweep and the settings of its executor; names follow the flags.
struct SweepSetupOptions {
  std::string topology, routes;
  std::string plan;  // plan file; empty: plan now with `coverage` and `seed`
  uint32_t coverage = 2;
  uint64_t seed = 1;
  std::string fabric = "sim";  // sim, tcp, verbs or mpi
  std::vector<std::string> inject;
  double noise = 0.0;
  std::string agents, token_file;
  unsigned parallel = 64;
  double probe_seconds = 0.5;
  double timeout_seconds = 5;
  std::string rdma_device;  // -d/--ib-dev: mpi with verbs probes
  std::string counters;     // sim, mad, none; empty: sim for --fabric sim, none otherwise
  std::string ca;           // --counters mad: local RDMA device and port for the MADs
  int ca_port = 0;
  std::string probe_transport = "tcp";  // mpi: how ranks probe each other
  bool allow_idle_ranks = false;
};

enum class ProbeRunner : uint8_t { kSimulated, kAgents, kMpiJob };
enum class CounterKind : uint8_t { kNone, kSimulated, kMad };
std::string_view ToString(CounterKind kind);  // as --counters spells it

struct ExecutorChoice {
  ProbeRunner probes = ProbeRunner::kSimulated;
  CounterKind counters = CounterKind::kNone;
};

// Which executor and counter source the options ask for, or why they do not fit together.
// Reads nothing, so a bad combination is reported before any file or job is touched.
Result<ExecutorChoice> ChooseExecutor(const SweepSetupOptions& o);

struct LoadedFabric {
  Fabric fabric;
  RouteSet routes;
};

// The topology and routes of a sweep.
Result<LoadedFabric> LoadFabric(const std::string& topology, const std::string& routes);
// The plan of `o.plan`, or a new one (`o.coverage`, `o.seed`).
Result<SweepPlan> LoadOrPlan(const SweepSetupOptions& o, const LoadedFabric& loaded);
// `o.inject`, parsed and applied (empty without faults).
Result<FaultSet> ParseFaults(const SweepSetupOptions& o, const Fabric& fabric);

// Where the probes run and where counters come from.
struct Executor {
  ExecutorChoice choice;
  std::unique_ptr<ProbeExecutor> probes;
  std::unique_ptr<CounterSource> counters;  // null when the fabric gives none
  AgentsFile agents;                        // kept alive for the remote executor
  std::unique_ptr<mad::Transport> mad;
  MadCounterSource* mad_counters = nullptr;  // when counters come through the PMAs
  std::unique_ptr<MpiJob> job;               // mpi: this rank's membership in the job; rank 0 probes through it
  ProbeExecutor& Probes() { return job ? job->executor() : *probes; }
};

// The executor ChooseExecutor picks, set up (agents file and token read, MPI job joined,
// umad opened). `fabric` and `faults` must outlive it.
Result<std::unique_ptr<Executor>> MakeExecutor(const SweepSetupOptions& o, const Fabric& fabric,
                                               const FaultSet& faults);

// A sweep ready to drive. Not movable: the executor refers to the fabric and the faults.
struct PreparedSweep {
  LoadedFabric loaded;
  SweepPlan plan;
  FaultSet faults;
  std::unique_ptr<Executor> executor;
  double plan_seconds = 0;  // reading or computing the plan
};

// Called with the name of each stage as it starts ("planning", ...), for progress output.
using SetupStage = std::function<void(std::string_view stage)>;

// Checks the options, then loads the fabric, plans (or reads the plan), applies the faults
// and sets up the executor.
Result<std::unique_ptr<PreparedSweep>> PrepareSweep(const SweepSetupOptions& o, const SetupStage& stage);

}  // namespace fabricctl::sweep
