#include "probes/sweep/history.h"

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include "probes/sweep/analysis.h"
#include "probes/sweep/html_report.h"
#include "probes/sweep/prometheus.h"
#include "probes/sweep/sim_fabric.h"
#include "tests/probes/sweep/sweep_fixture.h"
#include "tests/scratch_dir.h"

namespace fabricctl::sweep {
namespace {

using fabricctl::testing::ScratchDir;

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
  ScratchDir dir;
  std::string db = (dir / "h.db");
  auto h = History::Open(db);
  REQUIRE(h);
  // leaf1[5] loses 6% of its bandwidth every night. At 1% noise the analysis flags it from
  // the first night on; the trend is the history's own evidence, found either way.
  for (int night = 0; night < 5; ++night) {
    std::string spec = "leaf1[5]:bw=" + std::to_string(1.0 - 0.06 * night);
    SweepAnalysis a = SweepWith(r, *plan, night == 0 ? "" : spec, night + 1);
    CHECK(a.findings.size() == (night == 0 ? 0u : 1u));
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

// A history database as another program (or a damaged disk) might leave it.
std::string Tampered(const ScratchDir& dir, const char* sql) {
  std::string db = (dir / "t.db");
  REQUIRE(History::Open(db));
  sqlite3* handle = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &handle) == SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(handle, sql, nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(handle);
  REQUIRE(rc == SQLITE_OK);
  return db;
}

TEST_CASE("history reads rows strictly: NULL, wrong types and bad text are errors naming table, row and column") {
  ScratchDir dir;
  // The schema says NOT NULL; a table made by another program need not.
  std::string db = Tampered(dir,
                            "DROP TABLE sweeps; CREATE TABLE sweeps (id INTEGER PRIMARY KEY, started TEXT, mode TEXT, "
                            "topology TEXT, probes INTEGER, findings INTEGER, healthy INTEGER);"
                            "INSERT INTO sweeps VALUES (4, NULL, 'sim', 't', 1, 0, 1);");
  auto h = History::Open(db);
  REQUIRE(h);
  auto sweeps = h->Sweeps(10);
  REQUIRE(!sweeps);  // was a crash: a std::string built from a null pointer
  CHECK(sweeps.error().Format() == db + ": table sweeps, row id 4: column started is not text");

  ScratchDir dir2;
  db = Tampered(dir2, "INSERT INTO sweeps VALUES (1, 'x', 'sim', 't', 'many', 0, 1);");
  CHECK(History::Open(db)->Sweeps(10).error().message == "table sweeps, row id 1: column probes is not an integer");
  ScratchDir dir3;
  db = Tampered(dir3, "INSERT INTO sweeps VALUES (1, 'x', CAST(x'ff41' AS TEXT), 't', 1, 0, 7);");
  CHECK(History::Open(db)->Sweeps(10).error().message == "table sweeps, row id 1: column mode is not UTF-8 text");
  ScratchDir dir4;
  db = Tampered(dir4,
                "DROP TABLE link_results; CREATE TABLE link_results (sweep_id INTEGER, link TEXT, health REAL, "
                "bw_ratio REAL, finding TEXT, score REAL);"
                "INSERT INTO sweeps VALUES (1, 'x', 'sim', 't', 1, 0, 1);"
                "INSERT INTO link_results VALUES (1, NULL, 1.0, 0.5, NULL, NULL);");
  CHECK(History::Open(db)->Trends({}).error().message == "table link_results: column link is not text");
  ScratchDir dir5;
  db = Tampered(dir5,
                "INSERT INTO sweeps VALUES (1, 'x', 'sim', 't', 1, 0, 1);"
                "INSERT INTO link_results VALUES (1, 'a', 1.0, 'half', NULL, NULL);");
  CHECK(History::Open(db)->Trends({}).error().message == "table link_results, link a: column bw_ratio is not a number");
}

TEST_CASE("history rejects a file that is not a database") {
  ScratchDir dir;
  std::string path = (dir / "junk.db");
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
