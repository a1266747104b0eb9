// jellyfish: a seeded, connected random regular graph of switches.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "fabric/generator.h"
#include "tests/fabric/generators_test_util.h"

namespace fabricctl {
namespace {

Fabric Gen(const GeneratorParams& params) { return testing::Gen("jellyfish", params); }

// Switch-to-switch cables of each switch, and whether two switches share more than one.
struct Degrees {
  std::vector<size_t> of_switch;
  bool parallel = false;
  bool self_loop = false;
};

Degrees SwitchDegrees(const Fabric& f) {
  Degrees d;
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    if (!f.is_switch(n)) continue;
    std::set<NodeId> peers;
    size_t degree = 0;
    for (const Adjacency& a : f.neighbors(n)) {
      if (!f.is_switch(a.peer_node)) continue;
      ++degree;
      d.self_loop |= a.peer_node == n;
      d.parallel |= !peers.insert(a.peer_node).second;
    }
    d.of_switch.push_back(degree);
  }
  return d;
}

TEST_CASE("jellyfish: every switch has the degree asked, one connected subnet, no loops or parallel cables") {
  struct Case {
    std::string switches, degree, hosts;
  };
  for (const Case& c : {Case{"50", "8", "4"}, Case{"200", "12", "6"}, Case{"7", "3", "1"}, Case{"2000", "16", "1"},
                        Case{"5", "4", "0"}}) {
    INFO(c.switches << " switches of degree " << c.degree);
    const Fabric f = Gen({{"switches", c.switches}, {"degree", c.degree}, {"hosts", c.hosts}});
    const Degrees d = SwitchDegrees(f);
    const size_t switches = std::stoul(c.switches), degree = std::stoul(c.degree), hosts = std::stoul(c.hosts);
    REQUIRE(d.of_switch.size() == switches);
    size_t short_of_degree = 0;
    for (size_t got : d.of_switch) {
      CHECK(got <= degree);
      short_of_degree += degree - got;
    }
    CHECK(short_of_degree == (switches * degree) % 2);  // odd switches x degree: one port free
    CHECK_FALSE(d.parallel);
    CHECK_FALSE(d.self_loop);
    CHECK(f.subnets().size() == 1);
    CHECK(f.num_nodes() == switches * (1 + hosts));
  }
}

TEST_CASE("jellyfish: seeded and reproducible") {
  const Fabric a = Gen({{"switches", "40"}, {"degree", "6"}, {"seed", "7"}});
  CHECK(a == Gen({{"switches", "40"}, {"degree", "6"}, {"seed", "7"}}));
  CHECK_FALSE(a == Gen({{"switches", "40"}, {"degree", "6"}, {"seed", "8"}}));
}

TEST_CASE("jellyfish: parallel cables only when asked") {
  // 3 switches of degree 4 cannot be joined without parallel cables.
  auto refused = Generate("jellyfish", {{"switches", "3"}, {"degree", "4"}});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("jellyfish: degree 4 needs at least 5 switches") != std::string::npos);
  const Fabric f = Gen({{"switches", "3"}, {"degree", "4"}, {"parallel", "true"}});
  const Degrees d = SwitchDegrees(f);
  CHECK(d.parallel);
  CHECK_FALSE(d.self_loop);
  for (size_t got : d.of_switch) CHECK(got == 4);
  CHECK(f.subnets().size() == 1);
}

TEST_CASE("jellyfish: impossible shapes are refused with the reason") {
  auto one = Generate("jellyfish", {{"switches", "6"}, {"degree", "1"}});
  REQUIRE_FALSE(one);
  CHECK(one.error().message.find("cannot be connected") != std::string::npos);
  auto wide = Generate("jellyfish", {{"degree", "200"}, {"hosts", "100"}, {"switches", "300"}});
  REQUIRE_FALSE(wide);
  CHECK(wide.error().message.find("300 ports") != std::string::npos);
  CHECK(Gen({{"switches", "2"}, {"degree", "1"}}).subnets().size() == 1);
}

}  // namespace
}  // namespace fabricctl
