#pragma once
// Runs a sweep plan on any executor: port counters before, the plan's rounds, counters
// after, then the analysis. Every mode (simulated fabric, remote agents, MPI job, always-on
// coordinator) goes through here, so they plan, run and judge alike.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "probes/sweep/analysis.h"
#include "probes/sweep/probe_executor.h"
#include "probes/sweep/sweep_plan.h"
#include "routing/routes.h"

namespace fabricctl::sweep {

struct DriverOptions {
  AnalysisOptions analysis;
};

struct DriverProgress {
  size_t done = 0, total = 0;
  uint32_t round = 0, rounds = 0;
};

struct ProbeFailure {
  size_t probe = 0;
  std::string reason;
};

struct SweepRun {
  SweepPlan plan;                         // the plan as it ran
  std::vector<Measurement> measurements;  // one per plan probe
  std::vector<ProbeFailure> failures;     // why probes are unmeasured, by probe index
  std::vector<uint64_t> port_errors;      // counter differences by PortId; empty without counters
  SweepAnalysis analysis;
  double run_seconds = 0, analyse_seconds = 0;
};

// `counters` may be null (no counters on this fabric). A counter read that fails is an
// error of the whole sweep: a sweep that promised counters and silently lacks them would
// judge links on less evidence than it claims.
Result<SweepRun> DriveSweep(const Fabric& fabric, const RouteSet& routes, SweepPlan plan, ProbeExecutor& executor,
                            CounterSource* counters, const DriverOptions& options,
                            const std::function<void(const DriverProgress&)>& progress);

}  // namespace fabricctl::sweep
