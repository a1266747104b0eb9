#include "fabric/json_topology.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <functional>
#include <random>

#include "fabric/fabric_builder.h"

namespace fabricctl {
namespace {

// Two switches cabled twice, a CA on each, a dual-port CA with one port unconnected; the
// ports carry every attribute with values that differ from the builder's defaults.
Fabric SmallFabric() {
  FabricBuilder b;
  Labels leaf{.super_node = 2, .plane = 1, .tier = 1, .rack = 7, .level = FabricLevel::kScaleOut};
  NodeId s1 = *b.AddNode({.type = NodeType::kSwitch,
                          .num_ports = 8,
                          .guid = 0x0002c90300a00001,
                          .system_guid = 0x0002c90300a00000,
                          .description = "sw1 \"leaf\" \\ ünïcode",
                          .labels = leaf,
                          .vendor_id = 0x2c9,
                          .device_id = 0xd2f0});
  NodeId s2 = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 8, .guid = 0x200001, .description = "sw2"});
  NodeId h1 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x100000, .description = "h1"});
  NodeId h2 = *b.AddNode({.type = NodeType::kCa, .num_ports = 2, .description = "h2 no guid"});
  NodeId r = *b.AddNode({.type = NodeType::kRouter, .num_ports = 1, .guid = 0x300000, .description = "rt"});
  REQUIRE(b.Connect(s1, 3, s2, 3, LinkRate{.width = LinkWidth::k4x, .speed = LinkSpeed::kNDR}));
  REQUIRE(b.Connect(s2, 5, s1, 5, LinkRate{.width = LinkWidth::k2x, .speed = LinkSpeed::kHDR}));
  REQUIRE(b.Connect(h1, 1, s1, 1, LinkRate{}));
  REQUIRE(b.Connect(h2, 1, s1, 2));
  REQUIRE(b.Connect(r, 1, s2, 8, LinkRate{.width = LinkWidth::k12x, .speed = LinkSpeed::kXDR}));
  Port& p = b.port(h1, 1);
  p.guid = 0x100001;
  p.lid = 70000;  // beyond the 16-bit LID space on purpose
  p.lmc = 2;
  p.width_enabled = WidthBit(LinkWidth::k1x) | WidthBit(LinkWidth::k4x);
  p.width_supported = WidthBit(LinkWidth::k1x) | WidthBit(LinkWidth::k2x) | WidthBit(LinkWidth::k4x);
  p.speed_supported = SpeedBit(LinkSpeed::kSDR) | SpeedBit(LinkSpeed::kFDR10) | SpeedBit(LinkSpeed::kHDR);
  b.port(h2, 2).state = PortState::kArmed;
  b.port(h2, 2).phys_state = PhysState::kErrorRecovery;
  b.port(s1, 0).lid = 1;
  auto f = b.Build();
  REQUIRE(f);
  return std::move(*f);
}

TEST_CASE("json topology: write then read gives the same fabric") {
  Fabric f = SmallFabric();
  std::string text = WriteJsonTopology(f);
  auto back = ParseJsonTopology(text, "small.json");
  REQUIRE_MESSAGE(back, back.error().Format());
  CHECK(*back == f);
  CHECK(back->subnets().size() == f.subnets().size());
  CHECK(WriteJsonTopology(*back) == text);
}

TEST_CASE("json topology: the direct writer and the DOM agree") {
  Fabric f = SmallFabric();
  CHECK(nlohmann::json::parse(WriteJsonTopology(f)) == TopologyToJson(f));
  auto back = TopologyFromJson(TopologyToJson(f), "dom");
  REQUIRE(back);
  CHECK(*back == f);
}

TEST_CASE("json topology: layout is versioned, ports positional, masks by name") {
  nlohmann::json j = TopologyToJson(SmallFabric());
  CHECK(j["format"] == "fabricctl-topology");
  CHECK(j["version"] == 1);
  const auto& sw1 = j["nodes"][0];
  CHECK(sw1["guid"] == "0x0002c90300a00001");
  CHECK(sw1["vendor_id"] == "0x2c9");
  CHECK(sw1["labels"] ==
        nlohmann::json{{"super_node", 2}, {"plane", 1}, {"tier", 1}, {"rack", 7}, {"level", "scale-out"}});
  CHECK(!j["nodes"][1].contains("labels"));
  CHECK(sw1["ports"].size() == 9);
  CHECK(sw1["ports"][3] ==
        nlohmann::json::parse(
            R"([3, "0x0002c90300a00001", 0, 0, "Active", "LinkUp", "4x", "4x", "4x", "NDR", "NDR", "NDR"])"));
  const auto& h1 = j["nodes"][2];
  CHECK(h1["ports"][1][7] == "1x,4x");
  CHECK(h1["ports"][1][8] == "1x,2x,4x");
  CHECK(h1["ports"][1][11] == "SDR,FDR10,HDR");
  CHECK(j["nodes"][3]["ports"][1][6] == "");  // connected without a rate
  CHECK(j["links"][1] == nlohmann::json::array({0, 5, 1, 5}));
}

