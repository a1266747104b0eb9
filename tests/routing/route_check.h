#pragma once
// Independent checks for routing tests: walks every endpoint pair hop by hop through the
// LFTs (no shared code with the engines or the summary).
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "routing/route_fabric.h"

namespace fabricctl::testing {

struct Walk {
  uint64_t pairs = 0, delivered = 0;
  uint32_t max_links = 0;
  std::map<std::pair<PortId, PortId>, uint64_t> channel_load;  // (out port, in port) of switch-to-switch hops
};

inline Result<FabricRoutes> RouteWith(const Fabric& f, std::string_view spec, EngineOptions eo = {}) {
  auto sel = ParseEngineSelection(spec);
  REQUIRE(sel);
  return RouteFabric(f, *sel, RouteFabricOptions{.engine = eo, .threads = 2});
}

enum class Missing { kForbidden, kAllowed };

// Every switch of the subnet has a valid entry for every LID (unless allowed missing),
// pointing at a connected port (or 0 for its own LID).
inline void CheckEveryLidRouted(const Fabric& f, const SubnetRoutes& r, Missing missing = Missing::kForbidden) {
  const size_t L = r.num_lids();
  for (size_t i = 0; i < r.switches.size(); ++i) {
    NodeId sw = r.switches[i];
    for (Lid lid = 1; lid < L; ++lid) {
      if (r.lid_owner[lid] == kNone) continue;
      uint8_t p = r.out_port(i, lid);
      INFO("switch " << f.description(sw) << " lid " << lid);
      if (missing == Missing::kAllowed && p == kNoRoute) continue;
      REQUIRE(p != kNoRoute);
      if (r.lid_owner[lid] == f.port_id(sw, 0)) {
        CHECK(p == 0);
      } else {
        REQUIRE(p >= 1);
        REQUIRE(p <= f.node(sw).num_ports);
        CHECK(f.port(f.port_id(sw, p)).peer != kNone);
      }
    }
  }
}

inline Walk WalkAllPairs(const Fabric& f, const SubnetRoutes& r) {
  Walk w;
  const size_t L = r.num_lids();
  std::map<NodeId, size_t> index;
  for (size_t i = 0; i < r.switches.size(); ++i) index[r.switches[i]] = i;
  for (Lid src = 1; src < L; ++src) {
    PortId sp = r.lid_owner[src];
    if (sp == kNone || f.is_switch(f.port(sp).node)) continue;
    for (Lid dst = 1; dst < L; ++dst) {
      PortId dp = r.lid_owner[dst];
      if (dst == src || dp == kNone || f.is_switch(f.port(dp).node)) continue;
      ++w.pairs;
      PortId at = f.port(sp).peer;  // port of the first switch the packet enters
      uint32_t links = 1;
      for (int guard = 0; guard < 64; ++guard) {
        NodeId sw = f.port(at).node;
        if (!f.is_switch(sw)) break;
        uint8_t out = r.out_port(index.at(sw), dst);
        if (out == kNoRoute || out == 0 || out > f.node(sw).num_ports) break;
        PortId op = f.port_id(sw, out);
        PortId next = f.port(op).peer;
        if (next == kNone) break;
        ++links;
        if (next == dp) {
          ++w.delivered;
          w.max_links = std::max(w.max_links, links);
          break;
        }
        if (!f.is_switch(f.port(next).node)) break;
        ++w.channel_load[{op, next}];
        at = next;
      }
    }
  }
  return w;
}

}  // namespace fabricctl::testing
