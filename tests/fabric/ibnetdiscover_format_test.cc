#include "fabric/ibnetdiscover_format.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>

#include "fabric/fabric_builder.h"
#include "tests/fabric/topology_test_util.h"

namespace fabricctl {
namespace {

using testing::Canonical;
using testing::DiffByGuid;
using testing::RandomFabric;
using testing::ReadTopoData;

Fabric MustParse(std::string_view text, std::string_view name) {
  auto f = ParseIbnetdiscover(text, name);
  if (!f) FAIL(f.error().Format());
  return std::move(*f);
}

// The error text for a bad input, as `fabricctl` prints it.
std::string ParseError(std::string_view text) {
  auto f = ParseIbnetdiscover(text, "bad.topo");
  if (f) return "(parsed)";
  return f.error().Format();
}

// A small fabric with every kind of node and the widths and speeds real fabrics show.
Fabric GoldenFabric() {
  FabricBuilder b;
  NodeId spine = *b.AddNode({.type = NodeType::kSwitch,
                             .num_ports = 64,
                             .guid = 0xfc6a1c0300e4a8c0,
                             .system_guid = 0xfc6a1c0300e4a8c0,
                             .description = "MF0;spine1:MQM9790/U1",
                             .vendor_id = 0x2c9,
                             .device_id = 0xd2f2});
  NodeId leaf = *b.AddNode({.type = NodeType::kSwitch,
                            .num_ports = 40,
                            .guid = 0xb83fd20300112233,
                            .description = "Quantum Mellanox Technologies",
                            .vendor_id = 0x2c9,
                            .device_id = 0xd2f0});
  NodeId gpu = *b.AddNode({.type = NodeType::kCa,
                           .num_ports = 2,
                           .guid = 0x946dae0300aa0010,
                           .system_guid = 0x946dae0300aa0010,
                           .description = "gpu001 mlx5_0",
                           .vendor_id = 0x2c9,
                           .device_id = 0x101b});
  NodeId old = *b.AddNode({.type = NodeType::kCa,
                           .num_ports = 1,
                           .guid = 0x0002c90300001000,
                           .description = "old \"quoted\" host=1",
                           .vendor_id = 0x2c9,
                           .device_id = 0x673c});
  NodeId router = *b.AddNode({.type = NodeType::kRouter,
                              .num_ports = 2,
                              .guid = 0x0002c90300002000,
                              .description = "ib-router",
                              .vendor_id = 0x2c9,
                              .device_id = 0x1});
  b.port(spine, 0).lid = 1;
  b.port(leaf, 0).lid = 2;
  b.port(leaf, 0).lmc = 1;
  REQUIRE(b.Connect(spine, 1, leaf, 33, LinkRate{.width = LinkWidth::k4x, .speed = LinkSpeed::kNDR}));
  REQUIRE(b.Connect(spine, 2, leaf, 34, LinkRate{.width = LinkWidth::k2x, .speed = LinkSpeed::kHDR}));
  REQUIRE(b.Connect(leaf, 1, gpu, 1, LinkRate{.width = LinkWidth::k4x, .speed = LinkSpeed::kHDR}));
  REQUIRE(b.Connect(spine, 9, gpu, 2, LinkRate{.width = LinkWidth::k1x, .speed = LinkSpeed::kSDR}));
  REQUIRE(b.Connect(leaf, 2, old, 1, LinkRate{.width = LinkWidth::k4x, .speed = LinkSpeed::kFDR10}));
  REQUIRE(b.Connect(leaf, 3, router, 1, LinkRate{.width = LinkWidth::k12x, .speed = LinkSpeed::kEDR}));
  for (auto [n, p, lid] :
       {std::tuple{gpu, 1u, 10u}, std::tuple{gpu, 2u, 11u}, std::tuple{old, 1u, 12u}, std::tuple{router, 1u, 13u}}) {
    b.port(n, p).guid = b.node(n).guid + p;
    b.port(n, p).lid = lid;
  }
  b.port(gpu, 1).lmc = 2;
  return std::move(*b.Build());
}

TEST_CASE("ibnetdiscover: golden file is exactly what the writer prints, and reads back") {
  Fabric f = GoldenFabric();
  // FABRICCTL_UPDATE_GOLDEN=1 rewrites the file after a deliberate format change; review the diff.
  if (std::getenv("FABRICCTL_UPDATE_GOLDEN"))
    REQUIRE(WriteFileAtomic(testing::TopoDataPath("written.ibnd"), WriteIbnetdiscover(f)));
  std::string golden = ReadTopoData("written.ibnd");
  REQUIRE(!golden.empty());
  CHECK(WriteIbnetdiscover(f) == golden);
  Fabric back = MustParse(golden, "written.ibnd");
  CHECK(back == Canonical(f));
  CHECK(WriteIbnetdiscover(back) == golden);
}

TEST_CASE("ibnetdiscover: random fabrics round-trip exactly (property)") {
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    CAPTURE(seed);
    Fabric f = RandomFabric(seed);
    std::string text = WriteIbnetdiscover(f);
    auto back = ParseIbnetdiscover(text, "random.topo");
    REQUIRE_MESSAGE(back, back.error().Format());
    CHECK(*back == Canonical(f));
    CHECK(WriteIbnetdiscover(*back) == text);
  }
}

TEST_CASE("ibnetdiscover: GUID-less nodes are written with synthetic GUIDs, everything else kept") {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    CAPTURE(seed);
    Fabric f = RandomFabric(seed, {.guid_less_nodes = true});
    auto back = ParseIbnetdiscover(WriteIbnetdiscover(f), "random.topo");
    REQUIRE_MESSAGE(back, back.error().Format());
    Fabric expected = Canonical(f);
    REQUIRE(back->num_nodes() == expected.num_nodes());
    for (NodeId n = 0; n < expected.num_nodes(); ++n) {
      CHECK(back->description(n) == expected.description(n));
      if (expected.node(n).guid != 0) CHECK(back->node(n).guid == expected.node(n).guid);
      CHECK(back->node(n).guid != 0);
    }
    CHECK(back->links().size() == expected.links().size());
    for (LinkId l = 0; l < expected.num_links(); ++l) CHECK(back->link(l) == expected.link(l));
  }
}

