#include "routing/dfsssp.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>

#include "fabric/generator.h"
#include "routing/metrics.h"
#include "routing/minhop.h"
#include "routing/verifier.h"
#include "tests/routing/route_check_fixtures.h"
#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

using testing::RouteAll;
using testing::Skeleton;

VerifyReport MustVerify(const Fabric& f, const RouteSet& rs) {
  auto r = Verify(f, rs);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().Format()));
  return *r;
}

TEST_CASE("dfsssp: a ring of 5 needs a second VL and verifies") {
  Fabric f = testing::Ring(5, 2);
  RouteSet rs = Skeleton(f);
  auto engine = MakeDfssspEngine();
  CHECK(engine->name() == "dfsssp");
  Outcome o = RouteAll(*engine, f, rs, {.max_vls = 8});
  REQUIRE_MESSAGE(o.status == EngineStatus::kOk, o.reason);
  CHECK(rs.subnets[0].num_vls > 1);
  VerifyReport rep = MustVerify(f, rs);
  CHECK(rep.pairs == 90);
  CHECK(rep.sound());
  CHECK(rep.subnets[0].vls_used == rs.subnets[0].num_vls);

  // The same paths on one VL: the verifier must find the loop dfsssp broke.
  rs.subnets[0].num_vls = 1;
  CHECK(MustVerify(f, rs).cdg_cycles > 0);
}

TEST_CASE("dfsssp: --vls 1 on a ring fails with a reason") {
  Fabric f = testing::Ring(5, 2);
  RouteSet rs = Skeleton(f);
  Outcome o = RouteAll(*MakeDfssspEngine(), f, rs, {.max_vls = 1});
  CHECK(o.status == EngineStatus::kFailed);
  CHECK(o.reason.find("needs more than 1 VL to break every credit loop") == 0);
}

TEST_CASE("dfsssp: a 2-tier fat tree needs one VL and is balanced") {
  Fabric f = testing::TwoTier(4, 2, 2);
  RouteSet rs = Skeleton(f);
  REQUIRE(RouteAll(*MakeDfssspEngine(), f, rs, {}).status == EngineStatus::kOk);
  CHECK(rs.subnets[0].num_vls == 1);
  CHECK(rs.subnets[0].pair_sl.empty());
  CHECK(MustVerify(f, rs).sound());
}

TEST_CASE("dfsssp: tori verify, also with failed links") {
  for (std::vector<int> dims : {std::vector<int>{4, 4}, {3, 3, 3}, {5, 4}, {6, 6}}) {
    CAPTURE(dims.size());
    Fabric f = testing::Torus(dims, 2);
    RouteSet rs = Skeleton(f);
    Outcome o = RouteAll(*MakeDfssspEngine(), f, rs, {.max_vls = 8});
    REQUIRE_MESSAGE(o.status == EngineStatus::kOk, o.reason);
    CHECK(MustVerify(f, rs).sound());
  }
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 6; ++trial) {
    Fabric full = testing::Torus({5, 5}, 1);
    // Drop ~4% of the switch-to-switch links (never a host link, which would drop an endpoint).
    std::vector<LinkId> inter;
    for (LinkId l = 0; l < full.num_links(); ++l)
      if (full.is_switch(full.port(full.link(l).a).node) && full.is_switch(full.port(full.link(l).b).node))
        inter.push_back(l);
    std::shuffle(inter.begin(), inter.end(), rng);
    std::vector<LinkId> gone(inter.begin(), inter.begin() + 2);
    Fabric f =
        testing::WithoutLinks(full, [&](LinkId l) { return std::find(gone.begin(), gone.end(), l) != gone.end(); });
    REQUIRE(f.subnets().size() == 1);
    RouteSet rs = Skeleton(f);
    Outcome o = RouteAll(*MakeDfssspEngine(), f, rs, {.max_vls = 8});
    REQUIRE_MESSAGE(o.status == EngineStatus::kOk, o.reason);
    VerifyReport rep = MustVerify(f, rs);
    CHECK(rep.sound());
  }
}

}  // namespace
}  // namespace fabricctl

