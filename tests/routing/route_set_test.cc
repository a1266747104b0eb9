#include "routing/route_set.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "fabric/file_io.h"
#include "routing/opensm_dump.h"
#include "routing/route_io.h"
#include "tests/routing/route_check.h"
#include "tests/routing/test_fabrics.h"
#include "tests/scratch_dir.h"

namespace fabricctl {
namespace {

namespace fs = std::filesystem;

using fabricctl::testing::ScratchDir;

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// updn routes of a ring, declared to use 2 VLs (every pair on SL 0): WriteRoutes adds an
// sl-table.txt for them.
RouteSet TwoVlRoutes(const Fabric& f) {
  RouteSet routes = testing::RouteWith(f, "updn")->routes;
  SubnetRoutes& r = routes.subnets[0];
  r.num_vls = 2;
  r.pair_sl.assign(f.subnets()[0].endpoint_ports.size() * r.num_lids(), 0);
  return routes;
}

void Overwrite(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

TEST_CASE("route sets: a run into a used directory leaves only its own files") {
  Fabric f = testing::Ring(3, 2);
  ScratchDir dir;
  REQUIRE(WriteRoutes(f, TwoVlRoutes(f), dir.dir, RouteWriteOptions{.json = true, .dump = true}));
  CHECK(Names(dir.dir) ==
        std::vector<std::string>{"opensm-lfts.dump", "routes.json", "routes.manifest", "sl-table.txt"});

  SUBCASE("an old sl-table.txt is not applied to new 1-VL dumps") {
    RouteSet one_vl = testing::RouteWith(f, "updn")->routes;
    REQUIRE(WriteRoutes(f, one_vl, dir.dir, RouteWriteOptions{.json = false, .dump = true}));
    CHECK(Names(dir.dir) == std::vector<std::string>{"opensm-lfts.dump", "routes.manifest"});
    auto back = ReadRoutes(f, dir.dir);
    REQUIRE(back);
    CHECK(back->subnets[0].num_vls == 1);
  }
  SUBCASE("an old routes.json does not hide new dumps") {
    REQUIRE(
        WriteRoutes(f, testing::RouteWith(f, "updn")->routes, dir.dir, RouteWriteOptions{.json = false, .dump = true}));
    auto back = ReadRoutes(f, dir.dir);
    REQUIRE(back);
    CHECK(back->subnets[0].engine == "file");  // from the dump; routes.json would say updn
  }
}

TEST_CASE("route sets: readers refuse an incomplete or mixed directory and say which file") {
  Fabric f = testing::Ring(3, 2);
  ScratchDir dir;
  REQUIRE(WriteRoutes(f, TwoVlRoutes(f), dir.dir, RouteWriteOptions{.json = true, .dump = true}));
  REQUIRE(ReadRoutes(f, dir.dir));
  REQUIRE(ReadRawLfts(dir.dir));
  std::string message, where;
  auto refused = [&] {
    auto routes = ReadRoutes(f, dir.dir);
    auto raw = ReadRawLfts(dir.dir);
    REQUIRE_FALSE(routes);
    REQUIRE_FALSE(raw);
    CHECK(raw.error().message == routes.error().message);
    message = routes.error().message;
    where = routes.error().where;
  };

  SUBCASE("no manifest") {
    fs::remove(dir / "routes.manifest");
    refused();
    CHECK(where == dir.dir);
    CHECK(message.starts_with("no routes.manifest: not a complete route set"));
  }
  SUBCASE("a listed file missing") {
    fs::remove(dir / "sl-table.txt");
    refused();
    CHECK(where == dir / "sl-table.txt");
    CHECK(message == "listed in " + dir / "routes.manifest" + ":4 but missing: the route set is incomplete");
  }
  SUBCASE("a file cut short") {
    fs::resize_file(dir / "routes.json", 10);
    refused();
    CHECK(where == dir / "routes.json");
    CHECK(message.ends_with(": cut short or replaced after the set was written"));
  }
  SUBCASE("a file changed in place, same size") {
    auto text = ReadFile(dir / "routes.json");
    REQUIRE(text);
    (*text)[text->find("updn")] = 'U';
    Overwrite(dir / "routes.json", *text);
    refused();
    CHECK(where == dir / "routes.json");
    CHECK(message ==
          "checksum differs from " + dir / "routes.manifest" + ":2: the file changed after the set was written");
  }
  SUBCASE("a route file of another run") {
    Overwrite(dir / "opensm-lfts.other.dump", "");
    refused();
    CHECK(where == dir / "opensm-lfts.other.dump");
    CHECK(message.starts_with("not in " + dir / "routes.manifest" + ": the directory mixes route files"));
  }
  SUBCASE("a bad manifest") {
    Overwrite(dir / "routes.manifest", "# fabricctl route-set v1\nfile 99999999999999999999 x routes.json\n");
    refused();
    CHECK(where == dir / "routes.manifest");
    CHECK(message == "size '99999999999999999999' is not a byte count");
  }
}

TEST_CASE("route sets: the next write removes what a killed writer left") {
  Fabric f = testing::Ring(3);
  ScratchDir dir;
  for (const char* left : {".fabricctl-tmp.4242.opensm-lfts.dump", "opensm-lfts.dump.tmp", ".routes.json.tmpAbC123"})
    Overwrite(dir / left, "half a file");
  Overwrite(dir / "notes.txt", "the user's");
  REQUIRE(WriteRoutes(f, testing::RouteWith(f, "updn")->routes, dir.dir));
  CHECK(Names(dir.dir) == std::vector<std::string>{"notes.txt", "opensm-lfts.dump", "routes.json", "routes.manifest"});
  CHECK(ReadRoutes(f, dir.dir));
}

TEST_CASE("route sets: after a writer stopped before its manifest, the next one removes the earlier set") {
  Fabric f = testing::Ring(3);
  ScratchDir dir;
  REQUIRE(WriteRoutes(f, testing::RouteWith(f, "updn")->routes, dir.dir, {.json = true, .dump = true}));
  {
    auto stopped = RouteSetWriter::Open(dir.dir, {"opensm-lfts.dump"});  // never commits
    REQUIRE(stopped);
  }
  CHECK_FALSE(ReadRoutes(f, dir.dir));
  REQUIRE(WriteRoutes(f, testing::RouteWith(f, "updn")->routes, dir.dir, {.json = false, .dump = true}));
  CHECK(Names(dir.dir) == std::vector<std::string>{"opensm-lfts.dump", "routes.manifest"});
  CHECK(ReadRoutes(f, dir.dir));
}

TEST_CASE("route sets: a second writer fails at once while the first one writes") {
  ScratchDir dir;
  auto first = RouteSetWriter::Open(dir.dir, {"routes.json"});
  REQUIRE(first);
  auto second = RouteSetWriter::Open(dir.dir, {"routes.json"});
  REQUIRE_FALSE(second);
  CHECK(second.error().message == "another fabricctl is writing route files into this directory");
}

TEST_CASE("route sets: the manifest format is strict, with file:line") {
  const std::string sha(64, 'a');
  auto ok =
      ParseRouteManifest("# fabricctl route-set v1\n# comment\nfile 12 " + sha + " opensm-lfts.my net.dump\n", "m");
  REQUIRE(ok);
  REQUIRE(ok->size() == 1);
  CHECK((*ok)[0].name == "opensm-lfts.my net.dump");
  CHECK((*ok)[0].size == 12);
  CHECK((*ok)[0].line == 3);
  CHECK(WriteRouteManifest(*ok) == "# fabricctl route-set v1\nfile 12 " + sha + " opensm-lfts.my net.dump\n");

  auto error = [](std::string text) {
    auto r = ParseRouteManifest(text, "m");
    REQUIRE_FALSE(r);
    return r.error().Format();
  };
  CHECK(error("routes.json\n") == "m:1: expected the header '# fabricctl route-set v1'\n  routes.json");
  CHECK(error("# fabricctl route-set v1\nfile 1 " + sha + " ../routes.json\n")
            .starts_with("m:2: '../routes.json' is not a file name"));
  CHECK(error("# fabricctl route-set v1\nfile 1 " + sha + " a\x1b[2Jb.dump\n")
            .starts_with("m:2: 'a?[2Jb.dump' is not a file name"));
  CHECK(error("# fabricctl route-set v1\nfile 1 " + sha + " x.dump\nfile 2 " + sha + " x.dump\n")
            .starts_with("m:3: 'x.dump' is listed twice"));
  CHECK(error("# fabricctl route-set v1\nfile 1 ABC x.dump\n")
            .starts_with("m:2: expected a SHA-256 of 64 lowercase hex digits"));
  CHECK(error("# fabricctl route-set v1\nfile 1\n").starts_with("m:2: expected 'file SIZE SHA256 NAME'"));
}

}  // namespace
}  // namespace fabricctl
