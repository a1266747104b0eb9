// fabricctl-bench: benchmarks that print their numbers and, with --write, record them in
// docs/. One table of cases; each case lives in its own file in tools/bench/.
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "tools/bench/bench.h"
#include "tools/bench/check_bench.h"
#include "tools/bench/coordinator_bench.h"
#include "tools/bench/discovery_bench.h"
#include "tools/bench/manage_bench.h"
#include "tools/bench/probe_bench.h"
#include "tools/bench/repair_bench.h"
#include "tools/bench/repair_watch.h"
#include "tools/bench/route_bench.h"
#include "tools/bench/sweep_bench.h"
#include "tools/bench/topo_bench.h"
#include "tools/bench/verify_bench.h"

namespace {

struct BenchCase {
  std::string_view name;
  std::string_view help;
  int (*run)(const fabricctl::bench::Options&);
};

constexpr BenchCase kCases[] = {
    {"noop", "checks the bench harness", fabricctl::bench::RunNoop},
    {"topo", "generate scalex-cluster and fat-tree k=80; topology write/read-back; memory", fabricctl::bench::RunTopo},
    {"route", "routing engines on 3-tier fat trees (10k, 128k endpoints) and scalex-cluster",
     fabricctl::bench::RunRouteBench},
    {"repair", "route repair after single link and switch failures on scalex-cluster; --write: docs/performance.md",
     fabricctl::bench::RunRepairBench},
    {"verify", "route verify and stats on scalex-cluster, fat trees, tori", fabricctl::bench::RunVerifyBench},
    {"sweep-scale", "plan, simulate and analyse a scalex-cluster sweep", fabricctl::bench::RunSweepScale},
    {"sweep-accuracy",
     "precision/recall of sweeps: subtle, one-way, flaky and many faults, healthy fabrics; --write: "
     "docs/performance.md",
     fabricctl::bench::RunSweepAccuracy},
    {"coordinator", "sweep coordinator on scalex-cluster: plan load, 1,280 agents per round, memory",
     fabricctl::bench::RunCoordinatorBench},
    {"discovery", "discover/deploy vs ibnetdiscover on ibsim fat trees", fabricctl::bench::RunDiscoveryBench},
    {"check", "live check (collect + verify routes) vs ibnetdiscover + ibqueryerrors + dump_fts on ibsim",
     fabricctl::bench::RunCheckBench},
    {"check-collect", "one live collection of the subnet under libumad2sim (run by `check`), stages as JSON",
     fabricctl::bench::RunCheckCollect},
    {"manage",
     "time to repair a failed cable and switch under ibsim: OpenSM daemon (updn, ftree) at 1k and 10k endpoints; "
     "--write: docs/performance.md; -- MANAGER... to pick",
     fabricctl::bench::RunManageBench},
    {"repair-watch", "one failure watched under libumad2sim (run by `manage`), result as JSON",
     fabricctl::bench::RunRepairWatch},
    {"probe", "TCP probes vs iperf3 (bandwidth) and sockperf/qperf (latency) on loopback",
     fabricctl::bench::RunProbeBench},
};

}  // namespace

int main(int argc, char** argv) {
  fabricctl::bench::Options opts;
  std::string name;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      opts.args.assign(argv + i + 1, argv + argc);
      break;
    }
    if (a == "--quick")
      opts.quick = true;
    else if (a == "--write")
      opts.write = true;
    else if (a == "--help" || a == "-h") {
      name.clear();
      i = argc;
    } else if (name.empty())
      name = a;
    else {
      std::fprintf(stderr, "fabricctl-bench: unexpected argument '%s'\n", argv[i]);
      return 2;
    }
  }
  for (const BenchCase& c : kCases)
    if (c.name == name) return c.run(opts);
  std::fprintf(stderr, "usage: fabricctl-bench CASE [--quick] [--write] [-- CASE ARGUMENTS]\ncases:\n");
  for (const BenchCase& c : kCases)
    std::fprintf(stderr, "  %-20.*s %.*s\n", int(c.name.size()), c.name.data(), int(c.help.size()), c.help.data());
  return name.empty() ? 0 : 2;
}
