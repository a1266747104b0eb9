#include "routing/ftree.h"

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <optional>

#include "fabric/generator.h"
#include "routing/metrics.h"
#include "routing/route_fabric.h"
#include "routing/route_summary.h"
#include "routing/verifier.h"
#include "tests/routing/route_check.h"
#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

using testing::FatTreeShape;

// In a non-blocking 2-tier tree (hosts per leaf = spines) every leaf-spine channel must
// carry the same number of routes in both directions.
void CheckPerfectlyBalanced(std::string_view engine, const FatTreeShape& shape) {
  Fabric f = testing::TwoTierFatTree(shape);
  auto routed = testing::RouteWith(f, engine);
  REQUIRE(routed);
  const SubnetRoutes& r = routed->routes.subnets.at(0);
  CHECK(r.engine == engine);
  testing::CheckEveryLidRouted(f, r);
  testing::Walk w = testing::WalkAllPairs(f, r);
  const uint64_t n = uint64_t{shape.leaves} * shape.hosts;
  CHECK(w.pairs == n * (n - 1));
  CHECK(w.delivered == w.pairs);
  CHECK(w.max_links == 4);
  // Each of the leaves * spines * parallel cables is used in both directions.
  CHECK(w.channel_load.size() == 2u * shape.leaves * shape.spines * shape.parallel);
  // Routes crossing spines: n - hosts destinations from each of n sources, over all uplinks.
  const uint64_t per_channel = n * (n - shape.hosts) / (shape.leaves * shape.spines * shape.parallel);
  for (const auto& [channel, load] : w.channel_load) {
    INFO(f.PortName(channel.first) << " -> " << f.PortName(channel.second));
    CHECK(load == per_channel);
  }
}

TEST_CASE("ftree: a 2-tier non-blocking fat tree is perfectly balanced") {
  CheckPerfectlyBalanced("ftree", {.leaves = 4, .spines = 2, .hosts = 2});
  CheckPerfectlyBalanced("ftree", {.leaves = 6, .spines = 4, .hosts = 4});
  CheckPerfectlyBalanced("ftree", {.leaves = 4, .spines = 3, .hosts = 3, .shuffle_uplinks = true});
  CheckPerfectlyBalanced("ftree", {.leaves = 4, .spines = 2, .hosts = 4, .parallel = 2});
  CheckPerfectlyBalanced("ftree", {.leaves = 5, .spines = 4, .hosts = 4, .tier_labels = true});
}

TEST_CASE("updn: a 2-tier non-blocking fat tree is perfectly balanced") {
  CheckPerfectlyBalanced("updn", {.leaves = 4, .spines = 2, .hosts = 2});
  CheckPerfectlyBalanced("updn", {.leaves = 6, .spines = 4, .hosts = 4});
  CheckPerfectlyBalanced("updn", {.leaves = 4, .spines = 3, .hosts = 3, .shuffle_uplinks = true});
  CheckPerfectlyBalanced("updn", {.leaves = 5, .spines = 4, .hosts = 4, .tier_labels = true});
}

TEST_CASE("ftree declines a ring with a reason, and the chain falls back to updn") {
  Fabric ring = testing::Ring(6);
  auto alone = testing::RouteWith(ring, "ftree");
  REQUIRE_FALSE(alone);
  CHECK(alone.error().message.find("ftree not applicable") != std::string::npos);
  CHECK(alone.error().message.find("not a fat tree") != std::string::npos);

  auto chain = testing::RouteWith(ring, "ftree,updn");
  REQUIRE(chain);
  const SubnetRoutes& r = chain->routes.subnets.at(0);
  CHECK(r.engine == "updn");
  CHECK(r.reason.find("fallback after ftree not applicable") != std::string::npos);
  REQUIRE(chain->reports.at(0).declined.size() == 1);
  testing::CheckEveryLidRouted(ring, r);
  CHECK(testing::WalkAllPairs(ring, r).delivered == 6 * 5);
}

