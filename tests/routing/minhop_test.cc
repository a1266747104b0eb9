#include "routing/minhop.h"

#include <doctest/doctest.h>

#include "routing/route_summary.h"
#include "tests/routing/route_check.h"
#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

TEST_CASE("minhop: shortest paths on a ring and a mesh, every LID routed") {
  Fabric ring = testing::Ring(8);
  auto r = testing::RouteWith(ring, "minhop");
  REQUIRE(r);
  testing::CheckEveryLidRouted(ring, r->routes.subnets[0]);
  testing::Walk w = testing::WalkAllPairs(ring, r->routes.subnets[0]);
  CHECK(w.delivered == 8 * 7);
  CHECK(w.max_links == 2 + 4);  // half way round an 8-ring

  Fabric mesh = testing::Mesh(4, 3);
  auto m = testing::RouteWith(mesh, "minhop");
  REQUIRE(m);
  testing::CheckEveryLidRouted(mesh, m->routes.subnets[0]);
  w = testing::WalkAllPairs(mesh, m->routes.subnets[0]);
  CHECK(w.delivered == 12 * 11);
  CHECK(w.max_links == 2 + 3 + 2);  // corner to corner
}

TEST_CASE("minhop on a ring is not deadlock-free; the summary sees the cycle") {
  Fabric ring = testing::Ring(6, 2);
  auto r = testing::RouteWith(ring, "minhop");
  REQUIRE(r);
  RouteSummary s = SummarizeRoutes(ring, ring.subnets()[0], r->routes.subnets[0], 2);
  CHECK(s.unreachable_pairs == 0);
  CHECK(s.pairs == 12 * 11);
  REQUIRE(s.deadlock_free.has_value());
  CHECK_FALSE(*s.deadlock_free);
}

TEST_CASE("minhop balances equal-cost ports") {
  // 4 leaves x 4 spines: every leaf spreads the 12 remote hosts' routes 3 per uplink.
  Fabric f = testing::TwoTierFatTree({.leaves = 4, .spines = 4, .hosts = 4});
  auto r = testing::RouteWith(f, "minhop");
  REQUIRE(r);
  const SubnetRoutes& routes = r->routes.subnets[0];
  for (size_t i = 0; i < routes.switches.size(); ++i) {
    if (f.description(routes.switches[i]).rfind("leaf", 0) != 0) continue;
    std::map<uint8_t, int> per_port;
    for (Lid lid = 1; lid < routes.num_lids(); ++lid) {
      PortId owner = routes.lid_owner[lid];
      if (f.is_switch(f.port(owner).node)) continue;
      uint8_t p = routes.out_port(i, lid);
      if (p > 4) ++per_port[p];
    }
    CHECK(per_port.size() == 4);
    for (auto [port, n] : per_port) CHECK(n == 3);
  }
}

}  // namespace
}  // namespace fabricctl
