#include "routing/auto_engine.h"

#include <doctest/doctest.h>

#include "fabric/generator.h"
#include "routing/dfsssp.h"
#include "routing/route_summary.h"
#include "routing/verifier.h"
#include "tests/routing/route_check.h"
#include "tests/routing/route_check_fixtures.h"
#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

struct Routed {
  FabricRoutes routes;
  RouteSummary summary;
};

Routed RouteAndCheck(const Fabric& f, std::string_view engine, uint8_t vls) {
  auto routed = testing::RouteWith(f, engine, EngineOptions{.max_vls = vls});
  REQUIRE(routed);
  auto verdict = Verify(f, routed->routes);
  REQUIRE(verdict);
  for (const Violation& v : verdict->violations) MESSAGE(v.text);
  CHECK(verdict->sound());
  const SubnetRoutes& routes = routed->routes.subnets[0];
  return {std::move(*routed), SummarizeRoutes(f, f.subnets()[0], routes, 1)};
}

Fabric Generated(std::string_view generator, GeneratorParams params = {}) {
  auto f = Generate(generator, params);
  REQUIRE(f);
  return std::move(*f);
}

TEST_CASE("auto keeps the lightest deadlock-free table within the VL budget") {
  const Fabric dragonfly = Generated("dragonfly");
  for (uint8_t vls : {1, 8}) {
    INFO("--vls " << int(vls));
    Routed chosen = RouteAndCheck(dragonfly, "auto", vls);
    const SubnetRoutes& routes = chosen.routes.routes.subnets[0];
    CHECK(routes.num_vls <= vls);
    CHECK(routes.reason.find("over") != std::string::npos);  // the others' figures are listed
    for (std::string_view other : {"updn", "dfsssp", "escape"}) {
      auto alternative = testing::RouteWith(dragonfly, other, EngineOptions{.max_vls = vls});
      if (!alternative) continue;  // the engine cannot route it within the VL budget
      RouteSummary s = SummarizeRoutes(dragonfly, dragonfly.subnets()[0], alternative->routes.subnets[0], 1);
      INFO("against " << other);
      CHECK(chosen.summary.max_load_per_capacity <= s.max_load_per_capacity);
    }
  }
}

TEST_CASE("auto has nue route a small subnet on one VL from shuffled destination orders too") {
  // A k=8 fat tree with 5 switches and 4% of its cables failed: ftree declines (leaves
  // without a common ancestor) and nue gives the lightest one-VL table.
  const Fabric tree = Generated(
      "fat-tree", {{"k", "8"}, {"tiers", "3"}, {"fail_switches", "5"}, {"fail_links", "0.04"}, {"seed", "5"}});
  Routed chosen = RouteAndCheck(tree, "auto", 1);
  Routed nue = RouteAndCheck(tree, "nue", 1);
  const SubnetRoutes& routes = chosen.routes.routes.subnets[0];
  CHECK(routes.engine == "nue");
  CHECK(routes.reason.find("the lightest of 16 routings") != std::string::npos);
  CHECK(nue.routes.routes.subnets[0].reason.find("the lightest of") == std::string::npos);
  CHECK(chosen.summary.max_channel_load < nue.summary.max_channel_load);
}

TEST_CASE("auto on several VLs keeps nue's one-VL table from shuffled orders where it is lighter") {
  // On a torus with failed switches and slow cables nue's several-VL table (3,850 per
  // capacity) is heavier than its one-VL table from shuffled destination orders (3,700):
  // auto --vls 8 runs that one too.
  const Fabric torus = Generated(
      "torus", {{"dims", "6x6x4"}, {"hosts", "2"}, {"fail_switches", "2"}, {"slow_links", "0.05"}, {"seed", "12"}});
  Routed one = RouteAndCheck(torus, "auto", 1);
  Routed eight = RouteAndCheck(torus, "auto", 8);
  CHECK(one.routes.routes.subnets[0].reason.find("the lightest of") != std::string::npos);
  CHECK(eight.summary.max_load_per_capacity <= one.summary.max_load_per_capacity);
}

