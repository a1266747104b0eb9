// The degrade step every generator takes: fail_switches, fail_links, slow_links, seed.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "fabric/generator.h"
#include "fabric/ibnetdiscover_format.h"
#include "fabric/ibsim_format.h"
#include "routing/verifier.h"
#include "tests/fabric/generators_test_util.h"
#include "tests/routing/route_check.h"

namespace fabricctl {
namespace {

using testing::Gen;
using testing::GenError;

size_t Switches(const Fabric& f) {
  size_t n = 0;
  for (NodeId i = 0; i < f.num_nodes(); ++i) n += f.is_switch(i);
  return n;
}

bool SwitchLink(const Fabric& f, LinkId l) {
  return f.is_switch(f.port(f.link(l).a).node) && f.is_switch(f.port(f.link(l).b).node);
}

size_t SwitchLinks(const Fabric& f) {
  size_t n = 0;
  for (LinkId l = 0; l < f.num_links(); ++l) n += SwitchLink(f, l);
  return n;
}

// Switch-to-switch cables whose both ends are active at `rate`.
size_t LinksAt(const Fabric& f, LinkRate rate) {
  size_t n = 0;
  for (LinkId l = 0; l < f.num_links(); ++l) {
    const Port& a = f.port(f.link(l).a);
    const Port& b = f.port(f.link(l).b);
    n += a.width_active == rate.width && a.speed_active == rate.speed && b.width_active == rate.width &&
         b.speed_active == rate.speed;
  }
  return n;
}

void CheckEveryEndpointCabled(const Fabric& f) {
  for (NodeId n = 0; n < f.num_nodes(); ++n)
    if (!f.is_switch(n)) CHECK_MESSAGE(!f.neighbors(n).empty(), f.description(n));
}

const LinkRate kDdr{.width = LinkWidth::k4x, .speed = LinkSpeed::kDDR};

TEST_CASE("fail_links and slow_links take exact counts and shares of the switch cables") {
  const GeneratorParams base = {{"k", "8"}, {"tiers", "3"}};
  const Fabric full = Gen("fat-tree", base);
  REQUIRE(SwitchLinks(full) == 256);

  auto with = [&](GeneratorParams extra) {
    GeneratorParams p = base;
    p.insert(extra.begin(), extra.end());
    return Gen("fat-tree", p);
  };
  CHECK(SwitchLinks(with({{"fail_links", "12"}})) == 256 - 12);
  CHECK(SwitchLinks(with({{"fail_links", "0.03"}})) == 256 - 8);  // 7.68 rounds to 8
  CHECK(SwitchLinks(with({{"fail_links", "3%"}})) == 256 - 8);
  CHECK(LinksAt(with({{"slow_links", "5"}}), kDdr) == 5);
  CHECK(LinksAt(with({{"slow_links", "0.1"}, {"slow_rate", "2xHDR"}}),
                LinkRate{.width = LinkWidth::k2x, .speed = LinkSpeed::kHDR}) == 26);

  const Fabric degraded = with({{"fail_links", "20"}, {"slow_links", "10"}});
  CHECK(SwitchLinks(degraded) == 236);
  CHECK(LinksAt(degraded, kDdr) == 10);
  CHECK(Switches(degraded) == 80);
  CHECK(degraded.subnets().size() == 1);  // never split
  CHECK(degraded.num_nodes() == full.num_nodes());
}

TEST_CASE("fail_switches removes switches with their cables and drops endpoints left without one") {
  const Fabric full = Gen("fat-tree", {{"k", "8"}, {"tiers", "3"}});
  for (std::string seed : {"1", "2", "3", "4", "5", "6"}) {
    INFO("seed " << seed);
    const Fabric f = Gen("fat-tree", {{"k", "8"}, {"tiers", "3"}, {"fail_switches", "3"}, {"seed", seed}});
    REQUIRE(Switches(f) == 77);
    CHECK(f.subnets().size() == 1);
    CheckEveryEndpointCabled(f);
    // What is left is exactly the original without the removed switches and the endpoints
    // that hung only on them.
    std::set<uint64_t> kept;
    for (const Node& n : f.nodes()) kept.insert(n.guid);
    size_t expected_links = 0;
    for (LinkId l = 0; l < full.num_links(); ++l)
      expected_links += kept.contains(full.node(full.port(full.link(l).a).node).guid) &&
                        kept.contains(full.node(full.port(full.link(l).b).node).guid);
    CHECK(f.num_links() == expected_links);
    size_t dropped_endpoints = full.num_nodes() - 80 - (f.num_nodes() - 77);
    CHECK(dropped_endpoints % 4 == 0);  // a k=8 leaf takes its 4 hosts with it
  }
}

TEST_CASE("the same seed gives the same fabric byte for byte; another seed another one") {
  const GeneratorParams p = {
      {"k", "8"}, {"tiers", "3"}, {"fail_links", "0.05"}, {"fail_switches", "2"}, {"slow_links", "7"}};
  GeneratorParams other = p;
  other["seed"] = "2";
  const Fabric a = Gen("fat-tree", p);
  const Fabric b = Gen("fat-tree", p);
  CHECK(a == b);
  CHECK(WriteIbnetdiscover(a) == WriteIbnetdiscover(b));
  CHECK(WriteIbsimTopology(a) == WriteIbsimTopology(b));
  CHECK(WriteIbnetdiscover(a) != WriteIbnetdiscover(Gen("fat-tree", other)));
}

TEST_CASE("slow links keep their slow rate in the written ibnetdiscover and ibsim files") {
  const Fabric f = Gen("torus", {{"dims", "4x4"}, {"slow_links", "6"}, {"rate", "4xHDR"}});
  REQUIRE(LinksAt(f, kDdr) == 6);
  auto read = ParseIbnetdiscover(WriteIbnetdiscover(f), "t.topo");
  REQUIRE(read);
  CHECK(LinksAt(*read, kDdr) == 6);
  // What ibnetdiscover sees once ibsim trains the written file: a 4xDDR cable stays 4xDDR.
  auto seen = IbsimExpectedFabric(f);
  REQUIRE(seen);
  CHECK(LinksAt(*seen, kDdr) == 6);
  CHECK(LinksAt(*seen, LinkRate{.width = LinkWidth::k4x, .speed = LinkSpeed::kHDR}) == f.num_links() - 6);
}

TEST_CASE("every generator takes the degrade parameters and stays in one piece per subnet") {
  for (const GeneratorInfo& g : Generators()) {
    INFO(g.name);
    GeneratorParams p = {{"fail_links", "0.05"}, {"fail_switches", "1"}, {"slow_links", "0.1"}, {"seed", "9"}};
    if (g.name.starts_with("scalex")) p["accelerators"] = "64";
    if (g.name == "scalex-cluster") p["super_nodes"] = "2";
    if (g.name == "supernode") p["preset"] = "cm384";  // nvl72's planes are single switches
    GeneratorParams plain_params = p;
    for (const GeneratorParam& common : CommonGeneratorParams()) plain_params.erase(std::string(common.key));
    const Fabric plain = Gen(g.name, plain_params);
    const Fabric f = Gen(g.name, p);
    CHECK(Switches(f) == Switches(plain) - 1);
    CHECK(f.subnets().size() == plain.subnets().size());
    CheckEveryEndpointCabled(f);
    CHECK(LinksAt(f, kDdr) > 0);
  }
}

TEST_CASE("degraded fabrics route deadlock-free with updn") {
  const std::pair<std::string_view, GeneratorParams> cases[] = {
      {"fat-tree", {{"k", "8"}, {"tiers", "3"}, {"fail_links", "0.03"}, {"fail_switches", "2"}}},
      {"torus", {{"dims", "4x4x3"}, {"fail_links", "3"}, {"slow_links", "0.2"}}},
      {"dragonfly", {{"fail_links", "4"}, {"fail_switches", "1"}}},
      {"jellyfish", {{"switches", "30"}, {"degree", "5"}, {"hosts", "2"}, {"fail_links", "0.1"}}},
  };
  for (const auto& [name, params] : cases) {
    INFO(name);
    const Fabric f = Gen(name, params);
    auto routed = testing::RouteWith(f, "updn");
    REQUIRE(routed);
    auto verdict = Verify(f, routed->routes);
    REQUIRE(verdict);
    CHECK(verdict->sound());
    CHECK(verdict->deadlock_free());
    for (const Violation& v : verdict->violations) MESSAGE(v.text);
  }
}

TEST_CASE("bad degrade values name the key and the value") {
  const GeneratorParams ft = {{"k", "4"}, {"tiers", "2"}};
  auto error = [&](std::string key, std::string value) {
    GeneratorParams p = ft;
    p[key] = value;
    return GenError("fat-tree", p);
  };
  CHECK(error("fail_links", "lots").find("bad value 'lots' for fail_links") != std::string::npos);
  CHECK(error("fail_links", "1.5").find("bad value '1.5' for fail_links") != std::string::npos);
  CHECK(error("fail_links", "-3").find("bad value '-3' for fail_links") != std::string::npos);
  CHECK(error("slow_links", "200%").find("bad value '200%' for slow_links") != std::string::npos);
  CHECK(error("slow_rate", "fast").find("bad value 'fast' for slow_rate") != std::string::npos);
  CHECK(error("seed", "x").find("bad value 'x' for seed") != std::string::npos);
  // k=4, 2 tiers: 6 switches, 8 switch cables, 5 of them a spanning tree.
  const std::string all = error("fail_switches", "6");
  CHECK(all.find("fat-tree: bad value '6' for fail_switches") != std::string::npos);
  CHECK(all.find("at least one must remain") != std::string::npos);
  const std::string split = error("fail_links", "4");
  CHECK(split.find("bad value '4' for fail_links: at most 3 of the 8") != std::string::npos);
  CHECK(error("slow_links", "9").find("bad value '9' for slow_links") != std::string::npos);
  CHECK(SwitchLinks(Gen("fat-tree", {{"k", "4"}, {"tiers", "2"}, {"fail_links", "3"}})) == 5);
  // A single-switch part (an NVL72 plane) is never removed.
  CHECK(GenError("supernode", {{"fail_switches", "1"}}).find("only 0 of the 18 switches can fail") !=
        std::string::npos);
  CHECK(GenError("fat-tree", {{"fail_link", "3"}}).find("did you mean 'fail_links'") != std::string::npos);
}

}  // namespace
}  // namespace fabricctl
