#pragma once
// Route tables: what every routing engine produces, the verifier and metrics check,
// the formats write, and deployment programs into switches. Plain data, no behaviour.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "fabric/fabric.h"

namespace fabricctl {

using Lid = uint32_t;                      // 32-bit inside; only <= 0xBFFF is deployable to InfiniBand hardware
inline constexpr uint8_t kNoRoute = 0xFF;  // LFT entry for an unreachable LID, as OpenSM writes it
inline constexpr Lid kMaxUnicastLid = 0xBFFF;

// Route tables of one subnet.
struct SubnetRoutes {
  SubnetId subnet = kNone;
  std::string engine;  // the engine that produced these tables
  std::string reason;  // why it was chosen (auto, fallback chain), for the summary

  // LID space: lid_owner[lid] is the port addressed by lid (a switch's port 0 or an
  // endpoint port); lid_owner[0] = kNone. num_lids() = max LID + 1.
  std::vector<PortId> lid_owner;
  size_t num_lids() const { return lid_owner.size(); }

  // Switches in Subnet::switches order. lft[i * num_lids() + lid] is the output port
  // number of switches[i] towards lid (0 for the switch's own LID, kNoRoute if none).
  std::vector<NodeId> switches;
  std::vector<uint8_t> lft;
  uint8_t out_port(size_t switch_index, Lid lid) const { return lft[switch_index * lid_owner.size() + lid]; }

  // Virtual lanes. With num_vls == 1 every pair uses SL 0 / VL 0 and the tables below are empty.
  uint8_t num_vls = 1;
  // pair_sl[e * num_lids() + dlid]: SL of traffic from Subnet::endpoint_ports[e] to dlid.
  std::vector<uint8_t> pair_sl;
  // Endpoints inject SL s on VL endpoint_sl2vl[s].
  std::array<uint8_t, 16> endpoint_sl2vl{};
  // sl2vl[((i * sl2vl_stride + in_port) * sl2vl_stride + out_port) * 16 + sl]: VL that
  // switches[i] uses on out_port for a packet of SL sl that arrived on in_port.
  // sl2vl_stride = max port number of the subnet's switches + 1.
  uint32_t sl2vl_stride = 0;
  std::vector<uint8_t> sl2vl;
};

// Routes for a whole fabric: one entry per routed subnet, in subnet order.
struct RouteSet {
  std::vector<SubnetRoutes> subnets;
  // LID of every port slot of the fabric (0 for none): switches' port 0 and endpoint ports.
  std::vector<Lid> port_lid;
};

}  // namespace fabricctl