TEST_CASE("ftree routes a fat tree with a missing uplink and keeps every pair reachable") {
  // leaf0 lacks its cable to spine1: spine1 cannot reach leaf0's hosts, so others must use spine0.
  FabricBuilder b;
  NodeId s0 = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 0x20, .description = "s0"});
  NodeId s1 = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 0x21, .description = "s1"});
  std::vector<NodeId> leaves;
  for (unsigned i = 0; i < 3; ++i) {
    leaves.push_back(*b.AddNode(
        {.type = NodeType::kSwitch, .num_ports = 4, .guid = 0x10 + i, .description = fmt::format("l{}", i)}));
    for (unsigned h = 0; h < 2; ++h) {
      NodeId c = *b.AddNode({.type = NodeType::kCa,
                             .num_ports = 1,
                             .guid = 0x100 + i * 4 + h,
                             .description = fmt::format("h{}{}", i, h)});
      REQUIRE(b.Connect(c, 1, leaves[i], h + 1, LinkRate{}));
    }
    REQUIRE(b.Connect(leaves[i], 3, s0, i + 1, LinkRate{}));
    if (i != 0) REQUIRE(b.Connect(leaves[i], 4, s1, i + 1, LinkRate{}));
  }
  Fabric f = *b.Build();
  auto routed = testing::RouteWith(f, "ftree");
  REQUIRE(routed);
  const SubnetRoutes& r = routed->routes.subnets.at(0);
  CHECK(r.reason.find("degraded") != std::string::npos);
  // s1 has no legal route to leaf0's hosts; no route passes s1 towards them either.
  testing::CheckEveryLidRouted(f, r, testing::Missing::kAllowed);
  CHECK(r.out_port(1, 4) == kNoRoute);
  testing::Walk w = testing::WalkAllPairs(f, r);
  CHECK(w.delivered == w.pairs);
  CHECK(w.max_links == 4);
}

TEST_CASE("ftree declines endpoints on a spine") {
  FabricBuilder b;
  NodeId s = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 0x20, .description = "spine"});
  NodeId l0 = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 0x10, .description = "l0"});
  NodeId l1 = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 0x11, .description = "l1"});
  REQUIRE(b.Connect(l0, 4, s, 1, LinkRate{}));
  REQUIRE(b.Connect(l1, 4, s, 2, LinkRate{}));
  for (auto [sw, port, guid] : {std::tuple{l0, 1u, 0x100u}, {l1, 1u, 0x101u}, {s, 3u, 0x102u}}) {
    NodeId c = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = guid, .description = "h"});
    REQUIRE(b.Connect(c, 1, sw, port, LinkRate{}));
  }
  Fabric f = *b.Build();
  auto routed = testing::RouteWith(f, "ftree");
  REQUIRE_FALSE(routed);
  // Endpoints on all three switches make them all leaves, cabled to each other.
  CHECK(routed.error().message.find("not a fat tree") != std::string::npos);
}

// Routes `f` with ftree and checks every pair delivered in at most `max_links` cables,
// deadlock-free, the cut bound `bound` and `busiest` routes on the busiest channel.
void CheckSpread(const Fabric& f, uint32_t max_links, uint64_t bound, uint64_t busiest) {
  auto routed = testing::RouteWith(f, "ftree");
  REQUIRE(routed);
  const SubnetRoutes& r = routed->routes.subnets.at(0);
  REQUIRE(r.engine == "ftree");
  testing::CheckEveryLidRouted(f, r);
  testing::Walk w = testing::WalkAllPairs(f, r);
  CHECK(w.delivered == w.pairs);
  CHECK(w.max_links == max_links);
  uint64_t most = 0;
  for (const auto& [channel, load] : w.channel_load) most = std::max(most, load);
  auto m = Measure(f, routed->routes, MetricsOptions{.permutations = 0});
  REQUIRE(m);
  CHECK(m->subnets[0].channel_load_lower_bound == bound);
  CHECK(most == busiest);
  RouteSummary summary = SummarizeRoutes(f, f.subnets()[0], r, 2);
  REQUIRE(summary.deadlock_free.has_value());
  CHECK(*summary.deadlock_free);
}

