#pragma once
// The channels a probe's packets cross, read off the routed fabric. A channel is the
// transmitting end of a link, named by that PortId, so each cable gives two channels.
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "routing/routes.h"

namespace fabricctl::sweep {

// Index from switch NodeId to its position in SubnetRoutes::switches, built once per set.
class RouteIndex {
 public:
  RouteIndex(const Fabric& fabric, const RouteSet& routes);
  // SubnetRoutes of a subnet, or nullptr when the subnet was not routed.
  const SubnetRoutes* routes_of(SubnetId s) const { return s < by_subnet_.size() ? by_subnet_[s] : nullptr; }
  uint32_t switch_index(NodeId n) const { return switch_index_[n]; }

 private:
  std::vector<const SubnetRoutes*> by_subnet_;
  std::vector<uint32_t> switch_index_;
};

// Appends the channels from endpoint port src to endpoint port dst (same subnet) to `out`.
// Fails on unreachable destinations, loops and paths through endpoints.
Result<void> AppendProbePath(const Fabric& fabric, const RouteSet& routes, const RouteIndex& index, PortId src,
                             PortId dst, std::vector<PortId>& out);

}  // namespace fabricctl::sweep
