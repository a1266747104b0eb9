#include "probes/sweep/continuous.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <thread>

namespace fabricctl::sweep {
namespace {

class SystemMonitorClock final : public MonitorClock {
 public:
  double Now() override {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  double WallNow() override {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
  void WaitUntil(double until, const std::atomic<bool>& stop) override {
    constexpr double kPoll = 0.1;  // how late a stop request may be noticed
    for (double now = Now(); now < until && !stop.load(); now = Now())
      std::this_thread::sleep_for(std::chrono::duration<double>(std::min(kPoll, until - now)));
  }
};

// How many probes of one pass cross each channel; the most of any channel.
uint32_t BusiestChannelProbes(const SweepPlan& plan) {
  std::vector<PortId> channels = plan.path_channels;
  std::sort(channels.begin(), channels.end());
  uint32_t busiest = 0, run = 0;
  for (size_t k = 0; k < channels.size(); ++k) {
    run = k > 0 && channels[k] == channels[k - 1] ? run + 1 : 1;
    busiest = std::max(busiest, run);
  }
  return busiest;
}

// Per link, the probes whose path crosses it (either direction), as offsets into one array.
struct LinkProbes {
  std::vector<uint32_t> offsets;  // num_links + 1
  std::vector<uint32_t> probes;
  std::span<const uint32_t> of(LinkId l) const {
    return std::span<const uint32_t>(probes).subspan(offsets[l], offsets[l + 1] - offsets[l]);
  }
};

LinkProbes BuildLinkProbes(const Fabric& fabric, const SweepPlan& plan) {
  std::vector<std::pair<LinkId, uint32_t>> pairs;
  for (uint32_t i = 0; i < plan.probes.size(); ++i)
    for (PortId channel : plan.path(plan.probes[i])) pairs.emplace_back(fabric.port(channel).link, i);
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  LinkProbes out;
  out.offsets.assign(fabric.num_links() + 1, 0);
  for (const auto& [link, probe] : pairs) {
    ++out.offsets[link + 1];
    out.probes.push_back(probe);
  }
  for (size_t l = 0; l < fabric.num_links(); ++l) out.offsets[l + 1] += out.offsets[l];
  return out;
}

enum class Verdict : uint8_t { kNone, kPass, kFail };

// Analyses a round may take to set aside the failures of recovered channels (each can move
// a finding to a link that another set of such failures supports).
constexpr int kSetAsideAttempts = 4;

// The same pass/fail rule as the analysis' link health: a probe that ran passes unless it
// carried nothing or showed a symptom.
Verdict Judge(const Measurement& m, const ProbeVerdict& v) {
  if (m.status == ProbeStatus::kUnmeasured) return Verdict::kNone;
  if (m.status == ProbeStatus::kFailed) return Verdict::kFail;
  return v.bandwidth_bad || v.latency_bad || v.loss_bad ? Verdict::kFail : Verdict::kPass;
}

// The loop's state: the newest measurement of every probe, each probe's verdicts of the
// last `window` passes, and the snapshot being built.
class Monitor {
 public:
  Monitor(const Fabric& fabric, const SweepPlan& plan, ProbeExecutor& executor, MonitorClock& clock,
          const MonitorOptions& options, const RatePlan& rate)
      : fabric_(fabric),
        plan_(plan),
        executor_(executor),
        clock_(clock),
        options_(options),
        rounds_(ProbesByRound(plan)),
        link_probes_(BuildLinkProbes(fabric, plan)),
        latest_(plan.probes.size()),
        verdicts_(plan.probes.size() * options.window, Verdict::kNone),
        last_verdict_(plan.probes.size(), Verdict::kNone),
        probe_time_(plan.probes.size(), 0),
        fail_since_(plan.probes.size(), 0),
        link_cleared_at_(fabric.num_links(), 0),
        flagged_in_pass_(fabric.num_port_slots(), 0),
        newest_pass_(fabric.num_port_slots(), 0),
        crossings_(fabric.num_links()) {
    snapshot_.rate = rate;
    snapshot_.load = rate.load;
  }

  MonitorRun Run(const std::atomic<bool>& stop, const std::function<void(const MonitorSnapshot&)>& publish);

 private:
  bool Finished(const std::atomic<bool>& stop, double started) const {
    if (stop.load()) return true;
    if (options_.max_passes && snapshot_.passes >= options_.max_passes) return true;
    return options_.run_seconds > 0 && clock_.Now() - started >= options_.run_seconds;
  }
  bool RunPass(const std::atomic<bool>& stop, double started,
               const std::function<void(const MonitorSnapshot&)>& publish);
  void RunRound(const std::vector<size_t>& round);
  void Analyse(const std::vector<size_t>& round);
  void NoteClearedLinks(const std::vector<size_t>& round, const std::vector<Verdict>& judged);
  void NoteFlaggedChannels();
  size_t HoldAmbiguousFindings(const std::vector<bool>& set_aside);
  bool Ambiguous(const Finding& f, const std::vector<bool>& set_aside);
  const std::vector<double>& NewestPasses();
  bool ClearedSince(size_t i) const;
  bool AddFailuresOfRecoveredChannels(std::vector<bool>& set_aside);
  std::vector<Measurement> WithoutSuperseded(const std::vector<bool>& also, size_t& set_aside) const;
  void FillLinks();

  const Fabric& fabric_;
  const SweepPlan& plan_;
  ProbeExecutor& executor_;
  MonitorClock& clock_;
  const MonitorOptions& options_;
  std::vector<std::vector<size_t>> rounds_;
  LinkProbes link_probes_;
  std::vector<Measurement> latest_;
  std::vector<Verdict> verdicts_;      // [probe * window + pass % window]
  std::vector<Verdict> last_verdict_;  // by probe: the verdict of its newest measurement
  std::vector<double> probe_time_;
  std::vector<double> fail_since_;  // by probe: when its current run of failures began
  // By LinkId: when a probe across it last went from failing to passing (Unix time; 0: never).
  std::vector<double> link_cleared_at_;
  // By channel (PortId): the last pass (counted from 1) in which it was a finding; 0: never.
  std::vector<uint64_t> flagged_in_pass_;
  std::vector<double> newest_pass_;  // by channel: see NewestPasses()
  bool newest_pass_ready_ = false;   // newest_pass_ is up to date for this round
  // Scratch of Ambiguous(): by link, how many of a finding's failing probes cross it and
  // in which directions (1: from its port a, 2: from b), and the links with a count.
  struct Crossings {
    uint32_t probes = 0;
    uint8_t directions = 0;
  };
  std::vector<Crossings> crossings_;
  std::vector<LinkId> shared_;
  uint64_t last_flagged_pass_ = 0;  // the last pass with any finding (counted from 1); 0: none
  uint64_t pass_ = 0;               // passes completed; the running pass writes slot pass_ % window
  double next_start_ = 0;           // when the next round may start
  MonitorSnapshot snapshot_;
};

void Monitor::RunRound(const std::vector<size_t>& round) {
  std::vector<ProbeTask> tasks;
  tasks.reserve(round.size());
  for (size_t i : round)
    tasks.push_back(
        {.probe = i, .src = plan_.probes[i].src, .dst = plan_.probes[i].dst, .path = plan_.path(plan_.probes[i])});
  std::vector<ProbeOutcome> outcomes = executor_.RunRound(tasks);
  double now = clock_.WallNow();
  for (size_t k = 0; k < round.size(); ++k) {
    // A missing outcome is a probe that did not run, as the driver counts it.
    latest_[round[k]] = k < outcomes.size() ? outcomes[k].measurement : Measurement{};
    if (latest_[round[k]].status != ProbeStatus::kUnmeasured) probe_time_[round[k]] = now;
  }
  snapshot_.probes_run += round.size();
  ++snapshot_.rounds;
}

// The analysis runs on the newest measurement of every probe, but those measurements span
// a period. When a link recovers, the probes across it re-measured since pass and clear it,
// while failing probes measured before the recovery still wait for their turn; the
// tomography would then blame another link on their paths (a false finding that lasts until
// they are re-run). So a failing measurement older than a probe that cleared a link on its
// path is superseded, and so is one that blames a finding on another link than a channel
// flagged lately that has passed since (AddFailuresOfRecoveredChannels): both are left out of
// this analysis until their probes run again.
void Monitor::Analyse(const std::vector<size_t>& round) {
  double t0 = clock_.Now();
  snapshot_.analysis = AnalyzeSweep(fabric_, plan_, latest_, {}, options_.analysis);
  std::vector<Verdict> judged;
  judged.reserve(round.size());
  for (size_t i : round) judged.push_back(Judge(latest_[i], snapshot_.analysis.verdicts[i]));
  NoteClearedLinks(round, judged);
  newest_pass_ready_ = false;  // the verdicts just changed
  // Setting failures aside can move a finding to another link whose failures a recovered
  // channel explains too: repeat while more are set aside (a few times at most).
  std::vector<bool> set_aside(latest_.size(), false);
  bool more = AddFailuresOfRecoveredChannels(set_aside);
  snapshot_.superseded = 0;
  for (int attempt = 0; attempt < kSetAsideAttempts; ++attempt) {
    std::vector<Measurement> current = WithoutSuperseded(set_aside, snapshot_.superseded);
    if (snapshot_.superseded == 0 || (attempt > 0 && !more)) break;
    snapshot_.analysis = AnalyzeSweep(fabric_, plan_, current, {}, options_.analysis);
    snapshot_.analysis.unmeasured -= snapshot_.superseded;  // they were measured, just not counted
    more = AddFailuresOfRecoveredChannels(set_aside);
  }
  snapshot_.held = HoldAmbiguousFindings(set_aside);
  NoteFlaggedChannels();
  snapshot_.analyse_seconds = clock_.Now() - t0;
  size_t slot = pass_ % options_.window;
  for (size_t k = 0; k < round.size(); ++k) verdicts_[round[k] * options_.window + slot] = judged[k];
  FillLinks();
}

// Records, for every link on the path of a probe that passed after failing, when it
// cleared, and for every probe that began to fail, when.
void Monitor::NoteClearedLinks(const std::vector<size_t>& round, const std::vector<Verdict>& judged) {
  for (size_t k = 0; k < round.size(); ++k) {
    const size_t i = round[k];
    if (last_verdict_[i] == Verdict::kFail && judged[k] == Verdict::kPass)
      for (PortId channel : plan_.path(plan_.probes[i])) link_cleared_at_[fabric_.port(channel).link] = probe_time_[i];
    if (judged[k] == Verdict::kFail && last_verdict_[i] != Verdict::kFail) fail_since_[i] = probe_time_[i];
    if (judged[k] != Verdict::kNone) last_verdict_[i] = judged[k];
  }
}

// Marks the channels of this analysis' findings as flagged in the running pass (a finding
// on both directions flags both). Suspects are not flagged: a healthy host cable is often a
// suspect while its neighbour's fault is still ambiguous, and its later passing probes
// would set aside that neighbour's real evidence.
void Monitor::NoteFlaggedChannels() {
  auto flag = [&](LinkId l, PortId only) {
    if (l == kNone) return;
    const Link& link = fabric_.link(l);
    for (PortId channel : {link.a, link.b})
      if (only == kNone || only == channel) flagged_in_pass_[channel] = pass_ + 1;
  };
  for (const Finding& f : snapshot_.analysis.findings) flag(f.link, f.channel);
  if (!snapshot_.analysis.findings.empty()) last_flagged_pass_ = pass_ + 1;
}

// Marks the failing measurements that blame a finding on another link than the one that
// was slow: a channel flagged (a finding) in the last `window` passes, on the failing
// probe's path, with a probe across it that passed later. That channel may have been slow
// for a few rounds and recovered, and the failure is its, not the finding's; such a
// failure is set aside like a superseded one. (A channel slow for a few rounds of one pass:
// its failing probes never ran twice, so none of them passed after failing.) The flagged
// channel's own evidence is not touched: a probe is set aside only when it supports a
// finding on another link. Returns whether it marked any.
bool Monitor::AddFailuresOfRecoveredChannels(std::vector<bool>& set_aside) {
  auto recent = [&](uint64_t flagged) { return flagged != 0 && flagged + options_.window > pass_ + 1; };
  if (snapshot_.analysis.findings.empty() || !recent(last_flagged_pass_)) return false;  // the usual case
  bool added = false;
  for (const Finding& f : snapshot_.analysis.findings) {
    if (f.link == kNone) continue;
    for (uint32_t i : link_probes_.of(f.link)) {
      if (last_verdict_[i] != Verdict::kFail) continue;
      for (PortId channel : plan_.path(plan_.probes[i]))
        if (!set_aside[i] && fabric_.port(channel).link != f.link && recent(flagged_in_pass_[channel]) &&
            NewestPasses()[channel] > probe_time_[i]) {
          set_aside[i] = true;
          added = true;
        }
    }
  }
  return added;
}

// A finding rests on its failing probes. When every one of them also crosses another link
// that, in the directions they cross it, has passed no probe since the first of those
// failures began, that link explains them as well as the finding's does: the two turned
// bad at about the same time, or the other did and the tomography preferred the link with
// less passing evidence (the other's passes predate the failures). Such a finding is held
// back until the evidence separates the two: a failing probe that avoids the other link,
// or a probe across it that passes. Counter findings (errors, down) are never held, and
// no finding is held once its failures began a period ago: links that only ever carry the
// same probes stay apart for no amount of waiting, and the tomography's choice is then
// better than nothing. Returns how many were held.
size_t Monitor::HoldAmbiguousFindings(const std::vector<bool>& set_aside) {
  std::vector<Finding>& findings = snapshot_.analysis.findings;
  const size_t before = findings.size();
  std::erase_if(findings, [&](const Finding& f) { return Ambiguous(f, set_aside); });
  return before - findings.size();
}

bool Monitor::Ambiguous(const Finding& f, const std::vector<bool>& set_aside) {
  if (f.link == kNone || f.kind == FindingKind::kErrors || f.kind == FindingKind::kDown) return false;
  uint32_t failing = 0;
  double since = std::numeric_limits<double>::infinity();
  shared_.clear();
  for (uint32_t i : link_probes_.of(f.link)) {
    if (last_verdict_[i] != Verdict::kFail || set_aside[i] || ClearedSince(i)) continue;
    ++failing;
    since = std::min(since, fail_since_[i]);
    for (PortId channel : plan_.path(plan_.probes[i])) {
      const LinkId l = fabric_.port(channel).link;
      if (l == f.link) continue;
      if (crossings_[l].probes++ == 0) shared_.push_back(l);
      crossings_[l].directions |= channel == fabric_.link(l).a ? 1 : 2;
    }
  }
  // A link every failing probe crosses explains them too unless, in a direction they
  // cross it, a probe has passed since they began to fail.
  auto passed_since = [&](LinkId l, uint8_t directions) {
    const Link& link = fabric_.link(l);
    const std::vector<double>& newest = NewestPasses();
    return ((directions & 1) && newest[link.a] >= since) || ((directions & 2) && newest[link.b] >= since);
  };
  const bool recent = failing > 0 && since > clock_.WallNow() - options_.period_seconds;
  bool ambiguous = false;
  for (LinkId l : shared_) {
    if (recent && !ambiguous && crossings_[l].probes == failing && !passed_since(l, crossings_[l].directions))
      ambiguous = true;
    crossings_[l] = {};
  }
  return ambiguous;
}

// By channel, the newest measurement of a probe across it that passed (Unix time; 0: none):
// what both rules ask, taken at most once per round.
const std::vector<double>& Monitor::NewestPasses() {
  if (newest_pass_ready_) return newest_pass_;
  newest_pass_ready_ = true;
  std::fill(newest_pass_.begin(), newest_pass_.end(), 0.0);
  for (size_t i = 0; i < latest_.size(); ++i)
    if (last_verdict_[i] == Verdict::kPass)
      for (PortId channel : plan_.path(plan_.probes[i]))
        newest_pass_[channel] = std::max(newest_pass_[channel], probe_time_[i]);
  return newest_pass_;
}

// Whether a link on probe i's path cleared after its newest measurement.
bool Monitor::ClearedSince(size_t i) const {
  return std::ranges::any_of(plan_.path(plan_.probes[i]), [&](PortId channel) {
    return link_cleared_at_[fabric_.port(channel).link] > probe_time_[i];
  });
}

// The newest measurements with the superseded failing ones and those of `also` marked
// unmeasured; `set_aside` counts them.
std::vector<Measurement> Monitor::WithoutSuperseded(const std::vector<bool>& also, size_t& set_aside) const {
  std::vector<Measurement> out;
  set_aside = 0;
  for (size_t i = 0; i < latest_.size(); ++i) {
    if (last_verdict_[i] != Verdict::kFail || !(also[i] || ClearedSince(i))) continue;
    if (out.empty()) out = latest_;
    out[i] = Measurement{};
    ++set_aside;
  }
  return out;
}

void Monitor::FillLinks() {
  snapshot_.links.assign(fabric_.num_links(), LinkState{});
  const uint32_t window = options_.window;
  for (LinkId l = 0; l < fabric_.num_links(); ++l) {
    uint32_t passed = 0, judged = 0;
    LinkState& state = snapshot_.links[l];
    for (uint32_t i : link_probes_.of(l)) {
      for (uint32_t s = 0; s < window; ++s) {
        Verdict v = verdicts_[size_t(i) * window + s];
        judged += v != Verdict::kNone;
        passed += v == Verdict::kPass;
      }
      state.last_probe_time = std::max(state.last_probe_time, probe_time_[i]);
    }
    state.verdicts = judged;
    if (judged > 0) state.health = static_cast<float>(passed) / static_cast<float>(judged);
  }
}

// Runs the rounds of one pass, each in its slot; false when stopped part-way.
bool Monitor::RunPass(const std::atomic<bool>& stop, double started,
                      const std::function<void(const MonitorSnapshot&)>& publish) {
  const RatePlan& rate = snapshot_.rate;
  const double pass_start = std::max(next_start_, clock_.Now());
  for (size_t r = 0; r < rounds_.size(); ++r) {
    double until = options_.run_seconds > 0 ? std::min(next_start_, started + options_.run_seconds) : next_start_;
    clock_.WaitUntil(until, stop);
    if (Finished(stop, started)) return false;
    // Never catch up with a burst: a late round moves every later slot.
    double round_start = std::max(next_start_, clock_.Now());
    next_start_ = round_start + rate.round_interval;
    RunRound(rounds_[r]);
    snapshot_.round_seconds = clock_.Now() - round_start;
    Analyse(rounds_[r]);
    snapshot_.pass_completed = r + 1 == rounds_.size();
    if (snapshot_.pass_completed) {
      snapshot_.passes = ++pass_;
      snapshot_.pass_seconds = clock_.Now() - pass_start;
      double busy = rate.busiest_channel_probes * rate.probe_seconds;
      snapshot_.load = busy / std::max(options_.period_seconds, snapshot_.pass_seconds);
    }
    snapshot_.time = clock_.WallNow();
    if (publish) publish(snapshot_);
  }
  return true;
}

MonitorRun Monitor::Run(const std::atomic<bool>& stop, const std::function<void(const MonitorSnapshot&)>& publish) {
  const double started = clock_.Now();
  next_start_ = started;
  while (!Finished(stop, started) && RunPass(stop, started, publish)) {
  }
  return {.passes = snapshot_.passes, .rounds = snapshot_.rounds, .probes_run = snapshot_.probes_run};
}

}  // namespace

std::unique_ptr<MonitorClock> MakeSystemMonitorClock() { return std::make_unique<SystemMonitorClock>(); }

Result<RatePlan> PlanRate(const SweepPlan& plan, const MonitorOptions& o) {
  if (plan.probes.empty()) return MakeError("the sweep plan has no probes: nothing to monitor");
  if (!(o.period_seconds > 0) || !std::isfinite(o.period_seconds))
    return MakeError(fmt::format("period {} s: must be a positive number of seconds", o.period_seconds));
  if (!(o.max_load > 0 && o.max_load <= 1))
    return MakeError(fmt::format("max load {}: must be a share of link capacity in (0, 1]", o.max_load));
  if (o.window == 0) return MakeError("window: must be at least one period");
  if (!(o.probe_seconds >= 0)) return MakeError(fmt::format("probe length {} s: must be positive", o.probe_seconds));
  RatePlan rate;
  rate.rounds = static_cast<uint32_t>(ProbesByRound(plan).size());
  rate.busiest_channel_probes = std::max<uint32_t>(1, BusiestChannelProbes(plan));
  rate.round_interval = o.period_seconds / rate.rounds;
  rate.max_probe_seconds = o.max_load * o.period_seconds / rate.busiest_channel_probes;
  rate.probe_seconds = o.probe_seconds > 0 ? o.probe_seconds : std::min(kDefaultProbeSeconds, rate.max_probe_seconds);
  rate.load = rate.busiest_channel_probes * rate.probe_seconds / o.period_seconds;
  if (rate.load > o.max_load * (1 + 1e-9))
    return MakeError(fmt::format(
        "probes of {} s would take {:.2f}% of the busiest channel ({} probes cross it per pass, one pass per {} s); "
        "the limit is {:.2f}%: use probes of at most {:.3f} s or a period of at least {:.0f} s",
        rate.probe_seconds, rate.load * 100, rate.busiest_channel_probes, o.period_seconds, o.max_load * 100,
        rate.max_probe_seconds, rate.busiest_channel_probes * rate.probe_seconds / o.max_load));
  return rate;
}

Result<MonitorRun> RunContinuous(const Fabric& fabric, const SweepPlan& plan, ProbeExecutor& executor,
                                 MonitorClock& clock, const MonitorOptions& options, const std::atomic<bool>& stop,
                                 const std::function<void(const MonitorSnapshot&)>& publish) {
  auto rate = PlanRate(plan, options);
  if (!rate) return std::unexpected(rate.error());
  Monitor monitor(fabric, plan, executor, clock, options, *rate);
  return monitor.Run(stop, publish);
}

}  // namespace fabricctl::sweep
