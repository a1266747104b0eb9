#include "tools/bench/coordinator_bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fabric/generator.h"
#include "probes/sweep/agents_file.h"
#include "probes/sweep/remote_executor.h"
#include "probes/sweep/sweep_driver.h"
#include "probes/sweep/sweep_plan.h"
#include "probes/sweep/sweep_plan_io.h"
#include "routing/route_fabric.h"

namespace fabricctl::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Endpoints whose ports one agent serves: a host of 8 accelerators.
constexpr unsigned kEndpointsPerAgent = 8;

// An agent that has measured every probe the moment it is asked.
class InstantLink final : public sweep::AgentLink {
 public:
  Result<std::vector<probes::OrderResult>> Run(const std::vector<probes::OrderItem>& items,
                                               const probes::OrderSettings&) override {
    return std::vector<probes::OrderResult>(items.size(),
                                            probes::OrderResult{.ok = true, .latency_us = 2, .gbps = 376});
  }
};

// A line per endpoint port: data addresses in 198.18.0.0/16, the agent of every
// kEndpointsPerAgent endpoints reached at one management address in 198.19.0.0/16.
std::string AgentsText(const Fabric& fabric, size_t& ports, size_t& agents) {
  std::string text;
  size_t endpoint = 0;
  ports = 0;
  for (NodeId n = 0; n < fabric.num_nodes(); ++n) {
    if (fabric.is_switch(n)) continue;
    const size_t agent = endpoint++ / kEndpointsPerAgent;
    for (unsigned p = 1; p <= fabric.node(n).num_ports; ++p, ++ports)
      text += fmt::format("{}[{}] 198.18.{}.{} control=198.19.{}.{}\n", fabric.description(n), p, ports / 256 % 256,
                          ports % 256, agent / 256 % 256, agent % 256);
  }
  agents = (endpoint + kEndpointsPerAgent - 1) / kEndpointsPerAgent;
  return text;
}

int Fail(const Error& e) {
  std::fprintf(stderr, "coordinator: %s\n", e.Format().c_str());
  return 2;
}

}  // namespace

int RunCoordinatorBench(const Options& options) {
  auto fabric = options.quick ? Generate("fat-tree", {{"k", "8"}, {"tiers", "3"}}) : Generate("scalex-cluster", {});
  if (!fabric) return Fail(fabric.error());
  auto selection = ParseEngineSelection("auto");
  if (!selection) return Fail(selection.error());
  auto routed = RouteFabric(*fabric, *selection, {});
  if (!routed) return Fail(routed.error());
  const RouteSet& routes = routed->routes;

  auto t0 = Clock::now();
  auto plan = sweep::PlanSweep(*fabric, routes, {.coverage = 2, .seed = 1});
  if (!plan) return Fail(plan.error());
  const double plan_s = Seconds(t0);
  const std::string plan_text = sweep::PlanToJson(*fabric, *plan, sweep::PlanDetail::kSchedule).dump(1) + "\n";
  auto t1 = Clock::now();
  auto loaded = sweep::ParsePlanJson(*fabric, routes, plan_text, "plan.json");
  if (!loaded) return Fail(loaded.error());
  const double load_s = Seconds(t1);

  size_t ports = 0, agents = 0;
  const std::string agents_text = AgentsText(*fabric, ports, agents);
  auto t2 = Clock::now();
  auto file = sweep::ParseAgentsFile(*fabric, agents_text, "agents.txt");
  if (!file) return Fail(file.error());
  const double agents_s = Seconds(t2);

  sweep::RemoteExecutor executor(
      *fabric, *file,
      [](const std::string&) -> Result<std::unique_ptr<sweep::AgentLink>> { return std::make_unique<InstantLink>(); },
      {});
  std::vector<double> round_s;
  auto round_start = Clock::now();
  auto run =
      sweep::DriveSweep(*fabric, routes, std::move(*loaded), executor, nullptr, {}, [&](const sweep::DriverProgress&) {
        round_s.push_back(Seconds(round_start));
        round_start = Clock::now();
      });
  if (!run) return Fail(run.error());
  const double worst = round_s.empty() ? 0 : *std::max_element(round_s.begin(), round_s.end());
  double sum = 0;
  for (double s : round_s) sum += s;

  std::printf("fabric: %zu nodes, %zu endpoint ports, %zu agents (%u endpoints each)\n", fabric->num_nodes(), ports,
              executor.num_agents(), kEndpointsPerAgent);
  std::printf("plan: %zu probes in %zu rounds; plan %.3f s, load from JSON %.3f s (%.1f MB)\n", plan->probes.size(),
              round_s.size(), plan_s, load_s, plan_text.size() / 1e6);
  std::printf("agents file: %zu lines read in %.3f s\n", file->entries().size(), agents_s);
  std::printf("rounds: orchestration %.3f s per round on average, %.3f s at most (target < 1 s); %zu unmeasured\n",
              round_s.empty() ? 0.0 : sum / round_s.size(), worst, run->failures.size());
  std::printf("analysis %.3f s; peak RSS %.0f MiB (target < 1024)\n", run->analyse_seconds, PeakRssMiB());
  const bool met = worst < 1.0 && PeakRssMiB() < 1024 && run->failures.empty() && agents == executor.num_agents();
  return met ? 0 : 1;
}

}  // namespace fabricctl::bench
