#include "routing/nue.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>

#include "routing/updn.h"
#include "routing/verifier.h"
#include "tests/routing/route_check.h"
#include "tests/routing/route_check_fixtures.h"
#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

// A seeded random regular graph (Jellyfish): `switches` switches "r<i>" of `degree`
// switch-to-switch cables each (stubs paired at random, pairings with a self-loop or a
// second cable between the same two switches redrawn) and `hosts` CAs each on ports 1..hosts.
Fabric RandomRegular(unsigned switches, unsigned degree, unsigned hosts, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<unsigned> stubs;
  for (unsigned s = 0; s < switches; ++s)
    for (unsigned k = 0; k < degree; ++k) stubs.push_back(s);
  std::shuffle(stubs.begin(), stubs.end(), rng);
  // Pairs (stubs[2i], stubs[2i+1]); a self-loop or repeated pair swaps an end with a random
  // other pair until the graph is simple.
  auto bad = [&](size_t i, const std::multiset<std::pair<unsigned, unsigned>>& seen) {
    auto p = std::minmax(stubs[2 * i], stubs[2 * i + 1]);
    return p.first == p.second || seen.count(p) > 1;
  };
  const size_t n = stubs.size() / 2;
  for (int round = 0; round < 100000; ++round) {
    std::multiset<std::pair<unsigned, unsigned>> seen;
    for (size_t i = 0; i < n; ++i) seen.insert(std::minmax(stubs[2 * i], stubs[2 * i + 1]));
    size_t i = 0;
    while (i < n && !bad(i, seen)) ++i;
    if (i == n) break;
    std::swap(stubs[2 * i + 1], stubs[2 * (rng() % n) + (rng() % 2)]);
  }
  std::vector<std::pair<unsigned, unsigned>> pairs;
  std::set<std::pair<unsigned, unsigned>> unique;
  for (size_t i = 0; i < n; ++i) {
    pairs.push_back(std::minmax(stubs[2 * i], stubs[2 * i + 1]));
    REQUIRE(pairs.back().first != pairs.back().second);
    REQUIRE(unique.insert(pairs.back()).second);
  }
  FabricBuilder b;
  std::vector<NodeId> sw;
  for (unsigned s = 0; s < switches; ++s)
    sw.push_back(*b.AddNode({.type = NodeType::kSwitch,
                             .num_ports = hosts + degree,
                             .guid = 0x1000u + s,
                             .description = fmt::format("r{}", s)}));
  for (unsigned s = 0; s < switches; ++s)
    for (unsigned h = 0; h < hosts; ++h) {
      NodeId host = *b.AddNode({.type = NodeType::kCa,
                                .num_ports = 1,
                                .guid = 0x100000u + s * 64 + h,
                                .description = fmt::format("h{}_{}", s, h)});
      REQUIRE(b.Connect(host, 1, sw[s], h + 1, LinkRate{}));
    }
  std::vector<unsigned> next_port(switches, hosts + 1);
  for (auto [a, c] : pairs) REQUIRE(b.Connect(sw[a], next_port[a]++, sw[c], next_port[c]++, LinkRate{}));
  auto f = b.Build();
  REQUIRE(f);
  return std::move(*f);
}

bool IsInterSwitch(const Fabric& f, LinkId l) {
  return f.is_switch(f.port(f.link(l).a).node) && f.is_switch(f.port(f.link(l).b).node);
}

// `f` without `count` of its switch-to-switch links, drawn with `seed`.
Fabric WithoutRandomLinks(const Fabric& f, size_t count, uint64_t seed) {
  std::vector<LinkId> inter;
  for (LinkId l = 0; l < f.num_links(); ++l)
    if (IsInterSwitch(f, l)) inter.push_back(l);
  std::mt19937_64 rng(seed);
  std::shuffle(inter.begin(), inter.end(), rng);
  std::set<LinkId> gone(inter.begin(), inter.begin() + std::min(count, inter.size()));
  return testing::WithoutLinks(f, [&](LinkId l) { return gone.count(l) > 0; });
}

// `f` without every cable of the switch named `name`.
Fabric WithoutSwitch(const Fabric& f, std::string_view name) {
  NodeId gone = *f.FindByDescription(name);
  return testing::WithoutLinks(
      f, [&](LinkId l) { return f.port(f.link(l).a).node == gone || f.port(f.link(l).b).node == gone; });
}

struct Routed {
  RouteSet rs;
  Outcome outcome;
};

Routed RouteNue(const Fabric& f, unsigned vls, unsigned threads = 1, unsigned restarts = 0) {
  Routed r{testing::Skeleton(f), Outcome::Ok()};
  r.outcome =
      testing::RouteAll(*MakeNueEngine(), f, r.rs, {.max_vls = uint8_t(vls), .threads = threads, .restarts = restarts});
  return r;
}

uint64_t Busiest(const testing::Walk& w) {
  uint64_t most = 0;
  for (const auto& [channel, load] : w.channel_load) most = std::max(most, load);
  return most;
}

