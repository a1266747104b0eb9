#include "routing/switch_graph.h"

#include <doctest/doctest.h>

#include "routing/lid_assign.h"
#include "routing/route_fabric.h"
#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

// Hop counts by one plain breadth-first search per switch, to check the table against.
std::vector<uint8_t> PlainHops(const SwitchGraph& g) {
  const uint32_t n = g.num_switches();
  std::vector<uint8_t> dist(size_t{n} * n, kUnreachable);
  for (uint32_t d = 0; d < n; ++d) {
    std::vector<uint32_t> queue{d};
    dist[size_t{d} * n + d] = 0;
    for (size_t head = 0; head < queue.size(); ++head)
      for (uint32_t e = g.begin(queue[head]); e < g.end(queue[head]); ++e) {
        const uint32_t y = g.nbr(e);
        if (dist[size_t{d} * n + y] != kUnreachable) continue;
        dist[size_t{d} * n + y] = static_cast<uint8_t>(dist[size_t{d} * n + queue[head]] + 1);
        queue.push_back(y);
      }
  }
  return dist;
}

// The hop table on one and on two threads equals the plain searches, entry by entry.
void CheckHops(const Fabric& f) {
  auto lids = AssignLids(f);
  REQUIRE(lids);
  const SubnetRoutes routes = PrepareSubnetRoutes(f, f.subnets()[0], lids->lid_owner[0]);
  const SwitchGraph g(f, f.subnets()[0], routes);
  const std::vector<uint8_t> expected = PlainHops(g);
  CHECK(AllPairsSwitchHops(g, 1) == expected);
  CHECK(AllPairsSwitchHops(g, 2) == expected);
}

TEST_CASE("AllPairsSwitchHops: small diameters (switch sets) and long rings (searches) give the plain hop counts") {
  using namespace testing;
  SUBCASE("three-tier fat tree") { CheckHops(ThreeTierFatTree({})); }
  SUBCASE("8x8 mesh") { CheckHops(Mesh(8, 8)); }
  // A ring's diameter is half its length: more rounds than the sets are given.
  SUBCASE("ring of 8") { CheckHops(Ring(8)); }
  SUBCASE("ring of 200") { CheckHops(Ring(200)); }
  SUBCASE("leaf-spine with parallel cables") { CheckHops(TwoTierFatTree({.parallel = 2})); }
}

TEST_CASE("SwitchGraph: parallel cables form one neighbour group, ports in cabling order") {
  const Fabric f = testing::TwoTierFatTree({.leaves = 2, .spines = 2, .hosts = 1, .parallel = 3});
  auto lids = AssignLids(f);
  REQUIRE(lids);
  const SubnetRoutes routes = PrepareSubnetRoutes(f, f.subnets()[0], lids->lid_owner[0]);
  const SwitchGraph g(f, f.subnets()[0], routes);
  for (uint32_t s = 0; s < g.num_switches(); ++s) {
    CHECK(g.degree(s) == 2);
    for (uint32_t e = g.begin(s); e < g.end(s); ++e) {
      REQUIRE(g.ports(e).size() == 3);
      CHECK(g.ports(e)[0] < g.ports(e)[1]);
      CHECK(g.ports(e)[1] < g.ports(e)[2]);
      // Each port's peer is the matching peer port on the neighbour.
      for (size_t i = 0; i < 3; ++i) {
        const Port& peer = f.port(f.port(f.port_id(g.node(s), g.ports(e)[i])).peer);
        CHECK(peer.node == g.node(g.nbr(e)));
        CHECK(peer.number == g.peer_ports(e)[i]);
      }
    }
  }
}

}  // namespace
}  // namespace fabricctl
