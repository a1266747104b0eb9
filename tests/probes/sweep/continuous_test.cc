#include "probes/sweep/continuous.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "fabric/fabric_builder.h"
#include "probes/sweep/monitor_metrics.h"
#include "probes/sweep/sim_fabric.h"
#include "tests/probes/sweep/sweep_fixture.h"
#include "tests/scratch_dir.h"

namespace fabricctl::sweep {
namespace {

// Time that jumps to the end of every wait: passes and rounds, never wall time, decide.
class FakeClock final : public MonitorClock {
 public:
  double Now() override { return now; }
  double WallNow() override { return 1.7e9 + now; }
  void WaitUntil(double until, const std::atomic<bool>&) override { now = std::max(now, until); }
  double now = 0;
};

// The simulated fabric, with a hook that may change its faults before any round.
class ChangingSimExecutor final : public ProbeExecutor {
 public:
  ChangingSimExecutor(const Fabric& fabric, FakeClock& clock, double noise = 0)
      : fabric_(fabric), clock_(clock), sim_(fabric, faults_, {.noise = noise}) {
    faults_.Apply(fabric);
  }
  std::vector<ProbeOutcome> RunRound(std::span<const ProbeTask> tasks) override {
    if (before_round) before_round(rounds_run, faults_);
    faults_.Apply(fabric_);
    round_times.push_back(clock_.now);
    ++rounds_run;
    return sim_.RunRound(tasks);
  }
  std::function<void(uint64_t round, FaultSet& faults)> before_round;
  uint64_t rounds_run = 0;
  std::vector<double> round_times;

