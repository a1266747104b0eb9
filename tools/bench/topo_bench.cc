#include "tools/bench/topo_bench.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "fabric/fabric_builder.h"
#include "fabric/generator.h"
#include "fabric/topology_diff.h"
#include "fabric/topology_io.h"

namespace fabricctl::bench {
namespace {

using Clock = std::chrono::steady_clock;

// CPU seconds of this process (user + system): the machine is shared, so wall time alone
// says as much about the neighbours as about the code.
double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Resident set size now (not the peak), in MiB.
double CurrentRssMiB() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

// A classic 3-tier k-ary fat tree built here only when the generator registry does not have
// `fat-tree` yet (the generators are another branch); the bench says when it used it.
Result<Fabric> StandInFatTree(unsigned k) {
  FabricBuilder b;
  const unsigned half = k / 2;
  const size_t hosts = static_cast<size_t>(k) * half * half;
  const size_t switches = static_cast<size_t>(5) * k * k / 4;
  b.Reserve(hosts + switches, hosts * 2 + switches * (k + 1));
  LinkRate ndr{.width = LinkWidth::k4x, .speed = LinkSpeed::kNDR};
  uint64_t guid = 0x0002c90300000000;
  std::vector<NodeId> core(half * half);
  for (unsigned c = 0; c < half * half; ++c)
    core[c] = *b.AddNode({.type = NodeType::kSwitch,
                          .num_ports = k,
                          .guid = ++guid,
                          .description = fmt::format("core{}", c),
                          .labels = {.tier = 3}});
  for (unsigned pod = 0; pod < k; ++pod) {
    std::vector<NodeId> agg(half), edge(half);
    for (unsigned a = 0; a < half; ++a) {
      agg[a] = *b.AddNode({.type = NodeType::kSwitch,
                           .num_ports = k,
                           .guid = ++guid,
                           .description = fmt::format("pod{}-agg{}", pod, a),
                           .labels = {.tier = 2}});
      for (unsigned m = 0; m < half; ++m)
        if (auto l = b.Connect(agg[a], half + 1 + m, core[a * half + m], pod + 1, ndr); !l)
          return std::unexpected(l.error());
    }
    for (unsigned e = 0; e < half; ++e) {
      edge[e] = *b.AddNode({.type = NodeType::kSwitch,
                            .num_ports = k,
                            .guid = ++guid,
                            .description = fmt::format("pod{}-edge{}", pod, e),
                            .labels = {.tier = 1}});
      for (unsigned a = 0; a < half; ++a)
        if (auto l = b.Connect(edge[e], half + 1 + a, agg[a], e + 1, ndr); !l) return std::unexpected(l.error());
      for (unsigned h = 0; h < half; ++h) {
        NodeId host = *b.AddNode({.type = NodeType::kCa,
                                  .num_ports = 1,
                                  .guid = ++guid,
                                  .description = fmt::format("pod{}-edge{}-h{}", pod, e, h),
                                  .labels = {.tier = 0}});
        if (auto l = b.Connect(host, 1, edge[e], h + 1, ndr); !l) return std::unexpected(l.error());
      }
    }
  }
  return b.Build();
}

struct Generated {
  std::optional<Fabric> fabric;
  std::string how;  // "generator" or why the stand-in was used
};

Generated GenerateOrStandIn(const std::string& name, const GeneratorParams& params, unsigned stand_in_k) {
  auto t0 = Clock::now();
  double c0 = CpuSeconds();
  auto f = Generate(name, params);
  double secs = Seconds(t0), cpu = CpuSeconds() - c0;
  std::string args;
  for (const auto& [k, v] : params) args += fmt::format(" {}={}", k, v);
  if (f) {
    std::printf("generate %-14s%-16s %8.3f s (cpu %6.3f s)  %7zu nodes %8zu links\n", name.c_str(), args.c_str(), secs,
                cpu, f->num_nodes(), f->num_links());
    return {std::move(*f), "generator"};
  }
  std::printf("generate %-14s%-16s unavailable: %s\n", name.c_str(), args.c_str(), f.error().Format().c_str());
  t0 = Clock::now();
  auto s = StandInFatTree(stand_in_k);
  if (!s) {
    std::printf("  stand-in failed: %s\n", s.error().Format().c_str());
    return {std::nullopt, "failed"};
  }
  std::printf("  stand-in: bench-local 3-tier fat tree k=%u %8.3f s  %7zu nodes %8zu links\n", stand_in_k, Seconds(t0),
              s->num_nodes(), s->num_links());
  return {std::move(*s), fmt::format("stand-in fat-tree k={}", stand_in_k)};
}

// Writes the fabric in `format` to a temp file, reads it back, and checks the round trip.
bool WriteReadBack(const Fabric& fabric, TopoFormat format, std::string_view label, const std::string& dir) {
  std::string path = fmt::format("{}/topo.{}", dir, format == TopoFormat::kJson ? "json" : "ibnd");
  auto t0 = Clock::now();
  double c0 = CpuSeconds();
  auto w = WriteTopologyFile(fabric, path, format);
  double write_s = Seconds(t0), write_cpu = CpuSeconds() - c0;
  if (!w) {
    std::printf("  %-14s write failed: %s\n", std::string(label).c_str(), w.error().Format().c_str());
    return false;
  }
  double mib = static_cast<double>(std::filesystem::file_size(path)) / (1024.0 * 1024.0);
  t0 = Clock::now();
  c0 = CpuSeconds();
  auto r = ReadTopologyFile(path, format);
  double read_s = Seconds(t0), read_cpu = CpuSeconds() - c0;
  std::filesystem::remove(path);
  if (!r) {
    std::printf("  %-14s write %6.3f s  %7.1f MiB  read failed: %s\n", std::string(label).c_str(), write_s, mib,
                r.error().Format().c_str());
    return false;
  }
  // ibnetdiscover text has no labels or enabled/supported masks, so only JSON can be
  // identical; for the others the cabling (and rates) must survive.
  bool identical = *r == fabric;
  size_t differences = identical ? 0 : DiffTopologies(fabric, *r).differences.size();
  std::string verdict = identical          ? "identical"
                        : differences == 0 ? "cabling identical"
                                           : fmt::format("{} DIFFERENCES", differences);
  std::printf("  %-14s write %6.3f s  read %6.3f s  total %6.3f s (cpu %6.3f s)  %7.1f MiB  round trip %s\n",
              std::string(label).c_str(), write_s, read_s, write_s + read_s, write_cpu + read_cpu, mib,
              verdict.c_str());
  return format == TopoFormat::kJson ? identical : differences == 0;
}

}  // namespace

int RunTopo(const Options& opts) {
  std::string dir = (std::filesystem::temp_directory_path() / fmt::format("fabricctl-bench-{}", getpid())).string();
  std::filesystem::create_directories(dir);
  bool ok = true;

  // The big fabric first, so the peak RSS printed next belongs to it alone.
  GeneratorParams big{{"k", opts.quick ? "16" : "80"}, {"tiers", "3"}};
  double rss0 = CurrentRssMiB();
  {
    Generated g = GenerateOrStandIn("fat-tree", big, opts.quick ? 16 : 80);
    if (!g.fabric) return 1;
    std::printf("  held: %.1f MiB resident (%.1f MiB before), peak RSS %.1f MiB  [%s]\n", CurrentRssMiB(), rss0,
                PeakRssMiB(), g.how.c_str());
    ok &= WriteReadBack(*g.fabric, TopoFormat::kJson, "json", dir);
    std::printf("  peak RSS after JSON write+read: %.1f MiB\n", PeakRssMiB());
  }

  Generated g = GenerateOrStandIn(opts.quick ? "scalex640" : "scalex-cluster", {}, opts.quick ? 12 : 34);
  if (!g.fabric) return 1;
  ok &= WriteReadBack(*g.fabric, TopoFormat::kIbnetdiscover, "ibnetdiscover", dir);
  ok &= WriteReadBack(*g.fabric, TopoFormat::kJson, "json", dir);
  std::printf("peak RSS %.1f MiB\n", PeakRssMiB());
  std::filesystem::remove_all(dir);
  return ok ? 0 : 1;
}

}  // namespace fabricctl::bench
