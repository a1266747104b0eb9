#pragma once
// The machine twin of the check report:
//   {"source", "healthy", "counts": {"error", "warning", "info"},
//    "findings": [{"kind", "severity", "link"|"port"|"node"|"fabric": place, "summary", "evidence"}],
//    "checks_run": [...], "checks_skipped": [...]}
#include <nlohmann/json.hpp>
#include <string_view>

#include "probes/check/finding.h"

namespace fabricctl::check {

// No finding of severity error or warning (info findings, such as counters that were
// reset, do not make a fabric unhealthy).
bool Healthy(const CheckReport& report);

nlohmann::json ReportJson(const CheckReport& report, std::string_view source);

}  // namespace fabricctl::check
