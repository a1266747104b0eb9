#include "routing/fabric_health.h"

#include <doctest/doctest.h>

#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

TEST_CASE("fabric health: a down link and a down switch's links are dropped, node and port ids kept") {
  Fabric f = testing::TwoTierFatTree({.leaves = 2, .spines = 2, .hosts = 1});
  const NodeId spine0 = *f.FindByDescription("spine0");
  const NodeId leaf0 = *f.FindByDescription("leaf0");
  FabricHealth h = FabricHealth::AllUp(f);
  LinkId leaf0_spine1 = kNone;
  for (const Adjacency& a : f.neighbors(leaf0))
    if (a.peer_node == *f.FindByDescription("spine1")) leaf0_spine1 = a.link;
  REQUIRE(leaf0_spine1 != kNone);
  h.link_down[leaf0_spine1] = 1;
  h.node_down[spine0] = 1;
  CHECK_FALSE(h.link_usable(f, leaf0_spine1));
  for (const Adjacency& a : f.neighbors(spine0)) CHECK_FALSE(h.link_usable(f, a.link));

  auto alive = WithoutDown(f, h);
  REQUIRE(alive);
  CHECK(alive->num_nodes() == f.num_nodes());
  CHECK(alive->num_port_slots() == f.num_port_slots());
  CHECK(alive->num_links() == f.num_links() - 1 - 2);  // leaf0-spine1, spine0's two cables
  for (NodeId n = 0; n < f.num_nodes(); ++n) CHECK(alive->description(n) == f.description(n));
  CHECK(alive->neighbors(spine0).empty());
  const PortId dropped = f.link(leaf0_spine1).a;
  CHECK(alive->port(dropped).peer == kNone);
  CHECK(alive->port(dropped).state == PortState::kDown);
  // leaf1 still reaches spine1 on the same port numbers.
  for (const Adjacency& a : alive->neighbors(*f.FindByDescription("leaf1"))) CHECK(f.port(a.local).peer == a.peer_port);
}

TEST_CASE("fabric health: a mask longer than the fabric is an error") {
  Fabric f = testing::TwoTierFatTree({});
  FabricHealth h;
  h.node_down.assign(f.num_nodes() + 1, 0);
  CHECK_FALSE(WithoutDown(f, h));
}

}  // namespace
}  // namespace fabricctl
