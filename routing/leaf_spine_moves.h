#pragma once
// Single-flow moves off the busiest cables of a two-level fat tree (leaf-spine). A fill
// that routes one destination at a time leaves some cables one source leaf's flow above
// what they need: every route to a destination from one leaf takes the same cable (one
// LFT entry), so loads move in steps of a leaf's endpoints, and where a leaf has exactly as
// much traffic as its cables hold (a leaf with a failed cable) a single step too many on one
// cable is 6% above the cut bound. Here, while every cable at the busiest load can be
// relieved, each gives one flow away: a source leaf's routes to one destination go up
// another cable (to the same spine or another one, which then takes them down to the
// destination's leaf on the cable it already uses for it, or on its least loaded one), or
// a spine sends one destination down another of its cables to the leaf. A move is made
// when every cable it adds to stays below the busiest load; failing that, a move that brings
// one other cable up to the busiest load is made if that cable can be relieved in turn (up
// to two moves further, undone when the chain ends nowhere); a round that cannot relieve
// every cable at the busiest load is undone. So the busiest channel, in ChannelCapacity's
// costs (rates rounded to a sixteenth of the top rate's cost), never rises; every route
// stays leaf - spine - leaf (Up*/Down*, deadlock-free on one VL).

#include <cstddef>
#include <cstdint>

#include "fabric/fabric.h"
#include "routing/channel_capacity.h"
#include "routing/routes.h"
#include "routing/switch_graph.h"

namespace fabricctl {

// What MoveOffBusiestCables did; loads are routes times capacity cost.
struct LeafSpineMoves {
  bool applied = false;  // the subnet is a leaf-spine of at most the entries it handles
  size_t moves = 0;
  uint64_t before = 0, after = 0;  // busiest cable
};

// Moves flows off the busiest cables of the subnet's leaf-spine tables in `out` (every
// switch cable joins a switch with endpoints to one without, every endpoint route goes
// leaf - spine - leaf). Nothing happens (applied false) on other subnets, on tables that
// route some pair otherwise, and past 4,194,304 LFT entries (switches x LIDs); the search
// stops after 16,777,216 steps (a move weighed, or a LID looked at for one).
LeafSpineMoves MoveOffBusiestCables(const Fabric& f, const SwitchGraph& g, const ChannelCapacity& capacity,
                                    SubnetRoutes& out);

}  // namespace fabricctl