 private:
  const Fabric& fabric_;
  FakeClock& clock_;
  FaultSet faults_;
  SimExecutor sim_;
};

LinkId LinkBetween(const Fabric& fabric, std::string_view a, std::string_view b) {
  NodeId na = *fabric.FindByDescription(a), nb = *fabric.FindByDescription(b);
  for (const Adjacency& adj : fabric.neighbors(na))
    if (adj.peer_node == nb) return adj.link;
  FAIL("no link between ", a, " and ", b);
  return kNone;
}

bool HasFinding(const MonitorSnapshot& s, LinkId link) {
  for (const Finding& f : s.analysis.findings)
    if (f.link == link) return true;
  return false;
}

SweepPlan PlanOf(const testing::Routed& r, uint32_t coverage) {
  auto plan = PlanSweep(r.fabric, r.routes, {.coverage = coverage});
  REQUIRE(plan);
  return std::move(*plan);
}

// A routed fat tree with 2 spines, its plan, a fake clock and a simulated fabric whose
// faults may change between rounds.
struct SimMonitor {
  explicit SimMonitor(unsigned leaves = 4, unsigned hosts_per_leaf = 4, uint32_t coverage = 2, double noise = 0)
      : r(testing::FatTree(2, leaves, hosts_per_leaf)), plan(PlanOf(r, coverage)), executor(r.fabric, clock, noise) {}
  Result<MonitorRun> Run(const MonitorOptions& options, const std::function<void(const MonitorSnapshot&)>& publish) {
    return RunContinuous(r.fabric, plan, executor, clock, options, stop, publish);
  }
  testing::Routed r;
  SweepPlan plan;
  FakeClock clock;
  ChangingSimExecutor executor;
  std::atomic<bool> stop{false};
};

// Rounds per pass of the monitor's plan at a 60 s period and 50% load.
uint64_t RoundsPerPass(const SimMonitor& m) {
  auto rate = PlanRate(m.plan, {.period_seconds = 60, .max_load = 0.5});
  REQUIRE(rate);
  return rate->rounds;
}

TEST_CASE("always-on: a link degraded mid-pass is a finding within one period, and recovers within the window") {
  SimMonitor m;
  const testing::Routed& r = m.r;
  const SweepPlan* plan = &m.plan;
  ChangingSimExecutor& executor = m.executor;
  const LinkId uplink = LinkBetween(r.fabric, "leaf1", "spine0");
  const MonitorOptions options{.period_seconds = 60, .max_load = 0.5, .window = 2, .max_passes = 7};
  auto rate = PlanRate(*plan, options);
  REQUIRE(rate);
  const uint64_t rounds = rate->rounds, degrade_at = rounds + rounds / 2, heal_at = 4 * rounds;
  executor.before_round = [&](uint64_t round, FaultSet& faults) {
    if (round == degrade_at) faults.faults.push_back({.link = uplink, .kind = FaultKind::kBandwidth, .value = 0.1});
    if (round == heal_at) faults.faults.clear();
  };
  std::vector<MonitorSnapshot> snapshots;
  auto ran = m.Run(options, [&](const MonitorSnapshot& s) { snapshots.push_back(s); });
  REQUIRE(ran);
  CHECK(ran->passes == 7);
  CHECK(ran->rounds == 7 * rounds);
  CHECK(ran->probes_run == 7 * plan->probes.size());
  REQUIRE(snapshots.size() == 7 * rounds);

  // The first pass is clean: every link measured and healthy, no finding.
  const MonitorSnapshot& first = snapshots[rounds - 1];
  CHECK(first.pass_completed);
  CHECK(first.passes == 1);
  CHECK(first.analysis.findings.empty());
  for (LinkId l = 0; l < r.fabric.num_links(); ++l) CHECK(first.links[l].health == 1.0f);

  // Found no later than one period (one pass of rounds) after the change.
  size_t found = snapshots.size();
  for (size_t k = degrade_at; k < snapshots.size() && found == snapshots.size(); ++k)
    if (HasFinding(snapshots[k], uplink) && snapshots[k].links[uplink].health < 1) found = k;
  REQUIRE(found < snapshots.size());
  CHECK(found + 1 - degrade_at <= rounds);
  CHECK(executor.round_times[found] - executor.round_times[degrade_at] <= options.period_seconds);
  const MonitorSnapshot& degraded = snapshots[found];
  REQUIRE(degraded.analysis.findings.size() == 1);
  CHECK(degraded.analysis.findings[0].kind == FindingKind::kBandwidth);
  // The finding may come before every probe through the link has seen the fault (the
  // analysis weighs evidence, one passing probe no longer clears a link), so the link's
  // best ratio can still be 1; its failing probes show the fault.
  CHECK(degraded.analysis.findings[0].worst_ratio < 0.2);
  // The window still holds the pass before the fault, so health sits between 0 and 1.
  CHECK(degraded.links[uplink].health > 0.0f);

  // A full window of degraded passes (3 and 4): every verdict across the link failed.
  CHECK(snapshots[4 * rounds - 1].links[uplink].health == 0.0f);
  CHECK(HasFinding(snapshots[4 * rounds - 1], uplink));
  // Healed at the start of pass 5: the finding goes within a period, the health returns to
  // 1 once the window (2 passes) holds only passes after the repair.
  CHECK(!HasFinding(snapshots[5 * rounds - 1], uplink));
  CHECK(snapshots[5 * rounds - 1].links[uplink].health < 1.0f);
  CHECK(snapshots[6 * rounds - 1].links[uplink].health == 1.0f);
  CHECK(snapshots.back().analysis.findings.empty());
}

TEST_CASE("always-on: a host cable degraded mid-pass is found within one period, and no other link is blamed") {
  SimMonitor m;
  const uint64_t rounds = RoundsPerPass(m);
  const MonitorOptions options{.period_seconds = 60, .max_load = 0.5, .window = 2, .max_passes = 4};
  for (unsigned h = 0; h < 16; ++h)
    for (uint64_t degrade_at : {rounds, rounds + rounds / 2, 2 * rounds - 1}) {
      const std::string host = fmt::format("host{}", h), leaf = fmt::format("leaf{}", h / 4);
      CAPTURE(host);
      CAPTURE(degrade_at);
      const LinkId cable = LinkBetween(m.r.fabric, leaf, host);
      SimMonitor run;
      run.executor.before_round = [&](uint64_t round, FaultSet& faults) {
        if (round == degrade_at) faults.faults.push_back({.link = cable, .kind = FaultKind::kBandwidth, .value = 0.1});
      };
      std::vector<MonitorSnapshot> snapshots;
      REQUIRE(run.Run(options, [&](const MonitorSnapshot& s) { snapshots.push_back(s); }));
      size_t found = snapshots.size();
      for (size_t k = degrade_at; k < snapshots.size(); ++k) {
        CAPTURE(k);
        for (const Finding& f : snapshots[k].analysis.findings) CHECK(f.link == cable);
        if (found == snapshots.size() && HasFinding(snapshots[k], cable)) found = k;
      }
      REQUIRE(found < snapshots.size());
      CHECK(found + 1 - degrade_at <= rounds);
      CHECK(HasFinding(snapshots.back(), cable));
    }
}

// One run: `uplink` slow from the first round, healed at round `heal_at` (in the second
// pass); every snapshot from then on is checked. Returns the superseded probes seen.
size_t CheckRecovery(double noise, LinkId uplink, uint64_t heal_at, uint64_t rounds) {
  SimMonitor run(4, 4, 2, noise);
  run.executor.before_round = [&](uint64_t round, FaultSet& faults) {
    if (round == 0) faults.faults.push_back({.link = uplink, .kind = FaultKind::kBandwidth, .value = 0.1});
    if (round == heal_at) faults.faults.clear();
  };
  std::vector<MonitorSnapshot> snapshots;
  const MonitorOptions options{.period_seconds = 60, .max_load = 0.5, .window = 2, .max_passes = 3};
  REQUIRE(run.Run(options, [&](const MonitorSnapshot& s) { snapshots.push_back(s); }));
  REQUIRE(snapshots.size() == 3 * rounds);
  CHECK(HasFinding(snapshots[rounds - 1], uplink));
  size_t superseded = 0;
  for (size_t k = heal_at; k < snapshots.size(); ++k) {
    CAPTURE(k);
    for (const Finding& f : snapshots[k].analysis.findings) CHECK(f.link == uplink);
    CHECK(snapshots[k].analysis.unmeasured == 0);
    superseded += snapshots[k].superseded;
  }
  CHECK(snapshots.back().analysis.findings.empty());
  CHECK(snapshots.back().superseded == 0);
  return superseded;
}

TEST_CASE("always-on: when a link recovers mid-pass, its old failing probes never make another link a culprit") {
  SimMonitor m;
  const uint64_t rounds = RoundsPerPass(m);
  REQUIRE(rounds >= 3);
  size_t superseded = 0;
  for (double noise : {0.0, 0.02})
    for (const char* leaf : {"leaf0", "leaf1", "leaf2", "leaf3"})
      for (const char* spine : {"spine0", "spine1"})
        for (uint64_t heal_at = rounds; heal_at < 2 * rounds; ++heal_at) {
          CAPTURE(noise);
          CAPTURE(leaf);
          CAPTURE(spine);
          CAPTURE(heal_at);
          superseded += CheckRecovery(noise, LinkBetween(m.r.fabric, leaf, spine), heal_at, rounds);
        }
  // Failing probes waited for their turn after a recovery and were set aside.
  CHECK(superseded > 0);
}

// A link slowed for a few rounds within one pass and healed in the same pass: its probes
// that ran while it was slow fail, the ones after pass, and none of them ever passed after
// failing. While it is slow, no other link is a culprit (its first failing probes are
// ambiguous between the links of their paths, so that finding is held back). Once it has
// been found and probes have crossed it both ways after the repair, its failing
// measurements must never make another link a culprit either. (A spell so short that the
// link is never found stays ambiguous until its probes run again.)
TEST_CASE("always-on: a link slow for a few rounds of one pass makes no other link a culprit") {
  SimMonitor m;
  const uint64_t rounds = RoundsPerPass(m);
  REQUIRE(rounds >= 4);
  const MonitorOptions options{.period_seconds = 60, .max_load = 0.5, .window = 2, .max_passes = 4};
  size_t found = 0;
  for (const char* leaf : {"leaf0", "leaf1", "leaf2", "leaf3"})
    for (const char* spine : {"spine0", "spine1"}) {
      const LinkId uplink = LinkBetween(m.r.fabric, leaf, spine);
      // The rounds whose probes cross the uplink, by direction.
      const Link& link = m.r.fabric.link(uplink);
      std::vector<std::array<bool, 2>> round_crosses(rounds, {false, false});
      for (const PlannedProbe& p : m.plan.probes)
        for (PortId channel : m.plan.path(p)) {
          if (channel == link.a) round_crosses[p.round][0] = true;
          if (channel == link.b) round_crosses[p.round][1] = true;
        }
      for (uint64_t slow_at = rounds; slow_at < 2 * rounds; ++slow_at)
        for (uint64_t heal_at = slow_at + 1; heal_at <= 2 * rounds; ++heal_at) {
          const std::string uplink_name = fmt::format("{}-{}", leaf, spine);
          CAPTURE(uplink_name);
          CAPTURE(slow_at);
          CAPTURE(heal_at);
          SimMonitor run;
          run.executor.before_round = [&](uint64_t round, FaultSet& faults) {
            if (round == slow_at)
              faults.faults.push_back({.link = uplink, .kind = FaultKind::kBandwidth, .value = 0.1});
            if (round == heal_at) faults.faults.clear();
          };
          std::vector<MonitorSnapshot> snapshots;
          REQUIRE(run.Run(options, [&](const MonitorSnapshot& s) { snapshots.push_back(s); }));
          REQUIRE(snapshots.size() == 4 * rounds);
          bool seen = false;
          for (size_t k = slow_at; k < heal_at; ++k) {
            CAPTURE(k);
            seen = seen || HasFinding(snapshots[k], uplink);
            for (const Finding& f : snapshots[k].analysis.findings) {
              CAPTURE(f.link);
              CHECK(f.link == uplink);
            }
          }
          if (!seen) continue;
          ++found;
          // The first round by which probes have crossed it both ways since the repair.
          size_t passed_again = heal_at;
          for (bool a = false, b = false; !(a && b); ++passed_again) {
            a = a || round_crosses[passed_again % rounds][0];
            b = b || round_crosses[passed_again % rounds][1];
          }
          for (size_t k = passed_again; k < snapshots.size(); ++k) {
            CAPTURE(k);
            for (const Finding& f : snapshots[k].analysis.findings) {
              CAPTURE(f.link);
              CHECK(f.link == uplink);
            }
          }
          CHECK(snapshots.back().analysis.findings.empty());
        }
    }
  // Most of the slow spells were long enough for the link itself to be found.
  CHECK(found > 200);
}

TEST_CASE("always-on: rounds start period/rounds apart and probes stay within max load") {
  SimMonitor m;
  const SweepPlan* plan = &m.plan;
  // The busiest channel, counted here independently: the most probes whose path crosses it.
  std::map<PortId, uint32_t> crossings;
  uint32_t busiest = 0;
  for (const PlannedProbe& p : plan->probes)
    for (PortId c : plan->path(p)) busiest = std::max(busiest, ++crossings[c]);
  REQUIRE(busiest >= 2);

  MonitorOptions options{.period_seconds = 100, .max_load = 0.02, .window = 3, .max_passes = 2};
  auto rate = PlanRate(*plan, options);
  REQUIRE(rate);
  CHECK(rate->rounds == ProbesByRound(*plan).size());
  CHECK(rate->busiest_channel_probes == busiest);
  CHECK(rate->round_interval == doctest::Approx(100.0 / rate->rounds));
  CHECK(rate->max_probe_seconds == doctest::Approx(0.02 * 100 / busiest));
  CHECK(rate->probe_seconds == doctest::Approx(std::min(kDefaultProbeSeconds, 2.0 / busiest)));
  CHECK(rate->load <= 0.02 + 1e-12);
  CHECK(rate->load == doctest::Approx(busiest * rate->probe_seconds / 100));

  // A given probe length that is too long is refused with the figures to fix it.
  options.probe_seconds = 2.0;
  auto refused = PlanRate(*plan, options);
  REQUIRE(!refused);
  CHECK(refused.error().message.find("busiest channel") != std::string::npos);
  CHECK(refused.error().message.find(fmt::format("{} probes cross it", busiest)) != std::string::npos);
  options.probe_seconds = 0;
  CHECK(!PlanRate(*plan, {.period_seconds = 0}));
  CHECK(!PlanRate(*plan, {.max_load = 1.5}));
  CHECK(!PlanRate(*plan, {.window = 0}));
  CHECK(!PlanRate(SweepPlan{}, {}));

  double last_load = -1;
  auto ran = m.Run(options, [&](const MonitorSnapshot& s) { last_load = s.load; });
  REQUIRE(ran);
  REQUIRE(m.executor.round_times.size() == 2 * rate->rounds);
  for (size_t k = 0; k < m.executor.round_times.size(); ++k)
    CHECK(m.executor.round_times[k] == doctest::Approx(k * rate->round_interval));
  CHECK(last_load == doctest::Approx(rate->load));
}

TEST_CASE("always-on: the stop flag ends the loop after the round in flight") {
  SimMonitor m(2, 2, 1);
  uint64_t published = 0;
  auto ran = m.Run({.period_seconds = 10, .max_load = 1}, [&](const MonitorSnapshot&) {
    if (++published == 3) m.stop.store(true);
  });
  REQUIRE(ran);
  CHECK(ran->rounds == 3);
  CHECK(m.executor.rounds_run == 3);
  // run_seconds bounds an endless run on the clock.
  SimMonitor timed(2, 2, 1);
  auto ran_timed = timed.Run({.period_seconds = 10, .max_load = 1, .run_seconds = 35}, {});
  REQUIRE(ran_timed);
  CHECK(ran_timed->passes == 3);
  CHECK(timed.clock.now <= 35);
}

// The metric lines of one family.
std::vector<std::string> Lines(const std::string& text, std::string_view family) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    std::string line = text.substr(at, end - at);
    if (line.starts_with(std::string(family) + "{") || line.starts_with(std::string(family) + " ")) out.push_back(line);
    at = end == std::string::npos ? text.size() : end + 1;
  }
  return out;
}

