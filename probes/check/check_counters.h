#pragma once
// `counters` findings: error counters that rose over the interval between two readings
// (or, with one reading, that stand above their threshold, as ibqueryerrors judges them),
// with rates per second and, for symbol errors, a bit error rate estimated from the link's
// data rate. A counter lower in the second reading was reset (or wrapped) in between; one
// at its maximum has saturated and its increase is a lower bound. PortXmitWait is judged as
// the share of the interval the port waited to send (congestion), and as a raw count only
// when its threshold is set.
#include <optional>

#include "probes/check/check_options.h"
#include "probes/check/finding.h"
#include "probes/check/places.h"
#include "probes/check/snapshot.h"

namespace fabricctl::check {

// The largest value a counter holds: error counters saturate at their PortCounters width,
// traffic counters at 32 bits, or 64 when read from PortCountersExtended.
uint64_t CounterMax(Counter c, bool extended);

// How much counter `c` rose from `before` (null: since it was last reset) to `after`; a
// counter lower in `after` was reset in between and counts from the reset.
uint64_t CounterDelta(const PortCounterReading* before, const PortCounterReading& after, Counter c);

// Share of `seconds` that `ticks` of PortXmitWait cover, capped to [0, 1]: a tick lasts
// `tick_symbols` symbol times, a symbol time being one byte on one lane at `speed`'s lane
// data rate (4 ns at SDR, 0.32 ns at EDR). Nullopt for an unknown speed or no interval.
std::optional<double> XmitWaitShare(uint64_t ticks, LinkSpeed speed, uint32_t tick_symbols, double seconds);

// The share of the interval the port of `after` spent with data to send and sending none,
// at its link's active speed. Nullopt with one reading, an unknown speed, or PortXmitWait
// already saturated in `before` (it then no longer counts).
std::optional<double> PortXmitWaitShare(const Fabric& fabric, const PortCounterReading* before,
                                        const PortCounterReading& after, uint32_t tick_symbols, double seconds);

void CheckCounters(const Snapshot& snapshot, const CheckOptions& options, const Places& places, CheckReport& report);

}  // namespace fabricctl::check