TEST_CASE("ibnetdiscover: writing what was read is a fixed point, even for GUID 0") {
  // Found by the fuzzer: `switchguid=0` gives a switch without GUIDs; the writer names it
  // by a synthetic GUID and must give its port the same one, or the next write differs.
  Fabric f = MustParse("switchguid=0\nSwitch 4 \"S-0000000000000000\"\n", "zero");
  CHECK(f.node(0).guid == 0);
  std::string once = WriteIbnetdiscover(f);
  CHECK(once.find("switchguid=0x200000(200000)\n") != std::string::npos);
  Fabric back = MustParse(once, "once");
  CHECK(back.node(0).guid == 0x200000);
  CHECK(back.port(back.port_id(0, 0)).guid == 0x200000);
  CHECK(WriteIbnetdiscover(back) == once);
}

TEST_CASE("ibnetdiscover: back-to-back CAs and routers (no switch) round-trip") {
  FabricBuilder b;
  NodeId a = *b.AddNode({.type = NodeType::kCa, .num_ports = 2, .guid = 0xa0, .description = "node-a mlx5_0"});
  NodeId c = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0xb0, .description = "node-b mlx5_0"});
  NodeId r = *b.AddNode({.type = NodeType::kRouter, .num_ports = 1, .guid = 0xc0, .description = "rt"});
  REQUIRE(b.Connect(a, 1, c, 1, LinkRate{.width = LinkWidth::k4x, .speed = LinkSpeed::kEDR}));
  REQUIRE(b.Connect(a, 2, r, 1, LinkRate{.width = LinkWidth::k1x, .speed = LinkSpeed::kSDR}));
  for (auto [n, p] : {std::pair{a, 1u}, std::pair{a, 2u}, std::pair{c, 1u}, std::pair{r, 1u}}) {
    b.port(n, p).guid = b.node(n).guid + p;
    b.port(n, p).lid = static_cast<uint32_t>(b.node(n).guid + p);
  }
  Fabric f = std::move(*b.Build());
  std::string text = WriteIbnetdiscover(f);
  // As ibnetdiscover prints a CA peer of a CA: " (peer port GUID) " after the peer port.
  CHECK(text.find("[1](a1) \t\"H-00000000000000b0\"[1] (b1) \t\t# lid 161 lmc 0 \"node-b mlx5_0\" lid 177 4xEDR\n") !=
        std::string::npos);
  CHECK(MustParse(text, "b2b") == Canonical(f));
}

