#include "routing/opensm_dump.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "tests/routing/route_check.h"
#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

void CheckSameTables(const SubnetRoutes& a, const SubnetRoutes& b) {
  CHECK(a.subnet == b.subnet);
  CHECK(a.switches == b.switches);
  CHECK(a.lid_owner == b.lid_owner);
  CHECK(a.lft == b.lft);
}

TEST_CASE("LFT dump: write -> read gives identical tables") {
  Fabric f = testing::TwoTierFatTree({.leaves = 4, .spines = 2, .hosts = 2});
  auto routed = testing::RouteWith(f, "ftree");
  REQUIRE(routed);
  const SubnetRoutes& r = routed->routes.subnets[0];
  std::string text = WriteOpensmDump(f, r, "subnet0");
  CHECK(
      text.starts_with("# fabricctl opensm-lfts.dump v1: subnet subnet0, engine ftree\n"
                       "Unicast lids [0x0-0xe] of switch Lid 1 guid 0x0000000000002000 (spine0):\n"
                       "  Lid  Out   Destination\n"
                       "       Port     Info \n"
                       "0x0001 000 : (Switch portguid 0x0000000000002000: 'spine0')\n"));
  CHECK(text.find("0x0004 001 : (Channel Adapter portguid 0x0000000000010000: 'h0-0')\n") != std::string::npos);
  CHECK(text.find("14 valid lids dumped \n") != std::string::npos);
  auto raw = ParseOpensmDump(text, "opensm-lfts.dump");
  REQUIRE(raw);
  CHECK(raw->switches.size() == 6);
  auto back = ResolveRawLfts(f, {*raw});
  REQUIRE(back);
  REQUIRE(back->subnets.size() == 1);
  CheckSameTables(back->subnets[0], r);
  CHECK(back->port_lid == routed->routes.port_lid);
  // Writing what was read gives the same text, apart from the engine named in the comment.
  back->subnets[0].engine = r.engine;
  CHECK(WriteOpensmDump(f, back->subnets[0], "subnet0") == text);
}

TEST_CASE("LFT dump: OpenSM's own layout is read too") {
  Fabric f = testing::Ring(2);
  // LIDs as AssignLids gives them: ring0=1, r0-0=2, ring1=3, r1-0=4.
  std::string text =
      "Unicast lids [0-4] of switch Lid 1 guid 0x0000000000003000 ('ring0'):\n"
      "0x0001 000 # Switch portguid 0x0000000000003000: 'ring0'\n"
      "0x0002 003 # Channel Adapter portguid 0x0000000000030000: 'r0-0'\n"
      "0x0003 002 # Switch portguid 0x0000000000003001: 'ring1'\n"
      "0x0004 002 # Channel Adapter portguid 0x0000000000030010: 'r1-0'\n"
      "4 lids dumped\n"
      "Unicast lids [0-4] of switch Lid 3 guid 0x0000000000003001 ('ring1'):\n"
      "0x0001 001 # Switch portguid 0x0000000000003000: 'ring0'\n"
      "0x0002 001 # Channel Adapter portguid 0x0000000000030000: 'r0-0'\n"
      "0x0003 000 # Switch portguid 0x0000000000003001: 'ring1'\n"
      "0x0004 003 # Channel Adapter portguid 0x0000000000030010: 'r1-0'\n"
      "4 lids dumped\n";
  auto raw = ParseOpensmDump(text, "osm.dump");
  REQUIRE(raw);
  CHECK(raw->switches[0].description == "ring0");
  CHECK(raw->switches[1].lid == 3);
  auto rs = ResolveRawLfts(f, {*raw});
  REQUIRE(rs);
  const SubnetRoutes& r = rs->subnets[0];
  CHECK(r.engine == "file");
  testing::CheckEveryLidRouted(f, r);
  CHECK(testing::WalkAllPairs(f, r).delivered == 2);
}

