#include "routing/updn.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include "fabric/file_io.h"
#include "routing/route_summary.h"
#include "tests/routing/route_check.h"
#include "tests/routing/test_fabrics.h"
#include "tests/scratch_dir.h"

namespace fabricctl {
namespace {

TEST_CASE("updn: a ring and a mesh are routed deadlock-free with one VL, every LID routed") {
  for (const Fabric& f : {testing::Ring(6, 2), testing::Ring(7), testing::Mesh(4, 4), testing::Mesh(5, 2)}) {
    auto r = testing::RouteWith(f, "updn");
    REQUIRE(r);
    const SubnetRoutes& routes = r->routes.subnets[0];
    CHECK(routes.engine == "updn");
    testing::CheckEveryLidRouted(f, routes);
    testing::Walk w = testing::WalkAllPairs(f, routes);
    CHECK(w.delivered == w.pairs);
    RouteSummary s = SummarizeRoutes(f, f.subnets()[0], routes, 2);
    CHECK(s.unreachable_pairs == 0);
    REQUIRE(s.deadlock_free.has_value());
    CHECK(*s.deadlock_free);
  }
}

TEST_CASE("updn: roots from GUIDs are used, and roots that cut pairs off fail with a reason") {
  Fabric ring = testing::Ring(6);
  EngineOptions eo;
  eo.root_guids = {0x3003};
  auto r = testing::RouteWith(ring, "updn", eo);
  REQUIRE(r);
  CHECK(r->routes.subnets[0].reason == "roots from the root GUID list");

  Fabric tree = testing::TwoTierFatTree({.leaves = 2, .spines = 2, .hosts = 1});
  eo.root_guids = {0x1000, 0x1001};  // both leaves as roots: spines become the bottom
  auto bad = testing::RouteWith(tree, "updn", eo);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("updn failed: roots from the root GUID list") != std::string::npos);
  CHECK(bad.error().message.find("no legal Up*/Down* path") != std::string::npos);
}

TEST_CASE("updn: a root GUID file naming a GUID that is not a switch is an error at its line") {
  Fabric ring = testing::Ring(3);
  const testing::ScratchDir scratch("roots");
  const std::string path = scratch / "roots.guids";
  auto read = [&](std::string_view text) {
    REQUIRE(WriteFileAtomic(path, text));
    return ReadRootGuidFile(ring, path);
  };
  auto ok = read("# roots\n0x3001\n\n0X0000000000003002  # the other\n");
  REQUIRE(ok);
  CHECK(*ok == std::vector<uint64_t>{0x3001, 0x3002});
  auto unknown = read("0x3001\n0x0002c9030000abcd\n");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().Format() == path + ":2: root GUID 0x0002c9030000abcd is not a node of the topology");
  auto host = read("0x30000\n");
  REQUIRE_FALSE(host);
  CHECK(host.error().Format() == path + ":1: root GUID 0x0000000000030000 is 'r0-0', not a switch");
  auto twice = read("0x3001\n0x3001\n");
  REQUIRE_FALSE(twice);
  CHECK(twice.error().message == "GUID 0x0000000000003001 is already listed on line 1");
  auto overflow = read("0x10000000000000000\n");
  REQUIRE_FALSE(overflow);
  CHECK(overflow.error().message == "expected one GUID per line, like 0x0002c9030000abcd");
  // An empty file is not a request for the heuristic roots.
  for (std::string_view text : {"", "\n  \n", "# no roots yet\n"}) {
    auto none = read(text);
    REQUIRE_FALSE(none);
    CHECK(none.error().Format() == path + ": lists no root GUID; expected one switch GUID per line");
  }
}

TEST_CASE("updn: on a fat tree without labels the top switches become roots") {
  Fabric f = testing::TwoTierFatTree({.leaves = 4, .spines = 2, .hosts = 2});
  auto r = testing::RouteWith(f, "updn");
  REQUIRE(r);
  CHECK(r->routes.subnets[0].reason == "roots: the switches 1 hops above the endpoint switches");
}

}  // namespace
}  // namespace fabricctl
