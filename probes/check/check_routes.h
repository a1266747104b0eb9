#pragma once
// `routes` findings on the installed forwarding tables (read back from the switches or
// from an LFT dump): unreachable endpoint pairs, loops, paths through endpoints, entries
// that point at dead ports, credit loops per VL (routing/verifier.h), and switches whose
// tables differ from the intended ones when those are given.
#include "probes/check/check_options.h"
#include "probes/check/finding.h"
#include "probes/check/places.h"
#include "probes/check/snapshot.h"

namespace fabricctl::check {

void CheckRoutes(const Snapshot& snapshot, const CheckOptions& options, const Places& places, CheckReport& report);

}  // namespace fabricctl::check
