#pragma once
// LID assignment. Every subnet is its own LID space starting at 1. LIDs the topology
// already has (Port::lid != 0) are kept; the others get the lowest free LIDs in a fixed
// order, so the same topology always gets the same LIDs (docs/routing.md):
//   for each switch in Subnet::switches order (ascending node id): the switch (port 0),
//   then the endpoint ports cabled to it, in the switch's port order;
//   then endpoint ports not cabled to a switch, ascending port id.
// LIDs are 32 bits inside; a subnet that needs more than 0xBFFF is routed anyway and
// flagged as not deployable to InfiniBand hardware.
#include <string>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "routing/routes.h"

namespace fabricctl {

struct LidAssignment {
  std::vector<Lid> port_lid;                   // per port slot, 0 for none (RouteSet::port_lid)
  std::vector<std::vector<PortId>> lid_owner;  // per subnet: SubnetRoutes::lid_owner
  std::vector<std::string> notes;              // e.g. LID space beyond 0xBFFF
};

// Fails when two ports of one subnet already carry the same LID, when a given LID lies in
// another port's LMC block, or when one is beyond 16 bits and twice the subnet's ports.
Result<LidAssignment> AssignLids(const Fabric& fabric);

}  // namespace fabricctl