// Descriptions come from switch firmware and people: quotes, escapes, control
// characters and non-ASCII must survive.
constexpr std::string_view kTricky[] = {"",           " \"quoted\"", "\\back\\slash",   "\ttab\nnewline\x01",
                                        " ünïcödé ✓", "/~0~1/",      "{\"json\": [1]}", "  "};

// Random fabrics through the builder: random node types, port counts, attributes and cabling.
Fabric RandomFabric(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](uint64_t n) { return static_cast<unsigned>(rng() % n); };
  FabricBuilder b;
  unsigned nodes = 1 + pick(40);
  for (unsigned i = 0; i < nodes; ++i) {
    NodeSpec spec{.type = static_cast<NodeType>(1 + pick(3)),
                  .num_ports = 1 + pick(i % 7 == 0 ? 255 : 12),
                  .guid = pick(4) == 0 ? 0 : (seed << 20) + i + 1,
                  .system_guid = rng(),
                  .description = fmt::format("node-{}-{}{}", i, pick(1000), kTricky[pick(std::size(kTricky))]),
                  .labels = {.super_node = static_cast<int32_t>(pick(5)) - 1,
                             .plane = static_cast<int32_t>(pick(3)) - 1,
                             .tier = static_cast<int32_t>(pick(4)) - 1,
                             .rack = static_cast<int32_t>(pick(100)) - 1,
                             .level = static_cast<FabricLevel>(pick(3))},
                  .vendor_id = static_cast<uint32_t>(rng()),
                  .device_id = pick(0x10000)};
    NodeId n = *b.AddNode(spec);
    for (unsigned p = 0; p <= b.node(n).num_ports; ++p) {
      Port& port = b.port(n, p);
      port.guid = rng();
      port.lid = static_cast<uint32_t>(rng());
      port.lmc = static_cast<uint8_t>(pick(8));
      port.state = static_cast<PortState>(pick(5));
      port.phys_state = static_cast<PhysState>(pick(8));
      constexpr LinkWidth kW[] = {LinkWidth::kNone, LinkWidth::k1x, LinkWidth::k2x,
                                  LinkWidth::k4x,   LinkWidth::k8x, LinkWidth::k12x};
      port.width_active = kW[pick(6)];
      port.width_enabled = static_cast<WidthMask>(pick(32));
      port.width_supported = static_cast<WidthMask>(pick(32));
      port.speed_active = static_cast<LinkSpeed>(pick(10));
      port.speed_enabled = static_cast<SpeedMask>(pick(1024) & ~1u);
      port.speed_supported = static_cast<SpeedMask>(pick(1024) & ~1u);
    }
  }
  unsigned attempts = pick(nodes * 4);
  for (unsigned i = 0; i < attempts; ++i) {
    NodeId a = pick(nodes), c = pick(nodes);
    unsigned pa = 1 + pick(b.node(a).num_ports), pc = 1 + pick(b.node(c).num_ports);
    if (b.peer(a, pa) != kNone || b.peer(c, pc) != kNone || (a == c && pa == pc)) continue;
    REQUIRE(b.Connect(a, pa, c, pc));
  }
  auto f = b.Build();
  REQUIRE(f);
  return std::move(*f);
}

TEST_CASE("json topology property: random fabric -> write -> read -> identical") {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    CAPTURE(seed);
    Fabric f = RandomFabric(seed);
    auto back = ParseJsonTopology(WriteJsonTopology(f), "random.json");
    REQUIRE_MESSAGE(back, back.error().Format());
    REQUIRE(*back == f);
  }
}

TEST_CASE("json topology: an empty fabric round-trips") {
  FabricBuilder b;
  Fabric f = *b.Build();
  auto back = ParseJsonTopology(WriteJsonTopology(f), "empty.json");
  REQUIRE(back);
  CHECK(back->num_nodes() == 0);
}

