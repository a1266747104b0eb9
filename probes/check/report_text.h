#pragma once
// The check report for people: findings grouped by severity (worst first) and kind, each
// as "place: summary", then what was checked and what was skipped.
#include <string>
#include <string_view>

#include "probes/check/finding.h"

namespace fabricctl::check {

std::string ReportText(const CheckReport& report, std::string_view source);

}  // namespace fabricctl::check
