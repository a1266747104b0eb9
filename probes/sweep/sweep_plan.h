#pragma once
// A link-health sweep plan: endpoint pairs whose routed paths cover every channel (each
// direction of every link) at least `coverage` times through different pairs, scheduled in
// rounds where each endpoint port joins at most one probe and no channel carries two, so
// every probe measures an uncontended path.
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "probes/sweep/probe_path.h"
#include "routing/routes.h"

namespace fabricctl::sweep {

struct PlanOptions {
  uint32_t coverage = 2;  // probes wanted through every channel
  uint64_t seed = 1;      // tie-breaking among equally good pairs
};

struct PlannedProbe {
  PortId src = kNone;
  PortId dst = kNone;
  uint32_t round = 0;
  uint32_t path_begin = 0;  // [path_begin, path_end) in SweepPlan::path_channels
  uint32_t path_end = 0;
};

struct SweepPlan {
  std::vector<PlannedProbe> probes;
  std::vector<PortId> path_channels;  // channel = transmitting PortId of a link
  uint32_t num_rounds = 0;
  uint32_t coverage = 0;  // probes wanted through every channel
  // No plan meeting the coverage target can use fewer rounds: an endpoint port whose
  // access link needs `coverage` probes each way takes part in 2 x coverage probes.
  uint32_t lower_bound = 0;
  uint32_t max_probes_per_endpoint = 0;  // this plan's own bound on rounds
  size_t channels = 0;                   // channels in routed subnets
  size_t channels_covered = 0;           // by at least one probe
  size_t channels_at_target = 0;         // by `coverage` probes or more
  size_t channels_limited = 0;           // below target because routing offers fewer pairs

  std::span<const PortId> path(const PlannedProbe& p) const {
    return std::span<const PortId>(path_channels).subspan(p.path_begin, p.path_end - p.path_begin);
  }
};

// Endpoint ports whose routed path to `dst` passes through switch `from`: walks the
// destination's routing in-tree backwards from `from` (a neighbour switch belongs to the
// tree when it forwards dst's LID towards the switch it was reached from). Neighbours are
// visited from a random start, so repeated searches spread over many sources.
class SourceFinder {
 public:
  SourceFinder(const Fabric& fabric, const RouteSet& routes, const RouteIndex& index)
      : f_(fabric), routes_(routes), index_(index) {}
  // Up to `want` sources into `out` (cleared first); dst itself is never one.
  void Find(const SubnetRoutes& sr, NodeId from, PortId dst, size_t want, std::mt19937_64& rng,
            std::vector<PortId>& out);

 private:
  const Fabric& f_;
  const RouteSet& routes_;
  const RouteIndex& index_;
  std::vector<uint32_t> visit_;  // stamp per switch index: reached in this search
  uint32_t stamp_ = 0;
  std::vector<NodeId> queue_;
};

Result<SweepPlan> PlanSweep(const Fabric& fabric, const RouteSet& routes, const PlanOptions& options);

// Sets num_rounds, lower_bound, max_probes_per_endpoint and the channel figures from the
// probes, their paths and `coverage`: what the plan covers on this fabric with these
// routes, whoever wrote it.
void SummarisePlan(const Fabric& fabric, const RouteSet& routes, SweepPlan& plan);

}  // namespace fabricctl::sweep
