#pragma once
// A flow-level model of the routed fabric for sweeps: each probe runs alone on its path
// (the plan's rounds guarantee it), so bandwidth is the path bottleneck (width x speed,
// times injected factors), latency is fixed costs per endpoint, switch and cable, and
// measurement noise is multiplicative and seeded.
#include <cstdint>
#include <vector>

#include "fabric/fabric.h"
#include "probes/sweep/faults.h"
#include "probes/sweep/measurement.h"
#include "probes/sweep/sweep_plan.h"

namespace fabricctl::sweep {

struct SimOptions {
  double noise = 0.0;  // relative standard deviation of every measurement
  uint64_t seed = 1;
  double goodput = 0.94;             // payload share of the line rate that a probe reaches
  double endpoint_latency_us = 1.0;  // per end (software, NIC)
  double switch_latency_us = 0.3;
  double cable_latency_us = 0.05;
  uint32_t loss_messages = 100000;  // messages per probe, for sampling loss
};

std::vector<Measurement> SimulateSweep(const Fabric& fabric, const SweepPlan& plan, const FaultSet& faults,
                                       const SimOptions& options);

// Port error counters the simulated links would show: lossy links count symbol errors on
// both ends, proportional to their loss. Indexed by PortId.
std::vector<uint64_t> SimulatedErrorCounters(const Fabric& fabric, const FaultSet& faults);

}  // namespace fabricctl::sweep