TEST_CASE("LFT dump: bad files are rejected with the line") {
  auto fails = [](std::string_view text, int line, std::string_view message) {
    auto raw = ParseOpensmDump(text, "bad.dump");
    REQUIRE_FALSE(raw);
    CHECK(raw.error().where == "bad.dump");
    CHECK(raw.error().line == line);
    CHECK(raw.error().message == message);
  };
  const std::string head = "Unicast lids [0x0-0x4] of switch Lid 1 guid 0x0000000000003000 (ring0):\n";
  fails("0x0001 001\n", 1, "LFT entry before any 'Unicast lids ... of switch' line");
  fails(head + "0x0001 001\n0x0002 0x1\n", 3, "expected an output port number 0..254 after the LID");
  fails(head + "0x0001 001\n0x0001 002\n", 3, "LID 0x0001 already listed on line 2");
  fails(head + "0xzz 001\n", 2, "expected '0xLID PORT ...'");
  fails(head + "0x0001 300\n", 2, "expected an output port number 0..254 after the LID");
  fails(head + "0x0001 001\n2 valid lids dumped \n", 3, "trailer says 2 entries, the section has 1");
  fails(head + "0x0001 001\n", 3, "file ends inside a switch section (no 'N valid lids dumped')");
  fails(head + "hello\n", 2, "unexpected line in an LFT dump");
  fails("Unicast lids [0x0-0x4] of switch Lid 1 guid 0xnope (x):\n", 1, "bad switch GUID");
  fails("Multicast mlids [0xc000-0xc001] of switch Lid 1 guid 0x1 (x):\n", 1,
        "a multicast forwarding table dump; expected unicast LFTs (dump_fts without -M)");
  fails(head + "0x0001 001\n1 valid lids dumped\n" + head, 4, "switch 0x0000000000003000 already listed on line 1");
}

TEST_CASE("LFT dump: a huge LID in a small file is an error, not gigabytes of tables") {
  const std::string head = "Unicast lids [0x0-0x4] of switch Lid 1 guid 0x0000000000003000 (ring0):\n";
  auto raw = ParseOpensmDump(head + "0x0FFFFFFF 001\n1 valid lids dumped\n", "big.dump");
  REQUIRE_FALSE(raw);
  CHECK(raw.error().line == 2);
  CHECK(raw.error().message == "LID 0xfffffff: more LFT entries than a dump of 107 bytes can hold");
  // Sections that each name a big LID add up.
  std::string many;
  for (int i = 0; i < 200; ++i)
    many += fmt::format(
        "Unicast lids [0x0-0xbfff] of switch Lid 1 guid 0x{:016x} (s):\n0xbfff 001\n"
        "1 valid lids dumped\n",
        0x1000 + i);
  raw = ParseOpensmDump(many, "many.dump");
  REQUIRE_FALSE(raw);
  CHECK(raw.error().message.starts_with("LID 0xbfff: more LFT entries than a dump of"));
  // A dense table up to a high LID is fine.
  std::string dense = head;
  for (int lid = 1; lid <= 0x2000; ++lid) dense += fmt::format("0x{:04x} 001\n", lid);
  dense += "8192 valid lids dumped\n";
  CHECK(ParseOpensmDump(dense, "dense.dump"));
}

TEST_CASE("LFT dump: tables that do not fit the topology are rejected with the line") {
  Fabric f = testing::Ring(2);
  auto resolve_fails = [&](std::string text, int line, std::string_view message) {
    auto raw = ParseOpensmDump(text, "t.dump");
    REQUIRE(raw);
    auto rs = ResolveRawLfts(f, {*raw});
    REQUIRE_FALSE(rs);
    CHECK(rs.error().line == line);
    CHECK(rs.error().message == message);
  };
  resolve_fails("Unicast lids [0x0-0x1] of switch Lid 1 guid 0x0000000000000abc (x):\n0 valid lids dumped\n", 1,
                "switch GUID 0x0000000000000abc is not in the topology");
  resolve_fails(
      "Unicast lids [0x0-0x1] of switch Lid 1 guid 0x0000000000003000 (x):\n"
      "0x0001 009 : (Switch portguid 0x0000000000003000: 'ring0')\n1 valid lids dumped\n",
      2, "port 9 on 'ring0', which has ports 0..3");
  resolve_fails(
      "Unicast lids [0x0-0x1] of switch Lid 1 guid 0x0000000000003000 (x):\n"
      "0x0001 000 : (Switch portguid 0x0000000000999999: 'zz')\n1 valid lids dumped\n",
      2, "port GUID 0x0000000000999999 is not in subnet subnet0 of the topology");
}

