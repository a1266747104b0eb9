#pragma once
// `fabricctl check`: every check over one snapshot, findings sorted worst first.
#include "probes/check/check_options.h"
#include "probes/check/finding.h"
#include "probes/check/snapshot.h"

namespace fabricctl::check {

// Checks that lack their input (no counters, no routes, files without SM readings) are
// listed in checks_skipped with the reason. Findings: severity, then kind, then place.
CheckReport RunChecks(const Snapshot& snapshot, const CheckOptions& options);

}  // namespace fabricctl::check
