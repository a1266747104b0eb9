#include "routing/metrics.h"

#include <doctest/doctest.h>

#include "tests/routing/route_check.h"
#include "tests/routing/route_check_fixtures.h"
#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

using testing::LidOf;
using testing::SetEntry;
using testing::Skeleton;

// Leaf i, host k: up to spine (k % spines) from every other leaf, down to leaf i, out on k.
// `spine_of(i, k)` picks the spine.
template <typename SpineOf>
RouteSet TwoTierTables(const Fabric& f, int leaves, int spines, int down, SpineOf spine_of) {
  RouteSet rs = Skeleton(f);
  for (int i = 0; i < leaves; ++i)
    for (int k = 0; k < down; ++k) {
      Lid lid = LidOf(f, rs, fmt::format("h{}_{}", i, k));
      for (int j = 0; j < leaves; ++j)
        SetEntry(f, rs, fmt::format("leaf{}", j), lid, j == i ? uint8_t(k + 1) : uint8_t(down + 1 + spine_of(i, k)));
      for (int s = 0; s < spines; ++s) SetEntry(f, rs, fmt::format("spine{}", s), lid, uint8_t(i + 1));
    }
  return rs;
}

RouteMetrics MustMeasure(const Fabric& f, const RouteSet& rs, MetricsOptions opt = {}) {
  auto m = Measure(f, rs, opt);
  REQUIRE_MESSAGE(m, (m ? "" : m.error().Format()));
  return *m;
}

TEST_CASE("metrics: balanced tables on a 2-tier fat tree meet the lower bound exactly") {
  // 4 leaves x 2 hosts, 2 spines: every leaf uplink carries 2 sources x 3 remote
  // destinations = 6 routes, every spine downlink 6 sources x 1 destination = 6.
  Fabric f = testing::TwoTier(4, 2, 2);
  RouteSet rs = TwoTierTables(f, 4, 2, 2, [](int, int k) { return k; });
  RouteMetrics m = MustMeasure(f, rs, {.seed = 3, .permutations = 50});
  REQUIRE(m.subnets.size() == 1);
  const SubnetMetrics& s = m.subnets[0];
  CHECK(s.pairs == 56);
  CHECK(s.channels == 16);
  CHECK(s.max_channel_load == 6);
  CHECK(s.avg_channel_load == doctest::Approx(6.0));
  CHECK(s.stddev_channel_load == doctest::Approx(0.0));
  CHECK(s.channel_load_lower_bound == 6);
  CHECK(s.min_hops == 2);
  CHECK(s.max_hops == 4);
  CHECK(s.avg_hops == doctest::Approx((8 * 2 + 48 * 4) / 56.0));
  CHECK(s.effective_bisection_bandwidth > 0.3);
  CHECK(s.effective_bisection_bandwidth <= 1.0);
  CHECK(s.permutations == 50);
  CHECK(m.max_channel_load == 6);
  // The seed decides the permutations: same seed, same estimate.
  CHECK(MustMeasure(f, rs, {.seed = 3, .permutations = 50}).subnets[0].effective_bisection_bandwidth ==
        s.effective_bisection_bandwidth);
}

// 3 leaves of 3 hosts, 2 spines: a leaf's 3 hosts send to 6 remote destinations over its 2
// up cables, 3 destinations each, 9 routes: the cut bound and the step bound agree. With
// 4 hosts on a leaf over 3 cables (3 spines), 8 remote destinations go 3 + 3 + 2, and the
// busiest up cable carries 3 x 4 = 12 routes where the cut bound spreads 32 over 3 (11).
TEST_CASE("metrics: whole destinations per port bound the busiest channel above the cut") {
  {
    Fabric f = testing::TwoTier(3, 2, 3);
    RouteSet rs = TwoTierTables(f, 3, 2, 3, [](int, int k) { return k % 2; });
    const SubnetMetrics s = MustMeasure(f, rs, {.permutations = 0}).subnets.at(0);
    CHECK(s.channel_load_step_bound == 3 * 3);
    CHECK(s.channel_load_step_bound >= s.channel_load_lower_bound);
    CHECK(s.load_per_capacity_step_bound == doctest::Approx(double(s.channel_load_step_bound)));
  }
  Fabric f = testing::TwoTier(3, 3, 4);
  RouteSet rs = TwoTierTables(f, 3, 3, 4, [](int, int k) { return k % 3; });
  const SubnetMetrics s = MustMeasure(f, rs, {.permutations = 0}).subnets.at(0);
  CHECK(s.channel_load_lower_bound == 11);
  CHECK(s.channel_load_step_bound == 12);
  CHECK(s.max_channel_load >= s.channel_load_step_bound);
}