TEST_CASE("ibnetdiscover: labels are not part of the format") {
  FabricBuilder b;
  Labels labels{.super_node = 3, .plane = 1, .tier = 2, .rack = 7, .level = FabricLevel::kScaleUp};
  NodeId s =
      *b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 0x10, .description = "s", .labels = labels});
  NodeId h = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x20, .description = "h"});
  REQUIRE(b.Connect(s, 1, h, 1, LinkRate{}));
  Fabric f = std::move(*b.Build());
  Fabric back = MustParse(WriteIbnetdiscover(f), "x");
  CHECK(back.node(0).labels == Labels{});
  CHECK(back == Canonical(f));
}

TEST_CASE("ibsim records get the GUIDs ibsim gives them: the file equals what ibnetdiscover saw through ibsim") {
  // ibsim_small.ibnd is Debian ibnetdiscover's output against `ibsim -s ibsim_small.net`.
  Fabric planned = MustParse(ReadTopoData("ibsim_small.net"), "ibsim_small.net");
  Fabric discovered = MustParse(ReadTopoData("ibsim_small.ibnd"), "ibsim_small.ibnd");
  CHECK(DiffByGuid(planned, discovered) == "");
  CHECK(planned.num_nodes() == 6);
  CHECK(planned.num_links() == 8);
  // Numbered by ibsim: switches from 0x200000, CAs from 0x100000 (+ ports + 1 per CA).
  auto leaf2 = planned.FindByDescription("leaf2");
  REQUIRE(leaf2);
  CHECK(planned.node(*leaf2).guid == 0x200001);
  auto h2 = planned.FindByDescription("h2");
  REQUIRE(h2);
  CHECK(planned.node(*h2).guid == 0x100002);
  CHECK(planned.port(planned.port_id(*h2, 1)).guid == 0x100003);
  // w=1 s=1 on both ends trains 1xSDR; ends without a rate train at ibsim's 4xSDR.
  CHECK(planned.port(planned.port_id(*h2, 1)).width_active == LinkWidth::k1x);
  const Port& l2p7 = planned.port(planned.port_id(*leaf2, 7));
  CHECK(l2p7.width_active == LinkWidth::k4x);
  CHECK(l2p7.speed_active == LinkSpeed::kSDR);
  CHECK(l2p7.state == PortState::kActive);
  CHECK(l2p7.phys_state == PhysState::kLinkUp);
  auto spine = planned.FindByGuid(0x8f10400400001);
  REQUIRE(spine);
  CHECK(planned.port(planned.port_id(*spine, 0)).lid == 3);
  CHECK(planned.port(planned.port_id(*spine, 0)).lmc == 1);
  auto h3 = planned.FindByGuid(0x2c90300001000);
  REQUIRE(h3);
  CHECK(planned.port(planned.port_id(*h3, 2)).lmc == 2);
  CHECK(planned.port(planned.port_id(*h3, 1)).speed_active == LinkSpeed::kFDR10);
  CHECK(planned.port(planned.port_id(*h3, 2)).width_active == LinkWidth::k2x);
}

