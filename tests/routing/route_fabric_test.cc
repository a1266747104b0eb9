#include "routing/route_fabric.h"

#include <doctest/doctest.h>

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
