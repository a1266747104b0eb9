#pragma once
// `link-rate` findings: links that trained below the rate they should run at
// (fabric/expected_rate.h says where the expectation comes from).
#include "probes/check/check_options.h"
#include "probes/check/finding.h"
#include "probes/check/places.h"
#include "probes/check/snapshot.h"

namespace fabricctl::check {

void CheckLinkRates(const Snapshot& snapshot, const Places& places, CheckReport& report);

}  // namespace fabricctl::check
