#include "routing/balanced_lft.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "fabric/generator.h"
#include "routing/lid_assign.h"
#include "routing/route_fabric.h"
#include "tests/routing/route_check.h"
#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

struct Filled {
  SubnetRoutes routes;
  bool masks_fit = false;
};

// Fills the only subnet's tables with minhop's rule (every shortest next hop) in the given
// form, then checks every entry on its own: a switch's entry for a LID leads to a
// neighbour one hop nearer to the LID's switch (or is the LID's port on that switch).
Filled FillMinhop(const Fabric& f, BalanceForm form, unsigned threads) {
  auto lids = AssignLids(f);
  REQUIRE(lids);
  REQUIRE(f.subnets().size() == 1);
  const Subnet& subnet = f.subnets()[0];
  Filled r{.routes = PrepareSubnetRoutes(f, subnet, lids->lid_owner[0])};
  SwitchGraph g(f, subnet, r.routes);
  const std::vector<uint8_t> dist = AllPairsSwitchHops(g, threads);
  auto accept = [](const uint8_t* row, uint32_t s, uint32_t t) { return row[t] + 1 == row[s]; };
  const ChannelCapacity capacity(f, subnet);
  const ChannelRates rates{f, capacity};
  r.masks_fit = balanced::MaskPlanFits(g, balanced::MakeSetup(g, rates));
  FillBalanced(g, rates, HopTable{.hop = dist}, accept, threads, /*one_pass=*/false, r.routes, form);

  const uint32_t S = g.num_switches();
  const size_t L = r.routes.num_lids();
  for (uint32_t s = 0; s < S; ++s)
    for (Lid lid = 1; lid < L; ++lid) {
      const uint32_t d = g.lid_switch(lid);
      if (d == kNone) continue;
      const uint8_t p = r.routes.out_port(s, lid);
      INFO("switch " << f.description(g.node(s)) << " lid " << lid);
      if (s == d) {
        CHECK(p == g.lid_port(lid));
        continue;
      }
      REQUIRE(p != kNoRoute);
      const PortId peer = f.port(f.port_id(g.node(s), p)).peer;
      REQUIRE(peer != kNone);
      const uint32_t t = g.local(f.port(peer).node);
      REQUIRE(t != kNone);
      CHECK(dist[size_t{d} * S + t] + 1 == dist[size_t{d} * S + s]);
    }
  return r;
}

uint64_t Busiest(const Fabric& f, const SubnetRoutes& routes) {
  testing::Walk w = testing::WalkAllPairs(f, routes);
  CHECK(w.delivered == w.pairs);
  uint64_t most = 0;
  for (const auto& [channel, n] : w.channel_load) most = std::max(most, n);
  return most;
}

TEST_CASE("balanced LFTs: both forms fill shortest-path tables for every LID") {
  std::vector<std::pair<const char*, Fabric>> fabrics;
  fabrics.emplace_back("ring", testing::Ring(8, 2));
  fabrics.emplace_back("mesh", testing::Mesh(4, 3));
  fabrics.emplace_back("fat tree", testing::TwoTierFatTree({.leaves = 4, .spines = 4, .hosts = 4}));
  auto torus = Generate("torus", {{"dims", "4x4x3"}, {"hosts", "2"}});
  REQUIRE(torus);
  fabrics.emplace_back("torus", std::move(*torus));
  for (const auto& [name, f] : fabrics)
    for (BalanceForm form : {BalanceForm::kAuto, BalanceForm::kCandidateLists}) {
      CAPTURE(name);
      CAPTURE(static_cast<int>(form));
      Filled r = FillMinhop(f, form, 2);
      CHECK(r.masks_fit);  // all of these have switches with at most 16 channels
      testing::CheckEveryLidRouted(f, r.routes);
      testing::Walk w = testing::WalkAllPairs(f, r.routes);
      CHECK(w.pairs > 0);
      CHECK(w.delivered == w.pairs);
    }
}

