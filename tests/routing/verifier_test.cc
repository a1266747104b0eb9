#include "routing/verifier.h"

#include <doctest/doctest.h>

#include "tests/routing/route_check_fixtures.h"

namespace fabricctl {
namespace {

using testing::LidOf;
using testing::Ring;
using testing::RingShortestPaths;
using testing::SetEntry;
using testing::Skeleton;

VerifyReport MustVerify(const Fabric& f, const RouteSet& rs, VerifyOptions opt = {}) {
  auto r = Verify(f, rs, opt);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().Format()));
  return *r;
}

// Two VLs with identity SL->VL maps everywhere; every pair on SL 0 until changed.
void MakeTwoVl(const Fabric& f, RouteSet& rs) {
  SubnetRoutes& r = rs.subnets[0];
  r.num_vls = 2;
  const Subnet& sn = f.subnets()[r.subnet];
  r.pair_sl.assign(sn.endpoint_ports.size() * r.num_lids(), 0);
  unsigned max_port = 0;
  for (NodeId s : r.switches) max_port = std::max<unsigned>(max_port, f.node(s).num_ports);
  r.sl2vl_stride = max_port + 1;
  r.sl2vl.assign(r.switches.size() * r.sl2vl_stride * r.sl2vl_stride * 16, 0);
  for (size_t i = 0; i < r.sl2vl.size(); ++i) r.sl2vl[i] = uint8_t(i % 16 < 2 ? i % 16 : 0);
  for (uint8_t s = 0; s < 16; ++s) r.endpoint_sl2vl[s] = s < 2 ? s : 0;
}

size_t EndpointIndex(const Fabric& f, const RouteSet& rs, std::string_view desc) {
  const Subnet& sn = f.subnets()[rs.subnets[0].subnet];
  PortId p = f.port_id(*f.FindByDescription(desc), 1);
  for (size_t e = 0; e < sn.endpoint_ports.size(); ++e)
    if (sn.endpoint_ports[e] == p) return e;
  FAIL("no endpoint " << desc);
  return 0;
}

TEST_CASE("verifier: minhop-style shortest paths on a ring of 4 deadlock and the cycle is printed") {
  Fabric f = Ring(4);
  RouteSet rs = Skeleton(f);
  RingShortestPaths(f, rs, 4);
  VerifyReport rep = MustVerify(f, rs);
  CHECK(rep.pairs == 12);
  CHECK(rep.unreachable_pairs == 0);
  CHECK(rep.loop_pairs == 0);
  CHECK(rep.cdg_cycles == 1);
  CHECK_FALSE(rep.sound());
  CHECK_FALSE(rep.deadlock_free());
  REQUIRE(!rep.violations.empty());
  const Violation& v = rep.violations[0];
  CHECK(v.kind == ViolationKind::kCreditLoop);
  REQUIRE(v.cycle.size() == 4);
  CHECK(FormatCycle(f, v.cycle) == "s0:2 -> s1:2 -> s2:2 -> s3:2 -> s0:2");
  CHECK(v.text == "credit loop in subnet " + f.subnets()[0].name + ": s0:2 -> s1:2 -> s2:2 -> s3:2 -> s0:2");
}

TEST_CASE("verifier: a ring of 3 has only one-hop paths and is sound") {
  Fabric f = Ring(3);
  RouteSet rs = Skeleton(f);
  RingShortestPaths(f, rs, 3);
  VerifyReport rep = MustVerify(f, rs);
  CHECK(rep.pairs == 6);
  CHECK(rep.sound());
  CHECK(rep.subnets[0].vls_used == 1);
}

TEST_CASE("verifier: routing around one ring link breaks the cycle; the line is sound") {
  Fabric f = Ring(5, 2);
  RouteSet rs = Skeleton(f);
  // Treat the ring as the line s0 - s1 - s2 - s3 - s4: never use the s4 -- s0 cable.
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j)
      for (int k = 0; k < 2; ++k)
        SetEntry(f, rs, fmt::format("s{}", i), LidOf(f, rs, fmt::format("h{}_{}", j, k)),
                 i == j  ? uint8_t(k + 1)
                 : j > i ? 3
                         : 4);
  VerifyReport rep = MustVerify(f, rs, {.threads = 2});
  CHECK(rep.pairs == 90);
  CHECK(rep.sound());
  CHECK(rep.subnets[0].cdg_dependencies > 0);
  CHECK(rep.subnets[0].cdg_cycles == 0);
}

