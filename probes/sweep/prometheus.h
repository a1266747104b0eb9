#pragma once
// Prometheus textfile-collector metrics of a sweep (node_exporter --collector.textfile).
#include <string>

#include "fabric/fabric.h"
#include "probes/sweep/analysis.h"
#include "probes/sweep/sweep_plan.h"

namespace fabricctl::sweep {

std::string PrometheusMetrics(const Fabric& fabric, const SweepPlan& plan, const SweepAnalysis& analysis,
                              double seconds, long timestamp);

}  // namespace fabricctl::sweep
