#include "routing/route_fabric.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "fabric/fabric_builder.h"
#include "fabric/generator.h"
#include "routing/verifier.h"
#include "tests/routing/route_check.h"

namespace fabricctl {
namespace {

// A copy of `f` without a seeded random `fraction` of its switch-to-switch cables.
Fabric WithoutLinks(const Fabric& f, double fraction, uint64_t seed) {
  FabricBuilder b;
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    const Node& node = f.node(n);
    REQUIRE(b.AddNode({.type = node.type,
                       .num_ports = node.num_ports,
                       .guid = node.guid,
                       .description = f.description(n),
                       .labels = node.labels}));
  }
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution drop(fraction);
  for (LinkId l = 0; l < f.num_links(); ++l) {
    const Port& a = f.port(f.link(l).a);
    const Port& z = f.port(f.link(l).b);
    if (f.is_switch(a.node) && f.is_switch(z.node) && drop(rng)) continue;
    REQUIRE(b.Connect(a.node, a.number, z.node, z.number, LinkRate{}));
  }
  auto out = b.Build();
  REQUIRE(out);
  return std::move(*out);
}

TEST_CASE("random cable failures: deadlock-free engines still verify") {
  struct Case {
    std::string_view generator;
    GeneratorParams params;
    std::string_view engines;
  };
  const Case cases[] = {
      {"fat-tree", {{"k", "8"}, {"tiers", "3"}}, "ftree,updn"},
      {"fat-tree", {{"k", "8"}, {"tiers", "3"}}, "updn"},
      {"fat-tree", {{"k", "12"}, {"tiers", "2"}}, "auto"},
      {"torus", {{"dims", "4x4x4"}}, "auto"},
      {"dragonfly", {}, "updn"},
  };
  for (const Case& c : cases) {
    auto base = Generate(c.generator, c.params);
    REQUIRE(base);
    for (double fraction : {0.01, 0.03, 0.05}) {
      Fabric f = WithoutLinks(*base, fraction, 7);
      INFO(c.generator << " without " << fraction * 100 << "% of its switch cables, engine " << c.engines);
      auto routed = testing::RouteWith(f, c.engines);
      REQUIRE(routed);
      auto verdict = Verify(f, routed->routes);
      REQUIRE(verdict);
      CHECK(verdict->sound());
      for (const Violation& v : verdict->violations) MESSAGE(v.text);
    }
  }
}

}  // namespace
}  // namespace fabricctl

namespace fabricctl {
namespace {

// An LFT entry of 255 means "no route", so a cable on switch port 255 can never carry one:
// it is refused by name before any engine runs, not reported as unreachable pairs.
TEST_CASE("routing a fabric refuses a cable on switch port 255") {
  for (const bool to_host : {true, false}) {
    FabricBuilder b;
    const NodeId s1 = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 255, .guid = 0x10, .description = "s1"});
    const NodeId s2 = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 8, .guid = 0x11, .description = "s2"});
    const NodeId h1 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x20, .description = "h1"});
    const NodeId h2 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x21, .description = "h2"});
    REQUIRE(b.Connect(h1, 1, s1, to_host ? 255 : 1, LinkRate{}));
    REQUIRE(b.Connect(s1, to_host ? 2 : 255, s2, 1, LinkRate{}));
    REQUIRE(b.Connect(h2, 1, s2, 2, LinkRate{}));
    const Fabric f = *b.Build();
    auto routed = RouteFabric(f, *ParseEngineSelection("minhop"), RouteFabricOptions{});
    INFO(to_host);
    REQUIRE_FALSE(routed);
    CHECK(routed.error().message ==
          "subnet subnet0: s1[255] is cabled, but an LFT entry of 255 means no route, so no route can leave by it; "
          "switch ports 1..254 carry routes");
  }
}

// Two endpoints cabled back to back form a subnet of their own with no switch: every
// engine that routes general fabrics routes it (there is no table to fill).
TEST_CASE("every engine routes a subnet without switches, and says there was nothing to route") {
  FabricBuilder b;
  const NodeId s = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 0x10, .description = "s"});
  const NodeId h1 = *b.AddNode({.type = NodeType::kCa, .num_ports = 2, .guid = 0x20, .description = "h1"});
  const NodeId h2 = *b.AddNode({.type = NodeType::kCa, .num_ports = 2, .guid = 0x21, .description = "h2"});
  REQUIRE(b.Connect(h1, 1, s, 1, LinkRate{}));
  REQUIRE(b.Connect(h2, 1, s, 2, LinkRate{}));
  REQUIRE(b.Connect(h1, 2, h2, 2, LinkRate{}));
  const Fabric f = *b.Build();
  REQUIRE(f.subnets().size() == 2);
  for (std::string_view engine : {"minhop", "updn", "ftree", "dfsssp", "escape", "nue", "auto"}) {
    INFO(engine);
    auto routed = RouteFabric(f, *ParseEngineSelection(engine), RouteFabricOptions{});
    REQUIRE(routed);
    auto& subnets = routed->routes.subnets;
    auto switchless =
        std::find_if(subnets.begin(), subnets.end(), [](const SubnetRoutes& r) { return r.switches.empty(); });
    REQUIRE(switchless != subnets.end());
    const SubnetRoutes& back_to_back = *switchless;
    CHECK(back_to_back.engine == engine);
    CHECK(back_to_back.reason == "no switches: nothing to route");
    auto verdict = Verify(f, routed->routes, VerifyOptions{.threads = 1});
    REQUIRE(verdict);
    CHECK(verdict->violation_count == 0);
  }
}

// An engine for one topology class, too: there is nothing it could decline.
TEST_CASE("torus routes a fabric of two endpoints cabled back to back") {
  FabricBuilder b;
  const NodeId h1 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x20, .description = "h1"});
  const NodeId h2 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x21, .description = "h2"});
  REQUIRE(b.Connect(h1, 1, h2, 1, LinkRate{}));
  const Fabric f = *b.Build();
  auto routed = RouteFabric(f, *ParseEngineSelection("torus"), RouteFabricOptions{});
  REQUIRE(routed);
  REQUIRE(routed->routes.subnets.size() == 1);
  CHECK(routed->routes.subnets[0].engine == "torus");
  CHECK(routed->routes.subnets[0].reason == "no switches: nothing to route");
}

}  // namespace
}  // namespace fabricctl
