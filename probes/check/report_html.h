#pragma once
// A self-contained HTML check report in the sweep report's style (inline CSS, no scripts,
// nothing fetched, opens without a network): verdict, findings by severity and kind with
// their evidence, the link rates found against those expected, and what was checked.
#include <string>

#include "probes/check/finding.h"
#include "probes/check/snapshot.h"

namespace fabricctl::check {

std::string HtmlCheckReport(const Snapshot& snapshot, const CheckReport& report, const std::string& started);

}  // namespace fabricctl::check
