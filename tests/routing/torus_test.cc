#include "routing/torus.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "routing/verifier.h"
#include "tests/routing/route_check_fixtures.h"

namespace fabricctl {
namespace {

using testing::RouteAll;
using testing::Skeleton;

VerifyReport MustVerify(const Fabric& f, const RouteSet& rs) {
  auto r = Verify(f, rs);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().Format()));
  return *r;
}

RouteSet MustRoute(const Fabric& f, EngineOptions opt = {}) {
  RouteSet rs = Skeleton(f);
  Outcome o = RouteAll(*MakeTorusEngine(), f, rs, opt);
  REQUIRE_MESSAGE(o.status == EngineStatus::kOk, o.reason);
  return rs;
}

TEST_CASE("torus: 4x4 and 3x3x3 tori verify with at most 2 VLs; without the datelines they deadlock") {
  for (std::vector<int> dims : {std::vector<int>{4, 4}, {3, 3, 3}, {5, 3}, {4, 6, 3}}) {
    CAPTURE(dims.size());
    CAPTURE(dims[0]);
    Fabric f = testing::Torus(dims, 2);
    RouteSet rs = MustRoute(f);
    CHECK(rs.subnets[0].num_vls == 2);
    VerifyReport rep = MustVerify(f, rs);
    CHECK(rep.unreachable_pairs == 0);
    CHECK(rep.sound());
    CHECK(rep.subnets[0].vls_used <= 2);
    // Same paths on one VL: rings of 4 or more have 2-hop paths that close a credit loop
    // (rings of 3 have only 1-hop paths, so DOR alone is deadlock-free there).
    rs.subnets[0].num_vls = 1;
    bool long_ring = *std::max_element(dims.begin(), dims.end()) >= 4;
    CHECK((MustVerify(f, rs).cdg_cycles > 0) == long_ring);
  }
}

TEST_CASE("torus: dimension order is visible in the tables") {
  Fabric f = testing::Torus({4, 4}, 1);
  RouteSet rs = MustRoute(f);
  // From t0_0 to h2_1 (x = 2, y = 1): x first. 2 is halfway round, so the direction is
  // spread by destination; either way it must be an x port (2 or 3), never y (4 or 5).
  Lid lid = testing::LidOf(f, rs, "h2_1_0");
  uint8_t p = rs.subnets[0].out_port(testing::SwitchIndex(f, rs.subnets[0], "t0_0"), lid);
  CHECK((p == 2 || p == 3));
  // From t2_0, x is done: +y (port 4).
  CHECK(rs.subnets[0].out_port(testing::SwitchIndex(f, rs.subnets[0], "t2_0"), lid) == 4);
  // At t2_1 the destination host's port.
  CHECK(rs.subnets[0].out_port(testing::SwitchIndex(f, rs.subnets[0], "t2_1"), lid) == 1);
}

TEST_CASE("torus: meshes need one VL; a ring is a 1D torus") {
  Fabric mesh = testing::Torus({4, 3}, 2, /*wrap=*/false);
  RouteSet rs = MustRoute(mesh);
  CHECK(rs.subnets[0].num_vls == 1);
  CHECK(MustVerify(mesh, rs).sound());
  Fabric mesh3 = testing::Torus({3, 2, 4}, 1, false);
  CHECK(MustVerify(mesh3, MustRoute(mesh3)).sound());

  Fabric ring = testing::Ring(6, 2);
  RouteSet rr = MustRoute(ring);
  CHECK(rr.subnets[0].num_vls == 2);
  CHECK(MustVerify(ring, rr).sound());
}

TEST_CASE("torus: other topologies and too few VLs are declined with a reason") {
  Fabric ft = testing::TwoTier(4, 2, 2);
  RouteSet rs = Skeleton(ft);
  Outcome o = RouteAll(*MakeTorusEngine(), ft, rs, {});
  CHECK(o.status == EngineStatus::kNotApplicable);
  CHECK(o.reason ==
        "the 6 switches are not a complete 1D/2D/3D torus or mesh (a missing or extra cable, or another topology)");

  Fabric big = testing::TwoTier(8, 2, 1);
  rs = Skeleton(big);
  o = RouteAll(*MakeTorusEngine(), big, rs, {});
  CHECK(o.status == EngineStatus::kNotApplicable);
  CHECK(o.reason == "switch spine0 has 8 neighbour switches; a 3D torus has at most 6");

  Fabric t = testing::Torus({4, 4}, 1);
  rs = Skeleton(t);
  o = RouteAll(*MakeTorusEngine(), t, rs, {.max_vls = 1});
  CHECK(o.status == EngineStatus::kFailed);
  CHECK(o.reason == "a torus needs 2 VLs for its datelines; --vls allows 1");
}

TEST_CASE("torus: with 1-5% of the links failed the engine declines or still verifies") {
  std::mt19937_64 rng(42);
  int declined = 0, routed = 0;
  for (std::vector<int> dims : {std::vector<int>{6, 6}, {4, 4, 4}}) {
    Fabric full = testing::Torus(dims, 1);
    for (int trial = 0; trial < 5; ++trial) {
      size_t drop = std::max<size_t>(1, full.num_links() * (1 + trial) / 100);
      std::vector<LinkId> ids(full.num_links());
      for (LinkId l = 0; l < ids.size(); ++l) ids[l] = l;
      std::shuffle(ids.begin(), ids.end(), rng);
      ids.resize(drop);
      Fabric f =
          testing::WithoutLinks(full, [&](LinkId l) { return std::find(ids.begin(), ids.end(), l) != ids.end(); });
      RouteSet rs = Skeleton(f);
      Outcome o = RouteAll(*MakeTorusEngine(), f, rs, {});
      if (o.status == EngineStatus::kNotApplicable) {
        ++declined;
        CHECK(!o.reason.empty());
        continue;
      }
      REQUIRE_MESSAGE(o.status == EngineStatus::kOk, o.reason);
      ++routed;
      CHECK(MustVerify(f, rs).sound());
    }
  }
  CHECK(declined + routed == 10);
}

}  // namespace
}  // namespace fabricctl
