#include "fabric/topology_diff.h"

#include <doctest/doctest.h>

#include <functional>

#include "fabric/fabric_builder.h"

namespace fabricctl {
namespace {

struct Plan {
  bool with_guids = true;
};

using Edit = std::function<void(FabricBuilder&, std::vector<NodeId>&)>;

// The plan's cabling, minus the cables for which `skip` returns true.
void CablePlan(FabricBuilder& b, const std::vector<NodeId>& n, std::function<bool(unsigned, unsigned)> skip = {}) {
  LinkRate ndr{.width = LinkWidth::k4x, .speed = LinkSpeed::kNDR};
  std::vector<std::array<unsigned, 4>> cables = {{0, 7, 1, 7}, {0, 8, 1, 8}};
  for (unsigned h = 1; h <= 4; ++h) cables.push_back({1 + h, 1, 0, h});
  for (auto [a, pa, c, pc] : cables)
    if (!skip || !skip(a, pa)) REQUIRE(b.Connect(n[a], pa, n[c], pc, ndr));
}

// The planned fabric: sw1 and sw2 joined on ports 7 and 8, hosts h1..h4 on sw1 ports 1..4.
// An edit replaces the cabling step, so "actual" fabrics are the plan with a fault.
Fabric Build(Plan plan, const Edit& edit = {}) {
  FabricBuilder b;
  auto guid = [&](uint64_t g) { return plan.with_guids ? g : 0; };
  std::vector<NodeId> n;
  n.push_back(*b.AddNode({.type = NodeType::kSwitch, .num_ports = 8, .guid = guid(0x100), .description = "sw1"}));
  n.push_back(*b.AddNode({.type = NodeType::kSwitch, .num_ports = 8, .guid = guid(0x200), .description = "sw2"}));
  for (unsigned h = 1; h <= 4; ++h)
    n.push_back(*b.AddNode(
        {.type = NodeType::kCa, .num_ports = 1, .guid = guid(0x1000 + h), .description = "h" + std::to_string(h)}));
  if (edit)
    edit(b, n);
  else
    CablePlan(b, n);
  auto f = b.Build();
  REQUIRE(f);
  return std::move(*f);
}

TEST_CASE("diff: identical fabrics have no differences") {
  TopologyDiff d = DiffTopologies(Build({}), Build({}));
  CHECK(d.identical());
  CHECK(d.matched_nodes == 6);
  CHECK(d.matched_by_description == 0);
}

TEST_CASE("diff: without GUIDs nodes are matched by description") {
  TopologyDiff d = DiffTopologies(Build({.with_guids = false}), Build({}));
  CHECK(d.identical());
  CHECK(d.matched_by_description == 6);
}

TEST_CASE("diff: a missing cable") {
  Fabric expected = Build({});
  Fabric actual = Build({}, [](FabricBuilder& b, std::vector<NodeId>& n) {
    CablePlan(b, n, [](unsigned a, unsigned pa) { return a == 0 && pa == 8; });
  });
  TopologyDiff d = DiffTopologies(expected, actual);
  REQUIRE(d.differences.size() == 1);
  CHECK(d.differences[0].kind == DiffKind::kMissingLink);
  CHECK(expected.LinkName(d.differences[0].expected_link) == "sw1[8] -- sw2[8]");
}

TEST_CASE("diff: two host cables swapped are two miswired links, not extra ones") {
  Fabric expected = Build({});
  Fabric actual = Build({}, [](FabricBuilder& b, std::vector<NodeId>& n) {
    CablePlan(b, n, [](unsigned a, unsigned) { return a == 2 || a == 3; });
    REQUIRE(b.Connect(n[2], 1, n[0], 2, LinkRate{.width = LinkWidth::k4x, .speed = LinkSpeed::kNDR}));
    REQUIRE(b.Connect(n[3], 1, n[0], 1, LinkRate{.width = LinkWidth::k4x, .speed = LinkSpeed::kNDR}));
  });
  TopologyDiff d = DiffTopologies(expected, actual);
  REQUIRE(d.differences.size() == 2);
  for (const TopologyDifference& x : d.differences) CHECK(x.kind == DiffKind::kMiswired);
  const TopologyDifference& first = d.differences[0];
  CHECK(expected.LinkName(first.expected_link) == "sw1[1] -- h1[1]");
  CHECK(actual.PortName(first.actual_a) == "sw1[1]");
  CHECK(actual.PortName(first.actual_a_peer) == "h2[1]");
  CHECK(actual.PortName(first.actual_b_peer) == "sw1[2]");
}

TEST_CASE("diff: a cable moved to a port planned to be unused") {
  Fabric expected = Build({});
  Fabric actual = Build({}, [](FabricBuilder& b, std::vector<NodeId>& n) {
    CablePlan(b, n, [](unsigned a, unsigned) { return a == 5; });
    REQUIRE(b.Connect(n[5], 1, n[0], 6));  // h4 in sw1[6] instead of sw1[4]
  });
  TopologyDiff d = DiffTopologies(expected, actual);
  REQUIRE(d.differences.size() == 1);
  const TopologyDifference& x = d.differences[0];
  CHECK(x.kind == DiffKind::kMiswired);
  CHECK(expected.LinkName(x.expected_link) == "sw1[4] -- h4[1]");
  CHECK(x.actual_a_peer == kNone);
  CHECK(actual.PortName(x.actual_b_peer) == "sw1[6]");
}

TEST_CASE("diff: extra cable between planned nodes, missing and extra nodes") {
  Fabric expected = Build({});
  Fabric actual = Build({}, [](FabricBuilder& b, std::vector<NodeId>& n) {
    NodeId h9 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x1009, .description = "h9"});
    CablePlan(b, n, [](unsigned a, unsigned) { return a == 3; });  // h2 unplugged
    REQUIRE(b.Connect(n[0], 5, n[1], 5));                          // not planned
    REQUIRE(b.Connect(h9, 1, n[1], 1));
    b.node(n[3]).guid = 0x2002;  // h2 replaced: same description, other GUID
  });
  TopologyDiff d = DiffTopologies(expected, actual);
  REQUIRE(d.differences.size() == 4);
  CHECK(d.differences[0].kind == DiffKind::kMissingNode);
  CHECK(expected.description(d.differences[0].expected_node) == "h2");
  CHECK(d.differences[0].node_links == 1);
  CHECK(d.differences[1].kind == DiffKind::kExtraNode);
  CHECK(actual.description(d.differences[1].actual_node) == "h2");
  CHECK(d.differences[2].kind == DiffKind::kExtraNode);
  CHECK(actual.description(d.differences[2].actual_node) == "h9");
  CHECK(d.differences[2].node_links == 1);
  CHECK(d.differences[3].kind == DiffKind::kExtraLink);
  CHECK(actual.LinkName(d.differences[3].actual_link) == "sw1[5] -- sw2[5]");
}

