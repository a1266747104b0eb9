#pragma once
// Route quality, measured from the tables alone (any engine, or OpenSM's dump):
// hop counts, the edge forwarding index (routes per switch-to-switch channel) with a lower
// bound, the same per capacity where cable rates differ, balance over parallel cables, and the effective bisection
// bandwidth over seeded random permutations. Pairs whose path is broken are skipped here; the verifier counts them. See
// docs/routing-verification.md for the definitions.
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
  // No routing can do better than this on this cabling: for every switch, and for every pod
  // (routing/pods.h: on a fat tree, a pod's leaves and aggregation switches), the routes
  // that must leave (enter) it over its cables to other switches, divided by their number.
  uint64_t channel_load_lower_bound = 0;
  // The same two figures per capacity (routing/channel_capacity.h), for fabrics where some
  // cables trained slower than the subnet's top rate: a channel's routes divided by its
  // share of the top rate (a 4xDDR cable among 4xEDR ones carries 16/100 of the top rate),
  // the worst over the channels, and the cut bound with each switch's cables weighed by
  // their shares. When every cable runs at the top rate (rates_differ false) they equal
  // max_channel_load and channel_load_lower_bound.
  bool rates_differ = false;
  double max_load_per_capacity = 0;
  double load_per_capacity_lower_bound = 0;
  // Tables route by destination: the routes from a switch's endpoints to one destination
  // leave it by one port, so each of its channels carries whole multiples of its endpoints.
  // The least busiest channel that allows, in routes and per capacity: for every switch with
  // endpoints, the least load whereby its channels hold all its remote destinations. Often
  // above the cut bound on leaf-spines (13 endpoints over 10 up cables, 91 destinations
  // away: 130, where the cut bound is 119).
  uint64_t channel_load_step_bound = 0;
  double load_per_capacity_step_bound = 0;
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
  double max_load_per_capacity = 0;
  bool rates_differ = false;  // in some subnet
};

Result<RouteMetrics> Measure(const Fabric& fabric, const RouteSet& routes, const MetricsOptions& options = {});

}  // namespace fabricctl
