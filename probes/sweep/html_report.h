#pragma once
// A self-contained HTML sweep report (inline CSS and SVG, no scripts, opens without a
// network): summary, findings, a heat map of link health by fabric group and link tier,
// and latency/bandwidth histograms.
#include <string>
#include <vector>

#include "fabric/fabric.h"
#include "probes/sweep/analysis.h"
#include "probes/sweep/faults.h"
#include "probes/sweep/measurement.h"
#include "probes/sweep/sweep_plan.h"

namespace fabricctl::sweep {

struct HtmlInputs {
  const Fabric& fabric;
  const SweepPlan& plan;
  const std::vector<Measurement>& measurements;
  const SweepAnalysis& analysis;
  const std::vector<Fault>& injected;
  std::string title;
  std::string started;
};

std::string HtmlReport(const HtmlInputs& in);

}  // namespace fabricctl::sweep
