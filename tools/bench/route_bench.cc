#include "tools/bench/route_bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "fabric/fabric_builder.h"
#include "fabric/generator.h"
#include "routing/parallel.h"
#include "routing/route_fabric.h"
#include "routing/route_io.h"
#include "routing/route_summary.h"
#include "routing/verifier.h"

namespace fabricctl::bench {
namespace {

// A 3-tier fat tree of k-port switches with `pods` pods (k/2 leaves and k/2 aggregation
// switches each, k/2 hosts per leaf) and (k/2)^2 cores.
Fabric ThreeTierFatTree(unsigned k, unsigned pods) {
  const unsigned h = k / 2;
  FabricBuilder b;
  b.Reserve(size_t{pods} * h * (h + 2) + h * h, size_t{pods} * h * (2 * (k + 1) + h * 2) + h * h * (k + 1));
  uint64_t guid = 0x1000;
  std::vector<NodeId> cores(h * h), aggs(pods * h), leaves(pods * h);
  for (unsigned c = 0; c < h * h; ++c)
    cores[c] = *b.AddNode(
        {.type = NodeType::kSwitch, .num_ports = k, .guid = guid++, .description = fmt::format("core{}", c)});
  for (unsigned p = 0; p < pods; ++p)
    for (unsigned i = 0; i < h; ++i) {
      aggs[p * h + i] = *b.AddNode(
          {.type = NodeType::kSwitch, .num_ports = k, .guid = guid++, .description = fmt::format("p{}-agg{}", p, i)});
      leaves[p * h + i] = *b.AddNode(
          {.type = NodeType::kSwitch, .num_ports = k, .guid = guid++, .description = fmt::format("p{}-leaf{}", p, i)});
    }
  for (unsigned p = 0; p < pods; ++p)
    for (unsigned i = 0; i < h; ++i) {
      NodeId leaf = leaves[p * h + i], agg = aggs[p * h + i];
      for (unsigned j = 0; j < h; ++j) {
        NodeId host = *b.AddNode({.type = NodeType::kCa,
                                  .num_ports = 1,
                                  .guid = guid++,
                                  .description = fmt::format("p{}-l{}-h{}", p, i, j)});
        (void)b.Connect(host, 1, leaf, j + 1, LinkRate{});
        (void)b.Connect(leaf, h + 1 + j, aggs[p * h + j], i + 1, LinkRate{});
        (void)b.Connect(agg, h + 1 + j, cores[i * h + j], p + 1, LinkRate{});
      }
    }
  return std::move(*b.Build());
}

struct Case {
  std::string name;
  Fabric fabric;
  std::vector<std::string> engines;
  bool verify = true;  // the all-pairs verifier; without it the summary's CDG check
};

enum class Files { kWrite, kSkip };

void RunCase(const Case& c, Files files) {
  size_t endpoints = 0, switches = 0;
  for (const Subnet& s : c.fabric.subnets()) {
    endpoints += s.endpoint_ports.size();
    switches += s.switches.size();
  }
  std::printf("%s: %zu subnets, %zu switches, %zu endpoint ports\n", c.name.c_str(), c.fabric.subnets().size(),
              switches, endpoints);
  for (const std::string& engine : c.engines) {
    auto sel = ParseEngineSelection(engine);
    auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = CpuSeconds();
    auto routed = RouteFabric(c.fabric, *sel, RouteFabricOptions{});
    double route_s = Seconds(t0);
    const double route_cpu = CpuSeconds() - cpu0;
    if (!routed) {
      std::printf("  %-8s failed: %s\n", engine.c_str(), routed.error().message.c_str());
      continue;
    }
    auto t1 = std::chrono::steady_clock::now();
    bool deadlock_free = true;
    uint64_t unreachable = 0;
    if (c.verify) {
      auto verdict = Verify(c.fabric, routed->routes, VerifyOptions{});
      if (!verdict) {
        std::printf("  verify failed: %s\n", verdict.error().message.c_str());
        continue;
      }
      deadlock_free = verdict->deadlock_free();
      unreachable = verdict->unreachable_pairs + verdict->loop_pairs + verdict->through_endpoint_pairs;
    }
    double verify_s = Seconds(t1);
    const double verify_cpu = CpuSeconds() - cpu0 - route_cpu;
    auto t15 = std::chrono::steady_clock::now();
    uint64_t max_load = 0;
    uint32_t max_hops = 0;
    std::vector<RouteSummary> sums(routed->routes.subnets.size());
    for (size_t i = 0; i < routed->routes.subnets.size(); ++i) {
      const SubnetRoutes& r = routed->routes.subnets[i];
      RouteSummary s = SummarizeRoutes(c.fabric, c.fabric.subnets()[r.subnet], r, DefaultThreads(),
                                       c.verify ? SummaryCreditLoops::kSkip : SummaryCreditLoops::kCheck);
      max_load = std::max(max_load, s.max_channel_load);
      max_hops = std::max(max_hops, s.max_hops);
      if (!c.verify) {
        unreachable += s.unreachable_pairs;
        deadlock_free = deadlock_free && s.deadlock_free.value_or(false);
      }
    }
    double check_s = Seconds(t15);
    double write_s = 0, dump_s = 0;
    if (files == Files::kWrite) {
      std::string dir = (std::filesystem::temp_directory_path() / "fabricctl-route-bench").string();
      auto t2 = std::chrono::steady_clock::now();
      auto ok = WriteRoutes(c.fabric, routed->routes, dir, RouteWriteOptions{.json = true, .dump = false});
      write_s = Seconds(t2);
      if (!ok) std::printf("  write failed: %s\n", ok.error().Format().c_str());
      auto t3 = std::chrono::steady_clock::now();
      ok = WriteRoutes(c.fabric, routed->routes, dir, RouteWriteOptions{.json = false, .dump = true});
      dump_s = Seconds(t3);
      if (!ok) std::printf("  write failed: %s\n", ok.error().Format().c_str());
      std::filesystem::remove_all(dir);
    }
    std::printf(
        "  %-8s route %6.2f s (cpu %6.2f)  verify %6.2f s (cpu %6.2f)  summary %5.2f s  json %5.2f s  dump %6.2f s  "
        "peak %6.0f MiB  "
        "max_load %llu  max_hops %u  unreachable %llu  deadlock_free %s (%s)  [%s]\n",
        engine.c_str(), route_s, route_cpu, verify_s, verify_cpu, check_s, write_s, dump_s, PeakRssMiB(),
        (unsigned long long)max_load, max_hops, (unsigned long long)unreachable, deadlock_free ? "yes" : "no",
        c.verify ? "verifier" : "summary CDG", routed->routes.subnets[0].engine.c_str());
    std::fflush(stdout);
  }
}

// `route compute` phase by phase, as the CLI runs it with --engine auto: routing, then
// the verifier (or, with --no-verify, nothing more), then the summary figures, which
// stand in for the verifier without it.
struct PipelineRow {
  std::string fabric, engines;
  double route_s = 0, route_cpu = 0, verify_s = 0, verify_cpu = 0, summary_s = 0, summary_cpu = 0, peak_mib = 0;
  uint64_t unreachable = 0;
  bool deadlock_free = true;
};

std::optional<PipelineRow> RunPipeline(const std::string& name, const Fabric& fabric, bool verify) {
  PipelineRow row{.fabric = name};
  auto sel = ParseEngineSelection("auto");
  auto t0 = std::chrono::steady_clock::now();
  double cpu0 = CpuSeconds();
  auto routed = RouteFabric(fabric, *sel, RouteFabricOptions{});
  row.route_s = Seconds(t0);
  row.route_cpu = CpuSeconds() - cpu0;
  if (!routed) {
    std::printf("  %s: routing failed: %s\n", name.c_str(), routed.error().message.c_str());
    return std::nullopt;
  }
  if (verify) {
    t0 = std::chrono::steady_clock::now();
    cpu0 = CpuSeconds();
    auto verdict = Verify(fabric, routed->routes, VerifyOptions{.max_violations = 5});
    row.verify_s = Seconds(t0);
    row.verify_cpu = CpuSeconds() - cpu0;
    if (!verdict) {
      std::printf("  %s: verify failed: %s\n", name.c_str(), verdict.error().message.c_str());
      return std::nullopt;
    }
    row.unreachable = verdict->unreachable_pairs + verdict->loop_pairs + verdict->through_endpoint_pairs;
    row.deadlock_free = verdict->deadlock_free();
  }
  t0 = std::chrono::steady_clock::now();
  cpu0 = CpuSeconds();
  std::map<std::string, int> engines;
  for (const SubnetRoutes& r : routed->routes.subnets) {
    ++engines[r.engine];
    RouteSummary s = SummarizeRoutes(fabric, fabric.subnets()[r.subnet], r, ThreadsFor(r.lft.size(), DefaultThreads()),
                                     verify ? SummaryCreditLoops::kSkip : SummaryCreditLoops::kCheck);
    if (verify) continue;
    row.unreachable += s.unreachable_pairs;
    row.deadlock_free = row.deadlock_free && s.deadlock_free.value_or(false);
  }
  row.summary_s = Seconds(t0);
  row.summary_cpu = CpuSeconds() - cpu0;
  row.peak_mib = PeakRssMiB();
  for (const auto& [engine, n] : engines)
    row.engines += fmt::format("{}{} x{}", row.engines.empty() ? "" : ", ", engine, n);
  std::printf(
      "  %s: route %.2f s (cpu %.2f)  verify %.2f s (cpu %.2f)  summary %.2f s (cpu %.2f)  total %.2f s  peak %.0f MiB"
      "  unreachable %llu  deadlock_free %s  [%s]\n",
      name.c_str(), row.route_s, row.route_cpu, row.verify_s, row.verify_cpu, row.summary_s, row.summary_cpu,
      row.route_s + row.verify_s + row.summary_s, row.peak_mib, (unsigned long long)row.unreachable,
      row.deadlock_free ? "yes" : "no", row.engines.c_str());
  std::fflush(stdout);
  return row;
}

// The two figures the pipeline is held to: the 128,000-endpoint fat tree routed and checked
// without the verifier, and scalex-cluster with 3% of its cables failed routed and verified
// (only the latter with `only_degraded`, for timing that row alone).
void RunPipelineCases(bool quick, bool only_degraded) {
  struct Spec {
    std::string name, generator;
    GeneratorParams params;
    bool verify;
  };
  const std::string k = quick ? "16" : "80";
  const std::vector<Spec> specs = {
      {fmt::format("fat-tree k={} tiers=3, --no-verify", k), "fat-tree", {{"k", k}, {"tiers", "3"}}, false},
      {"scalex-cluster fail_links=0.03, verified", "scalex-cluster",
       quick ? GeneratorParams{{"fail_links", "0.03"}, {"super_nodes", "2"}} : GeneratorParams{{"fail_links", "0.03"}},
       true},
  };
  std::printf("route compute pipeline (engine auto, %u threads):\n", DefaultThreads());
  std::vector<PipelineRow> rows;
  for (const Spec& spec : specs) {
    if (only_degraded && spec.verify == false) continue;
    auto fabric = Generate(spec.generator, spec.params);
    if (!fabric) {
      std::printf("  %s: skipped (%s)\n", spec.name.c_str(), fabric.error().message.c_str());
      continue;
    }
    if (auto row = RunPipeline(spec.name, *fabric, spec.verify)) rows.push_back(std::move(*row));
  }
  std::printf("\n| fabric | engines | route s (cpu) | verify s (cpu) | summary s (cpu) | total s | peak MiB |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const PipelineRow& r : rows)
    std::printf("| %s | %s | %.2f (%.2f) | %.2f (%.2f) | %.2f (%.2f) | %.2f | %.0f |\n", r.fabric.c_str(),
                r.engines.c_str(), r.route_s, r.route_cpu, r.verify_s, r.verify_cpu, r.summary_s, r.summary_cpu,
                r.route_s + r.verify_s + r.summary_s, r.peak_mib);
  std::printf("\n");
  std::fflush(stdout);
}

}  // namespace

int RunRouteBench(const Options& opts) {
  const std::vector<std::string> all = {"ftree", "updn", "minhop", "auto"};
  // `-- degraded`: the degraded scalex-cluster pipeline row alone.
  const bool only_degraded = std::find(opts.args.begin(), opts.args.end(), "degraded") != opts.args.end();
  RunPipelineCases(opts.quick, only_degraded);
  if (only_degraded) return 0;
  if (opts.quick) {
    RunCase({"3-tier fat tree k=12 (432 endpoints)", ThreeTierFatTree(12, 12), all}, Files::kWrite);
    return 0;
  }
  auto scalex = Generate("scalex-cluster", {});
  if (scalex)
    RunCase({"scalex-cluster preset", std::move(*scalex), {"auto", "updn", "minhop"}}, Files::kWrite);
  else
    std::printf("scalex-cluster: skipped (%s)\n", scalex.error().message.c_str());
  RunCase({"3-tier fat tree k=36, 32 pods (10,368 endpoints, 1,476 switches)", ThreeTierFatTree(36, 32), all},
          Files::kWrite);
  auto big = Generate("fat-tree", {{"k", "80"}, {"tiers", "3"}});
  if (big)
    RunCase({.name = "fat-tree preset k=80 tiers=3 (128,000 endpoints, 8,000 switches)",
             .fabric = std::move(*big),
             .engines = {"ftree"},
             .verify = false},
            Files::kSkip);
  else
    std::printf("fat-tree k=80: skipped (%s)\n", big.error().message.c_str());
  return 0;
}

}  // namespace fabricctl::bench