// Fewer hosts per leaf than uplinks: destination-mod-k would send each destination's
// traffic down one cable (2 hosts, 8 spines: 30 routes where 8 is the bound); the leaves
// take turns over the spines instead, and meet the cut bound.
TEST_CASE("ftree spreads a destination over the spines when leaves have fewer hosts than uplinks") {
  struct Case {
    FatTreeShape shape;
    uint64_t bound;
  };
  for (const Case& c : {Case{{.leaves = 16, .spines = 8, .hosts = 1}, 2},     // 15 others over 8 uplinks
                        Case{{.leaves = 16, .spines = 8, .hosts = 2}, 8},     // 2 x 30 over 8
                        Case{{.leaves = 20, .spines = 10, .hosts = 2}, 8},    // 2 x 38 over 10
                        Case{{.leaves = 8, .spines = 4, .hosts = 4}, 28}}) {  // full: unchanged
    CAPTURE(c.shape.leaves);
    CAPTURE(c.shape.hosts);
    CheckSpread(testing::TwoTierFatTree(c.shape), 4, c.bound, c.bound);
  }
}

// More hosts on a leaf than it has up cables, not a multiple of them: destination-mod-k
// would put whole destinations on the cables down into a leaf unevenly (16 hosts over 7
// spines: 3 destinations x 240 sources = 720 routes on one cable, bound 549; 18 hosts
// over 2 x 6 cables: 2 x 414 = 828, bound 621), or fewer hosts than up cables that do not
// divide them (12 hosts over 18 spines take one turn each: 228, bound 152). ftree balances
// per destination instead and says why; a tree whose hosts divide over the up cables keeps
// destination-mod-k.
TEST_CASE("ftree balances per destination where destination-mod-k would be uneven") {
  struct Case {
    FatTreeShape shape;
    bool uneven;
  };
  for (const Case& c : {Case{{.leaves = 16, .spines = 7, .hosts = 16}, true},
                        Case{{.leaves = 24, .spines = 2, .hosts = 18, .parallel = 6}, true},
                        Case{{.leaves = 20, .spines = 18, .hosts = 12}, true},  // turns: 228, bound 152
                        Case{{.leaves = 16, .spines = 8, .hosts = 16}, false},
                        Case{{.leaves = 24, .spines = 3, .hosts = 18, .parallel = 6}, false}}) {
    CAPTURE(c.shape.spines);
    CAPTURE(c.shape.hosts);
    const Fabric f = testing::TwoTierFatTree(c.shape);
    auto routed = testing::RouteWith(f, "ftree");
    REQUIRE(routed);
    const SubnetRoutes& r = routed->routes.subnets.at(0);
    testing::Walk w = testing::WalkAllPairs(f, r);
    CHECK(w.delivered == w.pairs);
    uint64_t most = 0;
    for (const auto& [channel, load] : w.channel_load) most = std::max(most, load);
    auto m = Measure(f, routed->routes, MetricsOptions{.permutations = 0});
    REQUIRE(m);
    const uint64_t bound = m->subnets[0].channel_load_lower_bound;
    CHECK(most * 100 <= bound * 105);
    CHECK((r.reason.find("destination-mod-k uneven") != std::string::npos) == c.uneven);
    CHECK((r.reason.find("balanced per destination") != std::string::npos) == c.uneven);
    RouteSummary summary = SummarizeRoutes(f, f.subnets()[0], r, 2);
    REQUIRE(summary.deadlock_free.has_value());
    CHECK(*summary.deadlock_free);
  }
}

// The same on three tiers: the leaves' turns pick the aggregation switch, and the core
// above it follows the destination's leaf, so turns of different leaves do not meet on a
// core's cable down. 4 pods x 4 leaves, 4 aggs per pod, 4 x 4 cores. With 2 hosts a leaf
// sends 2 x 30 routes over 4 uplinks (bound 15; destination-mod-k: 30); the 15 other
// leaves split 8 / 7 between the two turns, so the busiest cable down carries 8 x 2 = 16.
TEST_CASE("ftree spreads destinations on a 3-tier tree with fewer hosts than uplinks") {
  struct Case {
    unsigned hosts;
    uint64_t bound, busiest;
  };
  for (const Case& c : {Case{1, 4, 4}, Case{2, 15, 16}, Case{4, 60, 60}}) {  // 4 hosts: full
    CAPTURE(c.hosts);
    CheckSpread(testing::ThreeTierFatTree({.pods = 4, .leaves = 4, .aggs = 4, .cores = 4, .hosts = c.hosts}), 6,
                c.bound, c.busiest);
  }
}

// Half a k-ary 3-tree (k/2 pods of k/2 leaves and k/2 aggs, (k/2)^2 cores, k/2 hosts per leaf),
// cabled like testing::ThreeTierFatTree, where `cable` gives each switch-to-switch cable's
// rate or leaves it out: cable(name of the lower switch, index of its uplink).
using CableRule = std::function<std::optional<LinkRate>(const std::string& lower, unsigned uplink)>;