TEST_CASE("verifier: a forwarding loop is caught") {
  Fabric f = Ring(4);
  RouteSet rs = Skeleton(f);
  RingShortestPaths(f, rs, 4);
  Lid h2 = LidOf(f, rs, "h2_0");
  SetEntry(f, rs, "s1", h2, 3);  // back to s0, which sends it to s1 again
  VerifyReport rep = MustVerify(f, rs);
  // h0 (s0 -> s1 -> s0 ...) and h1 (s1 -> s0 -> s1 ...) loop; h3 goes s3 -> s2 directly.
  CHECK(rep.loop_pairs == 2);
  CHECK_FALSE(rep.sound());
  bool seen = false;
  for (const Violation& v : rep.violations)
    if (v.kind == ViolationKind::kLoop) {
      seen = true;
      CHECK(v.destination == h2);
      CHECK(v.text.find("forwarding loop through") != std::string::npos);
    }
  CHECK(seen);
}

TEST_CASE("verifier: an unreachable pair is caught and counted exactly") {
  Fabric f = Ring(4);
  RouteSet rs = Skeleton(f);
  RingShortestPaths(f, rs, 4);
  Lid h3 = LidOf(f, rs, "h3_0");
  SetEntry(f, rs, "s1", h3, kNoRoute);  // only h1 -> h3 (s1 -> s2 -> s3) passes s1
  VerifyReport rep = MustVerify(f, rs);
  CHECK(rep.unreachable_pairs == 1);
  CHECK(rep.loop_pairs == 0);
  bool seen = false;
  for (const Violation& v : rep.violations)
    if (v.kind == ViolationKind::kUnreachable) {
      seen = true;
      CHECK(v.text == fmt::format("h1_0[1] -> h3_0[1] (LID {}): s1 has no LFT entry for LID {}", h3, h3));
    }
  CHECK(seen);
}

TEST_CASE("verifier: a path through an endpoint is caught") {
  Fabric f = Ring(4);
  RouteSet rs = Skeleton(f);
  RingShortestPaths(f, rs, 4);
  Lid h2 = LidOf(f, rs, "h2_0");
  SetEntry(f, rs, "s0", h2, 1);  // s0 hands h2's traffic to its own host h0
  VerifyReport rep = MustVerify(f, rs);
  CHECK(rep.through_endpoint_pairs == 1);
  bool seen = false;
  for (const Violation& v : rep.violations)
    if (v.kind == ViolationKind::kThroughEndpoint) {
      seen = true;
      CHECK(v.text.find("path enters endpoint h0_0[1]") != std::string::npos);
    }
  CHECK(seen);
}

TEST_CASE("verifier: an LFT entry to a port without a cable is caught") {
  Fabric f = Ring(3);
  RouteSet rs = Skeleton(f);
  RingShortestPaths(f, rs, 3);
  Lid s2 = LidOf(f, rs, "s2");
  SetEntry(f, rs, "s0", s2, 7);  // switch LIDs are not checked for reachability, but dead ports are
  VerifyReport rep = MustVerify(f, rs);
  CHECK(rep.dead_port_entries == 1);
  CHECK(rep.unreachable_pairs == 0);
  REQUIRE(!rep.violations.empty());
  CHECK(rep.violations[0].kind == ViolationKind::kDeadPort);
  CHECK(rep.violations[0].text == fmt::format("s0 forwards LID {} to port 7, which has no cable", s2));
}

TEST_CASE("verifier: SLs that move the wrapping paths to VL 1 make the ring deadlock-free") {
  Fabric f = Ring(4);
  RouteSet rs = Skeleton(f);
  RingShortestPaths(f, rs, 4);
  MakeTwoVl(f, rs);
  SubnetRoutes& r = rs.subnets[0];
  SUBCASE("all on SL 0: the cycle is on VL 0") {
    VerifyReport rep = MustVerify(f, rs);
    CHECK(rep.cdg_cycles == 1);
    CHECK(rep.subnets[0].vls_used == 1);
  }
  SUBCASE("paths over the s3 -> s0 cable on SL 1") {
    // Clockwise paths that use s3 -> s0: h2 -> h0 and h3 -> h0 (2 and 1 hops), h3 -> h1.
    for (auto [src, dst] : {std::pair{"h2_0", "h0_0"}, {"h3_0", "h0_0"}, {"h3_0", "h1_0"}})
      r.pair_sl[EndpointIndex(f, rs, src) * r.num_lids() + LidOf(f, rs, dst)] = 1;
    VerifyReport rep = MustVerify(f, rs);
    CHECK(rep.sound());
    CHECK(rep.subnets[0].vls_used == 2);
  }
  SUBCASE("an SL2VL map to a VL the subnet does not have") {
    r.pair_sl[EndpointIndex(f, rs, "h2_0") * r.num_lids() + LidOf(f, rs, "h0_0")] = 1;
    r.endpoint_sl2vl[1] = 5;
    VerifyReport rep = MustVerify(f, rs);
    CHECK(rep.bad_vl_pairs == 1);
    CHECK_FALSE(rep.sound());
  }
}

