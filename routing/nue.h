#pragma once
// nue: deadlock-free destination-based routing with any number of VLs from 1 to --vls
// (Domke, Hoefler, Matsuoka, "Routing on the Channel Dependency Graph", HPDC 2016).
// Every VL keeps its own channel dependency graph of the dependencies its routes use,
// acyclic at all times (a dynamic topological order checks each new dependency exactly).
// Destinations are split over the VLs by switch, in contiguous groups of a breadth-first
// order, so each VL's destinations lie close together. Each destination gets a tree by a
// Dijkstra over the switches, weighted by the routes already on each channel (times its
// capacity cost): a switch settles through a neighbour only when the dependency that adds
// keeps its VL's graph acyclic. The dependencies of a spanning tree's Up*/Down* paths are
// in every VL's graph from the start: when a destination's Dijkstra reaches an impasse on
// every VL, the switches that could not settle are pinned to their escape paths and the
// rest grows around them again. Works on any connected subnet and never uses more VLs
// than given; uses more than one only where that lowers the busiest channel. Switch LIDs
// (management traffic) follow one of the switch's endpoints, else the escape paths.
#include <memory>

#include "routing/engine.h"

namespace fabricctl {

std::unique_ptr<RoutingEngine> MakeNueEngine();

}  // namespace fabricctl
