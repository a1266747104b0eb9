// EngineOptions::one_pass (`route compute --one-pass`): every destination routed once.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "routing/route_fabric.h"
#include "routing/route_summary.h"
#include "routing/verifier.h"
#include "tests/fabric/generators_test_util.h"
#include "tests/routing/route_check.h"

namespace fabricctl {
namespace {

struct Case {
  std::string fabric;
  std::string engine;
  bool deadlock_free;  // the engine promises it on this fabric
};

// Each engine with and without one_pass on one VL: both route every pair (deadlock-free
// where the engine promises it); the full search is never heavier, since its rounds keep
// only what lowers the busiest channel and nue's first start is one of its starts. Some
// engine must come out lighter with the full search, or one_pass does nothing.
TEST_CASE("one pass: every pair routed, never lighter than the full search, and sometimes heavier") {
  const Fabric jellyfish =
      testing::Gen("jellyfish", {{"switches", "40"}, {"degree", "6"}, {"hosts", "3"}, {"seed", "5"}});
  const Fabric tree =
      testing::Gen("fat-tree", {{"k", "8"}, {"tiers", "3"}, {"fail_links", "0.05"}, {"fail_switches", "1"}});
  const std::vector<Case> cases = {{"tree", "minhop", false}, {"tree", "updn", true},      {"tree", "ftree", true},
                                   {"tree", "nue", true},     {"jellyfish", "updn", true}, {"jellyfish", "nue", true}};
  unsigned heavier = 0;
  for (const Case& c : cases) {
    CAPTURE(c.fabric);
    CAPTURE(c.engine);
    const Fabric& f = c.fabric == "tree" ? tree : jellyfish;
    REQUIRE(f.subnets().size() == 1);
    auto full = testing::RouteWith(f, c.engine, {.max_vls = 1});
    auto once = testing::RouteWith(f, c.engine, {.max_vls = 1, .one_pass = true});
    REQUIRE(full);
    REQUIRE(once);
    for (const FabricRoutes* routes : {&*full, &*once}) {
      auto report = Verify(f, routes->routes);
      REQUIRE(report);
      CHECK(report->unreachable_pairs == 0);
      CHECK(report->pairs > 0);
      if (c.deadlock_free) CHECK(report->deadlock_free());
    }
    const SubnetRoutes& a = full->routes.subnets[0];
    const SubnetRoutes& b = once->routes.subnets[0];
    const uint64_t full_busiest = SummarizeRoutes(f, f.subnets()[0], a, 1).max_channel_load;
    const uint64_t once_busiest = SummarizeRoutes(f, f.subnets()[0], b, 1).max_channel_load;
    CHECK(full_busiest <= once_busiest);
    heavier += once_busiest > full_busiest ? 1 : 0;
    if (c.engine == "nue") {
      CHECK(b.reason.find("one pass") != std::string::npos);
      CHECK(a.reason.find("one pass") == std::string::npos);
    }
  }
  CHECK(heavier > 0);
}

// auto with one_pass gives nue no shuffled destination orders.
TEST_CASE("one pass: auto tries no shuffled orders") {
  const Fabric f = testing::Gen("jellyfish", {{"switches", "30"}, {"degree", "5"}, {"hosts", "2"}, {"seed", "3"}});
  auto full = testing::RouteWith(f, "auto", {.max_vls = 1});
  auto once = testing::RouteWith(f, "auto", {.max_vls = 1, .one_pass = true});
  REQUIRE(full);
  REQUIRE(once);
  CHECK(full->routes.subnets[0].reason.find("the lightest of") != std::string::npos);
  CHECK(once->routes.subnets[0].reason.find("the lightest of") == std::string::npos);
}

// On several VLs with one thread, nue's one pass routes on max_vls only after the 1-VL
// pass refused a dependency; with two, both run side by side and the many-VL routing is
// dropped where the 1-VL pass refused none. Both give the same tables: on a random graph
// (several VLs kept) and on a two-tier fat tree (one VL kept).
TEST_CASE("one pass: nue on several VLs gives the same tables on one thread and on two") {
  const Fabric jellyfish =
      testing::Gen("jellyfish", {{"switches", "40"}, {"degree", "6"}, {"hosts", "3"}, {"seed", "5"}});
  const Fabric tree = testing::Gen("fat-tree", {{"k", "8"}, {"tiers", "2"}});
  auto selection = ParseEngineSelection("nue");
  REQUIRE(selection);
  std::vector<uint8_t> vls_used;
  for (const Fabric* f : {&jellyfish, &tree}) {
    std::vector<FabricRoutes> routed;
    for (unsigned threads : {1u, 2u}) {
      auto r = RouteFabric(*f, *selection,
                           RouteFabricOptions{.engine = {.max_vls = 8, .one_pass = true}, .threads = threads});
      REQUIRE(r);
      routed.push_back(std::move(*r));
    }
    const SubnetRoutes& one = routed[0].routes.subnets[0];
    const SubnetRoutes& two = routed[1].routes.subnets[0];
    CHECK(one.lft == two.lft);
    CHECK(one.num_vls == two.num_vls);
    CHECK(one.pair_sl == two.pair_sl);
    CHECK(one.reason == two.reason);
    auto report = Verify(*f, routed[1].routes);
    REQUIRE(report);
    CHECK(report->deadlock_free());
    vls_used.push_back(two.num_vls);
  }
  CHECK(vls_used[0] > 1);
  CHECK(vls_used[1] == 1);
}

}  // namespace
}  // namespace fabricctl