TEST_CASE("verifier: a constructed cyclic route set across VLs is caught") {
  // VL changes at s2 so the loop spans both VLs: s0 -> s1 -> s2 on VL 0, s2 -> s3 -> s0 on VL 1,
  // and the SL 1 paths go round on VL 1 then back to VL 0 at s0.
  Fabric f = Ring(4);
  RouteSet rs = Skeleton(f);
  RingShortestPaths(f, rs, 4);
  MakeTwoVl(f, rs);
  SubnetRoutes& r = rs.subnets[0];
  std::fill(r.sl2vl.begin(), r.sl2vl.end(), 0);
  size_t s = r.sl2vl_stride;
  size_t i2 = testing::SwitchIndex(f, r, "s2"), i3 = testing::SwitchIndex(f, r, "s3");
  for (size_t in = 0; in < s; ++in) {
    r.sl2vl[((i2 * s + in) * s + 2) * 16 + 0] = 1;  // s2 leaves clockwise on VL 1
    r.sl2vl[((i3 * s + in) * s + 2) * 16 + 0] = 1;
  }
  VerifyReport rep = MustVerify(f, rs);
  CHECK(rep.cdg_cycles == 1);
  REQUIRE(!rep.violations.empty());
  CHECK(FormatCycle(f, rep.violations[0].cycle) ==
        "s0:2 (VL 0) -> s1:2 (VL 0) -> s2:2 (VL 1) -> s3:2 (VL 1) -> s0:2 (VL 0)");
}

TEST_CASE("verifier: route sets that do not fit the topology are errors, not findings") {
  Fabric f = Ring(3);
  RouteSet rs = Skeleton(f);
  SUBCASE("short LFT") {
    rs.subnets[0].lft.pop_back();
    auto r = Verify(f, rs);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("LFT holds") == 0);
  }
  SUBCASE("switch list") {
    rs.subnets[0].switches.pop_back();
    auto r = Verify(f, rs);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "the switch list does not match the topology");
  }
  SUBCASE("no tables: a finding") {
    rs.subnets.clear();
    VerifyReport rep = MustVerify(f, rs);
    CHECK(rep.unrouted_subnets == 1);
    CHECK(rep.violations.at(0).kind == ViolationKind::kSubnetNotRouted);
  }
}

TEST_CASE("verifier: results do not depend on the thread count") {
  Fabric f = Ring(9, 20);
  RouteSet rs = Skeleton(f);
  RingShortestPaths(f, rs, 9, 20);
  SetEntry(f, rs, "s4", LidOf(f, rs, "h6_3"), kNoRoute);
  VerifyReport a = MustVerify(f, rs, {.max_violations = 5, .threads = 1});
  VerifyReport b = MustVerify(f, rs, {.max_violations = 5, .threads = 2});
  CHECK(a.pairs == 180 * 179);
  CHECK(a.unreachable_pairs == b.unreachable_pairs);
  CHECK(a.unreachable_pairs == 60);  // s2, s3 and s4 reach s6 through s4: 3 switches x 20 hosts
  CHECK(a.cdg_cycles == b.cdg_cycles);
  REQUIRE(a.violations.size() == b.violations.size());
  for (size_t i = 0; i < a.violations.size(); ++i) CHECK(a.violations[i].text == b.violations[i].text);
}

}  // namespace
}  // namespace fabricctl

// Every engine of the registry on every generator (and its presets): deadlock-free engines
// must produce sound tables or decline with a reason; minhop must reach every pair without
// loops (credit loops are allowed: it does not claim deadlock freedom).
#include <chrono>

#include "fabric/generator.h"
#include "routing/registry.h"
#include "routing/route_fabric.h"

