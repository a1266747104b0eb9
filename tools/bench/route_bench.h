#pragma once
// Routing benchmarks: engines on 3-tier fat trees (OpenSM's 10,368-endpoint comparison
// point and k=80 with 128,000 endpoints) and on the scalex-cluster preset.
#include "tools/bench/bench.h"

namespace fabricctl::bench {

int RunRouteBench(const Options& opts);

}  // namespace fabricctl::bench