// Routes with nue on `vls` VLs and checks with the independent verifier: every pair
// delivered, no credit loop on any VL, no more VLs than given.
void CheckSound(const Fabric& f, unsigned vls) {
  CAPTURE(vls);
  Routed r = RouteNue(f, vls);
  REQUIRE_MESSAGE(r.outcome.status == EngineStatus::kOk, r.outcome.reason);
  auto report = Verify(f, r.rs);
  REQUIRE_MESSAGE(report, (report ? "" : report.error().Format()));
  for (const Violation& v : report->violations) INFO(v.text);
  CHECK(report->sound());
  CHECK(report->pairs > 0);
  for (const SubnetRoutes& s : r.rs.subnets) {
    CHECK(s.num_vls >= 1);
    CHECK(s.num_vls <= vls);
    CHECK(s.reason.find("destinations on escape paths") != std::string::npos);
    testing::CheckEveryLidRouted(f, s);
    if (s.num_vls == 1) CHECK(s.pair_sl.empty());
  }
  for (const SubnetVerdict& v : report->subnets) CHECK(v.vls_used <= vls);
}

TEST_CASE("nue: rings, tori and meshes are deadlock-free with 1, 2 and 8 VLs") {
  for (unsigned vls : {1u, 2u, 8u}) {
    CheckSound(testing::Ring(5, 2), vls);
    CheckSound(testing::Ring(12, 1), vls);
    CheckSound(testing::Torus({4, 4}, 2), vls);
    CheckSound(testing::Torus({3, 3, 3}, 1), vls);
    CheckSound(testing::Torus({6, 5}, 1, /*wrap=*/false), vls);
  }
}

TEST_CASE("nue: a ring on one VL holds no credit loop, and its reason names the VLs") {
  Fabric f = testing::Ring(6, 2);
  Routed r = RouteNue(f, 1);
  REQUIRE(r.outcome.status == EngineStatus::kOk);
  CHECK(r.rs.subnets[0].num_vls == 1);
  CHECK(r.rs.subnets[0].reason.starts_with("1 VL; "));
  auto report = Verify(f, r.rs);
  REQUIRE(report);
  CHECK(report->deadlock_free());
}

TEST_CASE("nue: random regular graphs, also with failed links, verify with 1 and 8 VLs") {
  for (uint64_t seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    Fabric f = RandomRegular(24, 4, 2, seed);
    CheckSound(f, 1);
    CheckSound(f, 8);
    Fabric faulty = WithoutRandomLinks(f, 3, seed);
    if (faulty.subnets().size() != 1) continue;  // a failure split the graph
    CheckSound(faulty, 1);
    CheckSound(faulty, 3);
  }
}

TEST_CASE("nue: fat trees with missing links and a missing switch verify") {
  Fabric tree = testing::ThreeTierFatTree({.pods = 3, .leaves = 3, .aggs = 3, .cores = 2, .hosts = 3});
  CheckSound(tree, 1);
  Fabric faulty = WithoutRandomLinks(tree, 4, 11);
  REQUIRE(faulty.subnets().size() >= 1);
  CheckSound(faulty, 1);
  CheckSound(faulty, 8);
  Fabric no_core = WithoutSwitch(tree, "core0-0");
  CheckSound(no_core, 1);
  CheckSound(no_core, 4);
  // More VLs are used only where they lower the busiest channel.
  Routed one = RouteNue(faulty, 1), more = RouteNue(faulty, 8);
  REQUIRE(one.outcome.status == EngineStatus::kOk);
  REQUIRE(more.outcome.status == EngineStatus::kOk);
  for (size_t i = 0; i < one.rs.subnets.size(); ++i)
    CHECK(Busiest(testing::WalkAllPairs(faulty, more.rs.subnets[i])) <=
          Busiest(testing::WalkAllPairs(faulty, one.rs.subnets[i])));
}

TEST_CASE("nue: on a random regular graph with one VL the busiest channel is no heavier than updn's") {
  Fabric f = RandomRegular(32, 5, 3, 42);
  Routed nue = RouteNue(f, 1);
  REQUIRE(nue.outcome.status == EngineStatus::kOk);
  RouteSet updn = testing::Skeleton(f);
  REQUIRE(testing::RouteAll(*MakeUpdnEngine(), f, updn, {.max_vls = 1}).status == EngineStatus::kOk);
  testing::Walk ours = testing::WalkAllPairs(f, nue.rs.subnets[0]);
  testing::Walk theirs = testing::WalkAllPairs(f, updn.subnets[0]);
  CHECK(ours.delivered == ours.pairs);
  CHECK(Busiest(ours) <= Busiest(theirs));
  // More VLs give the Dijkstra more room: never a heavier busiest channel.
  Routed more = RouteNue(f, 8);
  REQUIRE(more.outcome.status == EngineStatus::kOk);
  CHECK(Busiest(testing::WalkAllPairs(f, more.rs.subnets[0])) <= Busiest(ours));
}

