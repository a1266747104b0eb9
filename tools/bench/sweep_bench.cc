#include "tools/bench/sweep_bench.h"

#include <fmt/format.h>

#include <cstdlib>
#include <map>
#include <set>

#include "fabric/file_io.h"
#include "fabric/generator.h"
#include "probes/sweep/analysis.h"
#include "probes/sweep/faults.h"
#include "probes/sweep/sim_fabric.h"
#include "probes/sweep/sweep_driver.h"
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

namespace {

// One row of the accuracy table: a fault spec injected anew for every seed.
struct Scenario {
  std::string name;
  std::string spec;  // empty: a healthy fabric
  uint32_t coverage = 2;
  double min_precision = 0, min_recall = 0;
  size_t max_false_sweeps = SIZE_MAX;  // sweeps with a false finding allowed
};

struct Tally {
  size_t sweeps = 0, injected = 0, flagged = 0, hits = 0, false_sweeps = 0;
  size_t directional = 0, right_direction = 0;  // one-way faults found, and named the right way
  size_t probes = 0, rounds = 0, reprobes = 0;
  double seconds = 0;
  double precision() const { return flagged ? double(hits) / flagged : 1.0; }
  double recall() const { return injected ? double(hits) / injected : 1.0; }
};

// Why a row falls short: every false finding and every missed fault, with its evidence.
void PrintDetail(const std::map<LinkId, PortId>& truth, const sweep::SweepRun& run) {
  std::set<LinkId> found;
  for (const auto& f : run.analysis.findings) {
    found.insert(f.link);
    if (f.link != kNone && truth.contains(f.link)) continue;
    std::fprintf(stderr, "false: link %u endpoint %u %s channel %d sigmas %.2f failing %u/%u worst %.3f\n", f.link,
                 f.endpoint, std::string(sweep::ToString(f.kind)).c_str(), f.channel == kNone ? -1 : int(f.channel),
                 f.sigmas, f.failing_probes, f.probes, f.worst_ratio);
  }
  for (const auto& [link, channel] : truth) {
    if (found.contains(link)) continue;
    double sigmas = 0;
    for (const auto& s : run.analysis.suspects)
      if (s.link == link) sigmas = s.sigmas;
    std::fprintf(stderr, "missed: link %u channel %d suspect sigmas %.2f health %.2f\n", link,
                 channel == kNone ? -1 : int(channel), sigmas, run.analysis.link_health[link]);
  }
}

void Score(const sweep::FaultSet& faults, const sweep::SweepRun& run, Tally& t) {
  std::map<LinkId, PortId> truth;  // link -> faulty channel (kNone: both ways)
  for (const auto& f : faults.faults) truth[f.link] = f.channel;
  size_t hits = 0;
  for (const auto& f : run.analysis.findings) {
    auto it = f.link == kNone ? truth.end() : truth.find(f.link);
    if (it == truth.end()) continue;
    ++hits;
    if (it->second == kNone) continue;
    ++t.directional;
    t.right_direction += f.channel == it->second;
  }
  if (std::getenv("FABRICCTL_BENCH_DETAIL")) PrintDetail(truth, run);
  t.injected += truth.size();
  t.flagged += run.analysis.findings.size();
  t.hits += hits;
  t.false_sweeps += hits < run.analysis.findings.size();
  t.probes += run.plan.probes.size();
  t.rounds += run.plan.num_rounds;
  t.reprobes += run.reprobes;
}

Result<Tally> RunScenario(const Routed& r, const Scenario& s, size_t index, int seeds) {
  auto plan = sweep::PlanSweep(r.fabric, r.routes, {.coverage = s.coverage, .seed = 1});
  if (!plan) return std::unexpected(plan.error());
  Tally t;
  auto t0 = std::chrono::steady_clock::now();
  for (int seed = 1; seed <= seeds; ++seed) {
    sweep::FaultSet faults;
    if (!s.spec.empty()) {
      auto f = sweep::ParseFaultSpec(r.fabric, s.spec, 1000 * index + seed);
      if (!f) return std::unexpected(f.error());
      faults.faults = std::move(*f);
    }
    faults.Apply(r.fabric);
    sweep::SimExecutor executor(r.fabric, faults, {.noise = 0.05, .seed = uint64_t(seed)});
    sweep::SimCounterSource counters(r.fabric, faults);
    auto run = sweep::DriveSweep(r.fabric, r.routes, *plan, executor, &counters, {.seed = uint64_t(seed)}, {});
    if (!run) return std::unexpected(run.error());
    Score(faults, *run, t);
    ++t.sweeps;
  }
  t.seconds = Seconds(t0);
  return t;
}

// `quick` runs a fabric of a few hundred links, where 50 faults would slow most probes and
// leave no healthy majority to measure baselines and noise against: 15 there.
std::vector<Scenario> AccuracyScenarios(bool quick) {
  return {
      {.name = "healthy", .spec = "", .max_false_sweeps = 1},
      {.name = "bandwidth 0.85", .spec = "random:10:bw=0.85", .min_precision = 0.99, .min_recall = 0.95},
      {.name = "latency +0.5 us", .spec = "random:10:latency=0.5", .min_precision = 0.99, .min_recall = 0.95},
      {.name = "bandwidth 0.85, one direction", .spec = "random:10:bw=0.85:oneway"},
      {.name = "flaky 0.3", .spec = "random:10:flaky=0.3"},
      {.name = "flaky 0.3", .spec = "random:10:flaky=0.3", .coverage = 8, .min_recall = 0.95},
      {.name = "healthy", .spec = "", .coverage = 8, .max_false_sweeps = 1},
      {.name = quick ? "K=15, bandwidth 0.1-0.6" : "K=50, bandwidth 0.1-0.6",
       .spec = quick ? "random:15" : "random:50",
       .min_precision = 0.98,
       .min_recall = 0.98},
  };
}

// Replaces the text between the section's markers in docs/performance.md.
Result<void> WriteAccuracySection(const std::string& table) {
  const std::string path = "docs/performance.md";
  auto text = ReadTextFile(path);
  if (!text) return std::unexpected(text.error());
  const std::string begin = "<!-- sweep-accuracy:begin -->\n", end = "<!-- sweep-accuracy:end -->";
  size_t b = text->find(begin), e = text->find(end);
  if (b == std::string::npos || e == std::string::npos || e < b)
    return MakeError(path + " has no sweep-accuracy markers");
  return WriteFileAtomic(path, text->substr(0, b + begin.size()) + table + text->substr(e));
}

}  // namespace

