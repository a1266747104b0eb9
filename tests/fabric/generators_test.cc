#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>
#include <unordered_set>

#include "fabric/edit_distance.h"
#include "fabric/generator.h"
#include "fabric/generators/gen_builder.h"
#include "fabric/generators/params.h"
#include "tests/fabric/generators_test_util.h"

namespace fabricctl {
namespace {

using testing::Gen;
using testing::GenError;

struct Counts {
  size_t endpoints = 0;
  size_t switches = 0;
  size_t links = 0;
};

Counts Count(const Fabric& f) {
  Counts c;
  for (NodeId n = 0; n < f.num_nodes(); ++n) (f.is_switch(n) ? c.switches : c.endpoints)++;
  c.links = f.num_links();
  return c;
}

// Ports used on a switch: its connected physical ports.
size_t Used(const Fabric& f, NodeId n) { return f.neighbors(n).size(); }

// What every generated fabric must satisfy, whatever the generator.
void CheckInvariants(const Fabric& f, unsigned max_radix) {
  std::unordered_set<std::string> names;
  std::unordered_set<uint64_t> guids;
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    const Node& node = f.node(n);
    INFO("node " << f.description(n));
    CHECK(names.insert(f.description(n)).second);
    CHECK(node.guid != 0);
    CHECK(guids.insert(node.guid).second);
    CHECK(Used(f, n) <= node.num_ports);
    if (f.is_switch(n)) {
      CHECK(node.num_ports <= max_radix);
      CHECK((node.guid >> 48) == (gen::kSwitchGuidBase >> 48));
      CHECK(node.labels.tier >= 1);
      CHECK(node.labels.level != FabricLevel::kUnknown);
      for (const Port& p : f.physical_ports(n)) CHECK(p.guid == node.guid);
    } else {
      CHECK(node.type == NodeType::kCa);
      CHECK((node.guid >> 48) == (gen::kCaGuidBase >> 48));
      CHECK(node.labels.tier == 0);
      // Every endpoint port is cabled, and port GUIDs follow the node GUID.
      for (const Port& p : f.physical_ports(n)) {
        CHECK(p.peer != kNone);
        CHECK(p.guid == node.guid + p.number);
        CHECK(guids.insert(p.guid).second);
      }
    }
  }
  std::vector<uint8_t> cabled(f.num_port_slots(), 0);
  for (LinkId l = 0; l < f.num_links(); ++l) {
    const Link& link = f.link(l);
    const Port& a = f.port(link.a);
    const Port& b = f.port(link.b);
    CHECK(a.node != b.node);  // no self-cabling
    CHECK(a.peer == link.b);
    CHECK(b.peer == link.a);
    CHECK(a.number != 0);
    CHECK(b.number != 0);
    CHECK(++cabled[link.a] == 1);  // no port cabled twice
    CHECK(++cabled[link.b] == 1);
    CHECK(a.lid == 0);
    CHECK(a.state == PortState::kActive);
    CHECK(a.width_active == b.width_active);
    CHECK(a.speed_active == b.speed_active);
  }
}

std::vector<std::string> SubnetNames(const Fabric& f) {
  std::vector<std::string> v;
  for (const Subnet& s : f.subnets()) v.push_back(s.name);
  return v;
}

TEST_CASE("registry lists every generator with its parameters") {
  std::set<std::string> names;
  for (const GeneratorInfo& g : Generators()) {
    names.insert(std::string(g.name));
    CHECK(!g.help.empty());
    CHECK(!g.params.empty());
    for (const GeneratorParam& p : g.params) CHECK(!p.help.empty());
  }
  CHECK(names == std::set<std::string>{"fat-tree", "leaf-spine", "rail", "supernode", "dragonfly", "torus", "jellyfish",
                                       "scalex640", "scalex-cluster"});
}

TEST_CASE("every generator builds with its defaults and is deterministic") {
  for (const GeneratorInfo& g : Generators()) {
    INFO(g.name);
    Fabric a = Gen(g.name);
    Fabric b = Gen(g.name);
    CHECK(a == b);
    CheckInvariants(a, gen::kMaxSwitchPorts);
    CHECK(!a.subnets().empty());
  }
}

TEST_CASE("fat-tree k=8 tiers=3 is the classic k-ary fat tree") {
  Fabric f = Gen("fat-tree", {{"k", "8"}, {"tiers", "3"}});
  Counts c = Count(f);
  CHECK(c.endpoints == 128);  // k^3/4
  CHECK(c.switches == 80);    // 5k^2/4
  CHECK(c.links == 128 + 32 * 4 + 32 * 4);
  CheckInvariants(f, 8);
  for (NodeId n = 0; n < f.num_nodes(); ++n)
    if (f.is_switch(n)) CHECK(Used(f, n) == 8);  // full tree: every switch port in use
  CHECK(SubnetNames(f) == std::vector<std::string>{"scale-out"});
  std::map<int, int> tiers;
  for (const Node& n : f.nodes()) tiers[n.labels.tier]++;
  CHECK(tiers == std::map<int, int>{{0, 128}, {1, 32}, {2, 32}, {3, 16}});
  CHECK(f.description(0) == "ft-h000");
  CHECK(f.FindByDescription("ft-l3-15"));
  const Port& p = f.port(f.port_id(0, 1));
  CHECK(p.width_active == LinkWidth::k4x);
  CHECK(p.speed_active == LinkSpeed::kNDR);
}

TEST_CASE("fat-tree 2 tiers, oversubscription and partial trees") {
  Counts c = Count(Gen("fat-tree", {{"k", "8"}, {"tiers", "2"}}));
  CHECK(c.endpoints == 32);
  CHECK(c.switches == 12);
  CHECK(c.links == 64);

  // 3:1 leaves: 6 down, 2 up; 8 leaves, 2 spines.
  Fabric o = Gen("fat-tree", {{"k", "8"}, {"tiers", "2"}, {"oversubscription", "3:1"}});
  c = Count(o);
  CHECK(c.endpoints == 48);
  CHECK(c.switches == 10);
  CHECK(c.links == 48 + 16);
  CheckInvariants(o, 8);

  // 100 endpoints on k=8, 3 tiers: 25 leaves in 7 pods, 28 spines, cores stay 16.
  Fabric p = Gen("fat-tree", {{"k", "8"}, {"endpoints", "100"}});
  c = Count(p);
  CHECK(c.endpoints == 100);
  CHECK(c.switches == 25 + 28 + 16);
  CheckInvariants(p, 8);
  CHECK(p.subnets().size() == 1);

  // A partial 2-tier tree bundles links into fewer spines: 5 leaves, 2 links each to 4 spines.
  Fabric b = Gen("fat-tree", {{"k", "16"}, {"tiers", "2"}, {"endpoints", "40"}});
  c = Count(b);
  CHECK(c.switches == 5 + 4);
  CHECK(c.links == 40 + 5 * 8);
  CheckInvariants(b, 16);
  CHECK(GenError("fat-tree", {{"tiers", "2"}, {"endpoints", "40"}}) ==
        "fat-tree: a 2-tier tree of radix 8 holds at most 32 endpoints, not 40; use tiers=3");
}

TEST_CASE("fat-tree bad parameters name the key and what was expected") {
  CHECK(GenError("fat-tree", {{"k", "7"}}) ==
        "fat-tree: k=7 cannot be split 1:1 between down and up ports; k must be a multiple of 2");
  CHECK(GenError("fat-tree", {{"tiers", "4"}}) == "fat-tree: bad value '4' for tiers: expected an integer in 2..3");
  CHECK(GenError("fat-tree", {{"k", "eight"}}) == "fat-tree: bad value 'eight' for k: expected an integer in 4..254");
  CHECK(GenError("fat-tree", {{"kk", "8"}}) ==
        "fat-tree: unknown parameter 'kk' (did you mean 'k'?); parameters: k, tiers, oversubscription, endpoints, "
        "leaves_per_pod, rate, fail_switches, fail_links, slow_links, slow_rate, seed");
  CHECK(GenError("fat-tree", {{"endpoints", "200"}}) ==
        "fat-tree: a 3-tier tree of radix 8 with 4 leaves per pod holds at most 128 endpoints, not 200");
  CHECK(GenError("fat-tree", {{"oversubscription", "2:3"}}) ==
        "fat-tree: bad value '2:3' for oversubscription: expected a whole down:up ratio such as 1, 2:1 or 3:1");
  CHECK(GenError("fat-tree", {{"rate", "4xFAST"}}) ==
        "fat-tree: bad value '4xFAST' for rate: expected width and speed such as 4xNDR, 2xXDR, 4xHDR");
}

TEST_CASE("a huge or control-laden --set key, value or generator name is quoted clipped and printable") {
  const std::string huge(100000, 'v');
  CHECK(GenError("torus", {{"dims", huge}}) ==
        "torus: bad value '" + std::string(64, 'v') +
            "... (100000 bytes)' for dims: expected 2 or 3 sizes in 1..64 joined by 'x', such as 4x4x4");
  CHECK(GenError("torus", {{"rate", "4x\x1b[2J"}}).starts_with("torus: bad value '4x?[2J' for rate"));
  CHECK(GenError("torus", {{huge, "1"}})
            .starts_with("torus: unknown parameter '" + std::string(64, 'v') + "... (100000 bytes)'; parameters: "));
  CHECK(GenError(huge, {}).starts_with("unknown topology generator '" + std::string(64, 'v') + "... (100000 bytes)'"));
}

TEST_CASE("unknown generator names get a suggestion") {
  CHECK(GenError("fat-tre", {}) ==
        "unknown topology generator 'fat-tre' (did you mean 'fat-tree'?); generators: fat-tree, leaf-spine, rail, "
        "supernode, dragonfly, torus, jellyfish, scalex640, scalex-cluster");
  CHECK(GenError("banana", {}).find("(did you mean") == std::string::npos);
}

TEST_CASE("fat-tree k=80 tiers=3 holds 128,000 endpoints on 8,000 switches") {
  auto start = std::chrono::steady_clock::now();
  Fabric f = Gen("fat-tree", {{"k", "80"}, {"tiers", "3"}});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("fat-tree k=80: " << seconds << " s");
  Counts c = Count(f);
  CHECK(c.endpoints == 128'000);
  CHECK(c.switches == 8'000);
  CHECK(c.links == 128'000 * 3);
  CHECK(f.subnets().size() == 1);
}

TEST_CASE("rail: one plane per rail") {
  Fabric f = Gen("rail");
  Counts c = Count(f);
  // 128 servers x 8 rails; 4 groups of 32; per rail 4 leaves and 2 spines (16 links from each leaf).
  CHECK(c.endpoints == 128);
  CHECK(c.switches == 8 * (4 + 2));
  CHECK(c.links == 128 * 8 + 8 * 4 * 32);
  CheckInvariants(f, 64);
  auto names = SubnetNames(f);
  REQUIRE(names.size() == 8);
  CHECK(names[0] == "scale-out/p0");
  CHECK(names[7] == "scale-out/p7");
  for (const Subnet& s : f.subnets()) {
    CHECK(s.endpoint_ports.size() == 128);
    CHECK(s.switches.size() == 6);
  }
  for (NodeId n = 0; n < f.num_nodes(); ++n)
    if (f.is_switch(n)) CHECK(Used(f, n) == 64);
  CHECK(f.FindByDescription("r03-l2-01"));
  CHECK(GenError("rail", {{"group", "40"}}) == "rail: a leaf needs group=40 down and 40 up ports, more than radix=64");
  CHECK(GenError("rail", {{"spines", "3"}}) == "rail: spines=3 must divide group=32");
}

TEST_CASE("supernode nvl72: 72 accelerators x 18 links, one switch chip per plane") {
  Fabric f = Gen("supernode", {{"preset", "nvl72"}});
  Counts c = Count(f);
  CHECK(c.endpoints == 72);
  CHECK(c.switches == 18);
  CHECK(c.links == 72 * 18);
  CheckInvariants(f, 72);
  CHECK(f.subnets().size() == 18);
  CHECK(f.subnets()[0].name == "scale-up/sn0/p0");
  for (NodeId n = 0; n < f.num_nodes(); ++n)
    if (f.is_switch(n)) CHECK(Used(f, n) == 72);
  const Port& p = f.port(f.port_id(0, 1));
  CHECK(p.width_active == LinkWidth::k2x);
  CHECK(p.speed_active == LinkSpeed::kXDR);
  CHECK(f.description(0) == "sn00-acc0000");
}

TEST_CASE("supernode cm384: 384 NPUs x 14 ports, 336 L1 + 112 L2 in 7 planes") {
  Fabric f = Gen("supernode", {{"preset", "cm384"}});
  Counts c = Count(f);
  CHECK(c.endpoints == 384);
  CHECK(c.switches == 336 + 112);
  CHECK(c.links == 384 * 14 + 336 * 16);
  CheckInvariants(f, 48);
  REQUIRE(f.subnets().size() == 7);
  for (const Subnet& s : f.subnets()) {
    CHECK(s.switches.size() == 48 + 16);
    CHECK(s.endpoint_ports.size() == 384 * 2);
  }
  std::map<int, int> tiers;
  for (const Node& n : f.nodes())
    if (n.type == NodeType::kSwitch) tiers[n.labels.tier]++;
  CHECK(tiers == std::map<int, int>{{1, 336}, {2, 112}});
  // Both plane-3 ports of NPU 9 land on the L1 chip of its server (8 NPUs per L1, 2 links each).
  auto acc = f.FindByDescription("sn00-acc0009");
  REQUIRE(acc);
  CHECK(f.description(f.port(f.port(f.port_id(*acc, 7)).peer).node) == "sn00-up-p03-l1-01");
  CHECK(f.description(f.port(f.port(f.port_id(*acc, 8)).peer).node) == "sn00-up-p03-l1-01");
}

TEST_CASE("supernode direct: torus and mesh of accelerator-attached switches") {
  Fabric t = Gen("supernode", {{"preset", "torus"}});
  Counts c = Count(t);
  CHECK(c.endpoints == 64);
  CHECK(c.switches == 64);
  CHECK(c.links == 64 + 3 * 64);
  CheckInvariants(t, 7);
  CHECK(SubnetNames(t) == std::vector<std::string>{"scale-up/sn0"});

  Fabric m = Gen("supernode", {{"mode", "direct"}, {"dims", "4x4"}, {"wrap", "false"}});
  c = Count(m);
  CHECK(c.endpoints == 16);
  CHECK(c.links == 16 + 2 * 4 * 3);
  CheckInvariants(m, 5);
  CHECK(GenError("supernode", {{"mode", "direct"}, {"dims", "4x4"}, {"accelerators", "10"}}) ==
        "supernode: mode=direct attaches one accelerator to each switch: accelerators=10 but dims=4x4 has 16");
  CHECK(GenError("supernode", {{"mode", "drect"}}) ==
        "supernode: bad value 'drect' for mode: expected switched or direct (did you mean 'direct'?)");
  CHECK(GenError("supernode", {{"accelerators", "100"}}) ==
        "supernode: a single tier of radix 72 switches takes at most 72 accelerators x 1 links; use tiers=2 or more "
        "planes");
}

TEST_CASE("torus and dragonfly") {
  Fabric t = Gen("torus");
  Counts c = Count(t);
  CHECK(c.endpoints == 64);
  CHECK(c.switches == 64);
  CHECK(c.links == 64 + 192);
  CheckInvariants(t, 7);
  for (NodeId n = 0; n < t.num_nodes(); ++n)
    if (t.is_switch(n)) CHECK(Used(t, n) == 7);

  CHECK(SubnetNames(t) == std::vector<std::string>{"scale-out"});
  // A size-2 dimension is cabled once; size 3 wraps.
  c = Count(Gen("torus", {{"dims", "2x3"}}));
  CHECK(c.links == 6 + 3 + 6);
  CHECK(GenError("torus", {{"dims", "4x4x4x4"}}) ==
        "torus: bad value '4x4x4x4' for dims: expected 2 or 3 sizes in 1..64 joined by 'x', such as 4x4x4");

  Fabric d = Gen("dragonfly");
  c = Count(d);
  CHECK(c.endpoints == 72);
  CHECK(c.switches == 36);
  CHECK(c.links == 72 + 9 * 6 + 36);
  CheckInvariants(d, 7);
  for (NodeId n = 0; n < d.num_nodes(); ++n)
    if (d.is_switch(n)) CHECK(Used(d, n) == 7);  // the balanced dragonfly uses every router port
  // Every pair of groups is joined by a global link.
  std::set<std::pair<int, int>> pairs;
  for (const Link& l : d.links()) {
    int ga = d.node(d.port(l.a).node).labels.rack, gb = d.node(d.port(l.b).node).labels.rack;
    if (ga != gb) pairs.insert({std::min(ga, gb), std::max(ga, gb)});
  }
  CHECK(pairs.size() == 36);
  CHECK(SubnetNames(d) == std::vector<std::string>{"scale-out"});
  CHECK(GenError("dragonfly", {{"groups", "10"}}) ==
        "dragonfly: 10 groups need 9 global links per group to reach each other, have routers x global = 8");
}

TEST_CASE("scalex640: one super node, one scale-up subnet") {
  Fabric f = Gen("scalex640");
  Counts c = Count(f);
  CHECK(c.endpoints == 640);
  CHECK(c.switches == 64 + 40);
  CHECK(c.links == 640 * 4 + 64 * 40);
  CheckInvariants(f, 80);
  CHECK(SubnetNames(f) == std::vector<std::string>{"scale-up/sn0"});
  CHECK(f.FindByDescription("sn00-acc0639"));
  CHECK(f.FindByDescription("sn00-up-l2-39"));
  CHECK(GenError("scalex640", {{"ports", "8"}}) ==
        "scalex640: 640 accelerators x 8 ports per plane need 128 L1 switches per plane with 1 links to each L2 "
        "switch, but an L2 switch has 80 ports; use more planes, fewer ports or more spines");
  Fabric planes = Gen("scalex640", {{"ports", "8"}, {"planes", "2"}});
  CHECK(planes.subnets().size() == 2);
}

TEST_CASE("scalex-cluster: 10,240 accelerators, 16 scale-up subnets and one scale-out subnet") {
  auto start = std::chrono::steady_clock::now();
  Fabric f = Gen("scalex-cluster");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("scalex-cluster: " << seconds << " s");
  Counts c = Count(f);
  CHECK(c.endpoints == 10'240);
  // Scale-up 16 x 104; scale-out 256 leaves, 8 pods x 40 spines, 40 groups x 4 cores.
  CHECK(c.switches == 16 * 104 + 256 + 320 + 160);
  CHECK(c.links == 16 * 5120 + 10'240 + 256 * 40 + 320 * 32);
  CheckInvariants(f, 80);
  auto names = SubnetNames(f);
  REQUIRE(names.size() == 17);
  std::set<std::string> expected{"scale-out"};
  for (int i = 0; i < 16; ++i) expected.insert("scale-up/sn" + std::to_string(i));
  CHECK(std::set<std::string>(names.begin(), names.end()) == expected);
  for (const Subnet& s : f.subnets()) {
    if (s.level == FabricLevel::kScaleOut) {
      CHECK(s.endpoint_ports.size() == 10'240);
      CHECK(s.switches.size() == 736);
    } else {
      CHECK(s.level == FabricLevel::kScaleUp);
      CHECK(s.endpoint_ports.size() == 640 * 4);
      CHECK(s.switches.size() == 104);
    }
  }
  // Every accelerator sits in its super node's scale-up subnet and in the scale-out subnet.
  auto acc = f.FindByDescription("sn03-acc0123");
  REQUIRE(acc);
  CHECK(f.node(*acc).labels.super_node == 3);
  CHECK(f.node(*acc).labels.rack == 3);  // a super node is one cabinet
  CHECK(f.node(*acc).num_ports == 5);
  CHECK(f.subnets()[f.subnet_of(f.port_id(*acc, 1))].name == "scale-up/sn3");
  CHECK(f.subnets()[f.subnet_of(f.port_id(*acc, 5))].name == "scale-out");
  // A scale-out leaf serves accelerators of a single super node.
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    if (!f.is_switch(n) || f.node(n).labels.level != FabricLevel::kScaleOut || f.node(n).labels.tier != 1) continue;
    std::set<int> sns;
    for (const Adjacency& a : f.neighbors(n))
      if (!f.is_switch(a.peer_node)) sns.insert(f.node(a.peer_node).labels.super_node);
    CHECK(sns.size() == 1);
  }
}

TEST_CASE("scalex-cluster of 2 super nodes gets a 2-tier scale-out") {
  Fabric f = Gen("scalex-cluster", {{"super_nodes", "2"}});
  Counts c = Count(f);
  CHECK(c.endpoints == 1280);
  // 32 leaves, each with 2 parallel links to 20 spines.
  CHECK(c.switches == 2 * 104 + 32 + 20);
  CHECK(c.links == 2 * 5120 + 1280 + 32 * 40);
  CheckInvariants(f, 80);
  CHECK(f.subnets().size() == 3);
  std::map<int, int> tiers;
  for (const Node& n : f.nodes())
    if (n.labels.level == FabricLevel::kScaleOut) tiers[n.labels.tier]++;
  CHECK(tiers == std::map<int, int>{{1, 32}, {2, 20}});
}

TEST_CASE("random parameters give a valid fabric or an error, never a crash") {
  // Small values and junk, so every branch of the parameter checks is reached quickly.
  const std::vector<std::string> pool = {
      "0",     "1",     "2",     "3",     "4",     "5",     "6",      "8",        "12",
      "16",    "-1",    "x",     "",      "3:1",   "4x4",   "2x3x2",  "1x5",      "true",
      "false", "4xNDR", "2xXDR", "nvl72", "cm384", "torus", "direct", "switched", "999999999999"};
  std::mt19937 rng(20261128);  // explicit seed: failures reproduce
  for (const GeneratorInfo& g : Generators()) {
    int built = 0;
    for (int iteration = 0; iteration < 150; ++iteration) {
      GeneratorParams params;
      // One to three keys off their defaults, so most sets get past the first check.
      for (unsigned n = 1 + rng() % 3; n > 0; --n)
        params[std::string(g.params[rng() % g.params.size()].key)] = pool[rng() % pool.size()];
      // Keep the scalex generators small: their defaults are the full 10,240-accelerator cluster.
      if (g.name.starts_with("scalex")) {
        params["accelerators"] = std::to_string(1 + rng() % 100);
        if (g.name == "scalex-cluster") params["super_nodes"] = std::to_string(1 + rng() % 3);
      }
      std::string shown;
      for (const auto& [k, v] : params) shown += k + "=" + v + " ";
      INFO(g.name << " " << shown);
      auto f = Generate(g.name, params);
      if (f) {
        ++built;
        CheckInvariants(*f, gen::kMaxSwitchPorts);
      } else {
        CHECK(f.error().message.starts_with(std::string(g.name) + ": "));
      }
    }
    INFO(g.name << ": " << built << " of 150 random parameter sets built");
    CHECK(built > 0);
  }
}

TEST_CASE("did-you-mean suggests close names only") {
  constexpr std::string_view kWords[] = {"accelerators", "ports", "planes"};
  CHECK(ClosestMatch("acelerators", kWords) == "accelerators");
  CHECK(ClosestMatch("plane", kWords) == "planes");
  CHECK_FALSE(ClosestMatch("zzzzzz", kWords));
}

TEST_CASE("generators: parameters past memory are refused before anything is built") {
  CHECK(GenError("dragonfly", {{"groups", "10000"}, {"routers", "128"}, {"global", "127"}, {"hosts", "0"}}) ==
        "dragonfly: the fabric would have 1280000 nodes and 326400000 ports, more than the 50000000 ports (about 5 GiB "
        "of "
        "memory) fabricctl generates; choose smaller parameters");
  CHECK(GenError("torus", {{"dims", "64x64x64"}, {"hosts", "64"}, {"links", "8"}})
            .starts_with("torus: the fabric would have 17039360 nodes and 63176704 ports"));
  CHECK(GenError("scalex-cluster", {{"super_nodes", "1000"}, {"accelerators", "4000"}, {"radix", "254"}})
            .starts_with("scalex-cluster: the fabric would have "));
}

}  // namespace
}  // namespace fabricctl
