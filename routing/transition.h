#pragma once
// A safe order to install changed route tables. While switches are being updated a packet
// meets the old table at some switches and the new one at others; the channel dependencies
// of every such mix must stay acyclic or the change itself can deadlock the fabric. The
// plan groups the changed switches into steps; during step k the switches of earlier steps
// forward by their new tables, the switches of step k by either table, the rest by their
// old ones. Between steps the installer waits until every switch of the step has taken its
// blocks and the fabric has drained (packet lifetime), so no packet meets tables from two
// steps apart. Each step is checked; see docs/routing.md, "Changing routes safely".
#include <cstdint>
#include <string>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "routing/routes.h"

namespace fabricctl {

struct TransitionPlan {
  std::vector<std::vector<size_t>> steps;  // switch indices (SubnetRoutes::switches) updated in each step, in order
  uint64_t blocks = 0;                     // 64-entry LFT blocks written in all
  bool union_deadlock_free = true;         // every step's mixed dependency graph checked acyclic
  std::string why;  // when not: how many switches the greedy order could not place (they form the last step)
};

// Which table a switch may forward by while a step runs.
enum class TableChoice : uint8_t { kOld, kEither, kNew };

// True when the channel dependency graph that packets can form with every switch
// forwarding by the table `choice[i]` allows (for every endpoint destination, from every
// endpoint's switch) is acyclic. Dependencies form only over cables of `alive`.
Result<bool> MixedDependenciesAcyclic(const Fabric& alive, const SubnetRoutes& before, const SubnetRoutes& after,
                                      const std::vector<TableChoice>& choice);

// `before` and `after` are tables of one subnet over the same switches and LIDs; `alive` is
// the fabric the new tables are for (routing/fabric_health.h WithoutDown), with the same
// node and port ids as the one `before` was made for.
Result<TransitionPlan> PlanTransition(const Fabric& alive, const SubnetRoutes& before, const SubnetRoutes& after);

}  // namespace fabricctl