int RunSweepAccuracy(const Options& options) {
  auto r = MakeRouted(options);
  if (!r) {
    std::fprintf(stderr, "sweep-accuracy: %s\n", r.error().Format().c_str());
    return 2;
  }
  const char* seeds_env = std::getenv("FABRICCTL_BENCH_SEEDS");
  const int seeds = seeds_env ? std::atoi(seeds_env) : options.quick ? 10 : 50;
  std::string table = fmt::format(
      "Fabric: {} ({} links); noise 5%; {} seeds per row; K = 10 faults per sweep unless named; re-probing "
      "on (8 probes per suspect link, 24 per intermittent one).\n\n",
      options.quick ? "fat-tree k=8 tiers=3" : "scalex-cluster", r->fabric.num_links(), seeds);
  table +=
      "| faults | coverage | injected | flagged | true | precision | recall | sweeps with a false finding | "
      "right direction | probes per sweep | rounds | re-probes | seconds per sweep |\n";
  table += "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  int status = 0;
  std::vector<Scenario> scenarios = AccuracyScenarios(options.quick);
  const char* only = std::getenv("FABRICCTL_BENCH_ROWS");
  for (size_t k = 0; k < scenarios.size(); ++k) {
    const Scenario& s = scenarios[k];
    if (only && std::string(only).find(char('0' + k)) == std::string::npos) continue;
    auto t = RunScenario(*r, s, k, seeds);
    if (!t) {
      std::fprintf(stderr, "sweep-accuracy: %s\n", t.error().Format().c_str());
      return 2;
    }
    std::string row = fmt::format(
        "| {} | {} | {} | {} | {} | {:.4f} | {:.4f} | {}/{} | {} | {} | {:.1f} | {:.0f} | {:.2f} |\n", s.name,
        s.coverage, t->injected, t->flagged, t->hits, t->precision(), t->recall(), t->false_sweeps, t->sweeps,
        t->directional ? fmt::format("{}/{}", t->right_direction, t->directional) : "-", t->probes / t->sweeps,
        double(t->rounds) / t->sweeps, double(t->reprobes) / t->sweeps, t->seconds / t->sweeps);
    std::fputs(row.c_str(), stdout);
    std::fflush(stdout);
    table += row;
    if (t->precision() < s.min_precision || t->recall() < s.min_recall || t->false_sweeps > s.max_false_sweeps)
      status = 1;
  }
  std::printf("%s", table.c_str());
  if (options.write) {
    if (auto w = WriteAccuracySection(table); !w) {
      std::fprintf(stderr, "sweep-accuracy: %s\n", w.error().Format().c_str());
      return 2;
    }
    std::printf("wrote docs/performance.md\n");
  }
  return status;
}

}  // namespace fabricctl::bench
