#pragma once
// How the route manager makes switches hold new tables: the one interface behind which
// the two installation modes sit. With no subnet manager routing the fabric the manager
// writes the changed LFT blocks itself over SMPs (smp_installer.h); with OpenSM keeping
// the SM role it hands OpenSM's `file` routing engine one dump per step and lets OpenSM
// program the switches (opensm_installer.h). Either way a step is done only when every
// switch of the step is read back holding its new blocks, so the order PlanTransition
// chose (no credit loop in any mix of old and new tables) is the order the fabric sees.
#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fabric/error.h"
#include "routing/routes.h"
#include "routing/transition.h"

namespace fabricctl {

struct InstallStepReport {
  size_t subnet = 0;                  // index into RouteSet::subnets (and the plans)
  size_t step = 0;                    // index into TransitionPlan::steps
  uint64_t blocks_written = 0;        // 64-entry LFT blocks sent (SMP mode) or that OpenSM changed
  uint64_t blocks_verified = 0;       // blocks read back holding the new entries
  double seconds = 0;                 // from the start of the step to its last read-back
  std::vector<std::string> problems;  // "leaf3 (0x...): LFT block 2: read back differs"
};

struct InstallReport {
  std::vector<InstallStepReport> steps;  // in the order installed
  bool complete = false;                 // every step of every plan done and read back
  // Why installing stopped before the end (a step timed out, the fabric stopped taking
  // MADs, OpenSM could not be signalled): the steps above are what happened before that.
  std::optional<Error> stopped;
};

// Called after each step has been read back, before the next one starts: the manager
// journals progress and logs the event here.
using InstallStepCallback = std::function<void(const InstallStepReport&)>;

// Whether `before` and `after` are tables of the same subnets, switches and LIDs, with one
// plan per subnet whose steps name switches that exist: what every Install checks first.
inline Result<void> CheckInstallInputs(const RouteSet& before, const RouteSet& after,
                                       const std::vector<TransitionPlan>& plans) {
  if (before.subnets.size() != after.subnets.size() || plans.size() != after.subnets.size())
    return MakeError(fmt::format("route installer: {} subnets before, {} after, {} plans", before.subnets.size(),
                                 after.subnets.size(), plans.size()));
  for (size_t s = 0; s < after.subnets.size(); ++s) {
    const SubnetRoutes& b = before.subnets[s];
    const SubnetRoutes& a = after.subnets[s];
    if (b.switches != a.switches || b.num_lids() != a.num_lids() || b.lft.size() != a.lft.size())
      return MakeError(
          fmt::format("route installer: subnet {}: the tables before and after differ in switches or LIDs", s));
    for (const std::vector<size_t>& step : plans[s].steps)
      for (size_t i : step)
        if (i >= a.switches.size())
          return MakeError(
              fmt::format("route installer: subnet {}: a step names switch index {} of {}", s, i, a.switches.size()));
  }
  return {};
}

class RouteInstaller {
 public:
  virtual ~RouteInstaller() = default;

  // Makes the switches hold `after` in the planned steps: `plans` holds one TransitionPlan
  // per subnet, in `after.subnets` order; `before` is what the switches hold now (same
  // subnets, switches and LIDs). Between steps every switch of the step holds its new
  // blocks (read back). Fails only when it cannot start (mismatched inputs); a fabric or
  // subnet manager that stops cooperating ends in a report with `stopped` set.
  virtual Result<InstallReport> Install(const RouteSet& before, const RouteSet& after,
                                        const std::vector<TransitionPlan>& plans,
                                        const InstallStepCallback& after_step) = 0;
};

}  // namespace fabricctl
