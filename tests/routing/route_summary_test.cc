#include "routing/route_summary.h"

#include <doctest/doctest.h>

#include "tests/routing/route_check.h"
#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

TEST_CASE("route summary agrees with a hop-by-hop walk") {
  for (std::string_view engine : {"minhop", "updn", "ftree"}) {
    for (const Fabric& f :
         {testing::TwoTierFatTree({.leaves = 6, .spines = 3, .hosts = 5}), testing::Ring(5, 3), testing::Mesh(3, 4)}) {
      auto r = testing::RouteWith(f, std::string(engine) + ",updn");
      REQUIRE(r);
      const SubnetRoutes& routes = r->routes.subnets[0];
      testing::Walk w = testing::WalkAllPairs(f, routes);
      RouteSummary s = SummarizeRoutes(f, f.subnets()[0], routes, 2);
      INFO(engine << " on " << f.description(0));
      CHECK(s.pairs == w.pairs);
      CHECK(s.unreachable_pairs == w.pairs - w.delivered);
      CHECK(s.max_hops == w.max_links);
      uint64_t max_load = 0;
      for (const auto& [c, load] : w.channel_load) max_load = std::max(max_load, load);
      CHECK(s.max_channel_load == max_load);
    }
  }
}

TEST_CASE("route summary counts a broken entry as unreachable pairs and a loop as well") {
  Fabric ring = testing::Ring(4);
  auto r = testing::RouteWith(ring, "updn");
  REQUIRE(r);
  SubnetRoutes routes = r->routes.subnets[0];
  const size_t L = routes.num_lids();
  // LIDs: ring0=1, r0-0=2, ring1=3, r1-0=4, ... Break ring1's entry for r3-0 (LID 8).
  routes.lft[1 * L + 8] = kNoRoute;
  RouteSummary s = SummarizeRoutes(ring, ring.subnets()[0], routes, 1);
  CHECK(s.unreachable_pairs >= 1);
  // A two-switch loop: ring0 and ring1 send LID 6 (r2-0) to each other.
  routes = r->routes.subnets[0];
  routes.lft[0 * L + 6] = 2;  // ring0 port 2 -> ring1
  routes.lft[1 * L + 6] = 1;  // ring1 port 1 -> ring0
  s = SummarizeRoutes(ring, ring.subnets()[0], routes, 1);
  CHECK(s.unreachable_pairs == 2);  // r0-0 and r1-0 to r2-0
}

TEST_CASE("route summary weighs a route over a slow cable by the rate it lacks") {
  FabricBuilder b;
  NodeId s0 = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 3, .guid = 0x10, .description = "s0"});
  NodeId s1 = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 3, .guid = 0x11, .description = "s1"});
  NodeId h0 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x20, .description = "h0"});
  NodeId h1 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x21, .description = "h1"});
  REQUIRE(b.Connect(s0, 1, s1, 1, LinkRate{.speed = LinkSpeed::kEDR}));
  REQUIRE(b.Connect(s0, 2, s1, 2, LinkRate{.speed = LinkSpeed::kDDR}));
  REQUIRE(b.Connect(h0, 1, s0, 3, LinkRate{.speed = LinkSpeed::kEDR}));
  REQUIRE(b.Connect(h1, 1, s1, 3, LinkRate{.speed = LinkSpeed::kEDR}));
  auto f = b.Build();
  REQUIRE(f);
  auto r = testing::RouteWith(*f, "minhop");
  REQUIRE(r);
  SubnetRoutes routes = r->routes.subnets[0];
  const Lid h1_lid = static_cast<Lid>(r->routes.port_lid[f->port_id(h1, 1)]);
  const Lid h0_lid = static_cast<Lid>(r->routes.port_lid[f->port_id(h0, 1)]);
  const size_t L = routes.num_lids();
  routes.lft[0 * L + h1_lid] = 1;  // h0 -> h1 over the 4xEDR cable
  routes.lft[1 * L + h0_lid] = 2;  // h1 -> h0 over the 4xDDR cable
  RouteSummary s = SummarizeRoutes(*f, f->subnets()[0], routes, 1);
  CHECK(s.max_channel_load == 1);
  CHECK(s.max_load_per_capacity == doctest::Approx(6.25));  // 100 Gb/s over 16 Gb/s
}

}  // namespace
}  // namespace fabricctl
