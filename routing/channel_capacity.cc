#include "routing/channel_capacity.h"

#include <algorithm>
#include <cmath>

namespace fabricctl {
namespace {

double PortGbps(const Port& port) { return LinkDataGbps(port.width_active, port.speed_active); }

}  // namespace

double CableGbps(const Fabric& fabric, PortId port) {
  const Port& local = fabric.port(port);
  double rate = PortGbps(local);
  if (local.peer == kNone) return rate;
  double peer_rate = PortGbps(fabric.port(local.peer));
  if (rate <= 0) return peer_rate;
  if (peer_rate <= 0) return rate;
  return std::min(rate, peer_rate);
}

ChannelCapacity::ChannelCapacity(const Fabric& fabric, const Subnet& subnet) {
  auto for_each_channel = [&](auto&& visit) {
    for (NodeId s : subnet.switches)
      for (const Adjacency& a : fabric.neighbors(s))
        if (fabric.is_switch(a.peer_node)) visit(a.local);
  };
  for_each_channel([&](PortId port) { top_gbps_ = std::max(top_gbps_, CableGbps(fabric, port)); });
  if (top_gbps_ <= 0) return;
  for_each_channel([&](PortId port) {
    double rate = CableGbps(fabric, port);
    if (rate <= 0 || rate >= top_gbps_) return;
    if (cost_.empty()) {
      cost_.assign(fabric.num_port_slots(), kUnitCost);
      share_.assign(fabric.num_port_slots(), 1.0);
    }
    uniform_ = false;
    share_[port] = rate / top_gbps_;
    cost_[port] = std::max<uint32_t>(kUnitCost, static_cast<uint32_t>(std::lround(kUnitCost * top_gbps_ / rate)));
  });
}

}  // namespace fabricctl