// Applies `edit` to the DOM of SmallFabric and returns the reader's error text.
std::string ErrorAfter(const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json j = TopologyToJson(SmallFabric());
  edit(j);
  auto r = ParseJsonTopology(j.dump(), "t.json");
  if (r) return "no error";
  return r.error().Format();
}

TEST_CASE("json topology: bad documents are rejected naming the JSON pointer") {
  using nlohmann::json;
  CHECK(ErrorAfter([](json& j) { j["version"] = 2; }) ==
        "t.json: /version: unsupported version 2, this fabricctl reads version 1");
  CHECK(ErrorAfter([](json& j) { j["format"] = "other"; }) ==
        "t.json: /format: expected \"fabricctl-topology\", got \"other\"");
  CHECK(ErrorAfter([](json& j) { j.erase("format"); }) == "t.json: /: missing field \"format\"");
  CHECK(ErrorAfter([](json& j) { j.erase("links"); }) == "t.json: /: missing field \"links\"");
  CHECK(ErrorAfter([](json& j) { j["a/b~"] = 1; }) ==
        "t.json: /a~1b~0: unknown field, expected format, version, nodes or links");
  CHECK(ErrorAfter([](json& j) { j["extra"] = 1; }) ==
        "t.json: /extra: unknown field, expected format, version, nodes or links");
  CHECK(ErrorAfter([](json& j) { j["nodes"][2].erase("description"); }) ==
        "t.json: /nodes/2: missing field \"description\"");
  CHECK(ErrorAfter([](json& j) { j["nodes"][1]["type"] = "hub"; }) ==
        "t.json: /nodes/1/type: unknown node type \"hub\", expected switch, ca, router");
  CHECK(ErrorAfter([](json& j) { j["nodes"][1]["guid"] = 12; }) == "t.json: /nodes/1/guid: expected a string, got 12");
  CHECK(ErrorAfter([](json& j) { j["nodes"][1]["guid"] = "0xzz"; }) ==
        "t.json: /nodes/1/guid: expected a hex number \"0x...\" of 1..16 digits, got \"0xzz\"");
  CHECK(ErrorAfter([](json& j) { j["nodes"][1]["guid"] = j["nodes"][0]["guid"]; }) ==
        "t.json: /nodes/1/guid: duplicate node GUID 0x0002c90300a00001, also /nodes/0");
  CHECK(ErrorAfter([](json& j) { j["nodes"][0]["labels"]["tier"] = -2; }) ==
        "t.json: /nodes/0/labels/tier: expected 0..2147483647, got -2");
  CHECK(ErrorAfter([](json& j) { j["nodes"][0]["labels"]["row"] = 1; }) ==
        "t.json: /nodes/0/labels/row: unknown label, expected super_node, plane, tier, rack or level");
  CHECK(ErrorAfter([](json& j) { j["nodes"][2]["ports"][1][4] = "Up"; }) ==
        "t.json: /nodes/2/ports/1/4: unknown port state \"Up\", expected NoChange, Down, Init, Armed, Active");
  CHECK(ErrorAfter([](json& j) { j["nodes"][2]["ports"][1][7] = "1x,3x"; }) ==
        "t.json: /nodes/2/ports/1/7: bad width_enabled \"1x,3x\", expected 1x, 2x, 4x, 8x or 12x joined by ',', or "
        "\"\"");
  CHECK(ErrorAfter([](json& j) { j["nodes"][2]["ports"][1][9] = "hdr"; }) ==
        "t.json: /nodes/2/ports/1/9: bad speed_active \"hdr\", expected SDR, DDR, QDR, FDR10, FDR, EDR, HDR, NDR or "
        "XDR, or \"\"");
  CHECK(ErrorAfter([](json& j) { j["nodes"][2]["ports"][1][3] = 8; }) ==
        "t.json: /nodes/2/ports/1/3: expected 0..7, got 8");
  CHECK(ErrorAfter([](json& j) { j["nodes"][2]["ports"][1].erase(11); }) ==
        "t.json: /nodes/2/ports/1: expected a port array of 12 values [number, guid, lid, lmc, state, phys_state, "
        "width_active, width_enabled, width_supported, speed_active, speed_enabled, speed_supported], got 11 values");
  CHECK(ErrorAfter([](json& j) { j["nodes"][2]["ports"][1][0] = 2; }) ==
        "t.json: /nodes/2/ports/1/0: port number 2 at slot 1, ports must be listed 0, 1, 2, ...");
  CHECK(ErrorAfter([](json& j) { j["nodes"][2]["ports"].erase(1); }) ==
        "t.json: /nodes/2/ports: expected an array of port slots 0..N with N in 1..255, got 1 entries");
  CHECK(ErrorAfter([](json& j) { j["links"][0][2] = 99; }) ==
        "t.json: /links/0/2: node 99 does not exist (there are 5 nodes)");
  CHECK(ErrorAfter([](json& j) { j["links"][0][1] = 9; }) ==
        "t.json: /links/0/1: node 0 (\"sw1 \"leaf\" \\ ünïcode\") has ports 1..8, not 9");
  CHECK(ErrorAfter([](json& j) {
          j["links"].push_back({2, 1, 1, 7});
        }) == "t.json: /links/5/1: port 1 of node 2 is already cabled by an earlier link");
  CHECK(ErrorAfter([](json& j) {
          j["links"].push_back({1, 7, 1, 7});
        }) == "t.json: /links/5: 'sw2'[7] cannot be cabled to itself");
  CHECK(ErrorAfter([](json& j) { j["links"][0] = "0-1"; }) ==
        "t.json: /links/0: expected a link array [node_a, port_a, node_b, port_b], got string");
  CHECK(ErrorAfter([](json& j) { j = json::array(); }) == "t.json: /: expected a JSON object, got array");
}

