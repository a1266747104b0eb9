#include "tools/bench/topo_bench.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "fabric/generator.h"
#include "fabric/topology_diff.h"
#include "fabric/topology_io.h"

namespace fabricctl::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Resident set size now (not the peak), in MiB.
double CurrentRssMiB() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

// Generates a fabric and prints how long it took; nullopt (after saying why) on failure.
std::optional<Fabric> GenerateTimed(const std::string& name, const GeneratorParams& params) {
  auto t0 = Clock::now();
  double c0 = CpuSeconds();
  auto f = Generate(name, params);
  double secs = Seconds(t0), cpu = CpuSeconds() - c0;
  std::string args;
  for (const auto& [k, v] : params) args += fmt::format(" {}={}", k, v);
  if (!f) {
    std::printf("generate %-14s%-16s failed: %s\n", name.c_str(), args.c_str(), f.error().Format().c_str());
    return std::nullopt;
  }
  std::printf("generate %-14s%-16s %8.3f s (cpu %6.3f s)  %7zu nodes %8zu links\n", name.c_str(), args.c_str(), secs,
              cpu, f->num_nodes(), f->num_links());
  return std::move(*f);
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
    std::optional<Fabric> tree = GenerateTimed("fat-tree", big);
    if (!tree) return 1;
    std::printf("  held: %.1f MiB resident (%.1f MiB before), peak RSS %.1f MiB\n", CurrentRssMiB(), rss0,
                PeakRssMiB());
    ok &= WriteReadBack(*tree, TopoFormat::kJson, "json", dir);
    std::printf("  peak RSS after JSON write+read: %.1f MiB\n", PeakRssMiB());
  }

  std::optional<Fabric> cluster = GenerateTimed(opts.quick ? "scalex640" : "scalex-cluster", {});
  if (!cluster) return 1;
  ok &= WriteReadBack(*cluster, TopoFormat::kIbnetdiscover, "ibnetdiscover", dir);
  ok &= WriteReadBack(*cluster, TopoFormat::kJson, "json", dir);
  std::printf("peak RSS %.1f MiB\n", PeakRssMiB());
  std::filesystem::remove_all(dir);
  return ok ? 0 : 1;
}

}  // namespace fabricctl::bench
