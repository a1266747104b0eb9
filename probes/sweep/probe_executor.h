#pragma once
// Where a sweep's probes run. The driver (sweep_driver.h) hands an executor one round at a
// time; an executor may be the simulated fabric, probe agents that probe each other on the
// coordinator's orders, or the ranks of an MPI job. Each returns what every probe of the
// round measured, or why it could not run.
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "probes/sweep/measurement.h"
#include "probes/sweep/sweep_plan.h"

namespace fabricctl::sweep {

struct ProbeTask {
  size_t probe = 0;  // index into the plan being run
  PortId src = kNone;
  PortId dst = kNone;
  std::span<const PortId> path;  // its routed channels, for executors that model the fabric
};

struct ProbeOutcome {
  Measurement measurement;  // kUnmeasured when the probe could not run
  std::string failure;      // why it could not run; empty otherwise
};

class ProbeExecutor {
 public:
  virtual ~ProbeExecutor() = default;
  // Runs the probes of one round side by side (they share no endpoint port and no channel)
  // and returns one outcome per task, in the tasks' order. Every wait is bounded.
  virtual std::vector<ProbeOutcome> RunRound(std::span<const ProbeTask> tasks) = 0;
};

// Port error counters (indexed by PortId) read before and after a sweep; the driver folds
// their difference into the analysis.
class CounterSource {
 public:
  virtual ~CounterSource() = default;
  virtual Result<std::vector<uint64_t>> Read() = 0;
};

// Probe indices per round, rounds in order, empty rounds left out: sized by the probes,
// never by a round number.
std::vector<std::vector<size_t>> ProbesByRound(const SweepPlan& plan);

}  // namespace fabricctl::sweep
