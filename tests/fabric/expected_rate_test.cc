#include "fabric/expected_rate.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "fabric/fabric_builder.h"
#include "fabric/generator.h"
#include "fabric/topology_io.h"
#include "tests/fabric/topology_test_util.h"

namespace fabricctl {
namespace {

constexpr LinkRate kEdr{.width = LinkWidth::k4x, .speed = LinkSpeed::kEDR};
constexpr LinkRate kDdr{.width = LinkWidth::k4x, .speed = LinkSpeed::kDDR};
constexpr LinkRate kFdr{.width = LinkWidth::k4x, .speed = LinkSpeed::kFDR};

struct Shape {
  unsigned leaves = 4;
  unsigned spines = 2;
  unsigned uplinks = 1;  // parallel links from each leaf to each spine
  unsigned hosts = 10;   // per leaf
};

// Leaves with hosts, each leaf cabled to every spine; `rate` picks each link's rate from
// (leaf, spine, k) for uplinks and (leaf, host) with spine = -1 for host links, `devid`
// the device id of each host.
Fabric LeafSpine(const Shape& s, const std::function<LinkRate(int, int, unsigned)>& rate,
                 const std::function<uint32_t(unsigned, unsigned)>& devid = {}) {
  FabricBuilder b;
  std::vector<NodeId> leaves, spines;
  unsigned ports = s.hosts + s.spines * s.uplinks;
  for (unsigned l = 0; l < s.leaves; ++l)
    leaves.push_back(*b.AddNode({.type = NodeType::kSwitch,
                                 .num_ports = ports,
                                 .guid = 0x100 + l,
                                 .description = "leaf" + std::to_string(l),
                                 .device_id = 0xcb20}));
  for (unsigned p = 0; p < s.spines; ++p)
    spines.push_back(*b.AddNode({.type = NodeType::kSwitch,
                                 .num_ports = s.leaves * s.uplinks,
                                 .guid = 0x200 + p,
                                 .description = "spine" + std::to_string(p),
                                 .device_id = 0xcb20}));
  for (unsigned l = 0; l < s.leaves; ++l) {
    for (unsigned h = 0; h < s.hosts; ++h) {
      NodeId host = *b.AddNode({.type = NodeType::kCa,
                                .num_ports = 1,
                                .guid = 0x10000 + l * 100 + h,
                                .description = fmt::format("host{}-{}", l, h),
                                .device_id = devid ? devid(l, h) : 0x1013});
      REQUIRE(b.Connect(leaves[l], h + 1, host, 1, rate(int(l), -1, h)));
    }
    for (unsigned p = 0; p < s.spines; ++p)
      for (unsigned k = 0; k < s.uplinks; ++k)
        REQUIRE(b.Connect(leaves[l], s.hosts + p * s.uplinks + k + 1, spines[p], l * s.uplinks + k + 1,
                          rate(int(l), int(p), k)));
  }
  auto f = b.Build();
  REQUIRE(f);
  return std::move(*f);
}

LinkRate AllEdr(int, int, unsigned) { return kEdr; }

std::vector<std::string> SlowNames(const Fabric& f, const Fabric* plan = nullptr) {
  std::vector<std::string> out;
  for (const SlowLink& s : FindSlowLinks(f, plan)) out.push_back(f.LinkName(s.link) + ": " + DescribeBasis(s.expected));
  return out;
}

TEST_CASE("expected rate: one DDR link among parallel EDR uplinks is found by its parallel links") {
  Fabric f =
      LeafSpine({.uplinks = 4}, [](int l, int p, unsigned k) { return l == 2 && p == 1 && k == 3 ? kDdr : kEdr; });
  auto slow = FindSlowLinks(f, nullptr);
  REQUIRE(slow.size() == 1);
  CHECK(f.LinkName(slow[0].link) == "leaf2[18] -- spine1[12]");
  CHECK(slow[0].expected.basis == RateBasis::kParallel);
  CHECK(DescribeBasis(slow[0].expected) == "3 parallel links run at 4xEDR");
  CHECK(RateName(slow[0].active.width, slow[0].active.speed) == "4xDDR");
}

TEST_CASE("expected rate: without parallel links, the kind tells (leaf-spine links)") {
  Fabric f = LeafSpine({}, [](int l, int p, unsigned) { return l == 1 && p == 0 ? kDdr : kEdr; });
  CHECK(SlowNames(f) == std::vector<std::string>{"leaf1[11] -- spine0[2]: 7 of 8 leaf-spine links run at 4xEDR"});
}

TEST_CASE("expected rate: hosts at a lower rate than uplinks are a design, not a fault") {
  Fabric f = LeafSpine({}, [](int, int p, unsigned) { return p < 0 ? kFdr : kEdr; });
  CHECK(SlowNames(f).empty());
}

TEST_CASE("expected rate: older HCAs (another device id) at a lower rate are not slow links") {
  Fabric f = LeafSpine(
      {}, [](int l, int p, unsigned h) { return p < 0 && l == 3 && h >= 6 ? kFdr : kEdr; },
      [](unsigned l, unsigned h) { return l == 3 && h >= 6 ? 0x1003u : 0x1013u; });
  CHECK(SlowNames(f).empty());
}

TEST_CASE("expected rate: a few hosts of the same HCA below the rest are found, many are a design") {
  auto one_slow = [](int l, int p, unsigned h) { return p < 0 && l == 0 && h == 0 ? kFdr : kEdr; };
  CHECK(SlowNames(LeafSpine({}, one_slow)) ==
        std::vector<std::string>{"leaf0[1] -- host0-0[1]: 39 of 40 endpoint-leaf links run at 4xEDR"});
  // 10 of 40 (more than one in eight) at FDR: taken as intended.
  auto quarter_slow = [](int l, int p, unsigned) { return p < 0 && l == 0 ? kFdr : kEdr; };
  CHECK(SlowNames(LeafSpine({}, quarter_slow)).empty());
}

TEST_CASE("expected rate: the plan overrides what the fabric shows") {
  Fabric plan =
      LeafSpine({}, [](int, int, unsigned) { return LinkRate{.width = LinkWidth::k4x, .speed = LinkSpeed::kHDR}; });
  Fabric actual = LeafSpine({}, AllEdr);
  auto slow = FindSlowLinks(actual, &plan);
  CHECK(slow.size() == actual.num_links());
  for (const SlowLink& s : slow) CHECK(DescribeBasis(s.expected) == "plan");
  CHECK(FindSlowLinks(actual, &actual).empty());
}

TEST_CASE("expected rate: enabled rates tell where the fabric cannot, supported rates never") {
  FabricBuilder b;
  NodeId a = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 2, .guid = 1, .description = "a"});
  NodeId c = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 2, .guid = 2, .description = "c"});
  REQUIRE(b.Connect(a, 1, c, 1, kDdr));
  REQUIRE(b.Connect(a, 2, c, 2, kEdr));
  SpeedMask up_to_edr = SpeedBit(LinkSpeed::kSDR) | SpeedBit(LinkSpeed::kDDR) | SpeedBit(LinkSpeed::kEDR);
  SpeedMask up_to_hdr = up_to_edr | SpeedBit(LinkSpeed::kHDR);
  for (NodeId n : {a, c}) {
    b.port(n, 1).speed_enabled = up_to_edr;    // enabled EDR, trained DDR: slow
    b.port(n, 2).speed_supported = up_to_hdr;  // supports HDR, enables EDR: not slow
    b.port(n, 2).speed_enabled = up_to_edr;
  }
  auto f = b.Build();
  REQUIRE(f);
  CHECK(SlowNames(*f) == std::vector<std::string>{"a[1] -- c[1]: enabled 4xEDR"});
}