Fabric KaryThreeTree(unsigned k, const CableRule& cable) {
  const unsigned half = k / 2;
  FabricBuilder b;
  auto sw = [&](std::string name, uint64_t guid) {
    return *b.AddNode({.type = NodeType::kSwitch, .num_ports = k, .guid = guid, .description = std::move(name)});
  };
  auto connect = [&](NodeId lower, unsigned lower_port, NodeId upper, unsigned upper_port, unsigned uplink) {
    if (auto rate = cable(b.description(lower), uplink))
      REQUIRE(b.Connect(lower, lower_port, upper, upper_port, *rate));
  };
  std::vector<NodeId> cores(half * half);
  for (unsigned c = 0; c < half * half; ++c) cores[c] = sw(fmt::format("core{}", c), 0x3000 + c);
  for (unsigned p = 0; p < half; ++p) {
    std::vector<NodeId> aggs(half);
    for (unsigned j = 0; j < half; ++j) {
      aggs[j] = sw(fmt::format("agg{}-{}", p, j), 0x2000 + p * half + j);
      for (unsigned c = 0; c < half; ++c) connect(aggs[j], half + c + 1, cores[j * half + c], p + 1, c);
    }
    for (unsigned i = 0; i < half; ++i) {
      NodeId leaf = sw(fmt::format("leaf{}-{}", p, i), 0x1000 + p * half + i);
      for (unsigned h = 0; h < half; ++h) {
        NodeId n = *b.AddNode({.type = NodeType::kCa,
                               .num_ports = 1,
                               .guid = 0x10000 + (p * half + i) * 256 + h,
                               .description = fmt::format("h{}-{}-{}", p, i, h)});
        REQUIRE(b.Connect(n, 1, leaf, h + 1, LinkRate{}));
      }
      for (unsigned j = 0; j < half; ++j) connect(leaf, half + j + 1, aggs[j], i + 1, j);
    }
  }
  auto f = b.Build();
  REQUIRE(f);
  return std::move(*f);
}

struct Routed {
  FabricRoutes routes;
  uint64_t busiest = 0, bound = 0;
  double worst_per_capacity = 0;
};

// Routes with ftree and checks every pair: delivered by the walk, sound and deadlock-free
// by the verifier, the same tables on 1 and 2 threads.
Routed RouteAndCheck(const Fabric& f) {
  auto routed = testing::RouteWith(f, "ftree", EngineOptions{.threads = 2});
  REQUIRE(routed);
  auto one = testing::RouteWith(f, "ftree", EngineOptions{.threads = 1});
  REQUIRE(one);
  const SubnetRoutes& r = routed->routes.subnets.at(0);
  REQUIRE(r.engine == "ftree");
  CHECK(r.lft == one->routes.subnets.at(0).lft);
  testing::Walk w = testing::WalkAllPairs(f, r);
  CHECK(w.delivered == w.pairs);
  auto verdict = Verify(f, routed->routes, VerifyOptions{.threads = 2});
  REQUIRE(verdict);
  CHECK(verdict->violation_count == 0);
  CHECK(r.num_vls == 1);
  auto m = Measure(f, routed->routes, MetricsOptions{.permutations = 0});
  REQUIRE(m);
  RouteSummary summary = SummarizeRoutes(f, f.subnets()[0], r, 2);
  REQUIRE(summary.deadlock_free.has_value());
  CHECK(*summary.deadlock_free);
  return Routed{std::move(*routed), m->subnets[0].max_channel_load, m->subnets[0].channel_load_lower_bound,
                summary.max_load_per_capacity};
}

