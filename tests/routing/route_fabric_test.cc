#include "routing/route_fabric.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>

#include "fabric/fabric_builder.h"
#include "fabric/generator.h"
#include "routing/registry.h"
#include "routing/route_summary.h"
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

// Switches of 1-16 ports and hosts of 1-2 ports cabled at random: parallel cables, host
// to host, a switch to itself, cables left untrained, some at 1x or DDR, parts cut off.
Fabric RandomlyWired(std::mt19937_64& rng) {
  auto below = [&](unsigned n) { return static_cast<unsigned>(rng() % n); };
  FabricBuilder b;
  std::vector<std::pair<NodeId, unsigned>> ports;
  uint64_t guid = 0x1000;
  auto add = [&](NodeType type, unsigned num_ports) {
    const NodeId n = *b.AddNode({.type = type, .num_ports = num_ports, .guid = guid++, .description = "n"});
    for (unsigned p = 1; p <= num_ports; ++p) ports.emplace_back(n, p);
  };
  for (unsigned i = 1 + below(30); i-- > 0;) add(NodeType::kSwitch, 1 + below(16));
  for (unsigned i = below(40); i-- > 0;) add(NodeType::kCa, 1 + below(2));
  std::shuffle(ports.begin(), ports.end(), rng);
  const size_t cables = below(static_cast<unsigned>(ports.size() / 2 + 1));
  for (size_t i = 0; i < cables; ++i) {
    const auto [a, pa] = ports[2 * i];
    const auto [z, pz] = ports[2 * i + 1];
    const LinkRate rate{.width = below(4) ? LinkWidth::k4x : LinkWidth::k1x,
                        .speed = below(3) ? LinkSpeed::kHDR : LinkSpeed::kDDR};
    // One cable in ten is untrained: its ports are not Active.
    const bool cabled = (below(10) ? b.Connect(a, pa, z, pz, rate) : b.Connect(a, pa, z, pz)).has_value();
    REQUIRE(cabled);
  }
  auto built = b.Build();
  REQUIRE(built);
  return std::move(*built);
}

// Two or three rows of switches, each cabled to most of the next row (one pair in eight
// missing, one in six doubled, one in seven at DDR), a few cables within a row, hosts on
// the bottom row and sometimes one on the top: fat trees as far as a tree test can tell,
// and shapes just past them.
Fabric LayeredWithFaults(std::mt19937_64& rng) {
  auto below = [&](unsigned n) { return static_cast<unsigned>(rng() % n); };
  const unsigned rows = 2 + below(2), width = 2 + below(6), radix = 4 + below(12);
  FabricBuilder b;
  std::vector<std::vector<NodeId>> row(rows);
  std::vector<std::vector<unsigned>> used(rows, std::vector<unsigned>(width, 0));
  uint64_t guid = 0x1000;
  for (auto& switches : row)
    for (unsigned i = 0; i < width; ++i)
      switches.push_back(
          *b.AddNode({.type = NodeType::kSwitch, .num_ports = radix, .guid = guid++, .description = "s"}));
  // Cables switches r:i and q:j when both have a port left.
  auto cable = [&](unsigned r, unsigned i, unsigned q, unsigned j, LinkRate rate) {
    if (used[r][i] == radix || used[q][j] == radix || (r == q && i == j)) return;
    REQUIRE(b.Connect(row[r][i], ++used[r][i], row[q][j], ++used[q][j], rate));
  };
  const LinkRate slow{.width = LinkWidth::k4x, .speed = LinkSpeed::kDDR};
  for (unsigned r = 0; r + 1 < rows; ++r)
    for (unsigned i = 0; i < width; ++i)
      for (unsigned j = 0; j < width; ++j)
        for (unsigned copies = below(8) == 0 ? 0 : below(6) == 0 ? 2 : 1; copies-- > 0;)
          cable(r, i, r + 1, j, below(7) ? LinkRate{} : slow);
  for (unsigned sideways = below(3); sideways-- > 0;) {
    const unsigned r = below(rows);
    cable(r, below(width), r, below(width), LinkRate{});
  }
  auto host = [&](unsigned r, unsigned i) {
    if (used[r][i] == radix) return;
    const NodeId h = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = guid++, .description = "h"});
    REQUIRE(b.Connect(h, 1, row[r][i], ++used[r][i], LinkRate{}));
  };
  for (unsigned i = 0; i < width; ++i)
    for (unsigned hosts = below(4); hosts-- > 0;) host(0, i);
  if (below(4) == 0) host(rows - 1, 0);
  auto built = b.Build();
  REQUIRE(built);
  return std::move(*built);
}

// What every routed subnet must be, whatever the wiring: every pair of the subnet
// delivered, no entry into a dead port, no loop, no route through an endpoint, VLs within
// the budget, and no credit loop where the engine promises none; the route summary (the
// check `route compute --no-verify` reports) agrees with the verifier.
void CheckRouted(const Fabric& f, const EngineInfo& engine, uint8_t max_vls, const FabricRoutes& routed) {
  auto verdict = Verify(f, routed.routes, VerifyOptions{.max_violations = 3, .threads = 1});
  REQUIRE(verdict);
  for (const Violation& v : verdict->violations) MESSAGE(v.text);
  for (size_t i = 0; i < verdict->subnets.size(); ++i) {
    const SubnetVerdict& subnet = verdict->subnets[i];
    if (!subnet.routed) continue;
    CHECK(subnet.unreachable_pairs == 0);
    CHECK(subnet.loop_pairs == 0);
    CHECK(subnet.through_endpoint_pairs == 0);
    CHECK(subnet.dead_port_entries == 0);
    CHECK(subnet.bad_vl_pairs == 0);
    CHECK(subnet.vls_used <= max_vls);
    if (engine.deadlock_free) CHECK(subnet.cdg_cycles == 0);
    const SubnetRoutes& routes = routed.routes.subnets[i];
    const RouteSummary summary = SummarizeRoutes(f, f.subnets()[i], routes, 1);
    CHECK(summary.unreachable_pairs == subnet.unreachable_pairs);
    if (routes.num_vls <= 1 && summary.deadlock_free) CHECK(*summary.deadlock_free == (subnet.cdg_cycles == 0));
  }
}

TEST_CASE("every engine on randomly wired fabrics: a clear refusal, or sound tables") {
  std::map<std::string_view, unsigned> routed_by;
  for (uint64_t seed = 0; seed < 160; ++seed) {
    std::mt19937_64 rng(seed);
    const Fabric f = seed % 2 ? LayeredWithFaults(rng) : RandomlyWired(rng);
    for (const EngineInfo& engine : Engines()) {
      auto selection = ParseEngineSelection(engine.name);
      REQUIRE(selection);
      for (const uint8_t max_vls : {uint8_t{1}, uint8_t{8}}) {
        INFO("seed " << seed << ", engine " << engine.name << ", --vls " << int(max_vls));
        auto routed = RouteFabric(f, *selection, RouteFabricOptions{.engine = {.max_vls = max_vls}, .threads = 1});
        if (!routed) {
          CHECK_FALSE(routed.error().Format().empty());
          continue;
        }
        ++routed_by[engine.name];
        CheckRouted(f, engine, max_vls, *routed);
      }
    }
  }
  // Every engine met fabrics it routes, so the checks above ran for each.
  for (const EngineInfo& engine : Engines()) {
    INFO(engine.name);
    CHECK(routed_by[engine.name] > 0);
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
