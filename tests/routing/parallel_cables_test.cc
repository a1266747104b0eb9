#include "routing/parallel_cables.h"

#include <doctest/doctest.h>

#include "fabric/generator.h"
#include "routing/metrics.h"
#include "routing/route_summary.h"
#include "tests/routing/route_check.h"
#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

uint64_t BusiestChannel(const Fabric& f, const RouteSet& routes) {
  auto m = Measure(f, routes, MetricsOptions{.permutations = 0});
  REQUIRE(m);
  return m->subnets.at(0).max_channel_load;
}

// The neighbour every LFT entry of switch s leads to (kNone for an endpoint port or none).
std::vector<uint32_t> NextSwitches(const SwitchGraph& g, const SubnetRoutes& r) {
  std::vector<uint32_t> next(r.lft.size(), kNone);
  for (uint32_t s = 0; s < g.num_switches(); ++s)
    for (uint32_t grp = g.begin(s); grp < g.end(s); ++grp)
      for (uint8_t p : g.ports(grp))
        for (size_t x = 0; x < r.num_lids(); ++x)
          if (r.lft[size_t{s} * r.num_lids() + x] == p) next[size_t{s} * r.num_lids() + x] = g.nbr(grp);
  return next;
}

}  // namespace

// 4 leaves of 6 hosts, 3 cables from each leaf to each of 2 spines, routed by ftree and then
// every switch-to-switch entry moved onto the first cable of its pair: one cable of each
// pair carries everything. Spreading puts 4 destinations on each cable again.
TEST_CASE("parallel cables: destinations piled on one cable are spread over all of them") {
  const Fabric f = testing::TwoTierFatTree({.leaves = 4, .spines = 2, .hosts = 6, .parallel = 3});
  auto routed = testing::RouteWith(f, "ftree");
  REQUIRE(routed);
  SubnetRoutes& r = routed->routes.subnets.at(0);
  const uint64_t balanced = BusiestChannel(f, routed->routes);
  const SwitchGraph g(f, f.subnets()[0], r);
  for (uint32_t s = 0; s < g.num_switches(); ++s)
    for (uint32_t grp = g.begin(s); grp < g.end(s); ++grp)
      for (size_t x = 0; x < r.num_lids(); ++x) {
        uint8_t& entry = r.lft[size_t{s} * r.num_lids() + x];
        for (uint8_t p : g.ports(grp))
          if (entry == p) entry = g.ports(grp)[0];
      }
  const uint64_t piled = BusiestChannel(f, routed->routes);
  CHECK(piled == 3 * balanced);
  const std::vector<uint32_t> next_before = NextSwitches(g, r);

  const CableSpread spread = SpreadOverParallelCables(f, g, ChannelCapacity(f, f.subnets()[0]), r);
  CHECK(spread.groups == 16);  // 8 leaf-spine pairs, both ways
  CHECK(spread.packed == 16);
  CHECK(spread.entries > 0);
  CHECK(BusiestChannel(f, routed->routes) == balanced);
  // Only the cable changed: every entry still leads to the same switch.
  CHECK(NextSwitches(g, r) == next_before);
  const testing::Walk walk = testing::WalkAllPairs(f, r);
  CHECK(walk.delivered == walk.pairs);
  const RouteSummary summary = SummarizeRoutes(f, f.subnets()[0], r, 1);
  REQUIRE(summary.deadlock_free.has_value());
  CHECK(*summary.deadlock_free);
  // Packed as well as it goes: a second spreading moves nothing.
  const std::vector<uint8_t> once = r.lft;
  CHECK(SpreadOverParallelCables(f, g, ChannelCapacity(f, f.subnets()[0]), r).packed == 0);
  CHECK(r.lft == once);
}

// The generator's default leaf-spine: 18 hosts a leaf over 2 spines x 6 cables. ftree's
// per-destination fill chooses a spine's cable towards a destination at its first flow;
// afterwards no pair of switches can lower its busiest cable by packing its destinations
// again.
TEST_CASE("parallel cables: ftree leaves no pair of switches that packing would lighten") {
  auto f = Generate("leaf-spine", {});
  REQUIRE(f);
  auto routed = testing::RouteWith(*f, "ftree");
  REQUIRE(routed);
  SubnetRoutes& r = routed->routes.subnets.at(0);
  INFO(r.reason);
  CHECK(r.reason.find("repacked over the parallel cables") != std::string::npos);
  const SwitchGraph g(*f, f->subnets()[0], r);
  const std::vector<uint8_t> routed_lft = r.lft;
  CHECK(SpreadOverParallelCables(*f, g, ChannelCapacity(*f, f->subnets()[0]), r).packed == 0);
  CHECK(r.lft == routed_lft);
}

// A destination whose routes are broken somewhere (a missing entry) has no known flows:
// its entries stay as they are, while the others' are spread.
TEST_CASE("parallel cables: a destination with a missing entry is left alone") {
  const Fabric f = testing::TwoTierFatTree({.leaves = 4, .spines = 2, .hosts = 6, .parallel = 3});
  auto routed = testing::RouteWith(f, "ftree");
  REQUIRE(routed);
  SubnetRoutes& r = routed->routes.subnets.at(0);
  const SwitchGraph g(f, f.subnets()[0], r);
  for (uint32_t s = 0; s < g.num_switches(); ++s)
    for (uint32_t grp = g.begin(s); grp < g.end(s); ++grp)
      for (size_t x = 0; x < r.num_lids(); ++x)
        for (uint8_t p : g.ports(grp))
          if (r.lft[size_t{s} * r.num_lids() + x] == p) r.lft[size_t{s} * r.num_lids() + x] = g.ports(grp)[0];
  const Lid broken = g.endpoint_lids(0)[0];
  r.lft[size_t{1} * r.num_lids() + broken] = kNoRoute;
  std::vector<uint8_t> column(g.num_switches());
  for (uint32_t s = 0; s < g.num_switches(); ++s) column[s] = r.lft[size_t{s} * r.num_lids() + broken];
  const CableSpread spread = SpreadOverParallelCables(f, g, ChannelCapacity(f, f.subnets()[0]), r);
  CHECK(spread.packed > 0);
  CHECK(spread.entries > 0);
  for (uint32_t s = 0; s < g.num_switches(); ++s) CHECK(r.lft[size_t{s} * r.num_lids() + broken] == column[s]);
}

}  // namespace fabricctl