namespace fabricctl {
namespace {

TEST_CASE("dfsssp: a 6x6x6 torus fits in 8 VLs (lowest-port paths when balanced ones need more)") {
  Fabric f = testing::Torus({6, 6, 6}, 1);
  RouteSet rs = testing::Skeleton(f);
  Outcome o = testing::RouteAll(*MakeDfssspEngine(), f, rs, {.max_vls = 8});
  REQUIRE_MESSAGE(o.status == EngineStatus::kOk, o.reason);
  CHECK(rs.subnets[0].num_vls >= 2);
  CHECK(rs.subnets[0].num_vls <= 8);
  auto rep = Verify(f, rs);
  REQUIRE(rep);
  CHECK(rep->sound());
  CHECK(rep->subnets[0].vls_used == rs.subnets[0].num_vls);
  // Two VLs are not enough for shortest paths on it.
  RouteSet two = testing::Skeleton(f);
  Outcome o2 = testing::RouteAll(*MakeDfssspEngine(), f, two, {.max_vls = 2});
  CHECK(o2.status == EngineStatus::kFailed);
  CHECK(o2.reason.find("(also with lowest-port shortest paths)") != std::string::npos);
}

}  // namespace
}  // namespace fabricctl

namespace fabricctl {
namespace {

TEST_CASE("escape: never more VLs than given, and still deadlock-free") {
  struct Case {
    Fabric f;
    unsigned vls;
  };
  std::vector<Case> cases;
  cases.push_back({testing::Ring(5, 2), 1});
  cases.push_back({testing::Ring(8, 1), 2});
  cases.push_back({testing::Torus({6, 6, 6}, 1), 2});
  cases.push_back({testing::Torus({6, 6, 6}, 1), 3});
  cases.push_back({testing::Torus({4, 4}, 2), 1});
  cases.push_back({testing::TwoTier(4, 2, 2), 1});
  for (const Case& c : cases) {
    CAPTURE(c.vls);
    CAPTURE(c.f.num_nodes());
    RouteSet rs = testing::Skeleton(c.f);
    auto engine = MakeEscapeEngine();
    CHECK(engine->name() == "escape");
    Outcome o = testing::RouteAll(*engine, c.f, rs, {.max_vls = uint8_t(c.vls)});
    REQUIRE_MESSAGE(o.status == EngineStatus::kOk, o.reason);
    CHECK(rs.subnets[0].num_vls <= c.vls);
    auto rep = Verify(c.f, rs);
    REQUIRE(rep);
    CHECK(rep->sound());
  }
  // Where dfsssp alone fails, escape with the same VLs does not.
  Fabric t = testing::Torus({6, 6, 6}, 1);
  RouteSet rs = testing::Skeleton(t);
  CHECK(testing::RouteAll(*MakeDfssspEngine(), t, rs, {.max_vls = 2}).status == EngineStatus::kFailed);
  rs = testing::Skeleton(t);
  CHECK(testing::RouteAll(*MakeEscapeEngine(), t, rs, {.max_vls = 2}).status == EngineStatus::kOk);
  CHECK(rs.subnets[0].reason.find("destinations on the Up*/Down* escape VL") != std::string::npos);
  CHECK(rs.subnets[0].num_vls <= 2);
}

// Routes f with dfsssp and with escape on `vls` VLs; checks that escape needed no escape VL
// and gave dfsssp's tables; returns dfsssp's reason.
std::string EscapeMatchesDfsssp(const Fabric& f, unsigned vls) {
  RouteSet strict = testing::Skeleton(f);
  REQUIRE(testing::RouteAll(*MakeDfssspEngine(), f, strict, {.max_vls = uint8_t(vls)}).status == EngineStatus::kOk);
  REQUIRE(strict.subnets[0].num_vls == vls);  // every VL given is needed
  RouteSet escape = testing::Skeleton(f);
  REQUIRE(testing::RouteAll(*MakeEscapeEngine(), f, escape, {.max_vls = uint8_t(vls)}).status == EngineStatus::kOk);
  CHECK(escape.subnets[0].reason.find("escape VL") == std::string::npos);
  CHECK(escape.subnets[0].num_vls == vls);
  CHECK(escape.subnets[0].lft == strict.subnets[0].lft);
  CHECK(escape.subnets[0].pair_sl == strict.subnets[0].pair_sl);
  return strict.subnets[0].reason;
}

TEST_CASE("escape: where shortest paths fit in every VL given, the tables are dfsssp's") {
  // A 6x6x6 torus: lowest-port shortest paths need 4 layers (balanced ones more than 8).
  Fabric t = testing::Torus({6, 6, 6}, 1);
  CHECK(EscapeMatchesDfsssp(t, 4) == kDfssspLowestPortReason);
  // One VL fewer: the last is the escape VL.
  RouteSet escape = testing::Skeleton(t);
  REQUIRE(testing::RouteAll(*MakeEscapeEngine(), t, escape, {.max_vls = 3}).status == EngineStatus::kOk);
  CHECK(escape.subnets[0].reason.find("destinations on the Up*/Down* escape VL 2") != std::string::npos);
  // A random regular graph whose load-balanced shortest paths need as many layers as given.
  auto jellyfish = Generate("jellyfish", {{"switches", "50"}, {"degree", "8"}, {"hosts", "4"}});
  REQUIRE(jellyfish);
  RouteSet probe = testing::Skeleton(*jellyfish);
  REQUIRE(testing::RouteAll(*MakeDfssspEngine(), *jellyfish, probe, {.max_vls = 8}).status == EngineStatus::kOk);
  const unsigned needed = probe.subnets[0].num_vls;
  REQUIRE(needed >= 2);
  CHECK(EscapeMatchesDfsssp(*jellyfish, needed).empty());  // balanced paths, no fallback
}

TEST_CASE("dfsssp and escape refuse zero VLs with a reason") {
  Fabric ring = testing::Ring(5, 2);
  for (auto make : {MakeDfssspEngine, MakeEscapeEngine}) {
    RouteSet rs = testing::Skeleton(ring);
    Outcome o = testing::RouteAll(*make(), ring, rs, {.max_vls = 0});
    CHECK(o.status == EngineStatus::kFailed);
    CHECK(o.reason.find("no VL to route on") != std::string::npos);
  }
}

TEST_CASE("escape with one VL: shortest paths where they are acyclic, escape trees elsewhere") {
  // A mesh: lowest-port shortest paths are dimension-order-like and acyclic on one VL, so
  // nothing needs the escape trees.
  Fabric mesh = testing::Torus({4, 3}, 1, /*wrap=*/false);
  RouteSet rs = testing::Skeleton(mesh);
  Outcome o = testing::RouteAll(*MakeEscapeEngine(), mesh, rs, {.max_vls = 1});
  REQUIRE_MESSAGE(o.status == EngineStatus::kOk, o.reason);
  CHECK(rs.subnets[0].num_vls == 1);
  CHECK(rs.subnets[0].reason.find("escape VL") == std::string::npos);
  auto rep = Verify(mesh, rs);
  REQUIRE(rep);
  CHECK(rep->sound());
  // A torus: every destination rides the escape trees, and the result is still sound.
  Fabric torus = testing::Torus({4, 4, 4}, 1);
  rs = testing::Skeleton(torus);
  o = testing::RouteAll(*MakeEscapeEngine(), torus, rs, {.max_vls = 1});
  REQUIRE_MESSAGE(o.status == EngineStatus::kOk, o.reason);
  CHECK(rs.subnets[0].num_vls == 1);
  CHECK(rs.subnets[0].reason == "64 of 64 destinations on the Up*/Down* escape VL 0");
  rep = Verify(torus, rs);
  REQUIRE(rep);
  CHECK(rep->sound());
}

}  // namespace
}  // namespace fabricctl

