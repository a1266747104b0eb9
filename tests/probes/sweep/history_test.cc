#include "probes/sweep/history.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>

#include "probes/sweep/analysis.h"
#include "probes/sweep/html_report.h"
#include "probes/sweep/prometheus.h"
#include "probes/sweep/sim_fabric.h"
#include "tests/probes/sweep/sweep_fixture.h"

namespace fabricctl::sweep {
namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/fabricctl-history-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

SweepAnalysis SweepWith(const testing::Routed& r, const SweepPlan& plan, const std::string& spec, uint64_t seed) {
  FaultSet faults;
  if (!spec.empty()) faults.faults = *ParseFaultSpec(r.fabric, spec, seed);
  faults.Apply(r.fabric);
  auto m = SimulateSweep(r.fabric, plan, faults, {.noise = 0.01, .seed = seed});
  return AnalyzeSweep(r.fabric, plan, m, {}, {});
}

TEST_CASE("history keeps one row per link per sweep and finds a slow decay") {
  auto r = testing::FatTree(2, 4, 4);
  auto plan = PlanSweep(r.fabric, r.routes, {});
  REQUIRE(plan);
  TempDir dir;
  std::string db = (dir.path / "h.db").string();
  auto h = History::Open(db);
  REQUIRE(h);
  // leaf1[5] loses 6% of its bandwidth every night: never below the finding threshold.
  for (int night = 0; night < 5; ++night) {
    std::string spec = "leaf1[5]:bw=" + std::to_string(1.0 - 0.06 * night);
    SweepAnalysis a = SweepWith(r, *plan, night == 0 ? "" : spec, night + 1);
    CHECK(a.findings.empty());
    auto id = h->Record(r.fabric,
                        {.started = "2026-11-2" + std::to_string(night),
                         .mode = "sim",
                         .topology = "t",
                         .probes = int64_t(a.probes),
                         .healthy = a.healthy()},
                        a);
    REQUIRE(id);
    CHECK(*id == night + 1);
  }
  auto sweeps = h->Sweeps(10);
  REQUIRE(sweeps);
  CHECK(sweeps->size() == 5);
  CHECK(sweeps->front().started == "2026-11-20");
  auto trends = h->Trends({});
  REQUIRE(trends);
  REQUIRE(trends->size() == 1);
  PortId p = *FindPortByName(r.fabric, "leaf1[5]");
  CHECK((*trends)[0].link == r.fabric.LinkName(r.fabric.port(p).link));
  CHECK((*trends)[0].slope < -0.04);
  // Reopening keeps the data.
  auto again = History::Open(db);
  REQUIRE(again);
  CHECK(again->Sweeps(10)->size() == 5);
}

TEST_CASE("history rejects a file that is not a database") {
  TempDir dir;
  std::string path = (dir.path / "junk.db").string();
  FILE* fp = fopen(path.c_str(), "w");
  fputs("this is not sqlite, just text that is long enough to be read as a header........", fp);
  fclose(fp);
  auto h = History::Open(path);
  REQUIRE(!h);
  CHECK(h.error().where == path);
  CHECK(h.error().message.find("not a fabricctl history database") == 0);
}

TEST_CASE("HTML report is self-contained and names findings; metrics are well formed") {
  auto r = testing::FatTree(2, 4, 4);
  auto plan = PlanSweep(r.fabric, r.routes, {});
  REQUIRE(plan);
  FaultSet faults;
  faults.faults = *ParseFaultSpec(r.fabric, "leaf2[6]:bw=0.3", 1);
  faults.Apply(r.fabric);
  auto m = SimulateSweep(r.fabric, *plan, faults, {.noise = 0.02});
  auto a = AnalyzeSweep(r.fabric, *plan, m, {}, {});
  REQUIRE(a.findings.size() == 1);
  std::string html = HtmlReport({.fabric = r.fabric,
                                 .plan = *plan,
                                 .measurements = m,
                                 .analysis = a,
                                 .injected = faults.faults,
                                 .title = "t<1>",
                                 .started = "now"});
  CHECK(html.find("<!DOCTYPE html>") == 0);
  CHECK(html.find("t&lt;1&gt;") != std::string::npos);
  CHECK(html.find(r.fabric.LinkName(a.findings[0].link).substr(0, 8)) != std::string::npos);
  CHECK(html.find("http") == std::string::npos);  // nothing fetched from anywhere
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<svg") != std::string::npos);
  std::string prom = PrometheusMetrics(r.fabric, *plan, a, 1.5, 1700000000);
  CHECK(prom.find("fabricctl_sweep_healthy 0\n") != std::string::npos);
  CHECK(prom.find("fabricctl_sweep_findings 1\n") != std::string::npos);
  CHECK(prom.find("fabricctl_sweep_finding_score{link=\"") != std::string::npos);
}

}  // namespace
}  // namespace fabricctl::sweep
