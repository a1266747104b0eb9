#include "tools/bench/verify_bench.h"

#include <fmt/format.h>

#include <string>
#include <vector>

#include "fabric/generator.h"
#include "routing/metrics.h"
#include "routing/route_fabric.h"
#include "routing/verifier.h"

namespace fabricctl::bench {
namespace {

struct Case {
  std::string label;
  std::string generator;
  GeneratorParams params;
  std::string engine;
};

int RunCase(const Case& c) {
  auto t0 = std::chrono::steady_clock::now();
  auto f = Generate(c.generator, c.params);
  if (!f) {
    std::fprintf(stderr, "%s: %s\n", c.label.c_str(), f.error().Format().c_str());
    return 2;
  }
  double gen_s = Seconds(t0);
  auto sel = ParseEngineSelection(c.engine);
  if (!sel) return 2;
  t0 = std::chrono::steady_clock::now();
  auto routed = RouteFabric(*f, *sel, {.engine = {.max_vls = 8}, .threads = 2});
  double route_s = Seconds(t0);
  if (!routed) {
    std::fprintf(stderr, "%s: %s\n", c.label.c_str(), routed.error().Format().c_str());
    return 2;
  }
  size_t endpoints = 0, switches = 0;
  unsigned vls = 1;
  for (const Subnet& s : f->subnets()) {
    endpoints += s.endpoint_ports.size();
    switches += s.switches.size();
  }
  for (const SubnetRoutes& r : routed->routes.subnets) vls = std::max<unsigned>(vls, r.num_vls);
  t0 = std::chrono::steady_clock::now();
  auto rep = Verify(*f, routed->routes, {.threads = 2});
  double verify_s = Seconds(t0);
  t0 = std::chrono::steady_clock::now();
  auto m = Measure(*f, routed->routes, {.seed = 1, .permutations = 20, .threads = 2});
  double stats_s = Seconds(t0);
  if (!rep || !m) return 2;
  fmt::print(
      "{:<34} {:>7} ep {:>5} sw  gen {:6.2f}s  route({}) {:6.2f}s  vls {}  verify {:6.3f}s  {}  stats {:6.2f}s  "
      "max load {} (bound {})  peak {:.0f} MiB\n",
      c.label, endpoints, switches, gen_s, c.engine, route_s, vls, verify_s, rep->sound() ? "sound" : "NOT SOUND",
      stats_s, m->max_channel_load,
      [&] {
        uint64_t b = 0;
        for (const auto& s : m->subnets) b = std::max(b, s.channel_load_lower_bound);
        return b;
      }(),
      PeakRssMiB());
  return rep->sound() ? 0 : 1;
}

}  // namespace

int RunVerifyBench(const Options& opts) {
  std::vector<Case> cases = {
      {"scalex-cluster", "scalex-cluster", {}, "auto"},
      {"fat-tree k=34 3 tiers", "fat-tree", {{"k", "34"}, {"tiers", "3"}}, "ftree"},
      {"fat-tree k=34 3 tiers", "fat-tree", {{"k", "34"}, {"tiers", "3"}}, "dfsssp"},
      {"torus 8x8x8", "torus", {{"dims", "8x8x8"}}, "torus"},
      {"torus 8x8x8", "torus", {{"dims", "8x8x8"}}, "dfsssp"},
      {"dragonfly default", "dragonfly", {}, "dfsssp"},
  };
  if (opts.quick) {
    cases.resize(1);
    cases[0].params = {{"super_nodes", "4"}};
  } else {
    cases.push_back({"fat-tree k=80 3 tiers (128,000)", "fat-tree", {{"k", "80"}, {"tiers", "3"}}, "ftree"});
  }
  int rc = 0;
  for (const Case& c : cases) rc = std::max(rc, RunCase(c));
  return rc;
}

}  // namespace fabricctl::bench
