// leaf-spine: leaves joined to a few spines by several cables each, hosts single- or
// dual-homed.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <map>
#include <set>
#include <string>

#include "fabric/generator.h"
#include "tests/fabric/generators_test_util.h"

namespace fabricctl {
namespace {

Fabric Gen(const GeneratorParams& params) { return testing::Gen("leaf-spine", params); }

// Cables between every (leaf, spine) pair, by switch names.
std::map<std::pair<std::string, std::string>, unsigned> CablesBetween(const Fabric& f) {
  std::map<std::pair<std::string, std::string>, unsigned> cables;
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    if (!f.is_switch(n) || f.description(n).find("leaf") == std::string::npos) continue;
    for (const Adjacency& a : f.neighbors(n))
      if (f.is_switch(a.peer_node)) ++cables[{f.description(n), f.description(a.peer_node)}];
  }
  return cables;
}

TEST_CASE("leaf-spine: every leaf has `cables` cables to every spine, and `hosts` hosts") {
  const Fabric f = Gen({{"leaves", "6"}, {"spines", "3"}, {"cables", "4"}, {"hosts", "5"}});
  const auto cables = CablesBetween(f);
  REQUIRE(cables.size() == 6 * 3);
  for (const auto& [pair, count] : cables) {
    INFO(pair.first << " - " << pair.second);
    CHECK(pair.second.starts_with("ls-spine"));
    CHECK(count == 4);
  }
  CHECK(f.num_nodes() == 6 + 3 + 6 * 5);
  CHECK(f.subnets().size() == 1);
  for (NodeId n = 0; n < f.num_nodes(); ++n)
    if (f.is_switch(n)) CHECK(f.node(n).labels.tier == (f.description(n).starts_with("ls-spine") ? 2 : 1));
}

TEST_CASE("leaf-spine: dual-homed hosts have one port on each leaf of their pair") {
  const Fabric f = Gen({{"leaves", "12"}, {"spines", "2"}, {"cables", "2"}, {"hosts", "3"}, {"dual_homed", "true"}});
  size_t hosts = 0;
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    if (f.is_switch(n)) continue;
    ++hosts;
    std::set<std::string> leaves;
    for (const Adjacency& a : f.neighbors(n)) leaves.insert(f.description(a.peer_node));
    INFO(f.description(n));
    // ls-pair05-h02 hangs off ls-leaf10 and ls-leaf11.
    const int pair = std::stoi(f.description(n).substr(std::string("ls-pair").size(), 2));
    CHECK(leaves ==
          std::set<std::string>{fmt::format("ls-leaf{:02}", 2 * pair), fmt::format("ls-leaf{:02}", 2 * pair + 1)});
  }
  CHECK(hosts == 12 * 3 / 2);
}

TEST_CASE("leaf-spine: shapes that do not fit are refused with the reason") {
  CHECK(testing::GenError("leaf-spine", {{"leaves", "64"}, {"cables", "6"}}).find("384 ports, more than 254") !=
        std::string::npos);
  CHECK(testing::GenError("leaf-spine", {{"spines", "30"}, {"cables", "8"}}).find("258 ports, more than 254") !=
        std::string::npos);
  CHECK(testing::GenError("leaf-spine", {{"leaves", "5"}, {"dual_homed", "true"}}).find("leaves must be even") !=
        std::string::npos);
}

TEST_CASE("leaf-spine: failed and slow cables apply as to every generator") {
  const Fabric whole = Gen({});
  const Fabric degraded = Gen({{"fail_links", "0.05"}, {"seed", "3"}});
  CHECK(degraded.num_links() < whole.num_links());
  CHECK(degraded.num_nodes() == whole.num_nodes());
}

}  // namespace
}  // namespace fabricctl
