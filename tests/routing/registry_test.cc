#include "routing/registry.h"

#include <doctest/doctest.h>

#include "routing/lid_assign.h"
#include "routing/route_fabric.h"
#include "tests/routing/route_check.h"
#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

TEST_CASE("registry: names, help, chains and did-you-mean") {
  for (std::string_view name : {"auto", "minhop", "updn", "ftree"}) {
    const EngineInfo* e = FindEngine(name);
    REQUIRE(e);
    CHECK(e->make()->name() == name);
    CHECK(EnginesHelp().find(name) != std::string::npos);
  }
  auto chain = ParseEngineChain("ftree,updn");
  REQUIRE(chain);
  REQUIRE(chain->size() == 2);
  CHECK((*chain)[1]->name == "updn");
  auto bad = ParseEngineChain("ftree,upd");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.starts_with("unknown routing engine 'upd'; did you mean 'updn'? (engines: auto, minhop"));
  CHECK(UnknownEngineError("xyzzy").message.find("did you mean") == std::string::npos);
  CHECK_FALSE(ParseEngineChain("ftree,,updn"));
}

TEST_CASE("engine selection: per level, per subnet name, default") {
  auto sel = ParseEngineSelection("minhop,scale-up=updn,scale-out=ftree,updn,scale-up/sn1=minhop");
  REQUIRE(sel);
  CHECK(ChainName(sel->default_chain) == "minhop");
  Subnet up0{.name = "scale-up/sn0", .level = FabricLevel::kScaleUp};
  Subnet up1{.name = "scale-up/sn1", .level = FabricLevel::kScaleUp};
  Subnet out{.name = "scale-out", .level = FabricLevel::kScaleOut};
  Subnet other{.name = "subnet3"};
  CHECK(ChainName(ChainFor(*sel, up0)) == "updn");
  CHECK(ChainName(ChainFor(*sel, up1)) == "minhop");
  CHECK(ChainName(ChainFor(*sel, out)) == "ftree,updn");
  CHECK(ChainName(ChainFor(*sel, other)) == "minhop");
  auto plain = ParseEngineSelection("scaleout=ftree");
  REQUIRE(plain);
  CHECK(ChainName(plain->default_chain) == "auto");
  CHECK(ChainName(ChainFor(*plain, out)) == "ftree");
  CHECK_FALSE(ParseEngineSelection("=ftree"));
  CHECK_FALSE(ParseEngineSelection("scale-up="));
}

TEST_CASE("routing a fabric: a selector that names no subnet is an error; results do not depend on threads") {
  Fabric f = testing::TwoTierFatTree({.leaves = 6, .spines = 3, .hosts = 5});
  auto sel = ParseEngineSelection("scale-upp=ftree");
  REQUIRE(sel);
  auto r = RouteFabric(f, *sel, {});
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "engine selector 'scale-upp' matches no subnet (levels: scale-up, scale-out; subnets: subnet0)");
  auto lids = AssignLids(f);
  REQUIRE(lids);
  for (std::string_view engine : {"minhop", "updn", "ftree"}) {
    std::vector<std::vector<uint8_t>> lfts;
    for (unsigned threads : {1u, 3u}) {
      SubnetRoutes routes = PrepareSubnetRoutes(f, f.subnets()[0], lids->lid_owner[0]);
      EngineOptions eo;
      eo.threads = threads;
      RouteRequest request{.fabric = f, .subnet = f.subnets()[0], .port_lid = lids->port_lid, .options = eo};
      CHECK(FindEngine(engine)->make()->Route(request, routes).status == EngineStatus::kOk);
      lfts.push_back(routes.lft);
    }
    CHECK(lfts[0] == lfts[1]);
  }
}

}  // namespace
}  // namespace fabricctl
