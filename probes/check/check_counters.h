#pragma once
// `counters` findings: error counters that rose over the interval between two readings
// (or, with one reading, that stand above their threshold, as ibqueryerrors judges them),
// with rates per second and, for symbol errors, a bit error rate estimated from the link's
// data rate. A counter lower in the second reading was reset (or wrapped) in between; one
// at its maximum has saturated and its increase is a lower bound.
#include "probes/check/check_options.h"
#include "probes/check/finding.h"
#include "probes/check/places.h"
#include "probes/check/snapshot.h"

namespace fabricctl::check {

// The largest value a counter holds: error counters saturate at their PortCounters width,
// traffic counters at 32 bits, or 64 when read from PortCountersExtended.
uint64_t CounterMax(Counter c, bool extended);

void CheckCounters(const Snapshot& snapshot, const CheckOptions& options, const Places& places, CheckReport& report);

}  // namespace fabricctl::check
