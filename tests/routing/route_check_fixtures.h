#pragma once
// Hand-checkable fabrics and route-set skeletons for the verifier, metrics, trace and the
// dfsssp/torus engine tests. Independent of the engine registry and LID assignment of
// route_fabric on purpose: these tests must not depend on the code they check.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>
#include <string_view>
#include <vector>

#include "fabric/fabric_builder.h"
#include "routing/engine.h"
#include "routing/routes.h"

namespace fabricctl::testing {

// A ring of n switches "s0".."s{n-1}", each with `hosts` single-port CAs "h<i>_<j>" on ports
// 1..hosts; port hosts+1 goes clockwise (to s(i+1)), port hosts+2 counter-clockwise.
inline Fabric Ring(int n, int hosts = 1) {
  FabricBuilder b;
  std::vector<NodeId> sw;
  for (int i = 0; i < n; ++i)
    sw.push_back(*b.AddNode({.type = NodeType::kSwitch,
                             .num_ports = unsigned(hosts + 2),
                             .guid = 0x1000u + i,
                             .description = fmt::format("s{}", i)}));
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < hosts; ++j) {
      NodeId h = *b.AddNode({.type = NodeType::kCa,
                             .num_ports = 1,
                             .guid = 0x2000u + i * 64 + j,
                             .description = fmt::format("h{}_{}", i, j)});
      REQUIRE(b.Connect(h, 1, sw[i], j + 1, LinkRate{}));
    }
  for (int i = 0; i < n; ++i) REQUIRE(b.Connect(sw[i], hosts + 1, sw[(i + 1) % n], hosts + 2, LinkRate{}));
  auto f = b.Build();
  REQUIRE(f);
  return std::move(*f);
}

// A 2-tier fat tree: `leaves` leaf switches "leaf<i>" with `down` hosts each on ports
// 1..down and one uplink to each of `spines` spines "spine<j>" on ports down+1..down+spines;
// spine j port i+1 goes to leaf i. Hosts "h<i>_<k>".
inline Fabric TwoTier(int leaves, int spines, int down) {
  FabricBuilder b;
  std::vector<NodeId> leaf, spine;
  for (int i = 0; i < leaves; ++i)
    leaf.push_back(*b.AddNode({.type = NodeType::kSwitch,
                               .num_ports = unsigned(down + spines),
                               .guid = 0x3000u + i,
                               .description = fmt::format("leaf{}", i),
                               .labels = {.tier = 1}}));
  for (int j = 0; j < spines; ++j)
    spine.push_back(*b.AddNode({.type = NodeType::kSwitch,
                                .num_ports = unsigned(leaves),
                                .guid = 0x4000u + j,
                                .description = fmt::format("spine{}", j),
                                .labels = {.tier = 2}}));
  for (int i = 0; i < leaves; ++i)
    for (int k = 0; k < down; ++k) {
      NodeId h = *b.AddNode({.type = NodeType::kCa,
                             .num_ports = 1,
                             .guid = 0x5000u + i * 256 + k,
                             .description = fmt::format("h{}_{}", i, k),
                             .labels = {.tier = 0}});
      REQUIRE(b.Connect(h, 1, leaf[i], k + 1, LinkRate{}));
    }
  for (int i = 0; i < leaves; ++i)
    for (int j = 0; j < spines; ++j) REQUIRE(b.Connect(leaf[i], down + 1 + j, spine[j], i + 1, LinkRate{}));
  auto f = b.Build();
  REQUIRE(f);
  return std::move(*f);
}

// LIDs in port order over the whole fabric (switch port 0, endpoint ports), and for every
// subnet with switches an empty table: kNoRoute everywhere, 0 for a switch's own LID.
inline RouteSet Skeleton(const Fabric& f) {
  RouteSet rs;
  rs.port_lid.assign(f.num_port_slots(), 0);
  Lid next = 1;
  std::vector<PortId> owner{kNone};
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    if (f.is_switch(n)) {
      rs.port_lid[f.port_id(n, 0)] = next++;
      owner.push_back(f.port_id(n, 0));
      continue;
    }
    for (unsigned p = 1; p <= f.node(n).num_ports; ++p) {
      PortId id = f.port_id(n, p);
      if (f.subnet_of(id) == kNone) continue;
      rs.port_lid[id] = next++;
      owner.push_back(id);
    }
  }
  for (const Subnet& sn : f.subnets()) {
    if (sn.switches.empty()) continue;
    SubnetRoutes r;
    r.subnet = sn.id;
    r.engine = "test";
    r.lid_owner.assign(owner.size(), kNone);
    for (Lid lid = 1; lid < owner.size(); ++lid)
      if (f.subnet_of(owner[lid]) == sn.id) r.lid_owner[lid] = owner[lid];
    r.switches = sn.switches;
    r.lft.assign(r.switches.size() * r.lid_owner.size(), kNoRoute);
    for (size_t i = 0; i < r.switches.size(); ++i)
      r.lft[i * r.num_lids() + rs.port_lid[f.port_id(r.switches[i], 0)]] = 0;
    rs.subnets.push_back(std::move(r));
  }
  return rs;
}

inline Lid LidOf(const Fabric& f, const RouteSet& rs, std::string_view desc, unsigned port = 1) {
  auto n = f.FindByDescription(desc);
  REQUIRE(n);
  return rs.port_lid[f.port_id(*n, f.is_switch(*n) ? 0 : port)];
}

inline size_t SwitchIndex(const Fabric& f, const SubnetRoutes& r, std::string_view desc) {
  auto n = f.FindByDescription(desc);
  REQUIRE(n);
  for (size_t i = 0; i < r.switches.size(); ++i)
    if (r.switches[i] == *n) return i;
  FAIL("not a switch of the subnet: " << desc);
  return 0;
}

