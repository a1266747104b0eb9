#pragma once
// dfsssp: deadlock-free single-source shortest paths (Domke, Hoefler, Nagel, IPDPS 2011).
// Balanced shortest paths first: destination by destination, every switch takes the
// minimal-hop next hop whose whole path to the destination carries the fewest routes so far
// (the sum of its channels' loads, a route over a slow cable counted by its capacity cost),
// and a second pass routes every destination again knowing all the others; then
// virtual-lane layering:
// all destinations start in layer 0; while a layer's channel dependency graph has a cycle,
// the destinations that use the least-used dependency of that cycle move up a layer. The
// SL of every pair is its destination's layer and SL n rides VL n. Fails with a reason
// when more layers are needed than --vls allows. Works on any connected topology.
#include <memory>
#include <string_view>

#include "routing/engine.h"

namespace fabricctl {

std::unique_ptr<RoutingEngine> MakeDfssspEngine();

// dfsssp's reason when load-balanced shortest paths needed more layers than --vls allows
// and lowest-port shortest paths fit: its VL count then says little about what balanced
// routes need.
inline constexpr std::string_view kDfssspLowestPortReason =
    "load-balanced shortest paths needed too many VLs; used lowest-port shortest paths";

// escape: Nue's promise (never more VLs than given) the simple way. dfsssp's layering within
// --vls; where it does not fit, the destinations whose paths do not fit below the last VL
// get Up*/Down* routes on it (an escape layer). Succeeds on any connected subnet, with
// --vls 1 too (then: pure shortest paths when they are deadlock-free, else Up*/Down* for
// what does not fit).
std::unique_ptr<RoutingEngine> MakeEscapeEngine();

}  // namespace fabricctl
