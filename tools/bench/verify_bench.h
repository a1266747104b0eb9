#pragma once
// Verifier and metrics benchmarks: scalex-cluster (every subnet), a ~10k-endpoint 3-tier fat
// tree, tori under dfsssp and the torus engine, and (without --quick) k=80 with 128,000 endpoints.
#include "tools/bench/bench.h"

namespace fabricctl::bench {

int RunVerifyBench(const Options& opts);

}  // namespace fabricctl::bench
