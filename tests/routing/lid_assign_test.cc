#include "routing/lid_assign.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

TEST_CASE("LID assignment: switch then its endpoints, in node and port order; stable") {
  Fabric f = testing::TwoTierFatTree({.leaves = 2, .spines = 2, .hosts = 2});
  auto a = AssignLids(f);
  REQUIRE(a);
  // Nodes: spine0, spine1, leaf0, leaf1, hosts. Spines 1, 2; leaf0 3, its hosts 4, 5; leaf1 6, 7, 8.
  const std::vector<PortId>& owner = a->lid_owner[0];
  REQUIRE(owner.size() == 9);
  CHECK(owner[0] == kNone);
  CHECK(f.PortName(owner[1]) == "spine0[0]");
  CHECK(f.PortName(owner[2]) == "spine1[0]");
  CHECK(f.PortName(owner[3]) == "leaf0[0]");
  CHECK(f.PortName(owner[4]) == "h0-0[1]");
  CHECK(f.PortName(owner[5]) == "h0-1[1]");
  CHECK(f.PortName(owner[6]) == "leaf1[0]");
  CHECK(f.PortName(owner[8]) == "h1-1[1]");
  for (Lid lid = 1; lid < owner.size(); ++lid) CHECK(a->port_lid[owner[lid]] == lid);
  auto again = AssignLids(f);
  REQUIRE(again);
  CHECK(again->lid_owner == a->lid_owner);
  CHECK(a->notes.empty());
}

TEST_CASE("LID assignment keeps the topology's LIDs and fills the gaps; duplicates are errors") {
  FabricBuilder b;
  NodeId sw = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 0x10, .description = "sw"});
  NodeId h1 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x20, .description = "h1"});
  NodeId h2 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x21, .description = "h2"});
  REQUIRE(b.Connect(h1, 1, sw, 1, LinkRate{}));
  REQUIRE(b.Connect(h2, 1, sw, 2, LinkRate{}));
  b.port(h2, 1).lid = 1;
  b.port(sw, 0).lid = 7;
  Fabric f = *b.Build();
  auto a = AssignLids(f);
  REQUIRE(a);
  CHECK(a->port_lid[f.port_id(h2, 1)] == 1);
  CHECK(a->port_lid[f.port_id(sw, 0)] == 7);
  CHECK(a->port_lid[f.port_id(h1, 1)] == 2);
  CHECK(a->lid_owner[0].size() == 8);

  FabricBuilder d;
  NodeId s2 = *d.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 0x10, .description = "sw"});
  NodeId c = *d.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x20, .description = "h"});
  REQUIRE(d.Connect(c, 1, s2, 1, LinkRate{}));
  d.port(c, 1).lid = 3;
  d.port(s2, 0).lid = 3;
  Fabric dup = *d.Build();
  auto bad = AssignLids(dup);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "subnet subnet0: LID 3 is carried by both sw[0] and h[1]");
}

TEST_CASE("LID assignment notes a subnet beyond 0xBFFF") {
  FabricBuilder b;
  NodeId sw = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 0x10, .description = "sw"});
  NodeId h = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x20, .description = "h"});
  REQUIRE(b.Connect(h, 1, sw, 1, LinkRate{}));
  b.port(h, 1).lid = 0xC000;  // 32-bit inside: kept, and flagged
  Fabric f = *b.Build();
  auto a = AssignLids(f);
  REQUIRE(a);
  CHECK(a->port_lid[f.port_id(h, 1)] == 0xC000);
  REQUIRE(a->notes.size() == 1);
  CHECK(a->notes[0].find("uses LIDs up to 49152 (> 0xBFFF)") != std::string::npos);
}

// Every switch holds one LFT entry per LID up to the highest: a LID of 4294967295 from a
// file would cost gigabytes per switch.
TEST_CASE("LID assignment refuses a LID beyond 16 bits and twice the subnet's ports") {
  for (const Lid lid : {Lid{0x10000}, Lid{100'000'000}, Lid{0xFFFFFFFF}}) {
    FabricBuilder b;
    NodeId sw = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 0x10, .description = "sw"});
    NodeId h = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x20, .description = "h"});
    REQUIRE(b.Connect(h, 1, sw, 1, LinkRate{}));
    b.port(h, 1).lid = lid;
    auto a = AssignLids(*b.Build());
    INFO(lid);
    REQUIRE_FALSE(a);
    CHECK(a.error().message == fmt::format("subnet subnet0: h[1] has LID {}, beyond InfiniBand's 16-bit LIDs and "
                                           "twice the 2 ports this subnet addresses; set it to 0 to have one assigned",
                                           lid));
  }
}

}  // namespace
}  // namespace fabricctl

namespace fabricctl {
namespace {

// h1 has LID 5 with LMC 2, so it answers to the block 4..7: h2 and h3 (no LID) get 2 and
// 3, h4 gets 8, past the block; a port that the topology gives LID 6 is an error of the
// fabric's configuration.
TEST_CASE("LID assignment keeps LMC blocks free, refuses a LID inside one, and notes the LMC") {
  auto build = [](Lid h2_lid) {
    FabricBuilder b;
    NodeId sw = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 0x10, .description = "sw"});
    std::vector<NodeId> h;
    for (uint64_t i = 1; i <= 4; ++i) {
      h.push_back(*b.AddNode(
          {.type = NodeType::kCa, .num_ports = 1, .guid = 0x20 + i, .description = "h" + std::to_string(i)}));
      REQUIRE(b.Connect(h.back(), 1, sw, static_cast<unsigned>(i), LinkRate{}));
    }
    b.port(sw, 0).lid = 1;
    b.port(h[0], 1).lid = 5;
    b.port(h[0], 1).lmc = 2;
    b.port(h[1], 1).lid = h2_lid;
    return *b.Build();
  };
  const Fabric free = build(0);
  auto a = AssignLids(free);
  REQUIRE(a);
  CHECK(a->port_lid[free.port_id(2, 1)] == 2);
  CHECK(a->port_lid[free.port_id(3, 1)] == 3);
  CHECK(a->port_lid[free.port_id(4, 1)] == 8);
  REQUIRE(a->notes.size() == 1);
  CHECK(a->notes[0] ==
        "subnet subnet0: 1 port with an LMC above 0 (first h1[1], LMC 2): routes are computed for one LID per port, "
        "so the other LIDs of each LMC block get no LFT entries");

  auto bad = AssignLids(build(6));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "subnet subnet0: LID 6 of h2[1] lies in the LMC range 4..7 of h1[1]");
}

}  // namespace
}  // namespace fabricctl
