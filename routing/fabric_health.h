#pragma once
// Failures as a mask over the fabric discovered at start: which cables and which switches
// are down. The fabric keeps its dense ids, so route tables, counters and reports keep
// meaning the same ports while links fail and return; a link coming back flips its bit.
#include <cstdint>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"

namespace fabricctl {

struct FabricHealth {
  std::vector<uint8_t> link_down;  // by LinkId, 1 = down; shorter than num_links(): the rest are up
  std::vector<uint8_t> node_down;  // by NodeId, 1 = down (a switch; every link of it counts as down)

  // All up.
  static FabricHealth AllUp(const Fabric& fabric);
  bool node_usable(NodeId n) const { return n >= node_down.size() || !node_down[n]; }
  // Up, and neither end's node down.
  bool link_usable(const Fabric& fabric, LinkId l) const;
};

// A copy of `fabric` without the down links and down nodes' links, with the same node and
// port ids (the dropped links' ports have no peer and read Down/Polling). Link ids are
// renumbered. Subnets are recomputed: what the verifier and the engines run on after a
// change. Fails when `health` is sized for another fabric.
Result<Fabric> WithoutDown(const Fabric& fabric, const FabricHealth& health);

}  // namespace fabricctl
