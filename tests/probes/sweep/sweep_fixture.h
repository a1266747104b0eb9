#pragma once
// A small 2-tier fat tree with routes computed in the test itself (shortest paths,
// destination-mod-k up-port choice), so sweep tests do not depend on the routing engines.
#include <doctest/doctest.h>

#include <deque>

#include "fabric/fabric_builder.h"
#include "routing/routes.h"

namespace fabricctl::sweep::testing {

struct Routed {
  Fabric fabric;
  RouteSet routes;
};

// leaves x hosts_per_leaf hosts; each host has `host_ports` ports on consecutive leaves.
inline Routed FatTree(unsigned spines = 2, unsigned leaves = 4, unsigned hosts_per_leaf = 4, unsigned host_ports = 1) {
  FabricBuilder b;
  std::vector<NodeId> spine, leaf, host;
  uint64_t guid = 0x200000;
  for (unsigned s = 0; s < spines; ++s)
    spine.push_back(*b.AddNode({.type = NodeType::kSwitch,
                                .num_ports = leaves,
                                .guid = guid++,
                                .description = "spine" + std::to_string(s),
                                .labels = {.tier = 2}}));
  for (unsigned l = 0; l < leaves; ++l)
    leaf.push_back(*b.AddNode({.type = NodeType::kSwitch,
                               .num_ports = hosts_per_leaf * host_ports + spines,
                               .guid = guid++,
                               .description = "leaf" + std::to_string(l),
                               .labels = {.tier = 1}}));
  for (unsigned h = 0; h < leaves * hosts_per_leaf; ++h)
    host.push_back(*b.AddNode({.type = NodeType::kCa,
                               .num_ports = host_ports,
                               .guid = 0x100000 + h * 4,
                               .description = "host" + std::to_string(h),
                               .labels = {.tier = 0}}));
  LinkRate rate{.width = LinkWidth::k4x, .speed = LinkSpeed::kNDR};
  for (unsigned l = 0; l < leaves; ++l)
    for (unsigned s = 0; s < spines; ++s)
      REQUIRE(b.Connect(leaf[l], hosts_per_leaf * host_ports + 1 + s, spine[s], l + 1, rate));
  for (unsigned h = 0; h < host.size(); ++h)
    for (unsigned p = 0; p < host_ports; ++p) {
      unsigned l = (h / hosts_per_leaf + p) % leaves;
      REQUIRE(b.Connect(host[h], p + 1, leaf[l], (h % hosts_per_leaf) * host_ports + p + 1, rate));
    }
  auto f = b.Build();
  REQUIRE(f);
  Routed r{.fabric = std::move(*f)};
  const Fabric& fab = r.fabric;
  REQUIRE(fab.subnets().size() == 1);
  const Subnet& sub = fab.subnets()[0];
  SubnetRoutes sr;
  sr.subnet = 0;
  sr.engine = "test";
  sr.switches = sub.switches;
  r.routes.port_lid.assign(fab.num_port_slots(), 0);
  sr.lid_owner.push_back(kNone);
  for (PortId p : sub.endpoint_ports)
    r.routes.port_lid[p] = static_cast<Lid>(sr.lid_owner.size()), sr.lid_owner.push_back(p);
  for (NodeId s : sub.switches)
    r.routes.port_lid[fab.port_id(s, 0)] = static_cast<Lid>(sr.lid_owner.size()),
                                     sr.lid_owner.push_back(fab.port_id(s, 0));
  const size_t L = sr.num_lids();
  sr.lft.assign(sr.switches.size() * L, kNoRoute);
  std::vector<uint32_t> idx(fab.num_nodes(), kNone);
  for (uint32_t i = 0; i < sr.switches.size(); ++i) idx[sr.switches[i]] = i;
  for (Lid d = 1; d < L; ++d) {
    PortId target = sr.lid_owner[d];
    NodeId tnode = fab.port(target).node;
    // BFS over switches from the switch the destination hangs off.
    std::vector<uint32_t> dist(fab.num_nodes(), kNone);
    std::deque<NodeId> q;
    if (fab.is_switch(tnode)) {
      dist[tnode] = 0, q.push_back(tnode), sr.lft[idx[tnode] * L + d] = 0;
    } else {
      NodeId sw = fab.port(fab.port(target).peer).node;
      dist[sw] = 0, q.push_back(sw);
      sr.lft[idx[sw] * L + d] = fab.port(fab.port(target).peer).number;
    }
    while (!q.empty()) {
      NodeId x = q.front();
      q.pop_front();
      for (const Adjacency& a : fab.neighbors(x))
        if (fab.is_switch(a.peer_node) && dist[a.peer_node] == kNone) {
          dist[a.peer_node] = dist[x] + 1;
          q.push_back(a.peer_node);
        }
    }
    for (NodeId s : sr.switches) {
      if (dist[s] == 0) continue;
      std::vector<uint8_t> options;
      for (const Adjacency& a : fab.neighbors(s))
        if (fab.is_switch(a.peer_node) && dist[a.peer_node] + 1 == dist[s]) options.push_back(fab.port(a.local).number);
      REQUIRE(!options.empty());
      sr.lft[idx[s] * L + d] = options[d % options.size()];
    }
  }
  r.routes.subnets.push_back(std::move(sr));
  return r;
}

}  // namespace fabricctl::sweep::testing
