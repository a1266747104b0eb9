#pragma once
// Switched scale-up fabric of one super node: single tier (every accelerator port to a
// switch chip, each chip its own plane, like GB200 NVL72) or a two-tier Clos per plane
// (like CloudMatrix384). Shared by supernode, scalex640 and scalex-cluster.
#include <span>
#include <string_view>

#include "fabric/error.h"
#include "fabric/generators/gen_builder.h"

namespace fabricctl::gen {

struct ScaleUpOptions {
  unsigned accelerators = 72;
  unsigned ports = 18;        // scale-up ports per accelerator (its ports 1..ports)
  unsigned tiers = 1;         // 1 or 2
  unsigned planes = 0;        // 0: 1 tier -> one plane per port; 2 tiers -> 1 plane
  unsigned radix = 72;        // ports per switch chip
  unsigned l1_down = 0;       // 2 tiers: L1 ports to accelerators; 0: radix / 2
  unsigned l1_up = 0;         // 2 tiers: L1 ports to L2; 0: l1_down (non-blocking)
  unsigned spines = 0;        // 2 tiers: L2 switches per plane; 0: l1_up (one link from each L1)
  unsigned links_per_l1 = 1;  // 2 tiers: links from an accelerator to each of its L1 switches
};

struct ScaleUpPlan {
  ScaleUpOptions o;        // with the automatic values filled in
  unsigned per_plane = 0;  // accelerator ports per plane
  unsigned links = 1;      // 1 tier: links from an accelerator to each switch
  unsigned group = 0;      // 2 tiers: accelerators sharing the same L1 switches
  size_t groups = 0;
  unsigned l1_per_group = 0;
  size_t l1_per_plane = 0;
  unsigned spine_links = 0;  // links from each L1 to each L2 of its plane
  size_t switches() const { return o.tiers == 1 ? o.planes : o.planes * (l1_per_plane + o.spines); }
};

Result<ScaleUpPlan> PlanScaleUp(const ScaleUpOptions& options);

// Adds the scale-up switches "<prefix>-sw07" (1 tier) or "<prefix>[-pNN]-l1-NNN" / "-l2-"
// (2 tiers), labelled level scale-up, tier, plane (when there are several) and the
// super_node and rack of `place`, and cables ports 1..ports of every accelerator.
void BuildScaleUp(GenBuilder& b, const ScaleUpPlan& plan, std::span<const NodeId> accelerators, Labels place,
                  std::string_view prefix, LinkRate rate);

}  // namespace fabricctl::gen
