#include "probes/sweep/sweep_driver.h"

#include <algorithm>
#include <chrono>

#include "fabric/elapsed.h"
#include "probes/sweep/reprobe.h"

namespace fabricctl::sweep {
namespace {

using Clock = std::chrono::steady_clock;

// Runs the rounds of `plan` whose probes come at `first_probe` or later (re-probes have
// rounds of their own) on `executor`, filling `run.measurements` and `run.failures`;
// `state` counts on from earlier rounds.
void RunRounds(const SweepPlan& plan, size_t first_probe, ProbeExecutor& executor, SweepRun& run, DriverProgress& state,
               const std::function<void(const DriverProgress&)>& progress) {
  std::vector<std::vector<size_t>> rounds = ProbesByRound(plan);
  run.measurements.resize(plan.probes.size());
  state.total = plan.probes.size();
  state.rounds = static_cast<uint32_t>(rounds.size());
  std::vector<ProbeTask> tasks;
  for (uint32_t r = 0; r < rounds.size(); ++r) {
    if (rounds[r].front() < first_probe) continue;
    tasks.clear();
    for (size_t i : rounds[r])
      tasks.push_back(
          {.probe = i, .src = plan.probes[i].src, .dst = plan.probes[i].dst, .path = plan.path(plan.probes[i])});
    std::vector<ProbeOutcome> outcomes = executor.RunRound(tasks);
    for (size_t k = 0; k < tasks.size(); ++k) {
      size_t i = tasks[k].probe;
      if (k >= outcomes.size()) {
        run.failures.push_back({.probe = i, .reason = "the executor returned no outcome"});
        continue;
      }
      run.measurements[i] = outcomes[k].measurement;
      if (run.measurements[i].status == ProbeStatus::kUnmeasured)
        run.failures.push_back({.probe = i, .reason = outcomes[k].failure.empty() ? "not run" : outcomes[k].failure});
    }
    state.done += tasks.size();
    state.round = r + 1;
    if (progress) progress(state);
  }
  std::stable_sort(run.failures.begin(), run.failures.end(),
                   [](const ProbeFailure& a, const ProbeFailure& b) { return a.probe < b.probe; });
}

// after - before per port; a counter that went backwards (reset, wrapped) counts from zero.
std::vector<uint64_t> CounterDelta(const std::vector<uint64_t>& before, const std::vector<uint64_t>& after) {
  std::vector<uint64_t> delta(after.size(), 0);
  for (size_t p = 0; p < after.size(); ++p) {
    uint64_t b = p < before.size() ? before[p] : 0;
    delta[p] = after[p] >= b ? after[p] - b : after[p];
  }
  return delta;
}

}  // namespace

std::vector<std::vector<size_t>> ProbesByRound(const SweepPlan& plan) {
  std::vector<size_t> order(plan.probes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return plan.probes[a].round < plan.probes[b].round; });
  std::vector<std::vector<size_t>> rounds;
  for (size_t k = 0; k < order.size(); ++k) {
    if (k == 0 || plan.probes[order[k]].round != plan.probes[order[k - 1]].round) rounds.emplace_back();
    rounds.back().push_back(order[k]);
  }
  return rounds;
}

Result<SweepRun> DriveSweep(const Fabric& fabric, const RouteSet& routes, SweepPlan plan, ProbeExecutor& executor,
                            CounterSource* counters, const DriverOptions& options,
                            const std::function<void(const DriverProgress&)>& progress) {
  SweepRun run{.plan = std::move(plan)};
  run.planned_probes = run.plan.probes.size();
  std::vector<uint64_t> before;
  if (counters) {
    auto read = counters->Read();
    if (!read) return std::unexpected(read.error());
    before = std::move(*read);
  }
  AnalysisOptions analysis = options.analysis;
  analysis.baseline_probes = run.planned_probes;
  auto t0 = Clock::now();
  DriverProgress state;
  RunRounds(run.plan, 0, executor, run, state, progress);
  run.run_seconds = SecondsSince(t0);
  run.planned_rounds = state.rounds;
  if (options.reprobe > 0) {
    auto t1 = Clock::now();
    SweepAnalysis first = AnalyzeSweep(fabric, run.plan, run.measurements, {}, analysis);
    run.analyse_seconds += SecondsSince(t1);
    run.suspects = std::min(first.suspects.size(), options.max_suspects);
    if (run.suspects > 0) {
      auto added = AddReprobes(fabric, routes, first.suspects,
                               {.per_suspect = options.reprobe,
                                .per_intermittent = options.reprobe_intermittent,
                                .max_suspects = options.max_suspects,
                                .seed = options.seed},
                               run.plan);
      if (!added) return std::unexpected(added.error());
      run.reprobes = *added;
      analysis.reprobed.assign(first.suspects.begin(), first.suspects.begin() + std::ptrdiff_t(run.suspects));
      auto t2 = Clock::now();
      RunRounds(run.plan, run.planned_probes, executor, run, state, progress);
      run.run_seconds += SecondsSince(t2);
    }
  }
  if (counters) {
    auto after = counters->Read();
    if (!after) return std::unexpected(after.error());
    run.port_errors = CounterDelta(before, *after);
  }
  auto t3 = Clock::now();
  run.analysis = AnalyzeSweep(fabric, run.plan, run.measurements, run.port_errors, analysis);
  run.analyse_seconds += SecondsSince(t3);
  return run;
}

}  // namespace fabricctl::sweep