TEST_CASE("ibsim extras: GUID bases, default width/speed lines and port options train as in ibsim") {
  // ibsim_extras.ibnd is Debian ibnetdiscover's output against `ibsim -s ibsim_extras.net`.
  Fabric planned = MustParse(ReadTopoData("ibsim_extras.net"), "ibsim_extras.net");
  Fabric discovered = MustParse(ReadTopoData("ibsim_extras.ibnd"), "ibsim_extras.ibnd");
  CHECK(DiffByGuid(planned, discovered) == "");
  CHECK(planned.FindByGuid(0x5008));  // switchguid+8: offset from the last base
  CHECK(planned.FindByGuid(0x9000));
}

TEST_CASE("ibnetdiscover: Debian ibsim example discovered through ibsim") {
  Fabric f = MustParse(ReadTopoData("ibsim_example_2sw2path4hca2port.ibnd"), "example");
  CHECK(f.num_nodes() == 4);
  CHECK(f.num_links() == 6);
  CHECK(f.subnets().size() == 1);
  // The example itself ships with ibsim-utils; when installed it must describe the same fabric.
  const char* example = "/usr/share/doc/ibsim-utils/net-examples/net.2sw2path4hca2port";
  if (access(example, R_OK) == 0) {
    auto text = ReadFile(example);
    REQUIRE(text);
    CHECK(DiffByGuid(MustParse(*text, example), f) == "");
  }
}

TEST_CASE("ibnetdiscover: a production-shaped dump with every width, speed and extra field") {
  Fabric f = MustParse(ReadTopoData("production_shape.ibnd"), "production_shape.ibnd");
  CHECK(f.num_nodes() == 7);
  auto leaf = f.FindByGuid(0xb83fd20300a1b2c0);
  REQUIRE(leaf);
  CHECK(f.description(*leaf) == "MF0;leaf01:MQM9700/U1");
  CHECK(f.node(*leaf).vendor_id == 0x2c9);
  CHECK(f.node(*leaf).device_id == 0xd2f2);
  CHECK(f.node(*leaf).system_guid == 0xb83fd20300a1b2c0);
  CHECK(f.port(f.port_id(*leaf, 0)).lid == 17);
  auto rate = [&](uint64_t guid, unsigned port) {
    auto n = f.FindByGuid(guid);
    REQUIRE(n);
    const Port& p = f.port(f.port_id(*n, port));
    return std::string(ToString(p.width_active)) + std::string(ToString(p.speed_active));
  };
  CHECK(rate(0xb83fd20300a1b2c0, 1) == "4xNDR");
  CHECK(rate(0xb83fd20300a1b2c0, 2) == "2xHDR");
  CHECK(rate(0xb83fd20300a1b2c0, 3) == "4xEDR");
  CHECK(rate(0xb83fd20300a1b2c0, 4) == "1xSDR");
  CHECK(rate(0xb83fd20300a1b2c0, 5) == "4xFDR10");
  CHECK(rate(0xb83fd20300a1b2c0, 6) == "4xnone");    // ibnetdiscover printed "4x???"
  CHECK(rate(0xb83fd20300a1b2c0, 7) == "nonenone");  // "?????"
  auto h = f.FindByGuid(0x946dae0300aa0010);
  REQUIRE(h);
  CHECK(f.port(f.port_id(*h, 1)).guid == 0x946dae0300aa0011);
  CHECK(f.port(f.port_id(*h, 1)).lid == 101);
}

