#include "probes/sweep/sweep_driver.h"

#include <doctest/doctest.h>

#include "probes/sweep/sim_fabric.h"
#include "tests/probes/sweep/sweep_fixture.h"

namespace fabricctl::sweep {
namespace {

struct Outcome {
  SweepRun run;
  FaultSet faults;
};

Outcome Drive(const testing::Routed& r, const std::string& spec, uint32_t coverage, uint32_t reprobe, uint64_t seed,
              uint32_t reprobe_intermittent = 24) {
  auto plan = PlanSweep(r.fabric, r.routes, {.coverage = coverage, .seed = 1});
  REQUIRE(plan);
  Outcome o;
  if (!spec.empty()) {
    auto f = ParseFaultSpec(r.fabric, spec, seed);
    REQUIRE_MESSAGE(f, spec);
    o.faults.faults = *f;
  }
  o.faults.Apply(r.fabric);
  SimExecutor executor(r.fabric, o.faults, {.noise = 0.05, .seed = seed});
  SimCounterSource counters(r.fabric, o.faults);
  auto run = DriveSweep(r.fabric, r.routes, *plan, executor, &counters,
                        {.reprobe = reprobe, .reprobe_intermittent = reprobe_intermittent, .seed = seed}, {});
  REQUIRE(run);
  o.run = std::move(*run);
  return o;
}

bool Found(const Outcome& o, LinkId link) {
  for (const Finding& f : o.run.analysis.findings)
    if (f.link == link) return true;
  return false;
}

TEST_CASE("a link at 0.85 of its rate is found with re-probing, and mostly not without") {
  auto r = testing::FatTree(4, 8, 4);
  const LinkId link = r.fabric.port(*FindPortByName(r.fabric, "leaf3[6]")).link;
  int with = 0, without = 0, false_findings = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    Outcome on = Drive(r, "leaf3[6]:bw=0.85", 1, 8, seed);
    Outcome off = Drive(r, "leaf3[6]:bw=0.85", 1, 0, seed);
    with += Found(on, link);
    without += Found(off, link);
    false_findings += static_cast<int>(on.run.analysis.findings.size()) - Found(on, link);
    CHECK(on.run.reprobes > 0);
    CHECK(off.run.reprobes == 0);
    CHECK(on.run.plan.probes.size() == on.run.planned_probes + on.run.reprobes);
    CHECK(on.run.measurements.size() == on.run.plan.probes.size());
    CHECK(on.run.analysis.reprobes == on.run.reprobes);
  }
  CHECK(with == 6);
  CHECK(without < 6);
  CHECK(false_findings == 0);
}

TEST_CASE("a flaky link is found") {
  auto r = testing::FatTree(4, 8, 4);
  const LinkId link = r.fabric.port(*FindPortByName(r.fabric, "leaf5[7]")).link;
  int found = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    Outcome o = Drive(r, "leaf5[7]:flaky=0.3", 5, 8, seed);
    found += Found(o, link);
    CHECK(o.run.analysis.findings.size() <= 1);
  }
  CHECK(found >= 5);
}

TEST_CASE("one-way faults are found in their direction after re-probing") {
  auto r = testing::FatTree(4, 8, 4);
  // spine0 -> leaf2 carries exactly the probes of one access link in the plan: the
  // re-probes through that access link come from its own leaf and clear it.
  for (const char* spec : {"leaf6[5]:latency=1:tx", "leaf2[5]:bw=0.5:rx", "leaf2[5]:bw=0.85:rx"}) {
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      Outcome o = Drive(r, spec, 2, 8, seed);
      REQUIRE_MESSAGE(o.run.analysis.findings.size() == 1, spec);
      CHECK(o.run.analysis.findings[0].kind ==
            (std::string(spec).find("latency") != std::string::npos ? FindingKind::kLatency : FindingKind::kBandwidth));
      CHECK_MESSAGE(o.run.analysis.findings[0].channel == o.faults.faults[0].channel, spec);
    }
  }
}

TEST_CASE("a healthy noisy fabric has no finding, re-probes or not") {
  auto r = testing::FatTree(4, 8, 4);
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    Outcome o = Drive(r, "", 2, 8, seed);
    CHECK(o.run.analysis.findings.empty());
    CHECK(o.run.analysis.healthy());
  }
}

TEST_CASE("intermittent suspects get more re-probes: a flaky link's, never a healthy fabric's") {
  auto r = testing::FatTree(4, 8, 4);
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    Outcome more = Drive(r, "", 2, 8, seed, 24), same = Drive(r, "", 2, 8, seed, 8);
    CHECK(more.run.reprobes == same.run.reprobes);
  }
  // With one hit among its plan probes, the flaky link (and the others on that probe's path)
  // is an intermittent suspect; with two or more it is found at once.
  size_t more = 0, same = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    more += Drive(r, "leaf5[7]:flaky=0.3", 2, 8, seed, 24).run.reprobes;
    same += Drive(r, "leaf5[7]:flaky=0.3", 2, 8, seed, 8).run.reprobes;
  }
  CHECK(more >= same + 16);
}

}  // namespace
}  // namespace fabricctl::sweep
