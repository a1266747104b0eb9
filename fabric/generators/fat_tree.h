#pragma once
// Folded-Clos (fat tree) planning and wiring, shared by the fat-tree generator and the
// scale-out fabric of scalex-cluster.
#include <span>
#include <string_view>

#include "fabric/error.h"
#include "fabric/generators/gen_builder.h"

namespace fabricctl::gen {

struct FatTreeOptions {
  unsigned k = 8;                 // switch radix
  unsigned tiers = 3;             // 2 or 3
  unsigned oversubscription = 1;  // leaf down:up ratio
  size_t endpoints = 0;           // 0: as many as the full tree holds
  unsigned leaves_per_pod = 0;    // 3 tiers; 0: k/2 (the classic k-ary tree)
};

// The counts of a tree; every switch has k ports, some may stay unused in a partial tree.
struct FatTreePlan {
  unsigned k = 0;
  unsigned tiers = 0;
  unsigned down = 0;  // leaf ports to endpoints
  unsigned up = 0;    // leaf ports to spines
  size_t endpoints = 0;
  size_t leaves = 0;
  // 2 tiers: `spines` spines, each leaf has `parallel` links to each.
  // 3 tiers: `pods` pods of `leaves_per_pod` leaves and `up` spines; spine j of every pod
  // joins core group j of `cores_per_group` cores with `parallel` links to each.
  size_t spines = 0;
  size_t pods = 0;
  unsigned leaves_per_pod = 0;
  size_t cores_per_group = 0;
  unsigned parallel = 1;
  size_t cores() const { return tiers == 3 ? up * cores_per_group : 0; }
  size_t switches() const { return leaves + spines + cores(); }
};

// Fails with a message (no generator prefix) when the options do not make a tree.
Result<FatTreePlan> PlanFatTree(const FatTreeOptions& options);

// Adds the switches named "<prefix>-l1-NNN", "-l2-", "-l3-" (tier labels 1..3, level
// scale-out, rack = leaf index for leaves) and cables endpoint i to leaf i / down.
void BuildFatTree(GenBuilder& b, const FatTreePlan& plan, std::span<const PortRef> endpoints, std::string_view prefix,
                  LinkRate rate);

}  // namespace fabricctl::gen
