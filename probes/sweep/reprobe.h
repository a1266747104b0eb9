#pragma once
// Re-probing suspects within a sweep: after a first analysis, extra probes through every
// suspect link give the second analysis the evidence that separates a real fault (the new
// probes are slow too) from noise or a neighbour's fault (they are not).
#include <cstdint>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "probes/sweep/analysis.h"
#include "probes/sweep/sweep_plan.h"
#include "routing/routes.h"

namespace fabricctl::sweep {

struct ReprobeOptions {
  uint32_t per_suspect = 8;  // probes per suspect link, split over its suspect directions
  // Probes per intermittent suspect: enough that a fault hitting 30% of them shows in two
  // or more with 99.8% chance (1 - 0.7^24 - 24 x 0.3 x 0.7^23).
  uint32_t per_intermittent = 24;
  size_t max_suspects = 4096;  // the strongest suspects, a bound on the extra rounds' work
  uint64_t seed = 1;           // choice among the pairs that cross a channel
};

// An endpoint pair whose routed path crosses a suspect channel.
struct ProbePair {
  PortId src = kNone, dst = kNone;
};

// Appends probes through the suspects' channels to `plan`, in rounds after its last that
// obey the plan's rule (no endpoint port and no channel serves two probes of a round), and
// recomputes the plan's summary. Returns how many probes were added.
Result<size_t> AddReprobes(const Fabric& fabric, const RouteSet& routes, const std::vector<Suspect>& suspects,
                           const ReprobeOptions& options, SweepPlan& plan);

}  // namespace fabricctl::sweep