// Cables out of a k=8 tree (64 hosts, 48 switches): leaf uplinks, so that some leaves keep
// 3 or 2 of their 4 parents, and agg uplinks, so that some cores miss pods. Destination-mod-k
// sends two of a short leaf's destinations down one cable; the per-destination balance meets
// the cut bound within 5%.
TEST_CASE("ftree balances a fat tree with failed cables close to the cut bound") {
  const std::vector<std::pair<std::string, unsigned>> failed = {{"leaf0-0", 1}, {"leaf0-0", 2}, {"leaf1-3", 0},
                                                                {"leaf2-1", 3}, {"leaf3-2", 1}, {"agg0-2", 1},
                                                                {"agg2-0", 3},  {"agg3-3", 0},  {"agg1-1", 2}};
  Fabric f = KaryThreeTree(8, [&](const std::string& lower, unsigned uplink) -> std::optional<LinkRate> {
    for (const auto& [name, index] : failed)
      if (name == lower && index == uplink) return std::nullopt;
    return LinkRate{};
  });
  Routed got = RouteAndCheck(f);
  CHECK(got.routes.routes.subnets.at(0).reason.find("degraded") != std::string::npos);
  // leaf0-0 keeps 2 uplinks for its 4 hosts' routes to the 60 others.
  CHECK(got.bound == 4 * 60 / 2);
  CHECK(got.busiest * 100 <= got.bound * 105);
}

// A leaf-spine with 8 cables from each of 16 leaves to each of 2 spines, 2 cables failed:
// the first pass chooses a spine's cable towards a destination before it knows how many
// leaves' flows will follow, and left the busiest cable at 320 routes (20 leaves' worth of
// 16); the rerouting rounds bring it within one leaf's worth of the cut bound.
TEST_CASE("ftree's rerouting rounds balance a leaf-spine with parallel cables") {
  auto f = Generate(
      "leaf-spine",
      {{"leaves", "16"}, {"spines", "2"}, {"cables", "8"}, {"hosts", "16"}, {"fail_links", "2"}, {"seed", "1"}});
  REQUIRE(f);
  Routed got = RouteAndCheck(*f);
  const std::string& reason = got.routes.routes.subnets.at(0).reason;
  INFO(reason);
  CHECK(reason.find("rerouting round") != std::string::npos);
  // A leaf with a failed cable: 16 hosts' routes to the 240 others over 15 cables.
  CHECK(got.bound == 16 * 240 / 15);
  CHECK(got.busiest <= got.bound + 16);
}

// One leaf uplink trained at 4xDDR (20 Gb/s) among 4xHDR (200 Gb/s): it costs 10 routes, and
// gets a tenth of its siblings' routes; the worst load per capacity drops against the
// rate-blind destination-mod-k routes of the same cabling.
TEST_CASE("ftree gives a slow cable routes in proportion to its rate") {
  auto rule = [](bool slow) {
    return [slow](const std::string& lower, unsigned uplink) -> std::optional<LinkRate> {
      if (slow && lower == "leaf1-2" && uplink == 1) return LinkRate{.speed = LinkSpeed::kDDR};
      return LinkRate{};
    };
  };
  Fabric uniform = KaryThreeTree(8, rule(false));
  Fabric slow = KaryThreeTree(8, rule(true));
  Routed before = RouteAndCheck(uniform);
  Routed after = RouteAndCheck(slow);
  CHECK(after.routes.routes.subnets.at(0).reason.find("several rates") != std::string::npos);
  // The uniform tree's tables are today's destination-mod-k tables; on the slow cabling they
  // load the slow cable like any other.
  const SubnetRoutes& blind = before.routes.routes.subnets.at(0);
  const double blind_worst = SummarizeRoutes(slow, slow.subnets()[0], blind, 2).max_load_per_capacity;
  CAPTURE(blind_worst);
  CAPTURE(after.worst_per_capacity);
  CHECK(after.worst_per_capacity < blind_worst);
  // Routes on the slow cable (both directions) against the leaf's other uplinks.
  testing::Walk w = testing::WalkAllPairs(slow, after.routes.routes.subnets.at(0));
  uint64_t on_slow = 0, on_others = 0, others = 0;
  for (const auto& [channel, load] : w.channel_load) {
    const std::string from = slow.description(slow.port(channel.first).node);
    const std::string to = slow.description(slow.port(channel.second).node);
    if (from != "leaf1-2" || to.rfind("agg1-", 0) != 0) continue;
    if (to == "agg1-1") {
      on_slow = load;
    } else {
      on_others += load, ++others;
    }
  }
  REQUIRE(others == 3);
  // The slow cable's routes times 10 (its cost) match its siblings' routes, up to one
  // destination's flow (4 routes, cost 40): the granularity of the balance.
  const double siblings = double(on_others) / double(others);
  CAPTURE(on_slow);
  CAPTURE(siblings);
  CHECK(on_slow > 0);
  CHECK(std::abs(double(on_slow) * 10 - siblings) <= 40);
}

