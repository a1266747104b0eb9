#include "routing/channel_capacity.h"

#include <doctest/doctest.h>

#include "fabric/fabric_builder.h"
#include "tests/routing/rate_fabrics.h"

namespace fabricctl {
namespace {

TEST_CASE("a cable trained slower than its neighbours costs more per route, in proportion to its rate") {
  Fabric f = testing::TwoSwitchesOneSlowCable(LinkRate{.speed = LinkSpeed::kSDR});
  ChannelCapacity capacity(f, f.subnets()[0]);
  CHECK_FALSE(capacity.uniform());
  CHECK(capacity.top_gbps() == doctest::Approx(LinkDataGbps(LinkWidth::k4x, LinkSpeed::kEDR)));
  const uint32_t unit = ChannelCapacity::kUnitCost;
  CHECK(capacity.cost(f.port_id(0, 1)) == unit);
  CHECK(capacity.cost(f.port_id(1, 1)) == unit);
  // 4xEDR carries 100 Gb/s of data, 4xDDR 16: a route over the slow cable costs 6.25 units.
  CHECK(capacity.cost(f.port_id(0, 2)) == 100);
  CHECK(capacity.cost(f.port_id(1, 2)) == 100);
  CHECK(capacity.share(f.port_id(0, 2)) == doctest::Approx(0.16));
  // Endpoint cables are not channels: their slow rate sets neither the top nor a cost.
  CHECK(capacity.cost(f.port_id(0, 3)) == unit);
}

TEST_CASE("a subnet whose cables all run at one rate is uniform") {
  FabricBuilder b;
  NodeId s0 = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 2, .guid = 0x10, .description = "s0"});
  NodeId s1 = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 2, .guid = 0x11, .description = "s1"});
  REQUIRE(b.Connect(s0, 1, s1, 1, LinkRate{}));
  REQUIRE(b.Connect(s0, 2, s1, 2, LinkRate{}));
  auto f = b.Build();
  REQUIRE(f);
  ChannelCapacity capacity(*f, f->subnets()[0]);
  CHECK(capacity.uniform());
  CHECK(capacity.cost(f->port_id(0, 2)) == ChannelCapacity::kUnitCost);
  CHECK(capacity.share(f->port_id(0, 2)) == 1.0);
}

}  // namespace
}  // namespace fabricctl
