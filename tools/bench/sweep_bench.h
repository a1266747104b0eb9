#pragma once
#include "tools/bench/bench.h"

namespace fabricctl::bench {

// Plan, simulate and analyse a whole scalex-cluster sweep; rounds against the lower bound.
int RunSweepScale(const Options& options);
// Precision/recall of flagged links for K random degraded links over many seeds.
int RunSweepAccuracy(const Options& options);

}  // namespace fabricctl::bench
