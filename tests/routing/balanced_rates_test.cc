// Rate-aware balancing (routing/balanced_lft.h with routing/channel_capacity.h), both forms:
// a cable that trained slower than its neighbours gets routes in proportion to its rate.
// The engines with the verifier: tests/routing/rates_engines_test.cc.
#include <doctest/doctest.h>

#include <algorithm>
#include <tuple>

#include "routing/balanced_lft.h"
#include "routing/lid_assign.h"
#include "routing/route_fabric.h"
#include "routing/route_summary.h"
#include "tests/routing/rate_fabrics.h"

namespace fabricctl {
namespace {

using testing::kDdr;
using testing::kDdrShare;
using testing::kEdr;
using testing::RoutesOver;

// Minhop's rule in the given form, as balanced_lft_test.cc fills it.
SubnetRoutes FillMinhop(const Fabric& f, BalanceForm form) {
  auto lids = AssignLids(f);
  REQUIRE(lids);
  const Subnet& subnet = f.subnets()[0];
  SubnetRoutes routes = PrepareSubnetRoutes(f, subnet, lids->lid_owner[0]);
  SwitchGraph g(f, subnet, routes);
  const std::vector<uint8_t> dist = AllPairsSwitchHops(g, 2);
  auto accept = [](const uint8_t* row, uint32_t s, uint32_t t) { return row[t] + 1 == row[s]; };
  const ChannelCapacity capacity(f, subnet);
  FillBalanced(g, {f, capacity}, HopTable{.hop = dist}, accept, 2, /*one_pass=*/false, routes, form);
  return routes;
}

// slow routes within one flow (`grain` routes) of `share` x fast.
void CheckInProportion(uint64_t slow, uint64_t fast, double share, unsigned grain) {
  CHECK(fast > 0);
  CHECK(double(slow) <= share * double(fast) + grain);
  CHECK(double(slow) + grain >= share * double(fast));
}

TEST_CASE("balanced LFTs: one rate everywhere gives the same tables at any rate") {
  const Fabric fast = testing::Tree(6, 4, 3, kEdr);
  const Fabric slow_everywhere = testing::Tree(6, 4, 3, kDdr, kDdr);
  REQUIRE(ChannelCapacity(slow_everywhere, slow_everywhere.subnets()[0]).uniform());
  for (BalanceForm form : {BalanceForm::kAuto, BalanceForm::kCandidateLists}) {
    CAPTURE(static_cast<int>(form));
    CHECK(FillMinhop(fast, form).lft == FillMinhop(slow_everywhere, form).lft);
  }
}

TEST_CASE("balanced LFTs: a slow cable in a fat tree gets routes in proportion to its rate") {
  // 8 leaves of 8 hosts on 4 spines: each leaf sends 8 x 56 = 448 routes up its 4 cables and
  // takes 448 down them; a LID's choice at a leaf moves 8 routes (its hosts).
  const unsigned hosts = 8;
  const Fabric blind_fabric = testing::Tree(8, 4, hosts, kEdr);
  const Fabric f = testing::Tree(8, 4, hosts, kDdr);
  for (BalanceForm form : {BalanceForm::kAuto, BalanceForm::kCandidateLists}) {
    CAPTURE(static_cast<int>(form));
    const SubnetRoutes blind = FillMinhop(blind_fabric, form);
    const SubnetRoutes aware = FillMinhop(f, form);
    const testing::Walk wb = testing::WalkAllPairs(f, blind), wa = testing::WalkAllPairs(f, aware);
    REQUIRE(wa.delivered == wa.pairs);
    // Rate-blind, the slow cable carries as much as the fast ones: 112 routes each way.
    CHECK(RoutesOver(wb, f, "leaf0", hosts + 1) == 112);
    CHECK(RoutesOver(wb, f, "spine0", 1) == 112);
    // Up: leaf0's slow cable against its fast ones; down: spine0's against the other spines'.
    uint64_t fast_up = 0, fast_down = 0;
    for (unsigned p = hosts + 2; p <= hosts + 4; ++p) fast_up = std::max(fast_up, RoutesOver(wa, f, "leaf0", p));
    for (const char* s : {"spine1", "spine2", "spine3"}) fast_down = std::max(fast_down, RoutesOver(wa, f, s, 1));
    const uint64_t slow_up = RoutesOver(wa, f, "leaf0", hosts + 1), slow_down = RoutesOver(wa, f, "spine0", 1);
    MESSAGE("slow cable up " << slow_up << " (fast " << fast_up << "), down " << slow_down << " (fast " << fast_down
                             << ")");
    CheckInProportion(slow_up, fast_up, kDdrShare, hosts);
    CheckInProportion(slow_down, fast_down, kDdrShare, hosts);
    const RouteSummary before = SummarizeRoutes(f, f.subnets()[0], blind, 2);
    const RouteSummary after = SummarizeRoutes(f, f.subnets()[0], aware, 2);
    MESSAGE("max load per capacity " << before.max_load_per_capacity << " -> " << after.max_load_per_capacity);
    CHECK(before.max_load_per_capacity == doctest::Approx(112 / kDdrShare));
    CHECK(after.max_load_per_capacity < before.max_load_per_capacity / 3);
    CHECK(after.unreachable_pairs == 0);
    CHECK(after.deadlock_free == std::optional<bool>(true));
  }
}

TEST_CASE("balanced LFTs: a slow cable in a ring gets routes in proportion to its rate") {
  // Two cables between neighbours, the first between r0 and r1 slow: r0 port 5 (slow) and 6
  // lead to r1, r1 ports 7 (slow) and 8 back to r0. A choice moves a switch's 4 hosts' routes
  // and what its upstream neighbours pass on: up to 12 routes on a ring of 6.
  const unsigned hosts = 4;
  const Fabric blind_fabric = testing::DoubleRing(6, hosts, kEdr);
  const Fabric f = testing::DoubleRing(6, hosts, kDdr);
  for (BalanceForm form : {BalanceForm::kAuto, BalanceForm::kCandidateLists}) {
    CAPTURE(static_cast<int>(form));
    const SubnetRoutes blind = FillMinhop(blind_fabric, form);
    const SubnetRoutes aware = FillMinhop(f, form);
    const testing::Walk wa = testing::WalkAllPairs(f, aware);
    REQUIRE(wa.delivered == wa.pairs);
    for (auto [from, slow_port, twin] :
         {std::tuple{"r0", hosts + 1, hosts + 2}, std::tuple{"r1", hosts + 3, hosts + 4}}) {
      CAPTURE(from);
      const uint64_t slow = RoutesOver(wa, f, from, slow_port), fast = RoutesOver(wa, f, from, twin);
      MESSAGE(from << ": slow cable " << slow << " routes, its fast twin " << fast);
      CheckInProportion(slow, fast, kDdrShare, 3 * hosts);
    }
    const RouteSummary before = SummarizeRoutes(f, f.subnets()[0], blind, 2);
    const RouteSummary after = SummarizeRoutes(f, f.subnets()[0], aware, 2);
    MESSAGE("max load per capacity " << before.max_load_per_capacity << " -> " << after.max_load_per_capacity);
    CHECK(after.max_load_per_capacity < before.max_load_per_capacity / 2);
    CHECK(after.unreachable_pairs == 0);
  }
}

}  // namespace
}  // namespace fabricctl
