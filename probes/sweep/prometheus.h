#pragma once
// Prometheus textfile-collector metrics of a sweep (node_exporter --collector.textfile).
#include <string>
#include <string_view>

#include "fabric/fabric.h"
#include "probes/sweep/analysis.h"
#include "probes/sweep/sweep_plan.h"

namespace fabricctl::sweep {

// A label value as the exposition format writes it: backslash, quote and newline escaped.
std::string EscapeLabelValue(std::string_view s);

std::string PrometheusMetrics(const Fabric& fabric, const SweepPlan& plan, const SweepAnalysis& analysis,
                              double seconds, long timestamp);

}  // namespace fabricctl::sweep
