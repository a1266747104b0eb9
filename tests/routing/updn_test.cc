#include "routing/updn.h"

#include <doctest/doctest.h>

#include "routing/route_summary.h"
#include "tests/routing/route_check.h"
#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

TEST_CASE("updn: a ring and a mesh are routed deadlock-free with one VL, every LID routed") {
  for (const Fabric& f : {testing::Ring(6, 2), testing::Ring(7), testing::Mesh(4, 4), testing::Mesh(5, 2)}) {
    auto r = testing::RouteWith(f, "updn");
    REQUIRE(r);
    const SubnetRoutes& routes = r->routes.subnets[0];
    CHECK(routes.engine == "updn");
    testing::CheckEveryLidRouted(f, routes);
    testing::Walk w = testing::WalkAllPairs(f, routes);
    CHECK(w.delivered == w.pairs);
    RouteSummary s = SummarizeRoutes(f, f.subnets()[0], routes, 2);
    CHECK(s.unreachable_pairs == 0);
    REQUIRE(s.deadlock_free.has_value());
    CHECK(*s.deadlock_free);
  }
}

TEST_CASE("updn: roots from GUIDs are used, and roots that cut pairs off fail with a reason") {
  Fabric ring = testing::Ring(6);
  EngineOptions eo;
  eo.root_guids = {0x3003};
  auto r = testing::RouteWith(ring, "updn", eo);
  REQUIRE(r);
  CHECK(r->routes.subnets[0].reason == "roots from the root GUID list");

  Fabric tree = testing::TwoTierFatTree({.leaves = 2, .spines = 2, .hosts = 1});
  eo.root_guids = {0x1000, 0x1001};  // both leaves as roots: spines become the bottom
  auto bad = testing::RouteWith(tree, "updn", eo);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("updn failed: roots from the root GUID list") != std::string::npos);
  CHECK(bad.error().message.find("no legal Up*/Down* path") != std::string::npos);
}

TEST_CASE("updn: on a fat tree without labels the top switches become roots") {
  Fabric f = testing::TwoTierFatTree({.leaves = 4, .spines = 2, .hosts = 2});
  auto r = testing::RouteWith(f, "updn");
  REQUIRE(r);
  CHECK(r->routes.subnets[0].reason == "roots: the switches 1 hops above the endpoint switches");
}

}  // namespace
}  // namespace fabricctl
