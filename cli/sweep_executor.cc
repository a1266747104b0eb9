#include "cli/sweep_executor.h"

#include "fabric/file_io.h"
#include "fabric/topology_io.h"
#include "probes/control_protocol.h"
#include "probes/sweep/order_link.h"
#include "probes/sweep/remote_executor.h"
#include "probes/sweep/sim_fabric.h"
#include "probes/sweep/sweep_plan_io.h"
#include "routing/route_io.h"

namespace fabricctl::cli {

Result<Loaded> Load(const std::string& topology, const std::string& routes) {
  auto f = ReadTopologyFile(topology);
  if (!f) return std::unexpected(f.error());
  Loaded l{.fabric = std::move(*f)};
  auto r = ReadRoutes(l.fabric, routes);
  if (!r) return std::unexpected(r.error());
  l.routes = std::move(*r);
  return l;
}

Result<sweep::SweepPlan> LoadOrPlan(const RunOptionsCli& o, const Loaded& loaded) {
  if (o.plan.empty()) return sweep::PlanSweep(loaded.fabric, loaded.routes, {.coverage = o.coverage, .seed = o.seed});
  auto text = ReadTextFile(o.plan);
  if (!text) return std::unexpected(text.error());
  return sweep::ParsePlanJson(loaded.fabric, loaded.routes, *text, o.plan);
}

Result<sweep::FaultSet> ParseFaults(const RunOptionsCli& o, const Fabric& fabric) {
  sweep::FaultSet faults;
  for (size_t i = 0; i < o.inject.size(); ++i) {
    auto f = sweep::ParseFaultSpec(fabric, o.inject[i], o.seed + i);
    if (!f) return std::unexpected(f.error());
    faults.faults.insert(faults.faults.end(), f->begin(), f->end());
  }
  faults.Apply(fabric);
  return faults;
}

// tcp/verbs: the agents of the agents file probe each other on the coordinator's orders.
Result<std::unique_ptr<Executor>> MakeAgentExecutor(const RunOptionsCli& o, const Fabric& fabric) {
  auto agents_text = ReadTextFile(o.agents);
  if (!agents_text) return std::unexpected(agents_text.error());
  auto agents = sweep::ParseAgentsFile(fabric, *agents_text, o.agents);
  if (!agents) return std::unexpected(agents.error());
  if (o.token_file.empty()) return MakeError("--token-file is needed to talk to probe agents");
  auto token = probes::ReadTokenFile(o.token_file);
  if (!token) return std::unexpected(token.error());
  auto e = std::make_unique<Executor>();
  e->agents = std::move(*agents);
  const auto timeout = std::chrono::milliseconds(static_cast<long>(o.timeout_seconds * 1000));
  e->probes = std::make_unique<sweep::RemoteExecutor>(
      fabric, e->agents, sweep::OrderSessionLinks(std::move(*token), timeout),
      sweep::RemoteOptions{
          .settings = {.transport = o.fabric,
                       .bandwidth_duration = std::chrono::milliseconds(static_cast<long>(o.probe_seconds * 1000)),
                       .timeout = timeout},
          .parallel = o.parallel});
  return e;
}

// --counters: "sim" only on the simulated fabric; "mad" reads the live fabric's PMAs over
// umad (with --fabric sim too: simulated probes, real counters, for trying it out).
std::string CounterMode(const RunOptionsCli& o) {
  if (!o.counters.empty()) return o.counters;
  return o.fabric == "sim" ? "sim" : "none";
}

Result<void> AttachCounters(const RunOptionsCli& o, const Fabric& fabric, const sweep::FaultSet& faults, Executor& e) {
  const std::string mode = CounterMode(o);
  if (mode == "sim") {
    if (o.fabric != "sim") return MakeError("--counters sim works only with --fabric sim");
    e.counters = std::make_unique<sweep::SimCounterSource>(fabric, faults);
  } else if (mode == "mad") {
    const mad::RpcOptions rpc;  // the bounds `fabricctl counters` uses by default
    auto transport = mad::OpenUmadTransport(o.ca, o.ca_port, rpc.timeout_ms);
    if (!transport) return std::unexpected(transport.error());
    e.mad = std::move(*transport);
    auto source = std::make_unique<sweep::MadCounterSource>(fabric, *e.mad, sweep::MadCounterOptions{.rpc = rpc});
    e.mad_counters = source.get();
    e.counters = std::move(source);
  }
  return {};
}

// Joins the MPI job this process is a rank of (mpirun, srun); rank 0 gets the executor.
Result<std::unique_ptr<Executor>> MakeMpiExecutor(const RunOptionsCli& o, const Fabric& fabric) {
  auto agents_text = ReadTextFile(o.agents);
  if (!agents_text) return std::unexpected(agents_text.error());
  auto job = sweep::MpiJob::Join(
      fabric, {.agents_text = std::move(*agents_text),
               .agents_file = o.agents,
               .probe_transport = o.probe_transport,
               .rdma_device = o.ib_dev,
               .parallel = o.parallel,
               .bandwidth_duration = std::chrono::milliseconds(static_cast<long>(o.probe_seconds * 1000)),
               .timeout = std::chrono::milliseconds(static_cast<long>(o.timeout_seconds * 1000)),
               .allow_idle_ranks = o.allow_idle_ranks});
  if (!job) return std::unexpected(job.error());
  auto e = std::make_unique<Executor>();
  e->job = std::move(*job);
  return e;
}

Result<std::unique_ptr<Executor>> MakeExecutor(const RunOptionsCli& o, const Fabric& fabric,
                                               const sweep::FaultSet& faults) {
  std::unique_ptr<Executor> e;
  if (o.fabric == "mpi") {
    auto job = MakeMpiExecutor(o, fabric);
    if (!job) return std::unexpected(job.error());
    e = std::move(*job);
  } else if (o.fabric != "sim") {
    auto agents = MakeAgentExecutor(o, fabric);
    if (!agents) return std::unexpected(agents.error());
    e = std::move(*agents);
  } else {
    e = std::make_unique<Executor>();
    e->probes =
        std::make_unique<sweep::SimExecutor>(fabric, faults, sweep::SimOptions{.noise = o.noise, .seed = o.seed});
  }
  if (auto c = AttachCounters(o, fabric, faults, *e); !c) return std::unexpected(c.error());
  return e;
}

}  // namespace fabricctl::cli
