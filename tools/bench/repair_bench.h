#pragma once
#include "tools/bench/bench.h"

namespace fabricctl::bench {

// Route repair on scalex-cluster: single links and switches down, repair time, LFT blocks
// against the minimum, busiest channel, verification, transition plan.
int RunRepairBench(const Options& opts);

}  // namespace fabricctl::bench