// A regular tree keeps the destination-mod-k tables: the same with tier labels or rates.
TEST_CASE("ftree keeps destination-mod-k on a regular tree of uniform rate") {
  Fabric f = KaryThreeTree(8, [](const std::string&, unsigned) { return std::optional<LinkRate>(LinkRate{}); });
  Routed got = RouteAndCheck(f);
  CHECK(got.routes.routes.subnets.at(0).reason.find("balanced per destination") == std::string::npos);
  CHECK(got.busiest == got.bound);
}

// The fabric routed by ftree (every subnet) on 1 and on 2 threads.
std::pair<FabricRoutes, FabricRoutes> RouteOnOneAndTwoThreads(const Fabric& f) {
  auto sel = ParseEngineSelection("ftree");
  REQUIRE(sel);
  auto one = RouteFabric(f, *sel, RouteFabricOptions{.threads = 1});
  auto two = RouteFabric(f, *sel, RouteFabricOptions{.threads = 2});
  REQUIRE(one);
  REQUIRE(two);
  return {std::move(*one), std::move(*two)};
}

// Two super nodes of scalex-cluster with 3% of their switch cables failed: every subnet is
// a degraded tree, routed by the per-destination fill; the subnets are routed side by side
// with 2 threads, each on its own thread, and the tables do not depend on it.
TEST_CASE("ftree fills degraded subnets the same whatever the thread count") {
  auto f = Generate("scalex-cluster", {{"super_nodes", "2"}, {"fail_links", "0.03"}});
  REQUIRE(f);
  auto [one, two] = RouteOnOneAndTwoThreads(*f);
  REQUIRE(one.routes.subnets.size() == 3);
  for (size_t i = 0; i < one.routes.subnets.size(); ++i) {
    INFO("subnet " << i);
    const SubnetRoutes& r = two.routes.subnets[i];
    CHECK(r.reason.find("balanced per destination") != std::string::npos);
    CHECK(one.routes.subnets[i].lft == r.lft);
    // A top switch that lost a leaf's cables has no legal route to it: allowed.
    testing::CheckEveryLidRouted(*f, r, testing::Missing::kAllowed);
  }
  auto verdict = Verify(*f, two.routes, VerifyOptions{.threads = 2});
  REQUIRE(verdict);
  CHECK(verdict->unreachable_pairs == 0);
  CHECK(verdict->deadlock_free());
}

// A degraded leaf-spine of 8,192 endpoints on 128 leaves (1.1 M LFT entries): enough
// destinations for the fill's first pass to run in two lanes, and entries enough for them
// to run on two threads when there are two. Each lane is blind to the other's routes of its
// batch. The tables are the same on 1 and 2 threads, deadlock-free, deliver every pair, and
// stay within 5% of the cut bound.
TEST_CASE("ftree's fill in lanes gives the same balanced tables whatever the thread count") {
  auto f = Generate(
      "leaf-spine",
      {{"leaves", "128"}, {"spines", "8"}, {"cables", "1"}, {"hosts", "64"}, {"fail_links", "0.05"}, {"seed", "3"}});
  REQUIRE(f);
  auto [one, two] = RouteOnOneAndTwoThreads(*f);
  const SubnetRoutes& r = two.routes.subnets.at(0);
  REQUIRE(r.engine == "ftree");
  CHECK(r.reason.find("balanced per destination, first pass in two lanes") != std::string::npos);
  CHECK(one.routes.subnets.at(0).lft == r.lft);
  auto verdict = Verify(*f, two.routes, VerifyOptions{.threads = 2});
  REQUIRE(verdict);
  CHECK(verdict->unreachable_pairs == 0);
  CHECK(verdict->deadlock_free());
  auto m = Measure(*f, two.routes, MetricsOptions{.permutations = 0});
  REQUIRE(m);
  const uint64_t busiest = m->subnets[0].max_channel_load, bound = m->subnets[0].channel_load_lower_bound;
  CAPTURE(busiest);
  CAPTURE(bound);
  CHECK(busiest >= bound);
  CHECK(busiest * 100 <= bound * 105);
}

}  // namespace
}  // namespace fabricctl
