#pragma once
// Route quality, measured from the tables alone (any engine, or OpenSM's dump):
// hop counts, the edge forwarding index (routes per switch-to-switch channel) with a lower
// bound, balance over parallel cables, and the effective bisection bandwidth over seeded
// random permutations. Pairs whose path is broken are skipped here; the verifier counts them.
// See docs/routing-verification.md for the definitions.
#include <cstdint>
#include <string>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "routing/routes.h"

namespace fabricctl {

struct MetricsOptions {
  uint64_t seed = 1;
  unsigned permutations = 100;  // 0 skips the bisection estimate
  unsigned threads = 0;         // 0: hardware concurrency
};

struct SubnetMetrics {
  SubnetId subnet = kNone;
  uint64_t pairs = 0;  // ordered endpoint pairs with a complete path
  // Hops: cables from source to destination endpoint (2 for two endpoints on one switch).
  uint32_t min_hops = 0;
  uint32_t max_hops = 0;
  double avg_hops = 0;
  // Edge forwarding index over every directed switch-to-switch channel (unused ones count 0).
  uint64_t channels = 0;
  uint64_t max_channel_load = 0;
  double avg_channel_load = 0;
  double stddev_channel_load = 0;
  // No routing can do better than this on this cabling: for every switch, the routes that
  // must leave (enter) it over its switch-to-switch cables, divided by their number.
  uint64_t channel_load_lower_bound = 0;
  // Parallel cables between the same two switches (per direction).
  uint64_t parallel_groups = 0;
  uint64_t parallel_max_spread = 0;  // worst (max - min) route count inside one group
  uint8_t num_vls = 1;               // as declared by the tables
  // Mean over flows and permutations of 1 / (flows sharing the busiest channel of the flow's
  // path): 1.0 means every permutation runs at full bandwidth.
  double effective_bisection_bandwidth = 0;
  unsigned permutations = 0;
};

struct RouteMetrics {
  std::vector<SubnetMetrics> subnets;  // one per routed subnet, in subnet order
  uint32_t max_hops = 0;
  uint64_t max_channel_load = 0;
};

Result<RouteMetrics> Measure(const Fabric& fabric, const RouteSet& routes, const MetricsOptions& options = {});

}  // namespace fabricctl
