#include "probes/sweep/sweep_publish.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>

#include "fabric/file_io.h"
#include "probes/sweep/sim_fabric.h"
#include "probes/sweep/sweep_driver.h"
#include "tests/probes/sweep/sweep_fixture.h"
#include "tests/scratch_dir.h"

namespace fabricctl::sweep {
namespace {

using fabricctl::testing::ScratchDir;

struct Swept {
  testing::Routed routed = testing::FatTree();
  FaultSet faults;
  SweepRun run;
};

void SweepWithSlowHost(Swept& s) {
  auto fault = ParseFaultSpec(s.routed.fabric, "host0[1]:bw=0.2", 1);
  REQUIRE(fault);
  s.faults.faults = *fault;
  s.faults.Apply(s.routed.fabric);
  auto plan = PlanSweep(s.routed.fabric, s.routed.routes, {.coverage = 2, .seed = 1});
  REQUIRE(plan);
  SimExecutor executor(s.routed.fabric, s.faults, {.noise = 0.0, .seed = 1});
  auto run = DriveSweep(s.routed.fabric, s.routed.routes, *plan, executor, nullptr, {.seed = 1}, {});
  REQUIRE(run);
  s.run = std::move(*run);
}

ReportInputs Inputs(const Swept& s) {
  return {.fabric = s.routed.fabric,
          .plan = s.run.plan,
          .measurements = s.run.measurements,
          .analysis = s.run.analysis,
          .injected = s.faults.faults,
          .mode = "sim",
          .topology = "ft.topo",
          .started = "2026-01-01T00:00:00Z"};
}

TEST_CASE("publishing a sweep writes the report, the page, the metrics and a history row") {
  Swept s;
  SweepWithSlowHost(s);
  ScratchDir dir;
  const PublishOptions options{.output = dir / "r.json",
                               .html = dir / "r.html",
                               .prom = dir / "r.prom",
                               .history = dir / "h.db",
                               .counters = {{"source", "none"}}};
  auto published = PublishSweep(Inputs(s), options);
  REQUIRE(published.has_value());
  CHECK(published->report["counters"]["source"] == "none");
  CHECK_FALSE(published->report["findings"].empty());
  auto written = ReadFile(options.output);
  REQUIRE(written.has_value());
  CHECK(nlohmann::json::parse(*written) == published->report);
  CHECK(ReadFile(options.html)->find("ft.topo") != std::string::npos);
  CHECK(ReadFile(options.prom)->find("fabricctl_") != std::string::npos);
  auto history = History::Open(options.history);
  REQUIRE(history.has_value());
  CHECK(history->Sweeps(10)->size() == 1);
}

TEST_CASE("a sweep that cannot write its report leaves no history row") {
  Swept s;
  SweepWithSlowHost(s);
  ScratchDir dir;
  auto published =
      PublishSweep(Inputs(s), {.output = dir / "missing/r.json", .history = dir / "h.db", .counters = nullptr});
  REQUIRE_FALSE(published.has_value());
  CHECK_FALSE(std::filesystem::exists(dir / "h.db"));
}

}  // namespace
}  // namespace fabricctl::sweep