TEST_CASE("ibnetdiscover: records saved without blank lines between them read the same") {
  // Some tools store dumps with the blank lines stripped; a record still ends at the first
  // line that is not a port line.
  std::string text = ReadTopoData("production_shape.ibnd");
  std::string packed;
  for (size_t at = 0; at < text.size();) {
    size_t nl = text.find('\n', at);
    std::string_view line(text.data() + at, (nl == std::string::npos ? text.size() : nl) - at);
    if (!line.empty()) packed.append(line).append("\n");
    at = nl == std::string::npos ? text.size() : nl + 1;
  }
  REQUIRE(packed.size() < text.size());
  CHECK(MustParse(packed, "packed") == MustParse(text, "production_shape.ibnd"));
}

TEST_CASE("ibnetdiscover: bad input is rejected with file:line, what was expected, and the line") {
  // Each case: input, the exact message fabricctl prints.
  const std::pair<std::string, std::string> cases[] = {
      {"Switch\t8 \"S-0000000000000001\"\t\t# \"s\" base port 0 lid 1 lmc 0\n[9]\t\"H-0000000000000002\"[1]\n",
       "bad.topo:2: port 9 out of range: \"S-0000000000000001\" has ports 1..8\n"
       "  [9]\t\"H-0000000000000002\"[1]\n"
       "  ^"},
      {"Switch 8 \"a\"\n[1] \"b\"[1]\n",
       "bad.topo:2: unknown node \"b\": no record in this file defines it\n"
       "  [1] \"b\"[1]\n"
       "      ^"},
      {"Switch 8 \"a\"\n[1] \"b\"[1]\n\nHca 1 \"b\"\n",
       "bad.topo:2: \"a\"[1] is cabled to \"b\"[1], but the \"b\" record (line 4) does not list port 1\n"
       "  [1] \"b\"[1]\n"
       "      ^"},
      {"Switch 8 \"a\"\n[1] \"b\"[1]\n\nSwitch 8 \"c\"\n\nHca 1 \"b\"\n[1] \"c\"[1]\n",
       "bad.topo:2: \"a\"[1] is cabled to \"b\"[1], but line 7 cables \"b\"[1] to \"c\"[1]\n"
       "  [1] \"b\"[1]\n"
       "      ^"},
      {"Switch 8 \"a\"\n\nSwitch 4 \"a\"\n",
       "bad.topo:3: duplicate node name \"a\" (first defined at line 1)\n"
       "  Switch 4 \"a\"\n"
       "           ^"},
      {"Switch 8 \"a\"\n[1] \"b\"[1]\t\t# \"b\" lid 0 4xHDR\n\nHca 1 \"b\"\n[1] \"a\"[1]\t\t# lid 0 lmc 0 \"a\" lid 0 "
       "4xEDR\n",
       "bad.topo:5: the two ends of \"a\"[1] -- \"b\"[1] disagree: 4xEDR here, 4xHDR at line 2\n"
       "  [1] \"a\"[1]\t\t# lid 0 lmc 0 \"a\" lid 0 4xEDR\n"
       "            \t\t                        ^"},
      {"Switch 8 \"a\"\n[1] \"b\"[1]\t\t# \"b\" lid 0 4xQQR\n",
       "bad.topo:2: expected a width and speed such as 4xHDR, 2xNDR or 1xSDR, found '4xQQR'\n"
       "  [1] \"b\"[1]\t\t# \"b\" lid 0 4xQQR\n"
       "            \t\t            ^"},
      {"Switch 8 \"a\"\n[1] \"b\"[1]\t\t# \"host b\" lid 0 4xHDR\n\nHca 1 \"b\"\t# \"host B\"\n[1] \"a\"[1]\n",
       "bad.topo:2: peer description \"host b\" does not match \"host B\" of \"b\" (line 4)\n"
       "  [1] \"b\"[1]\t\t# \"host b\" lid 0 4xHDR\n"
       "            \t\t  ^"},
      {"Switch 8 \"a\"\n[1] \"b\"[1]\t\t# \"b\" lid 7 4xHDR\n\nHca 1 \"b\"\n[1] \"a\"[1]\t\t# lid 8 lmc 0 \"a\" lid 0 "
       "4xHDR\n",
       "bad.topo:2: peer LID 7 does not match LID 8 of \"b\"[1] (line 5)\n"
       "  [1] \"b\"[1]\t\t# \"b\" lid 7 4xHDR\n"
       "            \t\t          ^"},
      {"[1] \"b\"[1]\n",
       "bad.topo:1: expected a Switch, Ca or Rt line before this port line (port lines belong to a node record)\n"
       "  [1] \"b\"[1]\n"
       "  ^"},
      {"Swtich 8 \"a\"\n",
       "bad.topo:1: expected a node record (Switch, Ca, Hca, Rt), a vendid/devid/sysimgguid/switchguid/caguid/rtguid "
       "line, or a comment\n"
       "  Swtich 8 \"a\"\n"
       "  ^"},
      {"Switch 0 \"a\"\n",
       "bad.topo:1: expected a number of ports 1..255 after 'Switch'\n"
       "  Switch 0 \"a\"\n"
       "         ^"},
      {"Ca 2 a\n",
       "bad.topo:1: expected the quoted node name after the number of ports\n"
       "  Ca 2 a\n"
       "       ^"},
      {"Switch 8 \"a\"\n[2] \"a\"[3]\n[2] \"a\"[4]\n",
       "bad.topo:3: port 2 of \"a\" is listed twice (first at line 2)\n"
       "  [2] \"a\"[4]\n"
       "  ^"},
      {"switchguid=0x10(10)\nSwitch 8 \"S-0000000000000011\"\n",
       "bad.topo:2: node name \"S-0000000000000011\" says GUID 0x11, but the GUID line 1 says 0x10\n"
       "  Switch 8 \"S-0000000000000011\"\n"
       "           ^"},
      {"caguid=0x5\nCa 1 \"x\"\n\ncaguid=0x5\nCa 1 \"y\"\n",
       "bad.topo:5: duplicate node GUID 0x0000000000000005: also \"x\" at line 2\n"
       "  Ca 1 \"y\"\n"
       "       ^"},
      {"Switch 8 \"a\"\n[1] \"b\"[1] w=2\n\nHca 1 \"b\"\n[1] \"a\"[1] w=1\n",
       "bad.topo:5: \"a\"[1] and \"b\"[1] share no enabled width or speed (ibsim refuses such a link)\n"
       "  [1] \"a\"[1] w=1\n"
       "      ^"},
      {"include \"other.net\"\n",
       "bad.topo:1: ibsim 'include' lines are not supported: inline the included file\n"
       "  include \"other.net\"\n"
       "  ^"},
      {"vendid=0xzz\n",
       "bad.topo:1: expected a number after 'vendid='\n"
       "  vendid=0xzz\n"
       "         ^"},
  };
  for (const auto& [input, message] : cases) {
    CAPTURE(input);
    CHECK(ParseError(input) == message);
  }
}

TEST_CASE("ibnetdiscover: errors carry where, line, column and text separately") {
  auto f = ParseIbnetdiscover("Switch 8 \"a\"\n[1] \"nope\"[1]\n", "f.topo");
  REQUIRE(!f);
  CHECK(f.error().where == "f.topo");
  CHECK(f.error().line == 2);
  CHECK(f.error().column == 5);
  CHECK(f.error().text == "[1] \"nope\"[1]");
}

TEST_CASE("ibnetdiscover: empty and comment-only input is an empty fabric; CRLF is accepted") {
  CHECK(MustParse("", "e").num_nodes() == 0);
  CHECK(MustParse("#\n# nothing\n\n", "e").num_nodes() == 0);
  Fabric f = MustParse("Switch 2 \"a\"\r\n[1] \"b\"[1]\r\n\r\nHca 1 \"b\"\r\n[1] \"a\"[1]\r\n", "crlf");
  CHECK(f.num_links() == 1);
}

}  // namespace
}  // namespace fabricctl