TEST_CASE("always-on metrics: every routed link, labelled with subnet and tier pair, valid exposition") {
  SimMonitor m;
  const testing::Routed& r = m.r;
  const SweepPlan* plan = &m.plan;
  const LinkId uplink = LinkBetween(r.fabric, "leaf2", "spine1");
  m.executor.before_round = [&](uint64_t round, FaultSet& faults) {
    if (round == 0) faults.faults.push_back({.link = uplink, .kind = FaultKind::kBandwidth, .value = 0.2});
  };
  const MonitorOptions options{.period_seconds = 60, .max_load = 0.5, .max_passes = 1};
  std::vector<MonitoredLink> links = MonitoredLinks(r.fabric, r.routes);
  CHECK(links.size() == r.fabric.num_links());
  std::string text, early;
  REQUIRE(m.Run(options, [&](const MonitorSnapshot& s) {
    if (s.rounds == 1) early = MonitorMetrics(r.fabric, links, s, options);
    text = MonitorMetrics(r.fabric, links, s, options);
  }));
  // After one pass every routed link is measured and has a health and a last-probe time.
  CHECK(Lines(text, "fabricctl_link_measured").size() == r.fabric.num_links());
  CHECK(Lines(text, "fabricctl_link_health").size() == r.fabric.num_links());
  CHECK(Lines(text, "fabricctl_link_last_probe_timestamp_seconds").size() == r.fabric.num_links());
  for (const std::string& line : Lines(text, "fabricctl_link_measured")) CHECK(line.ends_with(" 1"));
  for (LinkId l = 0; l < r.fabric.num_links(); ++l)
    CHECK(text.find("link=\"" + r.fabric.LinkName(l) + "\"") != std::string::npos);
  // After the first round some links are not measured yet: measured 0 and no health line.
  CHECK(Lines(early, "fabricctl_link_measured").size() == r.fabric.num_links());
  CHECK(Lines(early, "fabricctl_link_health").size() < r.fabric.num_links());
  CHECK(early.find("fabricctl_monitor_passes_total 0\n") != std::string::npos);

  const std::string uplink_labels =
      fmt::format("link=\"{}\",subnet=\"{}\",tier=\"1-2\"", r.fabric.LinkName(uplink), r.fabric.subnets()[0].name);
  CHECK(text.find("fabricctl_link_finding{" + uplink_labels + ",kind=\"bandwidth\"} 1\n") != std::string::npos);
  CHECK(Lines(text, "fabricctl_link_finding").size() == 1);
  CHECK(text.find("fabricctl_link_health{" + uplink_labels + "} 0\n") != std::string::npos);
  size_t host_links = 0, uplinks = 0;
  for (const std::string& line : Lines(text, "fabricctl_link_measured")) {
    host_links += line.find(",tier=\"0-1\"}") != std::string::npos;
    uplinks += line.find(",tier=\"1-2\"}") != std::string::npos;
  }
  CHECK(host_links == 16);  // 4 leaves x 4 hosts
  CHECK(uplinks == 8);      // 4 leaves x 2 spines
  CHECK(text.find("fabricctl_monitor_passes_total 1\n") != std::string::npos);
  CHECK(text.find(fmt::format("fabricctl_monitor_probes_total {}\n", plan->probes.size())) != std::string::npos);
  CHECK(text.find("nan") == std::string::npos);

  if (std::system("command -v promtool >/dev/null 2>&1") == 0) {
    const fabricctl::testing::ScratchDir scratch("continuous");
    const std::string path = scratch / "monitor.prom";
    std::ofstream(path) << text;
    int rc = std::system(fmt::format("promtool check metrics < '{}' >/dev/null 2>&1", path).c_str());
    CHECK(rc == 0);
  }
}