TEST_CASE("expected rate: the ibnetdiscover dump of 6 switches and 96 HCAs has exactly its one DDR link") {
  auto f = ReadTopologyFile(testing::TopoDataPath("edr_6sw_96hca_one_ddr.ibnd"));
  REQUIRE(f);
  auto slow = FindSlowLinks(*f, nullptr);
  REQUIRE(slow.size() == 1);
  CHECK(f->LinkName(slow[0].link) == "MF0;ib-leaf03:MSB7700/U1[34] -- SwitchIB Mellanox Technologies[16]");
  CHECK(DescribeBasis(slow[0].expected) == "5 parallel links run at 4xEDR");
}

TEST_CASE("expected rate: no slow link in any generator preset") {
  std::vector<std::pair<std::string, GeneratorParams>> cases;
  for (const GeneratorInfo& g : Generators()) cases.push_back({std::string(g.name), {}});
  cases.push_back({"supernode", {{"preset", "cm384"}}});
  cases.push_back({"supernode", {{"preset", "torus"}}});
  cases.push_back({"fat-tree", {{"tiers", "2"}, {"oversubscription", "3:1"}, {"endpoints", "20"}}});
  cases.push_back({"torus", {{"links", "2"}}});
  for (const auto& [name, params] : cases) {
    CAPTURE(name);
    auto f = Generate(name, params);
    REQUIRE(f);
    CHECK(FindSlowLinks(*f, nullptr).empty());
    CHECK(FindSlowLinks(*f, &*f).empty());
  }
}

TEST_CASE("expected rate: no slow link in the simulator and hand-written test fabrics") {
  for (const auto& entry : std::filesystem::directory_iterator(testing::TopoDataPath(""))) {
    std::string name = entry.path().filename().string();
    if (name == "edr_6sw_96hca_one_ddr.ibnd" || name.ends_with(".md")) continue;
    CAPTURE(name);
    auto f = ReadTopologyFile(entry.path().string());
    REQUIRE(f);
    CHECK(SlowNames(*f).empty());
  }
}

}  // namespace
}  // namespace fabricctl
