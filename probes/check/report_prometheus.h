#pragma once
// Prometheus textfile-collector metrics of a check (node_exporter --collector.textfile):
// findings by kind and severity, and per port of every link its rate, the rate expected of
// it and, when counters were read, every counter (and its rate over the interval) and the
// share of the interval spent waiting to send (PortXmitWait, with the tick `options` gives),
// labelled with link, node description, node GUID and port number.
#include <string>

#include "probes/check/check_options.h"
#include "probes/check/finding.h"
#include "probes/check/snapshot.h"

namespace fabricctl::check {

std::string PrometheusCheckMetrics(const Snapshot& snapshot, const CheckReport& report, const CheckOptions& options,
                                   long timestamp);

}  // namespace fabricctl::check
