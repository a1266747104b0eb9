#pragma once
// Small fabrics with one slow cable for the rate-aware routing tests.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <vector>

#include "fabric/fabric_builder.h"
#include "tests/routing/route_check.h"

namespace fabricctl::testing {

inline constexpr LinkRate kEdr{.speed = LinkSpeed::kEDR};
inline constexpr LinkRate kDdr{.speed = LinkSpeed::kDDR};
inline constexpr double kDdrShare = 16.0 / 100.0;  // 4xDDR (16 Gb/s) against 4xEDR (100 Gb/s)

// Two switches s0, s1 joined by two cables, port 1 at 4xEDR and port 2 at 4xDDR, host h0 on
// s0 port 3 and h1 on s1 port 3 at `host_rate`.
inline Fabric TwoSwitchesOneSlowCable(LinkRate host_rate = kEdr) {
  FabricBuilder b;
  NodeId s0 = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 3, .guid = 0x10, .description = "s0"});
  NodeId s1 = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 3, .guid = 0x11, .description = "s1"});
  NodeId h0 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x20, .description = "h0"});
  NodeId h1 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x21, .description = "h1"});
  REQUIRE(b.Connect(s0, 1, s1, 1, kEdr));
  REQUIRE(b.Connect(s0, 2, s1, 2, kDdr));
  REQUIRE(b.Connect(h0, 1, s0, 3, host_rate));
  REQUIRE(b.Connect(h1, 1, s1, 3, host_rate));
  auto f = b.Build();
  REQUIRE(f);
  return std::move(*f);
}

// A 2-tier fat tree of `rate` cables (leaf i port hosts+1+j to spine j port i+1), with the
// cable between leaf 0 and spine 0 at `slow`.
inline Fabric Tree(unsigned leaves, unsigned spines, unsigned hosts, LinkRate slow, LinkRate rate = kEdr) {
  FabricBuilder b;
  std::vector<NodeId> leaf, spine;
  for (unsigned j = 0; j < spines; ++j)
    spine.push_back(*b.AddNode({.type = NodeType::kSwitch,
                                .num_ports = leaves,
                                .guid = 0x2000 + j,
                                .description = fmt::format("spine{}", j)}));
  for (unsigned i = 0; i < leaves; ++i) {
    leaf.push_back(*b.AddNode({.type = NodeType::kSwitch,
                               .num_ports = hosts + spines,
                               .guid = 0x1000 + i,
                               .description = fmt::format("leaf{}", i)}));
    for (unsigned h = 0; h < hosts; ++h) {
      NodeId n = *b.AddNode({.type = NodeType::kCa,
                             .num_ports = 1,
                             .guid = 0x10000 + i * 256 + h,
                             .description = fmt::format("h{}-{}", i, h)});
      REQUIRE(b.Connect(n, 1, leaf[i], h + 1, rate));
    }
    for (unsigned j = 0; j < spines; ++j)
      REQUIRE(b.Connect(leaf[i], hosts + 1 + j, spine[j], i + 1, i == 0 && j == 0 ? slow : rate));
  }
  auto f = b.Build();
  REQUIRE(f);
  return std::move(*f);
}

// A ring of n switches, each joined to the next by two cables (ports hosts+1, hosts+2 to the
// next switch's hosts+3, hosts+4); the first cable between switch 0 and switch 1 at `slow`.
inline Fabric DoubleRing(unsigned n, unsigned hosts, LinkRate slow) {
  FabricBuilder b;
  std::vector<NodeId> sw;
  for (unsigned i = 0; i < n; ++i)
    sw.push_back(*b.AddNode(
        {.type = NodeType::kSwitch, .num_ports = hosts + 4, .guid = 0x3000 + i, .description = fmt::format("r{}", i)}));
  for (unsigned i = 0; i < n; ++i) {
    for (unsigned h = 0; h < hosts; ++h) {
      NodeId c = *b.AddNode({.type = NodeType::kCa,
                             .num_ports = 1,
                             .guid = 0x30000 + i * 256 + h,
                             .description = fmt::format("r{}-{}", i, h)});
      REQUIRE(b.Connect(c, 1, sw[i], h + 1, kEdr));
    }
    for (unsigned k = 0; k < 2; ++k)
      REQUIRE(b.Connect(sw[i], hosts + 1 + k, sw[(i + 1) % n], hosts + 3 + k, i == 0 && k == 0 ? slow : kEdr));
  }
  auto f = b.Build();
  REQUIRE(f);
  return std::move(*f);
}

// Routes over the cable from `from` port `port` (walked pair by pair, independently of the
// engines).
inline uint64_t RoutesOver(const testing::Walk& w, const Fabric& f, const char* from, unsigned port) {
  const PortId out = f.port_id(*f.FindByDescription(from), port);
  auto it = w.channel_load.find({out, f.port(out).peer});
  return it == w.channel_load.end() ? 0 : it->second;
}

}  // namespace fabricctl::testing
