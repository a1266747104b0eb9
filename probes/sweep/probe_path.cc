#include "probes/sweep/probe_path.h"

#include <fmt/format.h>

namespace fabricctl::sweep {

RouteIndex::RouteIndex(const Fabric& fabric, const RouteSet& routes) : switch_index_(fabric.num_nodes(), kNone) {
  by_subnet_.assign(fabric.subnets().size(), nullptr);
  for (const SubnetRoutes& sr : routes.subnets) {
    if (sr.subnet >= by_subnet_.size()) continue;
    by_subnet_[sr.subnet] = &sr;
    for (uint32_t i = 0; i < sr.switches.size(); ++i) switch_index_[sr.switches[i]] = i;
  }
}

Result<void> AppendProbePath(const Fabric& fabric, const RouteSet& routes, const RouteIndex& index, PortId src,
                             PortId dst, std::vector<PortId>& out) {
  SubnetId s = fabric.subnet_of(src);
  const SubnetRoutes* sr = index.routes_of(s);
  if (s == kNone || sr == nullptr) return MakeError(fmt::format("{} is not in a routed subnet", fabric.PortName(src)));
  if (fabric.subnet_of(dst) != s)
    return MakeError(fmt::format("{} and {} are in different subnets", fabric.PortName(src), fabric.PortName(dst)));
  Lid dlid = dst < routes.port_lid.size() ? routes.port_lid[dst] : 0;
  if (dlid == 0 || dlid >= sr->num_lids()) return MakeError(fmt::format("{} has no LID", fabric.PortName(dst)));

  PortId at = src;  // the transmitting port
  const size_t limit = sr->switches.size() + 2;
  for (size_t hop = 0; hop <= limit; ++hop) {
    const Port& tx = fabric.port(at);
    if (tx.peer == kNone) return MakeError(fmt::format("{} is not cabled", fabric.PortName(at)));
    out.push_back(at);
    PortId rx = tx.peer;
    if (rx == dst) return {};
    NodeId n = fabric.port(rx).node;
    if (!fabric.is_switch(n))
      return MakeError(fmt::format("path {} -> {} enters endpoint {}", fabric.PortName(src), fabric.PortName(dst),
                                   fabric.PortName(rx)));
    uint32_t si = index.switch_index(n);
    if (si == kNone) return MakeError(fmt::format("switch {} has no routes", fabric.description(n)));
    uint8_t out_port = sr->out_port(si, dlid);
    if (out_port == kNoRoute || out_port == 0 || out_port > fabric.node(n).num_ports)
      return MakeError(fmt::format("{} has no route to {}", fabric.description(n), fabric.PortName(dst)));
    at = fabric.port_id(n, out_port);
  }
  return MakeError(fmt::format("forwarding loop from {} to {}", fabric.PortName(src), fabric.PortName(dst)));
}

}  // namespace fabricctl::sweep