// Replaces the first occurrence of `from` in the written file and returns the error.
std::string StreamedErrorAfter(std::string_view from, std::string_view to) {
  std::string text = WriteJsonTopology(SmallFabric());
  size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  auto r = ParseJsonTopology(text, "s.json");
  return r ? "no error" : r.error().Format();
}

TEST_CASE("json topology: errors in a streamed file name the line where the node or link starts") {
  // Node 0's header is line 5; its ports follow one per line.
  CHECK(StreamedErrorAfter("\"Active\"", "\"Actve\"") ==
        "s.json:5: /nodes/0/ports/0/4: unknown port state \"Actve\", expected NoChange, Down, Init, Armed, Active");
  CHECK(StreamedErrorAfter("\n[0, 3, 1, 3]", "\n[0, 3, 7, 3]") ==
        "s.json:42: /links/0/2: node 7 does not exist (there are 5 nodes)");
  CHECK(StreamedErrorAfter("\"version\": 1", "\"version\": 3") ==
        "s.json: /version: unsupported version 3, this fabricctl reads version 1");
  CHECK(StreamedErrorAfter("\"nodes\": [", "\"nodes\": [], \"nodes\": [") == "s.json:4: /nodes: duplicate field");
  CHECK(StreamedErrorAfter("\"links\": [", "\"links\": {\"x\": 1}, \"y\": [") ==
        "s.json: /links: expected an array, got object");
  CHECK(StreamedErrorAfter("\"format\": \"fabricctl-topology\",\n", "") == "s.json: /: missing field \"format\"");
}

TEST_CASE("json topology: header first (streamed) or last (buffered) read the same") {
  Fabric f = SmallFabric();
  std::string streamed = WriteJsonTopology(f);
  std::string buffered = TopologyToJson(f).dump();  // keys sorted: "version" comes last
  REQUIRE(buffered.find("\"version\"") > buffered.find("\"nodes\""));
  auto a = ParseJsonTopology(streamed, "a.json");
  auto b = ParseJsonTopology(buffered, "b.json");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a == f);
  CHECK(*b == f);
}

TEST_CASE("json topology: syntax errors carry line, column and the offending line") {
  std::string text = "{\n\"format\": \"fabricctl-topology\",\n\"version\": 1,\n\"nodes\": [tru],\n\"links\": []\n}\n";
  auto r = ParseJsonTopology(text, "bad.json");
  REQUIRE(!r);
  CHECK(r.error().line == 4);
  CHECK(r.error().text == "\"nodes\": [tru],");
  CHECK(r.error().Format() ==
        "bad.json:4: JSON syntax error at byte 62: syntax error while parsing value - invalid literal; last read: "
        "'\"nodes\": [tru]'\n  \"nodes\": [tru],\n               ^");

  auto truncated = ParseJsonTopology("{\"format\": ", "cut.json");
  REQUIRE(!truncated);
  CHECK(truncated.error().line == 1);
  CHECK(truncated.error().message.find("unexpected end of input") != std::string::npos);

  auto empty = ParseJsonTopology("", "empty.json");
  REQUIRE(!empty);
  CHECK(empty.error().where == "empty.json");
}

}  // namespace
}  // namespace fabricctl
