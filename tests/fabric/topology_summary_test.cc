#include "fabric/topology_summary.h"

#include <doctest/doctest.h>

#include "fabric/fabric_builder.h"

namespace fabricctl {
namespace {

// A leaf/spine pair with tier labels, three hosts, one host trained at 1x, one link slower
// than both ends enable, and one that is narrow only because one end enables no more.
Fabric LabelledFabric() {
  FabricBuilder b;
  Labels spine{.tier = 2, .level = FabricLevel::kScaleOut};
  Labels leaf{.tier = 1, .level = FabricLevel::kScaleOut};
  Labels host{.tier = 0};
  NodeId sp =
      *b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 1, .description = "spine", .labels = spine});
  NodeId lf = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 8, .guid = 2, .description = "leaf", .labels = leaf});
  NodeId h1 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 11, .description = "h1", .labels = host});
  NodeId h2 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 12, .description = "h2", .labels = host});
  NodeId h3 = *b.AddNode({.type = NodeType::kCa, .num_ports = 2, .guid = 13, .description = "h3"});
  NodeId rt = *b.AddNode({.type = NodeType::kRouter, .num_ports = 1, .guid = 14, .description = "rt"});
  LinkRate ndr{.width = LinkWidth::k4x, .speed = LinkSpeed::kNDR};
  REQUIRE(b.Connect(sp, 1, lf, 1, ndr));
  REQUIRE(b.Connect(sp, 2, lf, 2, ndr));
  REQUIRE(b.Connect(h1, 1, lf, 3, ndr));
  REQUIRE(b.Connect(h2, 1, lf, 4, ndr));
  REQUIRE(b.Connect(h3, 1, lf, 5, ndr));
  REQUIRE(b.Connect(rt, 1, sp, 3));  // never trained: no rates reported
  // sp[2]--lf[2]: both ends could do 4xNDR, trained 1xHDR -> degraded.
  for (NodeId n : {sp, lf}) {
    Port& port = b.port(n, 2);
    port.width_active = LinkWidth::k1x;
    port.speed_active = LinkSpeed::kHDR;
    port.width_enabled = port.width_supported = WidthBit(LinkWidth::k1x) | WidthBit(LinkWidth::k4x);
    port.speed_enabled = port.speed_supported = SpeedBit(LinkSpeed::kHDR) | SpeedBit(LinkSpeed::kNDR);
  }
  // h2: the host supports 4x but enables only 2x and trained 2x -> not degraded.
  Port& h2p = b.port(h2, 1);
  h2p.width_enabled = WidthBit(LinkWidth::k2x);
  h2p.width_supported = WidthBit(LinkWidth::k2x) | WidthBit(LinkWidth::k4x);
  h2p.width_active = LinkWidth::k2x;
  b.port(lf, 4).width_active = LinkWidth::k2x;
  b.port(lf, 4).width_enabled |= WidthBit(LinkWidth::k2x);
  b.port(lf, 4).width_supported |= WidthBit(LinkWidth::k2x);
  // h3: trained at EDR although both ends support NDR -> degraded.
  b.port(h3, 1).speed_active = LinkSpeed::kEDR;
  auto f = b.Build();
  REQUIRE(f);
  return std::move(*f);
}

TEST_CASE("summary: counts of nodes, ports, links and subnets") {
  Fabric f = LabelledFabric();
  TopologySummary s = Summarize(f);
  CHECK(s.nodes == 6);
  CHECK(s.switches == 2);
  CHECK(s.endpoints == 3);  // channel adapters; the router is counted apart
  CHECK(s.routers == 1);
  CHECK(s.physical_ports == 4 + 8 + 1 + 1 + 2 + 1);
  CHECK(s.connected_ports == 12);
  CHECK(s.links == 6);
  REQUIRE(s.subnets.size() == 1);
  CHECK(s.subnets[0].name == "scale-out");
  CHECK(s.subnets[0].switches == 2);
  CHECK(s.subnets[0].endpoint_ports == 4);
}

TEST_CASE("summary: tiers come from labels") {
  TopologySummary s = Summarize(LabelledFabric());
  REQUIRE(s.tiers.size() == 3);
  CHECK(s.tiers[0].tier == 0);
  CHECK(s.tiers[0].endpoints == 2);
  CHECK(s.tiers[1].tier == 1);
  CHECK(s.tiers[1].switches == 1);
  CHECK(s.tiers[2].tier == 2);
  CHECK(s.unlabelled_tier_nodes == 2);
}

