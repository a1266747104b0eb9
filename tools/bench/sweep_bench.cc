#include "tools/bench/sweep_bench.h"

#include <fmt/format.h>

#include <set>

#include "fabric/generator.h"
#include "probes/sweep/analysis.h"
#include "probes/sweep/faults.h"
#include "probes/sweep/sim_fabric.h"
#include "probes/sweep/sweep_plan.h"
#include "routing/route_fabric.h"

namespace fabricctl::bench {
namespace {

struct Routed {
  Fabric fabric;
  RouteSet routes;
};

Result<Routed> MakeRouted(const Options& options) {
  auto fabric = options.quick ? Generate("fat-tree", {{"k", "8"}, {"tiers", "3"}}) : Generate("scalex-cluster", {});
  if (!fabric) return std::unexpected(fabric.error());
  auto sel = ParseEngineSelection("auto");
  if (!sel) return std::unexpected(sel.error());
  auto routes = RouteFabric(*fabric, *sel, {});
  if (!routes) return std::unexpected(routes.error());
  return Routed{.fabric = std::move(*fabric), .routes = std::move(routes->routes)};
}

}  // namespace

int RunSweepScale(const Options& options) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = MakeRouted(options);
  if (!r) {
    std::fprintf(stderr, "sweep-scale: %s\n", r.error().Format().c_str());
    return 2;
  }
  double setup = Seconds(t0);
  auto t1 = std::chrono::steady_clock::now();
  auto plan = sweep::PlanSweep(r->fabric, r->routes, {.coverage = 2, .seed = 1});
  if (!plan) {
    std::fprintf(stderr, "sweep-scale: %s\n", plan.error().Format().c_str());
    return 2;
  }
  double plan_s = Seconds(t1);
  auto t2 = std::chrono::steady_clock::now();
  sweep::FaultSet faults;
  faults.faults = *sweep::ParseFaultSpec(r->fabric, "random:5", 1);
  faults.Apply(r->fabric);
  auto measured = sweep::SimulateSweep(r->fabric, *plan, faults, {.noise = 0.05, .seed = 1});
  double sim_s = Seconds(t2);
  auto t3 = std::chrono::steady_clock::now();
  auto a = sweep::AnalyzeSweep(r->fabric, *plan, measured, {}, {});
  double analyse_s = Seconds(t3);
  std::printf("fabric: %zu nodes, %zu links, %zu subnets (generate + route %.2f s)\n", r->fabric.num_nodes(),
              r->fabric.num_links(), r->fabric.subnets().size(), setup);
  std::printf("plan: %zu probes, %u rounds, lower bound %u (%.2fx), busiest endpoint port %u probes\n",
              plan->probes.size(), plan->num_rounds, plan->lower_bound,
              double(plan->num_rounds) / std::max(1u, plan->lower_bound), plan->max_probes_per_endpoint);
  std::printf("coverage: %zu channels, %zu covered, %zu at target\n", plan->channels, plan->channels_covered,
              plan->channels_at_target);
  std::printf("seconds: plan %.3f, simulate %.3f, analyse %.3f, total %.3f\n", plan_s, sim_s, analyse_s,
              plan_s + sim_s + analyse_s);
  std::printf("findings: %zu for 5 injected; peak RSS %.0f MiB\n", a.findings.size(), PeakRssMiB());
  return 0;
}

int RunSweepAccuracy(const Options& options) {
  auto r = MakeRouted(options);
  if (!r) {
    std::fprintf(stderr, "sweep-accuracy: %s\n", r.error().Format().c_str());
    return 2;
  }
  auto plan = sweep::PlanSweep(r->fabric, r->routes, {.coverage = 2, .seed = 1});
  if (!plan) {
    std::fprintf(stderr, "sweep-accuracy: %s\n", plan.error().Format().c_str());
    return 2;
  }
  const int seeds = options.quick ? 10 : 50;
  std::printf("| K | seeds | injected | flagged | true positives | precision | recall | exact sweeps |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  int status = 0;
  for (unsigned k : {1u, 5u, 20u}) {
    size_t injected = 0, flagged = 0, hits = 0, exact = 0;
    for (int seed = 1; seed <= seeds; ++seed) {
      sweep::FaultSet faults;
      auto f = sweep::ParseFaultSpec(r->fabric, fmt::format("random:{}", k), 1000 * k + seed);
      if (!f) {
        std::fprintf(stderr, "sweep-accuracy: %s\n", f.error().message.c_str());
        return 2;
      }
      faults.faults = std::move(*f);
      faults.Apply(r->fabric);
      auto m = sweep::SimulateSweep(r->fabric, *plan, faults, {.noise = 0.05, .seed = uint64_t(seed)});
      auto a = sweep::AnalyzeSweep(r->fabric, *plan, m, {}, {});
      std::set<LinkId> truth, found;
      for (const auto& x : faults.faults) truth.insert(x.link);
      for (const auto& x : a.findings)
        if (x.link != kNone) found.insert(x.link);
      size_t h = 0;
      for (LinkId l : found) h += truth.count(l);
      injected += truth.size();
      flagged += found.size() + (a.findings.size() - found.size());
      hits += h;
      exact += found == truth && a.findings.size() == found.size();
    }
    double precision = flagged ? double(hits) / flagged : 1.0, recall = double(hits) / injected;
    std::printf("| %u | %d | %zu | %zu | %zu | %.4f | %.4f | %zu/%d |\n", k, seeds, injected, flagged, hits, precision,
                recall, exact, seeds);
    double target = k <= 5 ? 0.99 : 0.95;
    if (precision < target || recall < target || (k == 1 && exact != size_t(seeds))) status = 1;
  }
  std::printf("noise 5%%, degraded links: bandwidth factor uniform in [0.1, 0.6]; coverage 2; %s\n",
              options.quick ? "fat-tree k=8 (quick)" : "scalex-cluster");
  return status;
}

}  // namespace fabricctl::bench
