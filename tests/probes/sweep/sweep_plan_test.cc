#include "probes/sweep/sweep_plan.h"

#include <doctest/doctest.h>

#include <set>

#include "tests/probes/sweep/sweep_fixture.h"

namespace fabricctl::sweep {
namespace {

void CheckPlan(const Fabric& f, const SweepPlan& plan, uint32_t coverage, double max_ratio) {
  // Every channel of the routed subnet is covered `coverage` times.
  std::vector<uint32_t> count(f.num_port_slots(), 0);
  for (PortId c : plan.path_channels) ++count[c];
  size_t channels = 0;
  for (LinkId l = 0; l < f.num_links(); ++l)
    for (PortId c : {f.link(l).a, f.link(l).b}) {
      ++channels;
      CHECK_MESSAGE(count[c] >= coverage, f.PortName(c));
    }
  CHECK(plan.channels == channels);
  CHECK(plan.channels_at_target == channels);
  // Rounds: endpoints and channels used once per round.
  std::set<std::pair<uint32_t, PortId>> ep, ch;
  for (const PlannedProbe& p : plan.probes) {
    CHECK(p.round < plan.num_rounds);
    CHECK(ep.insert({p.round, p.src}).second);
    CHECK(ep.insert({p.round, p.dst}).second);
    for (PortId c : plan.path(p)) CHECK(ch.insert({p.round, c}).second);
    CHECK(f.port(plan.path(p).back()).peer == p.dst);
    CHECK(plan.path(p).front() == p.src);
  }
  CHECK(plan.lower_bound == 2 * coverage);
  CHECK(plan.num_rounds >= plan.lower_bound);
  CHECK(plan.num_rounds <= max_ratio * plan.lower_bound);
}

TEST_CASE("sweep plan covers every channel twice in few rounds") {
  auto r = testing::FatTree(4, 8, 4);
  auto plan = PlanSweep(r.fabric, r.routes, {.coverage = 2, .seed = 7});
  REQUIRE(plan);
  CheckPlan(r.fabric, *plan, 2, 1.5);
}

TEST_CASE("sweep plan with dual-ported hosts and coverage 1") {
  auto r = testing::FatTree(2, 4, 3, 2);
  auto plan = PlanSweep(r.fabric, r.routes, {.coverage = 1});
  REQUIRE(plan);
  // Dual-homed hosts under plain shortest-path routes: shifts collide, rounds grow.
  CheckPlan(r.fabric, *plan, 1, 4.0);
}

TEST_CASE("sweep plan rejects routes of another topology") {
  auto r = testing::FatTree();
  auto other = testing::FatTree(2, 2, 2);
  auto plan = PlanSweep(r.fabric, other.routes, {});
  REQUIRE(!plan);
  CHECK(plan.error().message == "routes do not match the topology (port count differs)");
}

}  // namespace
}  // namespace fabricctl::sweep
