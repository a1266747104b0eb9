#include "routing/route_diff.h"

#include <doctest/doctest.h>

#include "tests/routing/route_check.h"
#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

TEST_CASE("route diff: entries and 64-entry blocks per switch; identical tables are the same") {
  Fabric f = testing::TwoTierFatTree({.leaves = 8, .spines = 4, .hosts = 12});  // 108 LIDs: two blocks
  auto a = testing::RouteWith(f, "ftree");
  auto b = testing::RouteWith(f, "updn");
  REQUIRE(a);
  REQUIRE(b);
  auto raw = [&](const FabricRoutes& r) {
    auto p = ParseOpensmDump(WriteOpensmDump(f, r.routes.subnets[0], "s"), "x.dump");
    REQUIRE(p);
    return std::vector<RawLfts>{*p};
  };
  CHECK(DiffLfts(raw(*a), raw(*a)).same());
  CHECK(DiffLfts(raw(*a), raw(*a)).switches_compared == 12);

  SubnetRoutes changed = a->routes.subnets[0];
  const size_t L = changed.num_lids();
  REQUIRE(L > 64);
  // Leaf0 is switch index 4: change LID 10 and LID 70 (blocks 0 and 1), and LID 11.
  for (Lid lid : {10u, 11u, 70u}) changed.lft[4 * L + lid] = changed.lft[4 * L + lid] == 13 ? 14 : 13;
  FabricRoutes c = *a;
  c.routes.subnets[0] = changed;
  RouteDiff d = DiffLfts(raw(*a), raw(c));
  REQUIRE(d.switches.size() == 1);
  CHECK(d.switches[0].description == "leaf0");
  CHECK(d.switches[0].changed_entries == 3);
  CHECK(d.switches[0].blocks == std::vector<uint32_t>{0, 1});
  CHECK(d.changed_blocks == 2);

  auto only_a = raw(*a);
  only_a[0].switches.pop_back();
  RouteDiff e = DiffLfts(raw(*a), only_a);
  REQUIRE(e.switches.size() == 1);
  CHECK(e.switches[0].kind == SwitchLftDiff::Kind::kOnlyInA);
  CHECK_FALSE(DiffLfts(raw(*a), raw(*b)).same());
}

}  // namespace
}  // namespace fabricctl
