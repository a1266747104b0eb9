#pragma once
// Link rates as routing weights. Routes are balanced per capacity: a route over a channel
// trained at half the subnet's top rate costs twice as much as one over a full-rate channel,
// so a cable that trained at 4xDDR among 4xEDR cables gets its share of routes in
// proportion to its rate. The rate of a cable is the slower of its two ends' active rates;
// a port whose rate is not known (width or speed 0) counts as full rate.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "fabric/fabric.h"

namespace fabricctl {

class ChannelCapacity {
 public:
  // Cost of one route over a full-rate channel. Costs are integers so that engines can add
  // them up exactly; 16 steps resolve every InfiniBand rate ratio that matters
  // (4xEDR/4xDDR = 6.25 -> 100/16).
  static constexpr uint32_t kUnitCost = 16;

  // Looks at the switch-to-switch cables of `subnet` (endpoint cables are not channels).
  ChannelCapacity(const Fabric& fabric, const Subnet& subnet);

  // Cost of one route leaving through `port` (a port of one of the subnet's switches):
  // kUnitCost * top rate / this cable's rate, rounded, at least kUnitCost.
  uint32_t cost(PortId port) const { return port < cost_.size() ? cost_[port] : kUnitCost; }
  // This cable's rate as a share of the top rate, in (0, 1].
  double share(PortId port) const { return port < share_.size() ? share_[port] : 1.0; }
  // True when every switch-to-switch cable runs at the top rate (or its rate is unknown).
  bool uniform() const { return uniform_; }
  double top_gbps() const { return top_gbps_; }

 private:
  std::vector<uint32_t> cost_;  // by PortId; kUnitCost where not a slower channel
  std::vector<double> share_;   // by PortId
  bool uniform_ = true;
  double top_gbps_ = 0;
};

// The cut of one switch: the routes that must cross its switch-to-switch channels, its
// sources to every destination elsewhere or every other source to its destinations,
// whichever is more.
inline uint64_t SwitchCutRoutes(uint64_t sources_here, uint64_t destinations_here, uint64_t all_sources,
                                uint64_t all_destinations) {
  return std::max(sources_here * (all_destinations - destinations_here),
                  destinations_here * (all_sources - sources_here));
}
// The cut bound of one switch: those routes spread evenly over its `channels`, rounded up,
// the least busiest-channel load any table can reach there; 0 without channels.
inline uint64_t SwitchCutBound(uint64_t cut_routes, uint64_t channels) {
  return channels == 0 ? 0 : (cut_routes + channels - 1) / channels;
}

// Data rate of the cable at `port` (the slower end), 0 when unknown.
double CableGbps(const Fabric& fabric, PortId port);

}  // namespace fabricctl
