#pragma once
// Bench case `topo`: generator speed, topology file write/read-back per format, and the
// memory held by a 128,000-endpoint fabric.
#include "tools/bench/bench.h"

namespace fabricctl::bench {

int RunTopo(const Options& opts);

}  // namespace fabricctl::bench
