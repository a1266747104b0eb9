#pragma once
// What the checks judge against, besides the snapshot itself.
#include <cstddef>

#include "fabric/counters.h"

namespace fabricctl::check {

struct CheckOptions {
  // Counter increases above these (ibqueryerrors' threshold file; default 0: any increase)
  // are findings. PortXmitWait is congestion, not an error: judged as a count only when its
  // limit is set, and always as the share of the interval spent waiting to send
  // (thresholds.xmit_wait_share, ticks of thresholds.xmit_wait_tick_symbols symbol times).
  Thresholds thresholds;
  // A link whose symbol errors over the interval estimate a higher bit error rate is a finding.
  double max_bit_error_rate = 1e-12;
  size_t max_route_examples = 5;  // violations quoted per routes finding
  unsigned threads = 0;           // route verification; 0: hardware concurrency
};

}  // namespace fabricctl::check
