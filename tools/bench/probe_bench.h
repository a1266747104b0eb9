#pragma once
// Probe benchmark: fabricctl's TCP probes against iperf3 (bandwidth) and sockperf/qperf
// (latency) on loopback, interleaved in one run on the same machine.
#include "tools/bench/bench.h"

namespace fabricctl::bench {

int RunProbeBench(const Options& options);

}  // namespace fabricctl::bench