TEST_CASE("auto uses several VLs where they lower the load") {
  const Fabric dragonfly = Generated("dragonfly");
  Routed one = RouteAndCheck(dragonfly, "auto", 1);
  Routed eight = RouteAndCheck(dragonfly, "auto", 8);
  CHECK(one.routes.routes.subnets[0].num_vls == 1);
  CHECK(eight.routes.routes.subnets[0].num_vls > 1);
  CHECK(eight.summary.max_channel_load < one.summary.max_channel_load);
}

TEST_CASE("auto uses no more VLs than the layering of shortest paths needs") {
  // A random regular graph with failed and slow cables: nue on all 8 VLs is lighter than
  // dfsssp, which needs fewer; auto keeps to dfsssp's VLs and is still no heavier than it.
  const Fabric jellyfish = Generated("jellyfish", {{"switches", "80"},
                                                   {"degree", "6"},
                                                   {"hosts", "3"},
                                                   {"seed", "7"},
                                                   {"fail_links", "0.05"},
                                                   {"slow_links", "0.05"}});
  Routed dfsssp = RouteAndCheck(jellyfish, "dfsssp", 8);
  Routed nue = RouteAndCheck(jellyfish, "nue", 8);
  Routed chosen = RouteAndCheck(jellyfish, "auto", 8);
  const unsigned layered_vls = dfsssp.routes.routes.subnets[0].num_vls;
  REQUIRE(layered_vls < 8);
  // What auto must not take: more VLs for a table far more than 2% lighter.
  REQUIRE(nue.routes.routes.subnets[0].num_vls > layered_vls);
  REQUIRE(nue.summary.max_load_per_capacity * 1.1 < dfsssp.summary.max_load_per_capacity);
  CHECK(chosen.routes.routes.subnets[0].num_vls <= layered_vls);
  CHECK(chosen.summary.max_load_per_capacity <= dfsssp.summary.max_load_per_capacity);
}

TEST_CASE("auto gives nue every VL where dfsssp fell back to lowest-port paths") {
  // A 10x10 torus with a failed cable: balanced shortest paths need more than 8 VLs, so
  // dfsssp's VL count (of lowest-port paths) is no guide for nue.
  const Fabric torus = Generated("torus", {{"dims", "10x10"}, {"fail_links", "1"}});
  Routed dfsssp = RouteAndCheck(torus, "dfsssp", 8);
  REQUIRE(dfsssp.routes.routes.subnets[0].reason == kDfssspLowestPortReason);
  Routed nue = RouteAndCheck(torus, "nue", 8);
  REQUIRE(nue.routes.routes.subnets[0].num_vls > dfsssp.routes.routes.subnets[0].num_vls);
  Routed chosen = RouteAndCheck(torus, "auto", 8);
  // The reason lists nue's figures as auto ran it: "nue busiest channel N, V VLs, ..." (or
  // "auto chose nue (busiest channel N, V VLs, ...").
  const std::string& reason = chosen.routes.routes.subnets[0].reason;
  size_t at = reason.find("nue busiest channel ");
  if (at == std::string::npos) at = reason.find("chose nue (busiest channel ");
  REQUIRE(at != std::string::npos);
  const size_t comma = reason.find(", ", at);
  REQUIRE(comma != std::string::npos);
  CHECK(std::stoul(reason.substr(comma + 2)) == nue.routes.routes.subnets[0].num_vls);
}

