#include "routing/route_io.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "fabric/file_io.h"
#include "routing/opensm_dump.h"
#include "routing/sl_table.h"
#include "tests/routing/route_check.h"
#include "tests/routing/test_fabrics.h"
#include "tests/scratch_dir.h"

namespace fabricctl {
namespace {

using fabricctl::testing::ScratchDir;

// Two subnets: a ring (updn) and a 2-tier fat tree (ftree), with a dual-port endpoint in both.
Fabric TwoSubnets() {
  FabricBuilder b;
  Labels up{.super_node = 0, .level = FabricLevel::kScaleUp};
  Labels out{.level = FabricLevel::kScaleOut};
  std::vector<NodeId> ring, leaves;
  for (unsigned i = 0; i < 4; ++i)
    ring.push_back(*b.AddNode({.type = NodeType::kSwitch,
                               .num_ports = 4,
                               .guid = 0x100 + i,
                               .description = fmt::format("up{}", i),
                               .labels = up}));
  NodeId spine =
      *b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 0x200, .description = "spine", .labels = out});
  for (unsigned i = 0; i < 2; ++i)
    leaves.push_back(*b.AddNode({.type = NodeType::kSwitch,
                                 .num_ports = 4,
                                 .guid = 0x300 + i,
                                 .description = fmt::format("leaf{}", i),
                                 .labels = out}));
  for (unsigned i = 0; i < 4; ++i) REQUIRE(b.Connect(ring[i], 1, ring[(i + 1) % 4], 2, LinkRate{}));
  for (unsigned i = 0; i < 2; ++i) REQUIRE(b.Connect(leaves[i], 4, spine, i + 1, LinkRate{}));
  for (unsigned i = 0; i < 4; ++i) {
    NodeId acc =
        *b.AddNode({.type = NodeType::kCa, .num_ports = 2, .guid = 0x1000 + i, .description = fmt::format("acc{}", i)});
    REQUIRE(b.Connect(acc, 1, ring[i], 3, LinkRate{}));
    REQUIRE(b.Connect(acc, 2, leaves[i / 2], 1 + i % 2, LinkRate{}));
  }
  return std::move(*b.Build());
}

TEST_CASE("route files: a directory round trip through JSON and through the dumps") {
  Fabric f = TwoSubnets();
  REQUIRE(f.subnets().size() == 2);
  auto routed = testing::RouteWith(f, "scale-up=updn,scale-out=ftree");
  REQUIRE(routed);
  CHECK(routed->routes.subnets[0].engine == "updn");
  CHECK(routed->routes.subnets[1].engine == "ftree");
  ScratchDir dir;
  REQUIRE(WriteRoutes(f, routed->routes, dir.dir));
  CHECK(std::filesystem::exists(dir.dir + "/routes.json"));
  CHECK(std::filesystem::exists(dir.dir + "/opensm-lfts.scale-up_sn0.dump"));
  CHECK(std::filesystem::exists(dir.dir + "/opensm-lfts.scale-out.dump"));
  CHECK_FALSE(std::filesystem::exists(dir.dir + "/sl-table.txt"));

  auto back = ReadRoutes(f, dir.dir);  // routes.json
  REQUIRE(back);
  REQUIRE(back->subnets.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(back->subnets[i].lft == routed->routes.subnets[i].lft);
    CHECK(back->subnets[i].lid_owner == routed->routes.subnets[i].lid_owner);
    CHECK(back->subnets[i].engine == routed->routes.subnets[i].engine);
    CHECK(back->subnets[i].reason == routed->routes.subnets[i].reason);
  }
  CHECK(back->port_lid == routed->routes.port_lid);

  ScratchDir dump_dir;
  REQUIRE(WriteRoutes(f, routed->routes, dump_dir.dir, RouteWriteOptions{.json = false, .dump = true}));
  auto dumps = ReadRoutes(f, dump_dir.dir);  // the two dumps
  REQUIRE(dumps);
  REQUIRE(dumps->subnets.size() == 2);
  for (size_t i = 0; i < 2; ++i) CHECK(dumps->subnets[i].lft == routed->routes.subnets[i].lft);
  CHECK(dumps->port_lid == routed->routes.port_lid);

  auto one = ReadRoutes(f, dir.dir + "/opensm-lfts.scale-out.dump");
  REQUIRE(one);
  REQUIRE(one->subnets.size() == 1);
  CHECK(one->subnets[0].subnet == 1);
}

