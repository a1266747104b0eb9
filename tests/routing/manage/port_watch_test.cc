#include "routing/manage/port_watch.h"

#include <doctest/doctest.h>

#include "routing/fabric_health.h"
#include "tests/fabric/fake_transport.h"

namespace fabricctl {
namespace {

// The link between two nodes (the first cable found).
LinkId LinkBetween(const Fabric& f, NodeId a, NodeId b) {
  for (const Adjacency& adj : f.neighbors(a))
    if (adj.peer_node == b) return f.port(adj.local).link;
  return kNone;
}

NodeId Named(const Fabric& f, std::string_view name) {
  for (NodeId n = 0; n < f.num_nodes(); ++n)
    if (f.description(n) == name) return n;
  FAIL("no node " << name);
  return kNone;
}

const PortWatchOptions kFast{.rpc = {.inflight = 16, .timeout_ms = 5, .retries = 1}, .full_pass_every = 1};

}  // namespace

TEST_CASE("port watch: a full pass finds a dead cable and a switch cut off, and their return") {
  const Fabric f = testing::FakeFatTree(4, 3, 2, 1);  // leaf2 keeps spine2
  const NodeId leaf0 = Named(f, "leaf0"), leaf2 = Named(f, "leaf2");
  const NodeId spine0 = Named(f, "spine0"), spine1 = Named(f, "spine1");
  const LinkId cable = LinkBetween(f, leaf2, spine0);
  REQUIRE(cable != kNone);

  FabricHealth health = FabricHealth::AllUp(f);
  health.link_down[cable] = 1;
  health.node_down[spine1] = 1;
  auto broken = WithoutDown(f, health);
  REQUIRE(broken);

  // The watch knows the healthy fabric; the transport answers as the broken one.
  testing::FakeTransport t(*broken, leaf0, 0);
  PortWatch watch(f, leaf0, 0, kFast);
  auto sweep = watch.Sweep(t);
  REQUIRE(sweep);
  CHECK(sweep->full_pass);
  // Cut off by its cables, spine1 cannot be told from a dead switch: its cables are down,
  // it is not itself declared down.
  CHECK(sweep->nodes_down.empty());
  CHECK(watch.node_up(spine1));
  CHECK(!watch.link_up(cable));
  // Every cable of the dead spine reads down from its leaf's end; the other cables stay up.
  for (LinkId l = 0; l < f.num_links(); ++l) {
    const bool spine1_cable = f.port(f.link(l).a).node == spine1 || f.port(f.link(l).b).node == spine1;
    INFO(f.LinkName(l));
    CHECK(watch.link_up(l) == !(spine1_cable || l == cable));
  }
  CHECK(sweep->went_down.size() == 1 + 4);
  // Directed routes avoid the dead cable: leaf2 is still reached, over spine2.
  CHECK(watch.reachable()[leaf2]);
  CHECK(!watch.reachable()[spine1]);

  // Nothing changed: a second sweep reports nothing.
  auto quiet = watch.Sweep(t);
  REQUIRE(quiet);
  CHECK(!quiet->changed());

  // Everything back.
  testing::FakeTransport healed(f, leaf0, 0);
  auto back = watch.Sweep(healed);
  REQUIRE(back);
  CHECK(back->came_up.size() == 1 + 4);
  CHECK(back->nodes_up.empty());
  for (LinkId l = 0; l < f.num_links(); ++l) CHECK(watch.link_up(l));
}

TEST_CASE("port watch: a switch that a working route reaches and that does not answer is down") {
  const Fabric f = testing::FakeFatTree(2, 2, 1, 1);
  const NodeId leaf0 = Named(f, "leaf0"), spine1 = Named(f, "spine1");
  testing::FakeTransport t(f, leaf0, 0);
  for (unsigned p = 1; p <= f.node(spine1).num_ports; ++p) t.DropInto(spine1, p);  // a hung agent
  PortWatch watch(f, leaf0, 0, kFast);
  auto sweep = watch.Sweep(t);
  REQUIRE(sweep);
  CHECK(sweep->nodes_down == std::vector<NodeId>{spine1});
  CHECK(!watch.node_up(spine1));

  // Answering again: up.
  testing::FakeTransport healed(f, leaf0, 0);
  auto back = watch.Sweep(healed);
  REQUIRE(back);
  CHECK(back->nodes_up == std::vector<NodeId>{spine1});
}

TEST_CASE("port watch: a state assumed at start is corrected by the first sweep") {
  const Fabric f = testing::FakeFatTree(2, 2, 1, 1);
  const NodeId leaf0 = Named(f, "leaf0");
  testing::FakeTransport t(f, leaf0, 0);
  PortWatch watch(f, leaf0, 0, {.rpc = kFast.rpc, .full_pass_every = 0});
  std::vector<uint8_t> link_down(f.num_links(), 0);
  link_down[0] = 1;
  watch.Assume(link_down, {});
  CHECK(!watch.link_up(0));
  auto sweep = watch.Sweep(t);  // the first sweep reads every port even with full passes off
  REQUIRE(sweep);
  CHECK(sweep->came_up == std::vector<LinkId>{0});
  auto next = watch.Sweep(t);
  REQUIRE(next);
  CHECK(!next->full_pass);
}

}  // namespace fabricctl

