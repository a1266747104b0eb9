#pragma once
// A copy of a fabric with some nodes and cables left out: what the generators' failed parts
// and the route manager's view of the fabric without its down parts are built from.
#include <functional>

#include "fabric/error.h"
#include "fabric/fabric.h"

namespace fabricctl {

struct SubsetRules {
  std::function<bool(NodeId)> keep_node;  // empty: every node
  std::function<bool(LinkId)> keep_link;  // empty: every cable whose two nodes are kept
  // Called on both ports of each kept cable (by the original link id) once they are copied;
  // empty: no change.
  std::function<void(LinkId, Port&)> adjust;
};

// The kept nodes in their order, renumbered densely (the same ids when every node is kept),
// and the kept cables in their order; a cable is also left out when either end's node is.
// Every attribute is copied, except that a port whose cable is left out reads as
// unplugged (Down, Polling, no active width or speed). Subnets are recomputed.
Result<Fabric> SubsetOf(const Fabric& fabric, const SubsetRules& rules);

}  // namespace fabricctl