TEST_CASE("auto takes more VLs only for a busiest channel more than 2% lighter") {
  const Fabric jellyfish = Generated("jellyfish");
  Routed chosen = RouteAndCheck(jellyfish, "auto", 8);
  const SubnetRoutes& routes = chosen.routes.routes.subnets[0];
  unsigned compared = 0;
  for (std::string_view other : {"updn", "nue", "dfsssp", "escape"}) {
    auto alternative = testing::RouteWith(jellyfish, other, EngineOptions{.max_vls = 8});
    REQUIRE(alternative);
    const SubnetRoutes& theirs = alternative->routes.subnets[0];
    RouteSummary s = SummarizeRoutes(jellyfish, jellyfish.subnets()[0], theirs, 1);
    INFO("against " << other << ": " << s.max_load_per_capacity << " on " << int(theirs.num_vls) << " VLs");
    if (theirs.num_vls < routes.num_vls) CHECK(s.max_load_per_capacity > chosen.summary.max_load_per_capacity * 1.02);
    if (theirs.num_vls > routes.num_vls) CHECK(s.max_load_per_capacity * 1.02 >= chosen.summary.max_load_per_capacity);
    ++compared;
  }
  CHECK(compared == 4);
}

TEST_CASE("auto stops at a table that meets the cut bound") {
  const Fabric tree = Generated("fat-tree", {{"k", "8"}, {"tiers", "3"}});
  Routed chosen = RouteAndCheck(tree, "auto", 8);
  const SubnetRoutes& routes = chosen.routes.routes.subnets[0];
  CHECK(routes.engine == "ftree");
  CHECK(routes.num_vls == 1);
  CHECK(routes.reason.find("at the cut bound") != std::string::npos);
}

TEST_CASE("auto stops at the cut bound around a pod, where one switch's cut bounds less") {
  // The pod that lost core cables bounds the busiest channel at 192 (a leaf's cut: 60).
  const Fabric damaged = testing::WithThinPod(testing::ThreeTierFatTree({}));
  Routed chosen = RouteAndCheck(damaged, "auto", 1);
  const SubnetRoutes& routes = chosen.routes.routes.subnets[0];
  CAPTURE(routes.reason);
  CHECK(chosen.summary.max_channel_load <= 192 * 102 / 100);
  CHECK(routes.reason.find("at the cut bound") != std::string::npos);
}

TEST_CASE("auto by class: irregular subnets go to nue within its work limit, to updn or escape beyond it") {
  // 3,000 channels x 5,000 endpoints = 1.5e7: past the comparison, within nue's limit.
  const Fabric medium = Generated("jellyfish", {{"switches", "500"}, {"degree", "6"}, {"hosts", "10"}});
  // 12,000 channels x 12,000 endpoints = 1.44e8: past nue's limit.
  const Fabric big = Generated("jellyfish", {{"switches", "1000"}, {"degree", "12"}, {"hosts", "12"}});
  const Fabric small = Generated("jellyfish");
  using Chain = std::vector<std::string_view>;
  using Compared = std::vector<std::string>;
  CHECK_FALSE(PlanAutoByClass(small, small.subnets()[0], 1));  // small: every engine compared
  auto medium_one = PlanAutoByClass(medium, medium.subnets()[0], 1);
  REQUIRE(medium_one);
  CHECK(medium_one->chain == Chain{"ftree", "torus", "nue", "updn"});
  CHECK(medium_one->compared.empty());
  // Several VLs: what ftree and torus decline goes to the comparison (nue's own several-VL
  // mode takes minutes on such subnets).
  auto medium_several = PlanAutoByClass(medium, medium.subnets()[0], 8);
  REQUIRE(medium_several);
  CHECK(medium_several->chain == Chain{"ftree", "torus"});
  CHECK(medium_several->compared == Compared{"nue --vls 1", "escape", "updn"});
  auto big_one = PlanAutoByClass(big, big.subnets()[0], 1);
  REQUIRE(big_one);
  CHECK(big_one->chain == Chain{"ftree", "torus", "updn"});
  CHECK(big_one->compared.empty());
  auto big_several = PlanAutoByClass(big, big.subnets()[0], 8);
  REQUIRE(big_several);
  CHECK(big_several->chain == Chain{"ftree", "torus", "escape", "updn"});
  CHECK(big_several->compared.empty());
}

}  // namespace
}  // namespace fabricctl