TEST_CASE("always-on metrics: tiers are inferred from endpoints when the topology has no tier labels") {
  FabricBuilder b;
  NodeId spine = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 2, .guid = 1, .description = "spine"});
  NodeId leaf0 = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 2, .guid = 2, .description = "leaf0"});
  NodeId leaf1 = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 2, .guid = 3, .description = "leaf1"});
  NodeId h0 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 4, .description = "h0"});
  NodeId h1 =
      *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 5, .description = "h1", .labels = {.tier = 7}});
  LinkRate rate{.width = LinkWidth::k4x, .speed = LinkSpeed::kHDR};
  REQUIRE(b.Connect(h0, 1, leaf0, 1, rate));
  REQUIRE(b.Connect(h1, 1, leaf1, 1, rate));
  REQUIRE(b.Connect(leaf0, 2, spine, 1, rate));
  REQUIRE(b.Connect(leaf1, 2, spine, 2, rate));
  auto f = b.Build();
  REQUIRE(f);
  std::vector<int32_t> tiers = NodeTiers(*f);
  CHECK(tiers[h0] == 0);
  CHECK(tiers[leaf0] == 1);
  CHECK(tiers[leaf1] == 1);
  CHECK(tiers[spine] == 2);
  CHECK(tiers[h1] == 7);  // a label wins
}

}  // namespace
}  // namespace fabricctl::sweep
