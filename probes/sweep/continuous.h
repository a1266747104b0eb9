#pragma once
// Always-on link-health monitoring (Pingmesh-style): the sweep plan runs over and over at a
// low rate, so every channel is probed at least once per period while probes take at most a
// set share of any channel's capacity. After every round the analysis is re-run on the
// latest measurement of every probe (a rolling pass), and each link keeps the verdicts of
// its probes over the last `window` periods. Works on any ProbeExecutor.
//
// Rate: each probe saturates its path for the bandwidth test (probe_seconds) and a channel
// carries at most one probe per round, so in one pass the busiest channel is busy for
// busiest_channel_probes x probe_seconds (at most rounds x probe_seconds). Rounds start
// period / rounds apart, so that busy time is spread over the period:
//   load = busiest_channel_probes x probe_seconds / period  <=  max_load.
// A round that runs longer than its slot delays the next one (never a burst to catch up),
// so the load only falls when the executor is slow.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "probes/sweep/analysis.h"
#include "probes/sweep/probe_executor.h"
#include "probes/sweep/sweep_plan.h"

namespace fabricctl::sweep {

// Time as the monitor sees it; tests pass a clock that jumps instead of sleeping.
class MonitorClock {
 public:
  virtual ~MonitorClock() = default;
  virtual double Now() = 0;      // monotonic seconds
  virtual double WallNow() = 0;  // Unix time, for timestamps
  // Returns when Now() >= until or once `stop` is set (noticed within a bounded poll).
  virtual void WaitUntil(double until, const std::atomic<bool>& stop) = 0;
};

// steady_clock and system_clock; waits poll `stop` every 100 ms at most.
std::unique_ptr<MonitorClock> MakeSystemMonitorClock();

inline constexpr double kDefaultProbeSeconds = 0.5;

struct MonitorOptions {
  double period_seconds = 300;  // every channel probed at least once per period
  double max_load = 0.01;       // share of any channel's capacity probes may take
  uint32_t window = 3;          // periods of probe verdicts a link's health counts
  // Bandwidth test length of one probe (the executor's setting); 0: the longest within
  // max_load, at most kDefaultProbeSeconds.
  double probe_seconds = 0;
  AnalysisOptions analysis;
  uint64_t max_passes = 0;  // stop after this many passes; 0: until stopped
  double run_seconds = 0;   // stop after this long; 0: until stopped
};

struct RatePlan {
  uint32_t rounds = 0;                  // rounds per pass
  uint32_t busiest_channel_probes = 0;  // probes across the busiest channel in one pass
  double round_interval = 0;            // seconds between round starts: period / rounds
  double load = 0;                      // busiest_channel_probes x probe_seconds / period
  double max_probe_seconds = 0;         // the longest probe that keeps load <= max_load
  double probe_seconds = 0;             // the probe length to run: given or derived
};

// The pacing of `plan` under `options`; an error when the options are out of range or
// probes of the given length would take more than max_load of the busiest channel.
Result<RatePlan> PlanRate(const SweepPlan& plan, const MonitorOptions& options);

struct LinkState {
  float health = -1;           // share of its probes' verdicts in the window that passed; -1: none
  uint32_t verdicts = 0;       // measured probe verdicts in the window
  double last_probe_time = 0;  // Unix time of the last measured probe across it; 0: never
};

struct MonitorSnapshot {
  uint64_t passes = 0;          // passes completed
  uint64_t rounds = 0;          // rounds run
  uint64_t probes_run = 0;      // probes handed to the executor
  bool pass_completed = false;  // this snapshot closes a pass
  double round_seconds = 0;     // last round
  double pass_seconds = 0;      // last completed pass
  double analyse_seconds = 0;   // last analysis
  // Failing measurements older than a recovery seen on their path: left out of `analysis`
  // (neither measured nor unmeasured there) until their probes run again.
  size_t superseded = 0;
  // Findings held back as ambiguous: every failing probe behind one also crosses another
  // channel that has passed no probe since they began to fail (left out of `analysis`).
  size_t held = 0;
  double load = 0;  // busiest channel's busy share over the last pass (planned until one completes)
  double time = 0;  // Unix time of the snapshot
  RatePlan rate;
  // The latest analysis, on the newest measurement of every probe; its link_health and
  // findings reflect the last period only.
  SweepAnalysis analysis;
  std::vector<LinkState> links;  // by LinkId
};

struct MonitorRun {
  uint64_t passes = 0, rounds = 0, probes_run = 0;
};

// Runs `plan` round after round until `stop` is set or a limit of `options` is reached,
// calling `publish` after every round. The fabric, plan, executor and clock must outlive
// the call.
Result<MonitorRun> RunContinuous(const Fabric& fabric, const SweepPlan& plan, ProbeExecutor& executor,
                                 MonitorClock& clock, const MonitorOptions& options, const std::atomic<bool>& stop,
                                 const std::function<void(const MonitorSnapshot&)>& publish);

}  // namespace fabricctl::sweep