TEST_CASE("nue: the tables do not depend on the thread count") {
  // Two threads run the starts' first passes side by side, and the routing on several VLs
  // beside the one-VL rounds: the result must be the one of a single thread.
  std::vector<Fabric> fabrics;
  for (uint64_t seed : {1u, 2u, 3u, 5u, 8u}) fabrics.push_back(RandomRegular(32, 5, 3, seed));
  Fabric tree = testing::ThreeTierFatTree({.pods = 3, .leaves = 3, .aggs = 3, .cores = 2, .hosts = 3});
  fabrics.push_back(WithoutRandomLinks(tree, 4, 11));
  fabrics.push_back(WithoutSwitch(tree, "core0-0"));
  for (size_t i = 0; i < fabrics.size(); ++i) {
    CAPTURE(i);
    for (unsigned vls : {1u, 8u}) {
      CAPTURE(vls);
      Routed one = RouteNue(fabrics[i], vls, 1), two = RouteNue(fabrics[i], vls, 2);
      REQUIRE(one.outcome.status == EngineStatus::kOk);
      REQUIRE(two.outcome.status == EngineStatus::kOk);
      REQUIRE(one.rs.subnets.size() == two.rs.subnets.size());
      for (size_t s = 0; s < one.rs.subnets.size(); ++s) {
        CHECK(one.rs.subnets[s].lft == two.rs.subnets[s].lft);
        CHECK(one.rs.subnets[s].pair_sl == two.rs.subnets[s].pair_sl);
        CHECK(one.rs.subnets[s].reason == two.rs.subnets[s].reason);
      }
    }
  }
}

// The rounds and the share of the busiest channel they took away, from the reason's
// "N rerouting rounds lowered the busiest channel by P%".
std::pair<unsigned, double> Rerouting(const std::string& reason) {
  const size_t at = reason.find(" rerouting round");
  REQUIRE(at != std::string::npos);
  const size_t start = reason.rfind(' ', at - 1) + 1;
  const size_t by = reason.find("lowered the busiest channel by ", at);
  REQUIRE(by != std::string::npos);
  return {unsigned(std::stoul(reason.substr(start, at - start))),
          std::stod(reason.substr(by + std::string_view("lowered the busiest channel by ").size()))};
}

TEST_CASE("nue: rerouting rounds lower the busiest channel of random regular graphs and never raise it") {
  unsigned rounds = 0;
  double most = 0;
  for (uint64_t seed : {1u, 2u, 3u, 4u}) {
    CAPTURE(seed);
    Fabric f = RandomRegular(32, 5, 3, seed);
    for (unsigned vls : {1u, 8u}) {
      CAPTURE(vls);
      Routed r = RouteNue(f, vls);
      REQUIRE(r.outcome.status == EngineStatus::kOk);
      const auto [kept, lowered] = Rerouting(r.rs.subnets[0].reason);
      CHECK(kept <= 8);
      CHECK(lowered >= 0.0);
      rounds += kept;
      most = std::max(most, lowered);
      auto report = Verify(f, r.rs);
      REQUIRE(report);
      CHECK(report->sound());
    }
  }
  CHECK(rounds > 0);
  CHECK(most > 1.0);
}

TEST_CASE("nue: restarts from shuffled destination orders keep the lightest table, sound and thread-independent") {
  std::vector<Fabric> fabrics;
  for (uint64_t seed : {1u, 2u, 3u}) fabrics.push_back(RandomRegular(32, 5, 3, seed));
  Fabric tree = testing::ThreeTierFatTree({.pods = 3, .leaves = 3, .aggs = 3, .cores = 2, .hosts = 3});
  fabrics.push_back(WithoutRandomLinks(tree, 4, 11));
  unsigned lighter = 0;
  for (size_t i = 0; i < fabrics.size(); ++i) {
    CAPTURE(i);
    for (unsigned vls : {1u, 8u}) {
      CAPTURE(vls);
      Routed first = RouteNue(fabrics[i], vls);
      Routed restarted = RouteNue(fabrics[i], vls, 1, 6);
      REQUIRE(first.outcome.status == EngineStatus::kOk);
      REQUIRE(restarted.outcome.status == EngineStatus::kOk);
      const SubnetRoutes& routes = restarted.rs.subnets[0];
      CHECK(routes.reason.find("the lightest of 7 routings") != std::string::npos);
      CHECK(first.rs.subnets[0].reason.find("the lightest of") == std::string::npos);
      auto report = Verify(fabrics[i], restarted.rs);
      REQUIRE(report);
      CHECK(report->sound());
      // The first routing is one of the seven: never heavier, fewer VLs on a tie.
      const uint64_t before = Busiest(testing::WalkAllPairs(fabrics[i], first.rs.subnets[0]));
      const uint64_t after = Busiest(testing::WalkAllPairs(fabrics[i], routes));
      CHECK(after <= before);
      if (after == before) CHECK(routes.num_vls <= first.rs.subnets[0].num_vls);
      lighter += after < before ? 1 : 0;
      Routed two_threads = RouteNue(fabrics[i], vls, 2, 6);
      REQUIRE(two_threads.outcome.status == EngineStatus::kOk);
      CHECK(two_threads.rs.subnets[0].lft == routes.lft);
      CHECK(two_threads.rs.subnets[0].pair_sl == routes.pair_sl);
    }
  }
  CHECK(lighter > 0);  // some shuffled order must beat the tree's, or restarts do nothing
}

}  // namespace
}  // namespace fabricctl