namespace fabricctl {
namespace {

// A seeded random regular graph (Jellyfish): `n` switches with `degree` switch-to-switch
// cables each and `hosts` endpoints each; pairs of free ports are joined at random, and
// the draw is repeated until it has no self-loop, no double cable and one component.
Fabric RandomRegular(unsigned n, unsigned degree, unsigned hosts, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (;;) {
    std::vector<unsigned> stubs;
    for (unsigned s = 0; s < n; ++s) stubs.insert(stubs.end(), degree, s);
    std::shuffle(stubs.begin(), stubs.end(), rng);
    std::set<std::pair<unsigned, unsigned>> cables;
    bool simple = true;
    for (size_t i = 0; i + 1 < stubs.size() && simple; i += 2) {
      auto [a, b] = std::minmax(stubs[i], stubs[i + 1]);
      simple = a != b && cables.insert({a, b}).second;
    }
    if (!simple) continue;
    FabricBuilder b;
    std::vector<NodeId> sw(n);
    for (unsigned s = 0; s < n; ++s)
      sw[s] = *b.AddNode({.type = NodeType::kSwitch,
                          .num_ports = hosts + degree,
                          .guid = 0x5000 + s,
                          .description = fmt::format("jf{}", s)});
    std::vector<unsigned> next_port(n, hosts + 1);
    for (auto [a, c] : cables) REQUIRE(b.Connect(sw[a], next_port[a]++, sw[c], next_port[c]++, LinkRate{}));
    for (unsigned s = 0; s < n; ++s)
      for (unsigned h = 0; h < hosts; ++h) {
        NodeId e = *b.AddNode({.type = NodeType::kCa,
                               .num_ports = 1,
                               .guid = 0x50000 + s * 16 + h,
                               .description = fmt::format("jf{}-h{}", s, h)});
        REQUIRE(b.Connect(e, 1, sw[s], h + 1, LinkRate{}));
      }
    auto f = b.Build();
    REQUIRE(f);
    if (f->subnets().size() == 1) return std::move(*f);
  }
}

uint64_t BusiestChannel(const Fabric& f, const RouteSet& rs) {
  auto m = Measure(f, rs, {.permutations = 0});
  REQUIRE_MESSAGE(m, (m ? "" : m.error().Format()));
  return m->max_channel_load;
}

TEST_CASE("dfsssp: a random regular fabric fits in 8 VLs, balanced well below the all-on-one-path worst case") {
  for (uint64_t seed : {1, 2, 3}) {
    CAPTURE(seed);
    Fabric f = RandomRegular(40, 6, 2, seed);
    RouteSet rs = Skeleton(f);
    Outcome o = RouteAll(*MakeDfssspEngine(), f, rs, {.max_vls = 8});
    REQUIRE_MESSAGE(o.status == EngineStatus::kOk, o.reason);
    // Balanced shortest paths, not the lowest-port fallback.
    CHECK(rs.subnets[0].reason.empty());
    CHECK(rs.subnets[0].num_vls <= 8);
    VerifyReport rep = MustVerify(f, rs);
    CHECK(rep.sound());
    CHECK(rep.pairs == 80 * 79);
    CHECK(rep.subnets[0].vls_used == rs.subnets[0].num_vls);
    // Whole-path balancing with a second pass beats minhop's per-switch balancing of the
    // same shortest paths.
    RouteSet mh = Skeleton(f);
    REQUIRE(RouteAll(*MakeMinhopEngine(), f, mh, {}).status == EngineStatus::kOk);
    CHECK(BusiestChannel(f, rs) < BusiestChannel(f, mh));
  }
}

// The greedy layering moves every path using a cycle's least-used dependency up a layer;
// many of them fit lower down on their own, and moving them empties the top layer. On this
// fabric the greedy layering needs 6 VLs, OpenSM's dfsssp 5.
TEST_CASE("dfsssp: paths of the top layer move down where they fit, and the layer goes") {
  auto f = Generate("jellyfish",
                    {{"switches", "70"}, {"degree", "7"}, {"hosts", "4"}, {"seed", "21"}, {"fail_links", "0.04"}});
  REQUIRE(f);
  RouteSet rs = Skeleton(*f);
  Outcome o = RouteAll(*MakeDfssspEngine(), *f, rs, {.max_vls = 8});
  REQUIRE_MESSAGE(o.status == EngineStatus::kOk, o.reason);
  CHECK(rs.subnets[0].reason.empty());  // balanced paths, not the lowest-port fallback
  CHECK(rs.subnets[0].num_vls == 5);
  VerifyReport rep = MustVerify(*f, rs);
  CHECK(rep.sound());
  CHECK(rep.subnets[0].vls_used == rs.subnets[0].num_vls);
}

TEST_CASE("dfsssp: a 3-tier fat tree with failed cables routes on one VL near its lower bound") {
  Fabric full = testing::ThreeTierFatTree({.pods = 4, .leaves = 4, .aggs = 4, .cores = 4, .hosts = 4});
  std::vector<LinkId> inter;
  for (LinkId l = 0; l < full.num_links(); ++l)
    if (full.is_switch(full.port(full.link(l).a).node) && full.is_switch(full.port(full.link(l).b).node))
      inter.push_back(l);
  std::mt19937_64 rng(11);
  std::shuffle(inter.begin(), inter.end(), rng);
  const std::set<LinkId> gone(inter.begin(), inter.begin() + 6);  // ~5% of 128 cables
  Fabric f = testing::WithoutLinks(full, [&](LinkId l) { return gone.count(l) != 0; });
  REQUIRE(f.subnets().size() == 1);
  RouteSet rs = Skeleton(f);
  Outcome o = RouteAll(*MakeDfssspEngine(), f, rs, {.max_vls = 8});
  REQUIRE_MESSAGE(o.status == EngineStatus::kOk, o.reason);
  CHECK(MustVerify(f, rs).sound());
  auto m = Measure(f, rs, {.permutations = 0});
  REQUIRE(m);
  CHECK(m->subnets[0].max_channel_load * 10 <= m->subnets[0].channel_load_lower_bound * 15);
}

}  // namespace
}  // namespace fabricctl
