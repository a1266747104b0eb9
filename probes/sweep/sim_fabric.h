#pragma once
// A flow-level model of the routed fabric for sweeps: each probe runs alone on its path
// (the plan's rounds guarantee it), so bandwidth is the path bottleneck (width x speed,
// times injected factors), latency is fixed costs per endpoint, switch and cable, and
// measurement noise is multiplicative and seeded per probe, so a probe measures the same
// whichever executor or round order runs it.
#include <cstdint>
#include <span>
#include <vector>

#include "fabric/fabric.h"
#include "probes/sweep/faults.h"
#include "probes/sweep/measurement.h"
#include "probes/sweep/probe_executor.h"
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

// One probe along `path`; `probe` (its index in the sweep) seeds its noise.
Measurement SimulateProbe(const Fabric& fabric, std::span<const PortId> path, PortId src, PortId dst,
                          const FaultSet& faults, const SimOptions& options, uint64_t probe);

std::vector<Measurement> SimulateSweep(const Fabric& fabric, const SweepPlan& plan, const FaultSet& faults,
                                       const SimOptions& options);

// Port error counters the simulated links would show: lossy links count symbol errors on
// both ends, proportional to their loss. Indexed by PortId.
std::vector<uint64_t> SimulatedErrorCounters(const Fabric& fabric, const FaultSet& faults);

// The simulated fabric as a sweep executor; the fabric and faults must outlive it.
class SimExecutor final : public ProbeExecutor {
 public:
  SimExecutor(const Fabric& fabric, const FaultSet& faults, SimOptions options)
      : fabric_(fabric), faults_(faults), options_(options) {}
  std::vector<ProbeOutcome> RunRound(std::span<const ProbeTask> tasks) override;

 private:
  const Fabric& fabric_;
  const FaultSet& faults_;
  SimOptions options_;
};

// The simulated links' error counters: zero at the first read, then what the faults made.
class SimCounterSource final : public CounterSource {
 public:
  SimCounterSource(const Fabric& fabric, const FaultSet& faults) : fabric_(fabric), faults_(faults) {}
  Result<std::vector<uint64_t>> Read() override;

 private:
  const Fabric& fabric_;
  const FaultSet& faults_;
  bool read_before_ = false;
};

}  // namespace fabricctl::sweep