TEST_CASE("summary: link-rate histogram, fastest first") {
  TopologySummary s = Summarize(LabelledFabric());
  REQUIRE(s.rates.size() == 5);
  CHECK(RateName(s.rates[0].width, s.rates[0].speed) == "4xNDR");
  CHECK(s.rates[0].links == 2);
  CHECK(RateName(s.rates[1].width, s.rates[1].speed) == "2xNDR");
  CHECK(RateName(s.rates[2].width, s.rates[2].speed) == "4xEDR");
  CHECK(RateName(s.rates[3].width, s.rates[3].speed) == "1xHDR");
  CHECK(RateName(s.rates[4].width, s.rates[4].speed) == "unknown");
}

TEST_CASE("summary: degraded links are below what both ends enable and support") {
  Fabric f = LabelledFabric();
  TopologySummary s = Summarize(f);
  REQUIRE(s.degraded_links.size() == 2);
  CHECK(f.LinkName(s.degraded_links[0].link) == "spine[2] -- leaf[2]");
  CHECK(RateName(s.degraded_links[0].width, s.degraded_links[0].speed) == "1xHDR");
  CHECK(RateName(s.degraded_links[0].best_width, s.degraded_links[0].best_speed) == "4xNDR");
  CHECK(f.LinkName(s.degraded_links[1].link) == "leaf[5] -- h3[1]");
  CHECK(RateName(s.degraded_links[1].width, s.degraded_links[1].speed) == "4xEDR");
}

TEST_CASE("summary: best common rate skips masks that were not reported") {
  Port a, b;
  a.width_enabled = WidthBit(LinkWidth::k1x) | WidthBit(LinkWidth::k4x);
  b.width_supported = WidthBit(LinkWidth::k4x) | WidthBit(LinkWidth::k12x);
  a.speed_supported = SpeedBit(LinkSpeed::kEDR) | SpeedBit(LinkSpeed::kHDR) | SpeedBit(LinkSpeed::kNDR);
  b.speed_enabled = SpeedBit(LinkSpeed::kFDR10) | SpeedBit(LinkSpeed::kHDR);
  WidthSpeed best = BestCommonRate(a, b);
  CHECK(best.width == LinkWidth::k4x);
  CHECK(best.speed == LinkSpeed::kHDR);
  CHECK(BestCommonRate(Port{}, Port{}).width == LinkWidth::kNone);
}

TEST_CASE("summary: JSON has the documented keys") {
  Fabric f = LabelledFabric();
  nlohmann::json j = SummaryToJson(Summarize(f), f);
  for (const char* key : {"nodes", "switches", "endpoints", "links", "subnets", "degraded_links", "tiers", "rates"})
    CHECK_MESSAGE(j.contains(key), key);
  CHECK(j["nodes"] == 6);
  CHECK(j["subnets"][0]["name"] == "scale-out");
  CHECK(j["degraded_links"][0] == nlohmann::json{{"link", "spine[2] -- leaf[2]"},
                                                 {"a", "spine[2]"},
                                                 {"b", "leaf[2]"},
                                                 {"active", "1xHDR"},
                                                 {"best", "4xNDR"}});
  CHECK(j["rates"][0]["gbps"] == 400.0);
}

TEST_CASE("summary: a rate whose width was not reported has no data rate in JSON") {
  FabricBuilder b;
  const NodeId s = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 0x10, .description = "s"});
  const NodeId h1 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x20, .description = "h1"});
  const NodeId h2 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x21, .description = "h2"});
  REQUIRE(b.Connect(h1, 1, s, 1, LinkRate{.width = LinkWidth::kNone, .speed = LinkSpeed::kHDR}));
  REQUIRE(b.Connect(h2, 1, s, 2, LinkRate{}));
  const Fabric f = *b.Build();
  nlohmann::json j = SummaryToJson(Summarize(f), f);
  REQUIRE(j["rates"].size() == 2);
  CHECK(j["rates"][0]["rate"] == "4xHDR");
  CHECK(j["rates"][0]["gbps"] == 200.0);
  CHECK(j["rates"][1]["rate"] == "?xHDR");
  CHECK(j["rates"][1]["gbps"].is_null());
}

}  // namespace
}  // namespace fabricctl
