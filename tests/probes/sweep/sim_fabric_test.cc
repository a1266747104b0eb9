#include "probes/sweep/sim_fabric.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "probes/sweep/sweep_plan.h"
#include "tests/probes/sweep/sweep_fixture.h"

namespace fabricctl::sweep {
namespace {

FaultSet Faults(const Fabric& fabric, const std::vector<std::string>& specs) {
  FaultSet set;
  for (const std::string& s : specs) {
    auto f = ParseFaultSpec(fabric, s, 1);
    REQUIRE_MESSAGE(f, s);
    set.faults.insert(set.faults.end(), f->begin(), f->end());
  }
  set.Apply(fabric);
  return set;
}

TEST_CASE("a probe measures the same whatever order or round runs it") {
  auto r = testing::FatTree(4, 8, 4);
  auto plan = PlanSweep(r.fabric, r.routes, {});
  REQUIRE(plan);
  FaultSet faults = Faults(r.fabric, {"leaf1[5]:flaky=0.5", "leaf3[6]:bw=0.8:tx"});
  SimOptions options{.noise = 0.05, .seed = 3};
  auto all = SimulateSweep(r.fabric, *plan, faults, options);
  for (size_t i = plan->probes.size(); i-- > 0;) {  // backwards, one at a time
    const PlannedProbe& p = plan->probes[i];
    Measurement m = SimulateProbe(r.fabric, plan->path(p), p.src, p.dst, faults, options, i);
    CHECK(m.gbps == all[i].gbps);
    CHECK(m.latency_us == all[i].latency_us);
  }
}

TEST_CASE("a flaky link degrades about its share of the probes, the same ones every time") {
  auto r = testing::FatTree(4, 8, 4);
  const PortId port = *FindPortByName(r.fabric, "leaf1[5]");
  std::vector<PortId> path;
  auto index = RouteIndex(r.fabric, r.routes);
  // A path through leaf1[5] (an up-link): from a host of leaf1 to a host behind that spine.
  PortId src = r.fabric.port(*FindPortByName(r.fabric, "leaf1[1]")).peer;
  PortId dst = kNone;
  for (PortId e : r.fabric.subnets()[0].endpoint_ports) {
    if (e == src) continue;
    path.clear();
    REQUIRE(AppendProbePath(r.fabric, r.routes, index, src, e, path));
    if (std::find(path.begin(), path.end(), port) == path.end()) continue;
    dst = e;
    break;
  }
  REQUIRE(dst != kNone);
  path.clear();
  REQUIRE(AppendProbePath(r.fabric, r.routes, index, src, dst, path));
  FaultSet faults = Faults(r.fabric, {"leaf1[5]:flaky=0.3"});
  SimOptions options{.noise = 0.0, .seed = 9};
  Measurement healthy = SimulateProbe(r.fabric, path, src, dst, Faults(r.fabric, {}), options, 0);
  size_t hit = 0;
  const size_t probes = 2000;
  for (size_t i = 0; i < probes; ++i) {
    Measurement m = SimulateProbe(r.fabric, path, src, dst, faults, options, i);
    bool slow = m.gbps < 0.75 * healthy.gbps;
    if (slow) CHECK(m.gbps == doctest::Approx(kFlakyBandwidthFactor * healthy.gbps));
    CHECK(slow == (SimulateProbe(r.fabric, path, src, dst, faults, options, i).gbps < 0.75 * healthy.gbps));
    hit += slow;
  }
  CHECK(hit > probes * 0.25);
  CHECK(hit < probes * 0.35);
}

TEST_CASE("a one-way fault slows only the probes crossing that direction") {
  auto r = testing::FatTree(4, 8, 4);
  auto plan = PlanSweep(r.fabric, r.routes, {});
  REQUIRE(plan);
  const PortId port = *FindPortByName(r.fabric, "leaf2[6]");
  FaultSet faults = Faults(r.fabric, {"leaf2[6]:bw=0.5:tx"});
  auto m = SimulateSweep(r.fabric, *plan, faults, {.seed = 1});
  auto clean = SimulateSweep(r.fabric, *plan, Faults(r.fabric, {}), {.seed = 1});
  size_t forward = 0, backward = 0;
  for (size_t i = 0; i < plan->probes.size(); ++i) {
    auto path = plan->path(plan->probes[i]);
    bool tx = std::find(path.begin(), path.end(), port) != path.end();
    bool rx = std::find(path.begin(), path.end(), r.fabric.port(port).peer) != path.end();
    if (tx) CHECK(m[i].gbps == doctest::Approx(0.5 * clean[i].gbps));
    if (!tx) CHECK(m[i].gbps == doctest::Approx(clean[i].gbps));
    forward += tx;
    backward += rx;
  }
  CHECK(forward >= 2);
  CHECK(backward >= 2);
}

}  // namespace
}  // namespace fabricctl::sweep
