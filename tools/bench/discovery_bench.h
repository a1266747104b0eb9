#pragma once
// Discovery and deployment against ibsim: fabricctl discover vs ibnetdiscover (time and
// MADs) on 2-tier fat trees of ~1,000 and ~5,000 endpoints, and deploy of a full table
// set and of a one-link reroute.
#include "tools/bench/bench.h"

namespace fabricctl::bench {

int RunDiscoveryBench(const Options& options);

}  // namespace fabricctl::bench