TEST_CASE("balanced LFTs: the mask plan only where every switch has at most 16 channels") {
  // 20 leaves on 10 spines: each spine has 20 switch-to-switch channels.
  Fabric wide = testing::TwoTierFatTree({.leaves = 20, .spines = 10, .hosts = 2});
  Filled r = FillMinhop(wide, BalanceForm::kAuto, 2);
  CHECK_FALSE(r.masks_fit);
  testing::CheckEveryLidRouted(wide, r.routes);
  testing::Walk w = testing::WalkAllPairs(wide, r.routes);
  CHECK(w.delivered == 40 * 39);

  Fabric narrow = testing::TwoTierFatTree({.leaves = 16, .spines = 8, .hosts = 2});
  CHECK(FillMinhop(narrow, BalanceForm::kAuto, 2).masks_fit);
}

TEST_CASE("balanced LFTs: both forms balance as well on a torus and meet the bound on a fat tree") {
  auto torus = Generate("torus", {{"dims", "6x6x6"}});
  REQUIRE(torus);
  auto tree = Generate("fat-tree", {{"k", "12"}, {"tiers", "3"}});
  REQUIRE(tree);
  for (BalanceForm form : {BalanceForm::kAuto, BalanceForm::kCandidateLists}) {
    CAPTURE(static_cast<int>(form));
    // Dimension order: 216 routes on the busiest channel; OpenSM's minhop 288.
    CHECK(Busiest(*torus, FillMinhop(*torus, form, 2).routes) <= 216);
    // 6 hosts per leaf send to the 426 others over 6 uplinks: the cut bound, 426.
    CHECK(Busiest(*tree, FillMinhop(*tree, form, 2).routes) == 426);
  }
}

TEST_CASE("balanced LFTs: both forms give the same tables on one thread and on two") {
  auto f = Generate("torus", {{"dims", "4x4x3"}, {"hosts", "2"}});
  REQUIRE(f);
  for (BalanceForm form : {BalanceForm::kAuto, BalanceForm::kCandidateLists}) {
    CAPTURE(static_cast<int>(form));
    CHECK(FillMinhop(*f, form, 1).routes.lft == FillMinhop(*f, form, 2).routes.lft);
  }
}

// RunRounds against a scripted busiest channel per round: every pass stamps the round into
// the table, so the table left says which round was kept.
std::vector<uint8_t> RoundsKept(const std::vector<uint64_t>& busiest_per_round, unsigned& passes) {
  balanced::Setup st;
  st.sources = {2, 0, 3};
  st.bound = 10;
  std::vector<uint8_t> lft(4, 0);
  unsigned round = 0;
  passes = 0;
  auto route = [&](uint32_t d, bool reroute) {
    CHECK(st.sources[d] > 0);
    CHECK(reroute == (round > 0));
    lft[d] = static_cast<uint8_t>(round + 1);
  };
  auto busiest = [&] {
    ++passes;
    return busiest_per_round.at(round++);
  };
  balanced::RunRounds(st, route, busiest, lft);
  return lft;
}

TEST_CASE("balanced LFTs: a rerouting round that leaves the busiest channel heavier is undone") {
  unsigned passes = 0;
  // Lighter by 20%, then heavier: the second round's table is kept, the third undone.
  CHECK(RoundsKept({100, 80, 90}, passes) == std::vector<uint8_t>{2, 0, 2, 0});
  CHECK(passes == 3);
  // Heavier at once: the first pass's table stays.
  CHECK(RoundsKept({100, 120}, passes) == std::vector<uint8_t>{1, 0, 1, 0});
  CHECK(passes == 2);
  // Lighter, though by less than 5%: kept, and no more rounds.
  CHECK(RoundsKept({100, 97}, passes) == std::vector<uint8_t>{2, 0, 2, 0});
  CHECK(passes == 2);
  // At the bound after the first pass: no rerouting at all.
  CHECK(RoundsKept({10}, passes) == std::vector<uint8_t>{1, 0, 1, 0});
  CHECK(passes == 1);
}

}  // namespace
}  // namespace fabricctl
