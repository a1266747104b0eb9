#include "probes/sweep/reprobe.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "probes/sweep/faults.h"
#include "tests/probes/sweep/sweep_fixture.h"

namespace fabricctl::sweep {
namespace {

size_t Crossing(const SweepPlan& plan, size_t first, PortId channel) {
  size_t n = 0;
  for (size_t i = first; i < plan.probes.size(); ++i) {
    auto path = plan.path(plan.probes[i]);
    n += std::find(path.begin(), path.end(), channel) != path.end();
  }
  return n;
}

TEST_CASE("re-probes cross their suspects, in extra rounds that keep the round rules") {
  auto r = testing::FatTree(4, 8, 4);
  auto plan = PlanSweep(r.fabric, r.routes, {});
  REQUIRE(plan);
  const size_t planned = plan->probes.size();
  const uint32_t rounds = plan->num_rounds;
  const PortId uplink = *FindPortByName(r.fabric, "leaf2[6]");
  const PortId access = *FindPortByName(r.fabric, "leaf5[1]");
  std::vector<Suspect> suspects{
      {.link = r.fabric.port(uplink).link, .channel = kNone, .sigmas = 6},
      {.link = r.fabric.port(access).link, .channel = access, .sigmas = 4},
  };
  auto added = AddReprobes(r.fabric, r.routes, suspects, {.per_suspect = 8, .seed = 3}, *plan);
  REQUIRE(added);
  CHECK(*added == 16);
  CHECK(plan->probes.size() == planned + 16);
  // Both directions of the link suspect, the one direction of the other.
  CHECK(Crossing(*plan, planned, uplink) >= 4);
  CHECK(Crossing(*plan, planned, r.fabric.port(uplink).peer) >= 4);
  CHECK(Crossing(*plan, planned, access) >= 8);
  std::set<std::pair<uint32_t, PortId>> ports, channels;
  for (size_t i = 0; i < plan->probes.size(); ++i) {
    const PlannedProbe& p = plan->probes[i];
    if (i >= planned) CHECK(p.round >= rounds);
    CHECK(ports.insert({p.round, p.src}).second);
    CHECK(ports.insert({p.round, p.dst}).second);
    for (PortId c : plan->path(p)) CHECK(channels.insert({p.round, c}).second);
    CHECK(plan->path(p).front() == p.src);
    CHECK(r.fabric.port(plan->path(p).back()).peer == p.dst);
  }
  CHECK(plan->num_rounds > rounds);
}

TEST_CASE("the source search finds only sources whose path crosses the switch") {
  auto r = testing::FatTree(4, 8, 4);
  RouteIndex index(r.fabric, r.routes);
  SourceFinder finder(r.fabric, r.routes, index);
  std::mt19937_64 rng(1);
  const NodeId spine = *r.fabric.FindByDescription("spine1");
  std::vector<PortId> srcs, path;
  size_t found = 0;
  for (PortId dst : r.fabric.subnets()[0].endpoint_ports) {
    finder.Find(r.routes.subnets[0], spine, dst, 100, rng, srcs);
    found += srcs.size();
    for (PortId s : srcs) {
      CHECK(s != dst);
      path.clear();
      REQUIRE(AppendProbePath(r.fabric, r.routes, index, s, dst, path));
      bool through = std::any_of(path.begin(), path.end(), [&](PortId c) { return r.fabric.port(c).node == spine; });
      CHECK(through);
    }
  }
  CHECK(found > 0);
}

TEST_CASE("an intermittent suspect gets more re-probes, an endpoint's first from its own switch") {
  auto r = testing::FatTree(4, 8, 4);
  auto plan = PlanSweep(r.fabric, r.routes, {});
  REQUIRE(plan);
  const size_t planned = plan->probes.size();
  const PortId access = *FindPortByName(r.fabric, "leaf5[1]");
  const PortId host = r.fabric.port(access).peer;  // the host's port: its channel goes up to leaf5
  std::vector<Suspect> suspects{{.link = r.fabric.port(access).link, .channel = host, .intermittent = true}};
  auto added = AddReprobes(r.fabric, r.routes, suspects, {.per_suspect = 8, .per_intermittent = 20, .seed = 2}, *plan);
  REQUIRE(added);
  CHECK(*added == 20);
  CHECK(Crossing(*plan, planned, host) == 20);
  // leaf5 has 3 other hosts: the first 3 re-probes go to them, two links each.
  const NodeId leaf5 = r.fabric.port(access).node;
  size_t near = 0;
  for (size_t i = planned; i < plan->probes.size(); ++i) {
    const PlannedProbe& p = plan->probes[i];
    near += r.fabric.port(r.fabric.port(p.dst).peer).node == leaf5 && plan->path(p).size() == 2;
  }
  CHECK(near >= 3);
}

}  // namespace
}  // namespace fabricctl::sweep
