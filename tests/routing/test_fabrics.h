#pragma once
// Small hand-checkable fabrics for the routing tests.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "fabric/fabric_builder.h"

namespace fabricctl::testing {

struct FatTreeShape {
  unsigned leaves = 4;
  unsigned spines = 2;
  unsigned hosts = 2;     // per leaf
  unsigned parallel = 1;  // cables between each leaf and each spine
  bool tier_labels = false;
  bool shuffle_uplinks = false;  // cable leaf uplinks to spines in a rotated order
};

// Leaf i: ports 1..hosts to hosts, then uplinks; spine j: one port group per leaf.
inline Fabric TwoTierFatTree(const FatTreeShape& t) {
  FabricBuilder b;
  std::vector<NodeId> leaves, spines;
  for (unsigned i = 0; i < t.spines; ++i)
    spines.push_back(*b.AddNode({.type = NodeType::kSwitch,
                                 .num_ports = t.leaves * t.parallel,
                                 .guid = 0x2000 + i,
                                 .description = fmt::format("spine{}", i),
                                 .labels = {.tier = t.tier_labels ? 2 : -1}}));
  for (unsigned i = 0; i < t.leaves; ++i)
    leaves.push_back(*b.AddNode({.type = NodeType::kSwitch,
                                 .num_ports = t.hosts + t.spines * t.parallel,
                                 .guid = 0x1000 + i,
                                 .description = fmt::format("leaf{}", i),
                                 .labels = {.tier = t.tier_labels ? 1 : -1}}));
  for (unsigned i = 0; i < t.leaves; ++i) {
    for (unsigned h = 0; h < t.hosts; ++h) {
      NodeId n = *b.AddNode({.type = NodeType::kCa,
                             .num_ports = 1,
                             .guid = 0x10000 + i * 256 + h,
                             .description = fmt::format("h{}-{}", i, h)});
      REQUIRE(b.Connect(n, 1, leaves[i], h + 1, LinkRate{}));
    }
    for (unsigned j = 0; j < t.spines; ++j) {
      unsigned spine = t.shuffle_uplinks ? (j + i) % t.spines : j;
      for (unsigned k = 0; k < t.parallel; ++k)
        REQUIRE(
            b.Connect(leaves[i], t.hosts + 1 + j * t.parallel + k, spines[spine], 1 + i * t.parallel + k, LinkRate{}));
    }
  }
  auto f = b.Build();
  REQUIRE(f);
  return std::move(*f);
}

// A 3-tier tree: `pods` pods of `leaves` leaves and `aggs` aggregation switches (every leaf
// cabled to every agg of its pod), and `aggs` groups of `cores` core switches (agg j of
// every pod cabled to every core of group j). Leaf ports: hosts first, then aggs.
struct ThreeTierShape {
  unsigned pods = 4, leaves = 4, aggs = 4, cores = 4, hosts = 4;
};

inline Fabric ThreeTierFatTree(const ThreeTierShape& t) {
  FabricBuilder b;
  auto sw = [&](std::string name, unsigned ports, uint64_t guid) {
    return *b.AddNode({.type = NodeType::kSwitch, .num_ports = ports, .guid = guid, .description = std::move(name)});
  };
  std::vector<NodeId> cores(t.aggs * t.cores);
  for (unsigned j = 0; j < t.aggs; ++j)
    for (unsigned c = 0; c < t.cores; ++c)
      cores[j * t.cores + c] = sw(fmt::format("core{}-{}", j, c), t.pods, 0x3000 + j * t.cores + c);
  for (unsigned p = 0; p < t.pods; ++p) {
    std::vector<NodeId> aggs(t.aggs);
    for (unsigned j = 0; j < t.aggs; ++j) {
      aggs[j] = sw(fmt::format("agg{}-{}", p, j), t.leaves + t.cores, 0x2000 + p * t.aggs + j);
      for (unsigned c = 0; c < t.cores; ++c)
        REQUIRE(b.Connect(aggs[j], t.leaves + c + 1, cores[j * t.cores + c], p + 1, LinkRate{}));
    }
    for (unsigned i = 0; i < t.leaves; ++i) {
      const unsigned leaf_number = p * t.leaves + i;
      NodeId leaf = sw(fmt::format("leaf{}-{}", p, i), t.hosts + t.aggs, 0x1000 + leaf_number);
      for (unsigned h = 0; h < t.hosts; ++h) {
        NodeId n = *b.AddNode({.type = NodeType::kCa,
                               .num_ports = 1,
                               .guid = 0x10000 + leaf_number * 256 + h,
                               .description = fmt::format("h{}-{}-{}", p, i, h)});
        REQUIRE(b.Connect(n, 1, leaf, h + 1, LinkRate{}));
      }
      for (unsigned j = 0; j < t.aggs; ++j) REQUIRE(b.Connect(leaf, t.hosts + j + 1, aggs[j], i + 1, LinkRate{}));
    }
  }
  auto f = b.Build();
  REQUIRE(f);
  return std::move(*f);
}

// n switches in a ring, each with `hosts` endpoints.
inline Fabric Ring(unsigned n, unsigned hosts = 1) {
  FabricBuilder b;
  std::vector<NodeId> sw;
  for (unsigned i = 0; i < n; ++i)
    sw.push_back(*b.AddNode({.type = NodeType::kSwitch,
                             .num_ports = 2 + hosts,
                             .guid = 0x3000 + i,
                             .description = fmt::format("ring{}", i)}));
  for (unsigned i = 0; i < n; ++i) {
    REQUIRE(b.Connect(sw[i], 2, sw[(i + 1) % n], 1, LinkRate{}));
    for (unsigned h = 0; h < hosts; ++h) {
      NodeId c = *b.AddNode({.type = NodeType::kCa,
                             .num_ports = 1,
                             .guid = 0x30000 + i * 16 + h,
                             .description = fmt::format("r{}-{}", i, h)});
      REQUIRE(b.Connect(c, 1, sw[i], 3 + h, LinkRate{}));
    }
  }
  auto f = b.Build();
  REQUIRE(f);
  return std::move(*f);
}

// x * y mesh of switches (ports 1..4 = +x, -x, +y, -y), one endpoint each on port 5.
inline Fabric Mesh(unsigned x, unsigned y) {
  FabricBuilder b;
  auto id = [&](unsigned i, unsigned j) { return NodeId(j * x + i); };
  for (unsigned j = 0; j < y; ++j)
    for (unsigned i = 0; i < x; ++i)
      (void)*b.AddNode({.type = NodeType::kSwitch,
                        .num_ports = 5,
                        .guid = 0x4000 + j * x + i,
                        .description = fmt::format("m{}-{}", i, j)});
  for (unsigned j = 0; j < y; ++j)
    for (unsigned i = 0; i < x; ++i) {
      if (i + 1 < x) REQUIRE(b.Connect(id(i, j), 1, id(i + 1, j), 2, LinkRate{}));
      if (j + 1 < y) REQUIRE(b.Connect(id(i, j), 3, id(i, j + 1), 4, LinkRate{}));
      NodeId c = *b.AddNode({.type = NodeType::kCa,
                             .num_ports = 1,
                             .guid = 0x40000 + j * x + i,
                             .description = fmt::format("e{}-{}", i, j)});
      REQUIRE(b.Connect(c, 1, id(i, j), 5, LinkRate{}));
    }
  auto f = b.Build();
  REQUIRE(f);
  return std::move(*f);
}

}  // namespace fabricctl::testing