namespace fabricctl {
namespace {

struct Preset {
  std::string generator;
  GeneratorParams params;
};

std::vector<Preset> Presets() {
  return {
      {"fat-tree", {}},
      {"fat-tree", {{"k", "8"}, {"tiers", "2"}}},
      {"fat-tree", {{"k", "8"}, {"tiers", "2"}, {"oversubscription", "3:1"}}},
      {"fat-tree", {{"k", "8"}, {"endpoints", "100"}}},
      {"rail", {{"servers", "64"}, {"rails", "4"}, {"group", "16"}, {"radix", "32"}}},
      {"supernode", {{"preset", "nvl72"}}},
      {"supernode", {{"preset", "cm384"}}},
      {"supernode", {{"preset", "torus"}}},
      {"dragonfly", {}},
      {"torus", {}},
      {"torus", {{"dims", "4x4"}, {"hosts", "2"}}},
      {"torus", {{"dims", "5x4"}, {"links", "2"}}},
      {"torus", {{"dims", "4x3x3"}, {"wrap", "false"}}},
      {"scalex640", {{"accelerators", "160"}}},
      {"scalex-cluster", {{"super_nodes", "2"}, {"accelerators", "160"}}},
  };
}

TEST_CASE("every engine on every generator preset verifies or declines with a reason") {
  for (const Preset& p : Presets()) {
    auto f = Generate(p.generator, p.params);
    REQUIRE_MESSAGE(f, (f ? "" : f.error().Format()));
    for (const EngineInfo& e : Engines()) {
      std::string label = p.generator;
      for (const auto& [k, v] : p.params) label += " " + k + "=" + v;
      label += " / " + std::string(e.name);
      CAPTURE(label);
      auto sel = ParseEngineSelection(e.name);
      REQUIRE(sel);
      auto routed = RouteFabric(*f, *sel, {.engine = {.max_vls = 8}, .threads = 2});
      if (!routed) {
        // Declined (or failed) on some subnet: the reason must say why.
        CHECK(routed.error().message.size() > 10);
        continue;
      }
      auto rep = Verify(*f, routed->routes, {.max_violations = 3});
      REQUIRE_MESSAGE(rep, (rep ? "" : rep.error().Format()));
      std::string first = rep->violations.empty() ? "" : rep->violations[0].text;
      CAPTURE(first);
      CHECK(rep->unreachable_pairs == 0);
      CHECK(rep->loop_pairs == 0);
      CHECK(rep->through_endpoint_pairs == 0);
      CHECK(rep->dead_port_entries == 0);
      CHECK(rep->bad_vl_pairs == 0);
      CHECK(rep->unrouted_subnets == 0);
      if (e.deadlock_free) CHECK(rep->deadlock_free());
    }
  }
}

}  // namespace
}  // namespace fabricctl

#include <algorithm>
#include <random>

namespace fabricctl {
namespace {

TEST_CASE("random link failures (1-5%) on fat trees, tori and dragonflies: deadlock-free engines decline or verify") {
  std::mt19937_64 rng(2026);
  std::vector<Preset> presets = {
      {"fat-tree", {{"k", "8"}, {"tiers", "3"}}}, {"torus", {{"dims", "4x4x4"}}}, {"dragonfly", {}}};
  int routed = 0;
  for (const Preset& p : presets) {
    auto full = Generate(p.generator, p.params);
    REQUIRE(full);
    std::vector<LinkId> inter;
    for (LinkId l = 0; l < full->num_links(); ++l)
      if (full->is_switch(full->port(full->link(l).a).node) && full->is_switch(full->port(full->link(l).b).node))
        inter.push_back(l);
    for (int percent : {1, 3, 5}) {
      std::shuffle(inter.begin(), inter.end(), rng);
      size_t drop = std::max<size_t>(1, full->num_links() * percent / 100);
      std::vector<LinkId> gone(inter.begin(), inter.begin() + std::min(drop, inter.size()));
      Fabric f =
          testing::WithoutLinks(*full, [&](LinkId l) { return std::find(gone.begin(), gone.end(), l) != gone.end(); });
      if (f.subnets().size() != full->subnets().size()) continue;  // the failures split the fabric
      for (const EngineInfo& e : Engines()) {
        if (!e.deadlock_free) continue;
        CAPTURE(p.generator);
        CAPTURE(percent);
        CAPTURE(e.name);
        auto sel = ParseEngineSelection(e.name);
        REQUIRE(sel);
        auto r = RouteFabric(f, *sel, {.engine = {.max_vls = 8}, .threads = 2});
        if (!r) {
          CHECK(r.error().message.find(std::string(e.name)) != std::string::npos);
          continue;
        }
        ++routed;
        auto rep = Verify(f, r->routes);
        REQUIRE(rep);
        std::string first = rep->violations.empty() ? "" : rep->violations[0].text;
        CAPTURE(first);
        CHECK(rep->sound());
      }
    }
  }
  CHECK(routed > 0);
}

}  // namespace
}  // namespace fabricctl