TEST_CASE("route files: SL tables round trip through the text table and JSON") {
  Fabric f = testing::Ring(3, 2);
  auto routed = testing::RouteWith(f, "updn");
  REQUIRE(routed);
  SubnetRoutes& r = routed->routes.subnets[0];
  // Pretend a 2-VL engine: SL by parity of source and destination, VL = SL, one switch turn remapped.
  const Subnet& s = f.subnets()[0];
  const size_t L = r.num_lids();
  r.num_vls = 2;
  r.pair_sl.assign(s.endpoint_ports.size() * L, 0);
  for (size_t e = 0; e < s.endpoint_ports.size(); ++e)
    for (Lid d = 1; d < L; ++d) r.pair_sl[e * L + d] = (e + d) % 2;
  for (int i = 0; i < 16; ++i) r.endpoint_sl2vl[i] = i % 2;
  r.sl2vl_stride = 5;
  r.sl2vl.assign(r.switches.size() * 25 * 16, 0);
  for (size_t k = 0; k < r.switches.size() * 25; ++k)
    for (int sl = 0; sl < 16; ++sl) r.sl2vl[k * 16 + sl] = sl % 2;
  for (int sl = 0; sl < 16; ++sl) r.sl2vl[((1 * 5 + 1) * 5 + 2) * 16 + sl] = 1;  // switch 1: port 1 -> 2 all on VL 1
  ScratchDir dir;
  REQUIRE(WriteRoutes(f, routed->routes, dir.dir));
  auto text = ReadFile(dir.dir + "/sl-table.txt");
  REQUIRE(text);
  INFO(*text);
  CHECK(
      text->starts_with("# fabricctl sl-table v1\nsubnet subnet0 vls 2 lids 0xa\nendpoint-sl2vl 0101010101010101\n"
                        "sl2vl-default 0101010101010101\nsl2vl 0x0000000000003001 1 2 1111111111111111\n"
                        "src 0x0002 -101010101\n"));
  auto check = [&](const RouteSet& back) {
    const SubnetRoutes& b = back.subnets.at(0);
    CHECK(b.num_vls == 2);
    CHECK(b.pair_sl == r.pair_sl);
    CHECK(b.endpoint_sl2vl == r.endpoint_sl2vl);
    REQUIRE(b.sl2vl_stride == r.sl2vl_stride);
    CHECK(b.sl2vl == r.sl2vl);
  };
  auto via_json = ReadRoutes(f, dir.dir);
  REQUIRE(via_json);
  check(*via_json);
  ScratchDir text_dir;
  REQUIRE(WriteRoutes(f, routed->routes, text_dir.dir, RouteWriteOptions{.json = false, .dump = true}));
  auto via_text = ReadRoutes(f, text_dir.dir);
  REQUIRE(via_text);
  check(*via_text);
}

TEST_CASE("route files: bad JSON and SL tables are rejected with their location") {
  Fabric f = testing::Ring(2);
  ScratchDir dir;
  std::string path = dir.dir + "/routes.json";
  REQUIRE(
      WriteFileAtomic(path, "{\n  \"format\": \"fabricctl-routes\",\n  \"version\": 1,\n  \"subnets\": [ oops ]\n}\n"));
  auto bad = ReadRoutes(f, path);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().line == 4);
  CHECK(bad.error().message.starts_with("JSON syntax error at byte "));
  REQUIRE(WriteFileAtomic(path, R"({"format": "fabricctl-routes", "version": 1, "subnets": [{"name": "subnet0",
    "num_lids": 5, "lids": [], "switches": [{"guid": "0x0000000000003000", "lft": "ff00"}]}]})"));
  bad = ReadRoutes(f, path);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "/subnets/0/switches/0/lft: 4 hex digits, expected 10 (2 per LID)");
  REQUIRE(WriteFileAtomic(path, R"({"format": "fabricctl-routes", "version": 2, "subnets": []})"));
  bad = ReadRoutes(f, path);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "/version: expected 1, got 2");

  auto sl = ParseSlTable("# fabricctl sl-table v1\nsubnet s vls 2 lids 0x3\nsrc 0x1 -0\nbogus\n", "sl.txt");
  REQUIRE_FALSE(sl);
  CHECK(sl.error().line == 4);
  CHECK(sl.error().message == "unexpected line in an SL table");
  sl = ParseSlTable("subnet s vls 2 lids 0x3\n", "sl.txt");
  REQUIRE_FALSE(sl);
  CHECK(sl.error().message == "expected the header '# fabricctl sl-table v1'");
}

}  // namespace
}  // namespace fabricctl
