#include "fabric/fabric_subset.h"

#include <doctest/doctest.h>

#include <vector>

#include "tests/fabric/topology_test_util.h"

namespace fabricctl {
namespace {

// Every other node and every third cable left out of random fabrics: the nodes kept come in
// their order, each kept cable joins the same ports with the same attributes, and every
// other port reads as unplugged.
TEST_CASE("SubsetOf: kept nodes renumbered in order, kept cables as they were, the rest unplugged") {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    const Fabric f = testing::RandomFabric(seed);
    auto keep_node = [](NodeId n) { return n % 2 == 0; };
    auto keep_link = [](LinkId l) { return l % 3 != 0; };
    auto sub = SubsetOf(f, {.keep_node = keep_node, .keep_link = keep_link});
    REQUIRE(sub.has_value());
    std::vector<NodeId> id(f.num_nodes(), kNone);
    NodeId next = 0;
    for (NodeId n = 0; n < f.num_nodes(); ++n)
      if (keep_node(n)) id[n] = next++;
    REQUIRE(sub->num_nodes() == next);
    size_t links = 0;
    for (LinkId l = 0; l < f.num_links(); ++l) {
      const Port& a = f.port(f.link(l).a);
      const Port& b = f.port(f.link(l).b);
      if (!keep_link(l) || id[a.node] == kNone || id[b.node] == kNone) continue;
      ++links;
      const Port& now_a = sub->port(sub->port_id(id[a.node], a.number));
      const Port& now_b = sub->port(sub->port_id(id[b.node], b.number));
      CHECK(now_a.peer == sub->port_id(id[b.node], b.number));
      CHECK(now_a.state == a.state);
      CHECK(now_a.speed_active == a.speed_active);
      CHECK(now_b.width_active == b.width_active);
      CHECK(now_b.lid == b.lid);
    }
    CHECK(sub->num_links() == links);
    for (NodeId n = 0; n < f.num_nodes(); ++n) {
      if (id[n] == kNone) continue;
      CHECK(sub->node(id[n]).guid == f.node(n).guid);
      CHECK(sub->description(id[n]) == f.description(n));
      for (unsigned p = 1; p <= f.node(n).num_ports; ++p) {
        const Port& now = sub->port(sub->port_id(id[n], p));
        if (now.peer != kNone || f.port(f.port_id(n, p)).peer == kNone) continue;
        CHECK(now.state == PortState::kDown);
        CHECK(now.phys_state == PhysState::kPolling);
        CHECK(now.speed_active == LinkSpeed::kNone);
      }
    }
  }
}

TEST_CASE("SubsetOf: adjust sees both ports of each kept cable; no rules keep everything") {
  const Fabric f = testing::RandomFabric(7);
  size_t calls = 0;
  auto sub = SubsetOf(f, {.adjust = [&](LinkId, Port& port) {
                        ++calls;
                        port.lid = 0x1234;
                      }});
  REQUIRE(sub.has_value());
  CHECK(sub->num_nodes() == f.num_nodes());
  CHECK(sub->num_links() == f.num_links());
  CHECK(calls == 2 * f.num_links());
  for (const Link& link : sub->links()) CHECK(sub->port(link.a).lid == 0x1234);
}

}  // namespace
}  // namespace fabricctl
