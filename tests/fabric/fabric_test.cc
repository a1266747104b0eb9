#include "fabric/fabric.h"

#include <doctest/doctest.h>

#include "fabric/fabric_builder.h"

namespace fabricctl {
namespace {

// Two switches cabled twice, two single-port CAs on one, a dual-port CA across both.
Fabric SmallFabric() {
  FabricBuilder b;
  NodeId s1 = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 8, .guid = 0x200000, .description = "sw1"});
  NodeId s2 = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 8, .guid = 0x200001, .description = "sw2"});
  NodeId h1 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x100000, .description = "h1"});
  NodeId h2 = *b.AddNode({.type = NodeType::kCa, .num_ports = 2, .guid = 0x100002, .description = "h2"});
  REQUIRE(b.Connect(s1, 3, s2, 3, LinkRate{.width = LinkWidth::k4x, .speed = LinkSpeed::kNDR}));
  REQUIRE(b.Connect(s1, 5, s2, 5, LinkRate{}));
  REQUIRE(b.Connect(h1, 1, s1, 1, LinkRate{}));
  REQUIRE(b.Connect(h2, 1, s1, 2, LinkRate{}));
  auto f = b.Build();
  REQUIRE(f);
  return std::move(*f);
}

TEST_CASE("ports of a node are contiguous and port 0 exists") {
  Fabric f = SmallFabric();
  CHECK(f.num_nodes() == 4);
  CHECK(f.num_port_slots() == 9 + 9 + 2 + 3);
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    for (unsigned p = 0; p <= f.node(n).num_ports; ++p) {
      const Port& port = f.port(f.port_id(n, p));
      CHECK(port.node == n);
      CHECK(port.number == p);
    }
    CHECK(f.physical_ports(n).size() == f.node(n).num_ports);
  }
}

TEST_CASE("links are symmetric and the CSR lists connected ports in order") {
  Fabric f = SmallFabric();
  CHECK(f.num_links() == 4);
  for (LinkId l = 0; l < f.num_links(); ++l) {
    const Link& link = f.link(l);
    CHECK(link.a < link.b);
    CHECK(f.port(link.a).peer == link.b);
    CHECK(f.port(link.b).peer == link.a);
    CHECK(f.port(link.a).link == l);
  }
  auto adj = f.neighbors(0);
  REQUIRE(adj.size() == 4);
  CHECK(f.port(adj[0].local).number == 1);
  CHECK(f.port(adj[3].local).number == 5);
  CHECK(adj[2].peer_node == 1);
  CHECK(f.neighbors(3).size() == 1);
  CHECK(f.LinkName(0) == "sw1[3] -- sw2[3]");
}

TEST_CASE("subnets: switches join their ports, an unconnected CA port is in none") {
  Fabric f = SmallFabric();
  REQUIRE(f.subnets().size() == 1);
  const Subnet& s = f.subnets()[0];
  CHECK(s.switches == std::vector<NodeId>{0, 1});
  CHECK(s.endpoint_ports.size() == 2);
  CHECK(f.subnet_of(f.port_id(3, 2)) == kNone);
  CHECK(f.subnet_of(f.port_id(3, 1)) == 0);
}

TEST_CASE("a dual-port endpoint sits in two subnets, named from labels") {
  FabricBuilder b;
  Labels up{.super_node = 3, .level = FabricLevel::kScaleUp};
  Labels out{.level = FabricLevel::kScaleOut};
  NodeId su = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 1, .description = "up", .labels = up});
  NodeId so = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 2, .description = "out", .labels = out});
  NodeId acc = *b.AddNode({.type = NodeType::kCa, .num_ports = 2, .guid = 3, .description = "acc"});
  REQUIRE(b.Connect(acc, 1, su, 1));
  REQUIRE(b.Connect(acc, 2, so, 1));
  auto f = b.Build();
  REQUIRE(f);
  REQUIRE(f->subnets().size() == 2);
  CHECK(f->subnets()[0].name == "scale-up/sn3");
  CHECK(f->subnets()[1].name == "scale-out");
  CHECK(f->subnet_of(f->port_id(acc, 1)) != f->subnet_of(f->port_id(acc, 2)));
}

TEST_CASE("builder rejects bad ports, double cabling and duplicate GUIDs") {
  FabricBuilder b;
  NodeId s = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 2, .guid = 7, .description = "s"});
  NodeId h = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 7, .description = "h"});
  CHECK(!b.AddNode({.type = NodeType::kSwitch, .num_ports = 0, .description = "z"}));
  auto bad = b.Connect(s, 3, h, 1);
  REQUIRE(!bad);
  CHECK(bad.error().message == "'s' has ports 1..2, not 3");
  CHECK(!b.Connect(s, 0, h, 1));
  REQUIRE(b.Connect(s, 1, h, 1));
  auto twice = b.Connect(s, 2, h, 1);
  REQUIRE(!twice);
  CHECK(twice.error().message == "'h'[1] is already cabled to s[1]");
  auto f = b.Build();
  REQUIRE(!f);
  CHECK(f.error().message == "duplicate node GUID 0x0000000000000007: 's' and 'h'");
}

TEST_CASE("link rates") {
  CHECK(LinkDataGbps(LinkWidth::k4x, LinkSpeed::kNDR) == doctest::Approx(400.0));
  CHECK(LinkDataGbps(LinkWidth::k4x, LinkSpeed::kHDR) == doctest::Approx(200.0));
  auto ws = ParseWidthSpeed("4xNDR");
  REQUIRE(ws);
  CHECK(ws->first == LinkWidth::k4x);
  CHECK(ws->second == LinkSpeed::kNDR);
  CHECK(FormatWidthSpeed(LinkWidth::k2x, LinkSpeed::kHDR) == "2xHDR");
  CHECK(FormatDataGbps(LinkWidth::k4x, LinkSpeed::kFDR) == "54.56");
  CHECK(FormatDataGbps(LinkWidth::k4x, LinkSpeed::kDDR) == "16");
  CHECK(FormatDataGbps(LinkWidth::kNone, LinkSpeed::kHDR) == "?");  // "??HDR" in ibnetdiscover
  CHECK(FormatDataGbps(LinkWidth::k4x, LinkSpeed::kNone) == "?");
  CHECK(!ParseWidthSpeed("4xFOO"));
  CHECK(!ParseWidthSpeed("x"));
  CHECK(WidestWidth(WidthBit(LinkWidth::k1x) | WidthBit(LinkWidth::k4x)) == LinkWidth::k4x);
  CHECK(FastestSpeed(SpeedBit(LinkSpeed::kEDR) | SpeedBit(LinkSpeed::kHDR)) == LinkSpeed::kHDR);
}

TEST_CASE("errors format as where:line: message with the text and a caret") {
  Error e{.message = "expected a port number", .where = "t.topo", .line = 4, .column = 2, .text = "[x] \"s\"[1]"};
  CHECK(e.Format() == "t.topo:4: expected a port number\n  [x] \"s\"[1]\n   ^");
  Error tabs{.message = "m", .where = "f", .line = 1, .column = 3, .text = "\t\tx"};
  CHECK(tabs.Format() == "f:1: m\n  \t\tx\n  \t\t^");
}

}  // namespace
}  // namespace fabricctl
