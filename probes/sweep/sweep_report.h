#pragma once
// The sweep report as JSON (docs/sweeps.md): what was planned, what ran, what was
// injected (simulated fabric) and what the analysis found, each naming links the same way.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fabric/fabric.h"
#include "probes/sweep/analysis.h"
#include "probes/sweep/faults.h"
#include "probes/sweep/measurement.h"
#include "probes/sweep/sweep_plan.h"

namespace fabricctl::sweep {

struct SweepTimings {
  double plan_seconds = 0, run_seconds = 0, analyse_seconds = 0;
};

struct ReportInputs {
  const Fabric& fabric;
  const SweepPlan& plan;
  const std::vector<Measurement>& measurements;
  const SweepAnalysis& analysis;
  const std::vector<Fault>& injected;  // empty for real fabrics
  std::string mode;                    // "sim", "tcp", "verbs"
  std::string topology;                // path of the topology file
  std::string started;                 // ISO 8601 UTC
  SweepTimings timings;
};

nlohmann::json ReportToJson(const ReportInputs& in);
nlohmann::json FindingToJson(const Fabric& fabric, const Finding& f);
nlohmann::json FaultToJson(const Fabric& fabric, const Fault& f);

}  // namespace fabricctl::sweep
