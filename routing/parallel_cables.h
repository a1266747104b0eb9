#pragma once
// Spreading routes over parallel cables. Where two switches are joined by several cables, a
// table sends each destination's routes from the first switch down one of them, so each
// cable carries whole destinations' flows (the routes of every source whose path to the
// destination crosses it). Which of the cables a destination takes changes no other
// channel's load and no hop, so the destinations can be packed over the cables afterwards:
// heaviest flow first, each onto the cable where it leaves the least load per capacity.

#include <cstddef>

#include "fabric/fabric.h"
#include "routing/channel_capacity.h"
#include "routing/routes.h"
#include "routing/switch_graph.h"

namespace fabricctl {

// What SpreadOverParallelCables did.
struct CableSpread {
  size_t groups = 0;   // (switch, neighbour) pairs, each way, of several cables that carry routes
  size_t packed = 0;   // of those, the pairs whose busiest cable got lighter
  size_t entries = 0;  // LFT entries moved to another cable of their pair
};

// Repacks the endpoint destinations of every switch pair joined by several cables over
// those cables wherever that lowers the pair's busiest cable (routes times the cable's
// capacity cost); other pairs keep their entries. Only for tables whose deadlock freedom
// does not depend on which of two parallel cables a route takes (Up*/Down*: every cable
// between two switches goes the same way, up or down), on one VL. Skipped (an empty result)
// on subnets of more than 4,194,304 LFT entries (switches x LIDs), where the walk over
// every route would cost a quarter of a second or more.
CableSpread SpreadOverParallelCables(const Fabric& f, const SwitchGraph& g, const ChannelCapacity& capacity,
                                     SubnetRoutes& out);

}  // namespace fabricctl
