#pragma once
#include "tools/bench/bench.h"

namespace fabricctl::bench {

// The sweep coordinator at scale: a scalex-cluster plan saved and loaded, its agents file
// read, and every round ordered from 1,280 in-process agents that answer at once, so what
// is timed is the coordinator's own work per round; peak memory.
int RunCoordinatorBench(const Options& options);

}  // namespace fabricctl::bench
