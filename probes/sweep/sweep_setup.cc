#include "probes/sweep/sweep_setup.h"

#include <fmt/format.h>

#include <chrono>

#include "fabric/file_io.h"
#include "fabric/topology_io.h"
#include "probes/control_protocol.h"
#include "probes/sweep/order_link.h"
#include "probes/sweep/remote_executor.h"
#include "probes/sweep/sim_fabric.h"
#include "probes/sweep/sweep_plan_io.h"
#include "routing/route_io.h"

namespace fabricctl::sweep {
namespace {

std::chrono::milliseconds Milliseconds(double seconds) {
  return std::chrono::milliseconds(static_cast<long>(seconds * 1000));
}

Result<ProbeRunner> ChooseProbeRunner(const SweepSetupOptions& o) {
  if (o.fabric == "sim") return ProbeRunner::kSimulated;
  if (o.fabric != "tcp" && o.fabric != "verbs" && o.fabric != "mpi")
    return MakeError(fmt::format("unknown --fabric {}: sim, tcp, verbs or mpi", o.fabric));
  if (!o.inject.empty()) return MakeError("--inject works only with --fabric sim");
  if (o.agents.empty())
    return MakeError(fmt::format("--fabric {} needs --agents FILE (endpoint -> agent address)", o.fabric));
  if (o.fabric == "mpi") return ProbeRunner::kMpiJob;
  if (o.token_file.empty()) return MakeError("--token-file is needed to talk to probe agents");
  return ProbeRunner::kAgents;
}

// --counters: "sim" only on the simulated fabric; "mad" reads the live fabric's PMAs over
// umad (with --fabric sim too: simulated probes, real counters, for trying it out).
Result<CounterKind> ChooseCounters(const SweepSetupOptions& o) {
  const std::string mode = !o.counters.empty() ? o.counters : o.fabric == "sim" ? "sim" : "none";
  if (mode == "none") return CounterKind::kNone;
  if (mode == "mad") return CounterKind::kMad;
  if (mode != "sim") return MakeError(fmt::format("unknown --counters {}: sim, mad or none", mode));
  if (o.fabric != "sim") return MakeError("--counters sim works only with --fabric sim");
  return CounterKind::kSimulated;
}

// tcp/verbs: the agents of the agents file probe each other on the coordinator's orders.
Result<void> StartAgentExecutor(const SweepSetupOptions& o, const Fabric& fabric, Executor& e) {
  auto agents_text = ReadTextFile(o.agents);
  if (!agents_text) return std::unexpected(agents_text.error());
  auto agents = ParseAgentsFile(fabric, *agents_text, o.agents);
  if (!agents) return std::unexpected(agents.error());
  auto token = probes::ReadTokenFile(o.token_file);
  if (!token) return std::unexpected(token.error());
  e.agents = std::move(*agents);
  const auto timeout = Milliseconds(o.timeout_seconds);
  e.probes = std::make_unique<RemoteExecutor>(
      fabric, e.agents, OrderSessionLinks(std::move(*token), timeout),
      RemoteOptions{
          .settings = {.transport = o.fabric, .bandwidth_duration = Milliseconds(o.probe_seconds), .timeout = timeout},
          .parallel = o.parallel});
  return {};
}

// Joins the MPI job this process is a rank of (mpirun, srun); rank 0 probes through it.
Result<void> JoinMpiJob(const SweepSetupOptions& o, const Fabric& fabric, Executor& e) {
  auto agents_text = ReadTextFile(o.agents);
  if (!agents_text) return std::unexpected(agents_text.error());
  auto job = MpiJob::Join(fabric, {.agents_text = std::move(*agents_text),
                                   .agents_file = o.agents,
                                   .probe_transport = o.probe_transport,
                                   .rdma_device = o.rdma_device,
                                   .parallel = o.parallel,
                                   .bandwidth_duration = Milliseconds(o.probe_seconds),
                                   .timeout = Milliseconds(o.timeout_seconds),
                                   .allow_idle_ranks = o.allow_idle_ranks});
  if (!job) return std::unexpected(job.error());
  e.job = std::move(*job);
  return {};
}

Result<void> AttachCounters(const SweepSetupOptions& o, const Fabric& fabric, const FaultSet& faults, Executor& e) {
  if (e.choice.counters == CounterKind::kSimulated) {
    e.counters = std::make_unique<SimCounterSource>(fabric, faults);
  } else if (e.choice.counters == CounterKind::kMad) {
    const mad::RpcOptions rpc;  // the bounds `fabricctl counters` uses by default
    auto transport = mad::OpenUmadTransport(o.ca, o.ca_port, rpc.timeout_ms);
    if (!transport) return std::unexpected(transport.error());
    e.mad = std::move(*transport);
    auto source = std::make_unique<MadCounterSource>(fabric, *e.mad, MadCounterOptions{.rpc = rpc});
    e.mad_counters = source.get();
    e.counters = std::move(source);
  }
  return {};
}

}  // namespace

std::string_view ToString(CounterKind kind) {
  switch (kind) {
    case CounterKind::kNone:
      return "none";
    case CounterKind::kSimulated:
      return "sim";
    case CounterKind::kMad:
      return "mad";
  }
  return "none";
}

Result<ExecutorChoice> ChooseExecutor(const SweepSetupOptions& o) {
  auto probes = ChooseProbeRunner(o);
  if (!probes) return std::unexpected(probes.error());
  auto counters = ChooseCounters(o);
  if (!counters) return std::unexpected(counters.error());
  return ExecutorChoice{.probes = *probes, .counters = *counters};
}

Result<LoadedFabric> LoadFabric(const std::string& topology, const std::string& routes) {
  auto f = ReadTopologyFile(topology);
  if (!f) return std::unexpected(f.error());
  LoadedFabric l{.fabric = std::move(*f)};
  auto r = ReadRoutes(l.fabric, routes);
  if (!r) return std::unexpected(r.error());
  l.routes = std::move(*r);
  return l;
}

Result<SweepPlan> LoadOrPlan(const SweepSetupOptions& o, const LoadedFabric& loaded) {
  if (o.plan.empty()) return PlanSweep(loaded.fabric, loaded.routes, {.coverage = o.coverage, .seed = o.seed});
  auto text = ReadTextFile(o.plan);
  if (!text) return std::unexpected(text.error());
  return ParsePlanJson(loaded.fabric, loaded.routes, *text, o.plan);
}

Result<FaultSet> ParseFaults(const SweepSetupOptions& o, const Fabric& fabric) {
  FaultSet faults;
  for (size_t i = 0; i < o.inject.size(); ++i) {
    auto f = ParseFaultSpec(fabric, o.inject[i], o.seed + i);
    if (!f) return std::unexpected(f.error());
    faults.faults.insert(faults.faults.end(), f->begin(), f->end());
  }
  faults.Apply(fabric);
  return faults;
}

Result<std::unique_ptr<Executor>> MakeExecutor(const SweepSetupOptions& o, const Fabric& fabric,
                                               const FaultSet& faults) {
  auto choice = ChooseExecutor(o);
  if (!choice) return std::unexpected(choice.error());
  auto e = std::make_unique<Executor>();
  e->choice = *choice;
  Result<void> started;
  switch (choice->probes) {
    case ProbeRunner::kMpiJob:
      started = JoinMpiJob(o, fabric, *e);
      break;
    case ProbeRunner::kAgents:
      started = StartAgentExecutor(o, fabric, *e);
      break;
    case ProbeRunner::kSimulated:
      e->probes = std::make_unique<SimExecutor>(fabric, faults, SimOptions{.noise = o.noise, .seed = o.seed});
      break;
  }
  if (!started) return std::unexpected(started.error());
  if (auto c = AttachCounters(o, fabric, faults, *e); !c) return std::unexpected(c.error());
  return e;
}

Result<std::unique_ptr<PreparedSweep>> PrepareSweep(const SweepSetupOptions& o, const SetupStage& stage) {
  if (auto choice = ChooseExecutor(o); !choice) return std::unexpected(choice.error());
  stage("reading the topology and the routes");
  auto loaded = LoadFabric(o.topology, o.routes);
  if (!loaded) return std::unexpected(loaded.error());
  auto prepared = std::make_unique<PreparedSweep>(PreparedSweep{.loaded = std::move(*loaded)});
  const Fabric& fabric = prepared->loaded.fabric;

  stage(o.plan.empty() ? "planning" : "reading the plan");
  const auto t0 = std::chrono::steady_clock::now();
  auto plan = LoadOrPlan(o, prepared->loaded);
  if (!plan) return std::unexpected(plan.error());
  prepared->plan = std::move(*plan);
  prepared->plan_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto faults = ParseFaults(o, fabric);
  if (!faults) return std::unexpected(faults.error());
  prepared->faults = std::move(*faults);

  auto executor = MakeExecutor(o, fabric, prepared->faults);
  if (!executor) return std::unexpected(executor.error());
  prepared->executor = std::move(*executor);
  return prepared;
}

}  // namespace fabricctl::sweep