namespace fabricctl {

TEST_CASE("port watch: a trap sweep reads the trapping switches, and a silent one's neighbours") {
  const Fabric f = testing::FakeFatTree(4, 3, 2, 1);
  const NodeId leaf0 = Named(f, "leaf0"), leaf2 = Named(f, "leaf2");
  const NodeId spine0 = Named(f, "spine0"), spine1 = Named(f, "spine1");
  const LinkId cable = LinkBetween(f, leaf2, spine0);
  REQUIRE(cable != kNone);
  auto lid_of = [&](NodeId n) { return static_cast<uint16_t>(f.port(f.port_id(n, 0)).lid); };
  PortWatch watch(f, leaf0, 0, kFast);
  // A trap sweep from `trapper` of the fabric without what `health` marks down; the sweep
  // must find a change.
  auto sweep_broken = [&](const FabricHealth& health, NodeId trapper) {
    auto broken = WithoutDown(f, health);
    REQUIRE(broken);
    testing::FakeTransport t(*broken, leaf0, 0);
    auto sweep = watch.SweepTrapped(t, {lid_of(trapper)});
    REQUIRE(sweep);
    REQUIRE(sweep->has_value());
    return std::move(**sweep);
  };

  SUBCASE("a cable: the trapping switch's ports show it") {
    // Not on the directed route to leaf2 (over spine0): leaf2 itself answers.
    const LinkId far = LinkBetween(f, leaf2, Named(f, "spine2"));
    FabricHealth health = FabricHealth::AllUp(f);
    health.link_down[far] = 1;
    const SweepResult sweep = sweep_broken(health, leaf2);
    CHECK(sweep.went_down == std::vector<LinkId>{far});
    CHECK(!watch.link_up(far));
    // Far fewer SMPs than a sweep of every switch: one switch's SwitchInfo and ports.
    CHECK(sweep.stats.sent <= 1u + f.node(leaf2).num_ports);
  }

  SUBCASE("a cable on the route to the trapping switch: its neighbours are read instead") {
    FabricHealth health = FabricHealth::AllUp(f);
    health.link_down[cable] = 1;
    const SweepResult sweep = sweep_broken(health, leaf2);
    CHECK(sweep.went_down == std::vector<LinkId>{cable});
    CHECK(watch.reachable()[leaf2]);
  }

  SUBCASE("a dead switch that sent a trap: its neighbours' ports show every cable of it down") {
    FabricHealth health = FabricHealth::AllUp(f);
    health.node_down[spine1] = 1;
    const SweepResult sweep = sweep_broken(health, spine1);
    CHECK(sweep.went_down.size() == 4);
    for (LinkId l = 0; l < f.num_links(); ++l) {
      const bool spine1_cable = f.port(f.link(l).a).node == spine1 || f.port(f.link(l).b).node == spine1;
      INFO(f.LinkName(l));
      CHECK(watch.link_up(l) == !spine1_cable);
    }
    CHECK(sweep.nodes_down.empty());
    CHECK(!watch.reachable()[spine1]);
  }

  SUBCASE("nothing changed, or a LID of no switch: empty, so a full sweep decides") {
    testing::FakeTransport t(f, leaf0, 0);
    auto quiet = watch.SweepTrapped(t, {lid_of(leaf2)});
    REQUIRE(quiet);
    CHECK(!quiet->has_value());
    auto nobody = watch.SweepTrapped(t, {60000});
    REQUIRE(nobody);
    CHECK(!nobody->has_value());
  }
}

}  // namespace fabricctl