TEST_CASE("metrics: a pod that lost core cables bounds the busiest channel beyond any one switch's cut") {
  // 4 pods of 4 leaves x 4 hosts and 4 aggregation switches, each agg cabled to 4 cores.
  const Fabric healthy = testing::ThreeTierFatTree({});
  const Fabric damaged = testing::WithThinPod(healthy);
  for (const auto& [fabric, bound] : {std::pair{&healthy, 60u}, std::pair{&damaged, 192u}}) {
    CAPTURE(bound);
    auto routed = testing::RouteWith(*fabric, "minhop", EngineOptions{});
    REQUIRE(routed);
    RouteMetrics m = MustMeasure(*fabric, routed->routes, {.permutations = 0});
    REQUIRE(m.subnets.size() == 1);
    CHECK(m.subnets[0].channel_load_lower_bound == bound);
    CHECK(m.subnets[0].max_channel_load >= bound);  // a bound no table beats
  }
}

TEST_CASE("metrics: everything over one spine doubles the maximum load and halves the bandwidth") {
  Fabric f = testing::TwoTier(4, 2, 2);
  RouteSet rs = TwoTierTables(f, 4, 2, 2, [](int, int) { return 0; });
  RouteMetrics m = MustMeasure(f, rs, {.permutations = 50});
  const SubnetMetrics& s = m.subnets[0];
  CHECK(s.max_channel_load == 12);
  CHECK(s.channel_load_lower_bound == 6);
  CHECK(s.avg_channel_load == doctest::Approx(6.0));  // same total, worse spread
  CHECK(s.stddev_channel_load == doctest::Approx(6.0));
  RouteSet good = TwoTierTables(f, 4, 2, 2, [](int, int k) { return k; });
  CHECK(s.effective_bisection_bandwidth <
        MustMeasure(f, good, {.permutations = 50}).subnets[0].effective_bisection_bandwidth);
}

TEST_CASE("metrics: balance over parallel cables") {
  FabricBuilder b;
  NodeId a = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 1, .description = "a"});
  NodeId c = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 2, .description = "c"});
  for (int k = 0; k < 2; ++k) {
    NodeId h =
        *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 10u + k, .description = fmt::format("a{}", k)});
    REQUIRE(b.Connect(h, 1, a, k + 1, LinkRate{}));
    NodeId g =
        *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 20u + k, .description = fmt::format("c{}", k)});
    REQUIRE(b.Connect(g, 1, c, k + 1, LinkRate{}));
  }
  REQUIRE(b.Connect(a, 3, c, 3, LinkRate{}));
  REQUIRE(b.Connect(a, 4, c, 4, LinkRate{}));
  Fabric f = std::move(*b.Build());
  RouteSet rs = Skeleton(f);
  for (int k = 0; k < 2; ++k) {
    SetEntry(f, rs, "a", LidOf(f, rs, fmt::format("a{}", k)), uint8_t(k + 1));
    SetEntry(f, rs, "c", LidOf(f, rs, fmt::format("c{}", k)), uint8_t(k + 1));
    SetEntry(f, rs, "a", LidOf(f, rs, fmt::format("c{}", k)), 3);  // both over cable 3
    SetEntry(f, rs, "c", LidOf(f, rs, fmt::format("a{}", k)), uint8_t(3 + k));
  }
  const SubnetMetrics s = MustMeasure(f, rs).subnets[0];
  CHECK(s.parallel_groups == 2);
  CHECK(s.parallel_max_spread == 4);  // a -> c: 4 routes on cable 3, none on 4
  CHECK(s.channel_load_lower_bound == 2);
  SetEntry(f, rs, "a", LidOf(f, rs, "c1"), 4);
  CHECK(MustMeasure(f, rs).subnets[0].parallel_max_spread == 0);
}

TEST_CASE("metrics: broken paths are skipped, not counted as hops") {
  Fabric f = testing::Ring(4);
  RouteSet rs = Skeleton(f);
  testing::RingShortestPaths(f, rs, 4);
  CHECK(MustMeasure(f, rs).subnets[0].pairs == 12);
  SetEntry(f, rs, "s1", LidOf(f, rs, "h2_0"), 3);  // loop between s0 and s1
  const SubnetMetrics s = MustMeasure(f, rs).subnets[0];
  CHECK(s.pairs == 10);
  CHECK(s.max_hops == 4);
}

}  // namespace
}  // namespace fabricctl