inline void SetEntry(const Fabric& f, RouteSet& rs, std::string_view sw, Lid lid, uint8_t port) {
  SubnetRoutes& r = rs.subnets[0];
  r.lft[SwitchIndex(f, r, sw) * r.num_lids() + lid] = port;
}

// Ring LFTs as minhop builds them: the shorter way round, clockwise on a tie. With n >= 4
// the clockwise paths of two hops close a cycle of channel dependencies.
inline void RingShortestPaths(const Fabric& f, RouteSet& rs, int n, int hosts = 1) {
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      for (int k = 0; k < hosts; ++k) {
        Lid lid = LidOf(f, rs, fmt::format("h{}_{}", j, k));
        int delta = ((j - i) % n + n) % n;
        uint8_t port = delta == 0 ? uint8_t(k + 1) : delta * 2 <= n ? uint8_t(hosts + 1) : uint8_t(hosts + 2);
        SetEntry(f, rs, fmt::format("s{}", i), lid, port);
      }
}

// Runs an engine on every subnet of `f` the way route_fabric does, returning the outcome of
// the first subnet that is not ok (or Ok).
inline Outcome RouteAll(const RoutingEngine& engine, const Fabric& f, RouteSet& rs, const EngineOptions& options) {
  for (SubnetRoutes& r : rs.subnets) {
    RouteRequest req{.fabric = f, .subnet = f.subnets()[r.subnet], .port_lid = rs.port_lid, .options = options};
    r.engine = std::string(engine.name());
    Outcome o = engine.Route(req, r);
    if (o.status != EngineStatus::kOk) return o;
  }
  return Outcome::Ok();
}

}  // namespace fabricctl::testing

namespace fabricctl::testing {

// A torus (or mesh, wrap = false) of switches "t<x>_<y>[_<z>]" over `dims` (2 or 3 sizes,
// each >= 3 for a torus), `hosts` CAs "h<x>_<y>[_<z>]_<k>" per switch on ports 1..hosts;
// dimension i uses port hosts+1+2i towards +1 and hosts+2+2i towards -1.
inline Fabric Torus(std::vector<int> dims, int hosts = 1, bool wrap = true) {
  FabricBuilder b;
  size_t n = 1;
  for (int d : dims) n *= size_t(d);
  auto name = [&](size_t idx) {
    std::string s = "t";
    for (size_t i = 0; i < dims.size(); ++i) {
      s += fmt::format("{}{}", i ? "_" : "", idx % dims[i]);
      idx /= dims[i];
    }
    return s;
  };
  std::vector<NodeId> sw;
  for (size_t i = 0; i < n; ++i)
    sw.push_back(*b.AddNode({.type = NodeType::kSwitch,
                             .num_ports = unsigned(hosts + 2 * dims.size()),
                             .guid = 0x10000u + i,
                             .description = name(i)}));
  for (size_t i = 0; i < n; ++i)
    for (int k = 0; k < hosts; ++k) {
      NodeId h = *b.AddNode({.type = NodeType::kCa,
                             .num_ports = 1,
                             .guid = 0x100000u + i * 64 + k,
                             .description = fmt::format("h{}_{}", name(i).substr(1), k)});
      REQUIRE(b.Connect(h, 1, sw[i], k + 1, LinkRate{}));
    }
  size_t step = 1;
  for (size_t d = 0; d < dims.size(); ++d) {
    for (size_t i = 0; i < n; ++i) {
      size_t c = (i / step) % dims[d];
      if (c + 1 == size_t(dims[d]) && !wrap) continue;
      size_t j = c + 1 == size_t(dims[d]) ? i - c * step : i + step;
      REQUIRE(b.Connect(sw[i], hosts + 1 + 2 * d, sw[j], hosts + 2 + 2 * d, LinkRate{}));
    }
    step *= dims[d];
  }
  auto f = b.Build();
  REQUIRE(f);
  return std::move(*f);
}

// `f` without the links whose index `drop` accepts; nodes, ports and GUIDs unchanged.
template <typename Pred>
Fabric WithoutLinks(const Fabric& f, Pred drop) {
  FabricBuilder b;
  for (NodeId n = 0; n < f.num_nodes(); ++n)
    REQUIRE(b.AddNode({.type = f.node(n).type,
                       .num_ports = f.node(n).num_ports,
                       .guid = f.node(n).guid,
                       .description = f.description(n),
                       .labels = f.node(n).labels}));
  for (LinkId l = 0; l < f.num_links(); ++l) {
    if (drop(l)) continue;
    const Port& a = f.port(f.link(l).a);
    const Port& c = f.port(f.link(l).b);
    REQUIRE(b.Connect(a.node, a.number, c.node, c.number, LinkRate{}));
  }
  auto out = b.Build();
  REQUIRE(out);
  return std::move(*out);
}

// `tree` (a ThreeTierFatTree of test_fabrics.h) with pod 0 keeping one core cable per
// aggregation switch (the one to core ...-0): with the default shape its 16 hosts reach
// the other 48 over 4 cables each way, 16 x 48 / 4 = 192 routes on one of them at least,
// where a leaf's cut gives 4 x 60 / 4 = 60.
inline Fabric WithThinPod(const Fabric& tree) {
  return WithoutLinks(tree, [&](LinkId l) {
    const std::string_view a = tree.description(tree.port(tree.link(l).a).node);
    const std::string_view b = tree.description(tree.port(tree.link(l).b).node);
    for (std::string_view agg : {a, b})
      if (agg.starts_with("agg0-"))
        for (std::string_view core : {a, b})
          if (core.starts_with("core") && !core.ends_with("-0")) return true;
    return false;
  });
}

}  // namespace fabricctl::testing