TEST_CASE("diff: a link below its planned width or speed, and a type mismatch") {
  Fabric expected = Build({});
  Fabric actual = Build({}, [](FabricBuilder& b, std::vector<NodeId>& n) {
    CablePlan(b, n);
    b.port(n[0], 7).width_active = LinkWidth::k1x;
    b.port(n[1], 7).width_active = LinkWidth::k1x;
    b.port(n[2], 1).speed_active = LinkSpeed::kHDR;
    b.node(n[5]).type = NodeType::kRouter;
  });
  TopologyDiff d = DiffTopologies(expected, actual);
  REQUIRE(d.differences.size() == 3);
  CHECK(d.differences[0].kind == DiffKind::kTypeMismatch);
  CHECK(d.differences[1].kind == DiffKind::kBelowPlan);
  CHECK(expected.LinkName(d.differences[1].expected_link) == "sw1[7] -- sw2[7]");
  CHECK(d.differences[1].actual.width == LinkWidth::k1x);
  CHECK(d.differences[1].planned.width == LinkWidth::k4x);
  CHECK(d.differences[2].kind == DiffKind::kBelowPlan);
  CHECK(d.differences[2].actual.speed == LinkSpeed::kHDR);
  // Faster than planned is not a difference.
  CHECK(DiffTopologies(actual, expected).differences.size() == 1);
}

TEST_CASE("diff: repeated descriptions without GUIDs match nothing") {
  FabricBuilder b1, b2;
  for (FabricBuilder* b : {&b1, &b2})
    for (int i = 0; i < 2; ++i) REQUIRE(b->AddNode({.description = "MT4123 ConnectX6 Mellanox Technologies"}));
  TopologyDiff d = DiffTopologies(*b1.Build(), *b2.Build());
  CHECK(d.matched_nodes == 0);
  CHECK(d.differences.size() == 4);
}

TEST_CASE("diff: kinds have stable names") {
  CHECK(ToString(DiffKind::kMiswired) == "miswired");
  CHECK(ToString(DiffKind::kBelowPlan) == "below_plan");
  CHECK(ToString(DiffKind::kMissingNode) == "missing_node");
}

}  // namespace
}  // namespace fabricctl
