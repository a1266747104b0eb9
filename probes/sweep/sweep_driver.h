#pragma once
// Runs a sweep plan on any executor: port counters before, the plan's rounds, a first
// analysis, extra rounds re-probing its suspects, counters after, then the analysis of all
// the evidence. Every mode (simulated fabric, remote agents, MPI job, always-on
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
  // Probes through each suspect link after the first analysis (0: no re-probing), for at
  // most `max_suspects` links, strongest first.
  uint32_t reprobe = 8;
  uint32_t reprobe_intermittent = 24;  // probes through each intermittent suspect (outliers among normal probes)
  size_t max_suspects = 4096;
  uint64_t seed = 1;  // choice of the re-probe pairs
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
  SweepPlan plan;                         // the plan as it ran, re-probes appended as extra rounds
  std::vector<Measurement> measurements;  // one per plan probe
  std::vector<ProbeFailure> failures;     // why probes are unmeasured, by probe index
  std::vector<uint64_t> port_errors;      // counter differences by PortId; empty without counters
  SweepAnalysis analysis;
  double run_seconds = 0, analyse_seconds = 0;
  size_t planned_probes = 0;    // probes of the plan given; re-probes follow them in `plan`
  uint32_t planned_rounds = 0;  // its rounds
  size_t suspects = 0;          // links the first analysis asked to re-probe
  size_t reprobes = 0;          // probes run through them
};

// `counters` may be null (no counters on this fabric). A counter read that fails is an
// error of the whole sweep: a sweep that promised counters and silently lacks them would
// judge links on less evidence than it claims.
Result<SweepRun> DriveSweep(const Fabric& fabric, const RouteSet& routes, SweepPlan plan, ProbeExecutor& executor,
                            CounterSource* counters, const DriverOptions& options,
                            const std::function<void(const DriverProgress&)>& progress);

}  // namespace fabricctl::sweep
