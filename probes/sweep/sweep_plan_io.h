#pragma once
// The sweep plan file (JSON, versioned; docs/sweeps.md). Probes are named by port
// ("desc[port]") and paths are recomputed from the routes on load, so a plan stays
// readable and cannot disagree with the routes it is run against.
#include <nlohmann/json.hpp>
#include <string_view>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "probes/sweep/sweep_plan.h"
#include "routing/routes.h"

namespace fabricctl::sweep {

enum class PlanDetail { kSummary, kSchedule };  // kSchedule adds every probe
nlohmann::json PlanToJson(const Fabric& fabric, const SweepPlan& plan, PlanDetail detail);
Result<SweepPlan> ParsePlanJson(const Fabric& fabric, const RouteSet& routes, std::string_view text,
                                std::string_view filename);

}  // namespace fabricctl::sweep
