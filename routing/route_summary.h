#pragma once
// A quick summary of routed tables for `route compute`: hops, channel loads, unreachable
// pairs, forwarding loops, and for single-VL tables an acyclicity check of the channel
// dependency graph. The independent verifier (`route verify`) is the authority; this is
// the cheap on-line figure, computed per destination in O(switches) each.
#include <cstdint>
#include <optional>

#include "fabric/fabric.h"
#include "routing/routes.h"

namespace fabricctl {

struct RouteSummary {
  uint32_t max_hops = 0;          // links between two endpoints, endpoint links included
  double avg_hops = 0;            // over reachable ordered endpoint pairs
  uint64_t max_channel_load = 0;  // endpoint pairs routed over the busiest switch-to-switch channel
  // The worst load per capacity: max over channels of routes / (cable rate / top rate), the
  // routes a full-rate channel would carry to be as busy; equals max_channel_load when every
  // cable runs at the subnet's top rate (routing/channel_capacity.h).
  double max_load_per_capacity = 0;
  uint64_t pairs = 0;              // ordered endpoint pairs (different ports, both attached to switches)
  uint64_t unreachable_pairs = 0;  // pairs whose route hits no entry, a bad port, or a loop
  // CDG acyclic; unset when tables use several VLs or the check was skipped (true for a
  // subnet without switches, which has no channels)
  std::optional<bool> deadlock_free;
};

// Whether the summary checks the 1-VL channel dependency graph: kSkip where the verifier
// has checked it already (deadlock_free is then left unset).
enum class SummaryCreditLoops { kCheck, kSkip };

RouteSummary SummarizeRoutes(const Fabric& fabric, const Subnet& subnet, const SubnetRoutes& routes, unsigned threads,
                             SummaryCreditLoops credit_loops = SummaryCreditLoops::kCheck);

}  // namespace fabricctl