TEST_CASE("LFT dump: an empty or comment-only dump is an error naming the file") {
  Fabric f = testing::Ring(2);
  for (std::string_view text : {"", "\n\n", "# only a comment\n"}) {
    auto raw = ParseOpensmDump(text, "t.dump");
    REQUIRE(raw);
    auto rs = ResolveRawLfts(f, {*raw});
    REQUIRE_FALSE(rs);
    CHECK(rs.error().Format() ==
          "t.dump: lists no switch LFT (an LFT dump needs 'Unicast lids ... of switch ...' sections)");
  }
}

TEST_CASE("LFT dump: routes on several VLs are labelled and refused for OpenSM's file engine") {
  Fabric ring = testing::Ring(6, 2);
  auto multi = testing::RouteWith(ring, "dfsssp", EngineOptions{.max_vls = 4});
  REQUIRE(multi);
  const SubnetRoutes& r = multi->routes.subnets[0];
  REQUIRE(r.num_vls > 1);
  const std::string text = WriteOpensmDump(ring, r, "ring");
  const std::string first = text.substr(0, text.find('\n'));
  CHECK(first.starts_with(
      fmt::format("# fabricctl opensm-lfts.dump v1: subnet ring, engine dfsssp, {} VLs: LFTs only", r.num_vls)));
  CHECK(first.find("not for OpenSM's file engine") != std::string::npos);
  CHECK(ParseOpensmDump(text, "d.dump"));  // still a dump fabricctl reads
  auto header = ParseDumpHeader(first);
  REQUIRE(header);
  CHECK(header->subnet == "ring");
  CHECK(header->engine == "dfsssp");
  CHECK(header->vls == r.num_vls);

  auto refused = CheckOpensmHandOff(ring, multi->routes);
  REQUIRE_FALSE(refused);
  const std::string& message = refused.error().message;
  CHECK(
      message.starts_with(fmt::format("refusing to hand these routes to OpenSM: subnet {} routed by dfsssp on {} VLs.",
                                      ring.subnets()[0].name, r.num_vls)));
  CHECK(message.find("--vls 1") != std::string::npos);
  CHECK(message.find("`fabricctl deploy` (without --via)") != std::string::npos);

  // The same tables read back from the dump alone come in as one VL; the header still tells.
  auto raw = ParseOpensmDump(text, "d.dump");
  REQUIRE(raw);
  auto lone = ResolveRawLfts(ring, {*raw});
  REQUIRE(lone);
  CHECK(lone->subnets[0].num_vls == 1);
  CHECK(CheckOpensmHandOff(ring, *lone));
  CHECK_FALSE(CheckOpensmHandOff(ring, *lone, {*header}));

  // One VL: handed over; its header states no VLs.
  auto single = testing::RouteWith(ring, "updn");
  REQUIRE(single);
  CHECK(CheckOpensmHandOff(ring, single->routes));
  const std::string one = WriteOpensmDump(ring, single->routes.subnets[0], "ring");
  auto one_header = ParseDumpHeader(one.substr(0, one.find('\n')));
  REQUIRE(one_header);
  CHECK(one_header->vls == 1);
  CHECK(CheckOpensmHandOff(ring, single->routes, {*one_header}));
  CHECK_FALSE(ParseDumpHeader("Unicast lids [0x0-0x8] of switch Lid 1 guid 0x0000000000001000 (leaf0):"));
}

}  // namespace
}  // namespace fabricctl
