#include "probes/check/run_checks.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "fabric/generator.h"
#include "fabric/topology_io.h"
#include "probes/check/check_identity.h"
#include "tests/fabric/topology_test_util.h"
#include "tests/routing/route_check_fixtures.h"

namespace fabricctl::check {
namespace {

using fabricctl::testing::LidOf;
using fabricctl::testing::Ring;
using fabricctl::testing::RingShortestPaths;
using fabricctl::testing::SetEntry;
using fabricctl::testing::Skeleton;

std::vector<std::string> Kinds(const CheckReport& r) {
  std::vector<std::string> out;
  for (const Finding& f : r.findings) out.push_back(f.kind + ":" + std::string(ToString(f.severity)));
  return out;
}

bool Has(const std::vector<std::string>& v, std::string_view s) { return std::find(v.begin(), v.end(), s) != v.end(); }

TEST_CASE("check: a sound ring with its routes has no findings; checks without input are skipped") {
  Fabric f = Ring(3);
  RouteSet rs = Skeleton(f);
  RingShortestPaths(f, rs, 3);
  Snapshot s{.fabric = &f, .source = "ring3", .identities = IdentitiesFromFabric(f), .installed_routes = &rs};
  CheckReport r = RunChecks(s, {});
  CHECK(r.findings.empty());
  CHECK(r.checks_run == std::vector<std::string>{"link-rate", "identity", "routes"});
  CHECK(r.checks_skipped.size() == 3);  // LIDs (Ring has none), SM readings, counters
}

TEST_CASE("check: installed tables with a credit loop and a forwarding loop are routes errors") {
  Fabric f = Ring(4);
  RouteSet rs = Skeleton(f);
  RingShortestPaths(f, rs, 4);
  CheckReport r = RunChecks(Snapshot{.fabric = &f, .installed_routes = &rs}, {});
  REQUIRE(r.findings.size() == 1);
  CHECK(r.findings[0].kind == "routes");
  CHECK(r.findings[0].severity == Severity::kError);
  CHECK(r.findings[0].evidence["violation"] == "credit-loop");
  CHECK(r.findings[0].evidence["examples"][0].contains("cycle"));

  // s0 sends h2 clockwise to s1, which sends it back: a loop for every source but h1.
  Fabric g = Ring(3);
  RouteSet loop = Skeleton(g);
  RingShortestPaths(g, loop, 3);
  RouteSet intended = loop;
  SetEntry(g, loop, "s1", LidOf(g, loop, "h2_0"), 3);  // s1 port 3: counter-clockwise to s0
  SetEntry(g, loop, "s0", LidOf(g, loop, "h2_0"), 2);  // s0 port 2: clockwise to s1
  CheckReport l = RunChecks(Snapshot{.fabric = &g, .installed_routes = &loop, .intended_routes = &intended}, {});
  auto kinds = Kinds(l);
  CHECK(Has(kinds, "routes:error"));
  CHECK(Has(kinds, "routes:warning"));
  bool loop_found = false, diff_found = false;
  for (const Finding& x : l.findings) {
    loop_found |= x.evidence.value("violation", "") == "loop";
    diff_found |= x.where == "s1" && x.summary.starts_with("installed table differs from the intended one in 1 of");
  }
  CHECK(loop_found);
  CHECK(diff_found);
  CHECK(l.findings.front().severity == Severity::kError);  // worst first
}

TEST_CASE("check: duplicate node GUIDs, port GUIDs and LIDs among the identity readings") {
  Fabric f = Ring(3);
  std::vector<IdentityReading> ids = {
      {.path = "0,1",
       .description = "h1 HCA-1",
       .node_guid = 0x10,
       .port_guid = 0x11,
       .port_number = 1,
       .lid = 5,
       .active = true},
      {.path = "0,2",
       .description = "h2 HCA-1",
       .node_guid = 0x10,
       .port_guid = 0x21,
       .port_number = 1,
       .lid = 5,
       .active = true},
      {.path = "0,3",
       .description = "h3 HCA-1",
       .node_guid = 0x30,
       .port_guid = 0x21,
       .port_number = 1,
       .lid = 7,
       .active = true},
      {.path = "0,4",
       .description = "sw",
       .node_guid = 0x40,
       .port_guid = 0x40,
       .port_number = 0,
       .lid = 1,
       .active = true},
      {.path = "0,4,1",
       .description = "sw",
       .node_guid = 0x40,
       .port_guid = 0x40,
       .port_number = 1,
       .lid = 1,
       .active = true},
      {.path = "0,5",
       .description = "h5 HCA-1",
       .node_guid = 0x50,
       .port_guid = 0x51,
       .port_number = 1,
       .lid = 0,
       .active = true},
  };
  CheckReport r = RunChecks(Snapshot{.fabric = &f, .identities = ids, .sms = std::vector<SmReading>{{.state = 3}}}, {});
  std::vector<std::string> where;
  for (const Finding& x : r.findings) where.push_back(x.kind + " " + x.where);
  CHECK(where == std::vector<std::string>{"duplicate-guid 0x0000000000000010", "duplicate-guid h2 HCA-1[1] (0,2)",
                                          "duplicate-lid h1 HCA-1[1] (0,1)", "zero-lid h5 HCA-1[1] (0,5)"});
}

TEST_CASE("check: subnet managers: none master, two masters, a standby that outranks the master") {
  Fabric f = Ring(3);
  auto sm = [&](std::vector<SmReading> sms) { return Kinds(RunChecks(Snapshot{.fabric = &f, .sms = sms}, {})); };
  CHECK(sm({}) == std::vector<std::string>{"sm:error"});
  CHECK(sm({{.where = "a", .state = 2}}) == std::vector<std::string>{"sm:error"});
  CHECK(sm({{.where = "a", .state = 3}, {.where = "b", .state = 3}}) == std::vector<std::string>{"sm:error"});
  CHECK(sm({{.where = "a", .priority = 1, .state = 3}, {.where = "b", .priority = 9, .state = 2}}) ==
        std::vector<std::string>{"sm:warning"});
  CHECK(sm({{.where = "a", .priority = 9, .state = 3}, {.where = "b", .priority = 1, .state = 2}}).empty());
}

PortCounterReading Reading(PortId p, uint64_t symbol_errors, uint64_t xmit_wait = 0) {
  PortCounterReading r{.port = p};
  r.value[size_t(Counter::kSymbolErrorCounter)] = symbol_errors;
  r.value[size_t(Counter::kPortXmitWait)] = xmit_wait;
  return r;
}

TEST_CASE("check: counters that rose over the interval, with a bit error rate; resets are recognised") {
  Fabric f = Ring(3);  // links at the builder's default 4xHDR: 200 Gb/s
  PortId a = f.port_id(*f.FindByDescription("h0_0"), 1);
  PortId b = f.port_id(*f.FindByDescription("h1_0"), 1);
  PortId c = f.port_id(*f.FindByDescription("h2_0"), 1);
  CounterInterval counters{.interval_seconds = 10};
  counters.before.ports = {Reading(a, 5), Reading(b, 0, 7000), Reading(c, 3)};
  counters.after.ports = {Reading(a, 25), Reading(b, 0, 1000), Reading(c, 3)};
  CheckReport r = RunChecks(Snapshot{.fabric = &f, .counters = counters}, {});
  REQUIRE(r.findings.size() == 2);
  const Finding& rose = r.findings[0];
  CHECK(rose.kind == "counters");
  CHECK(rose.severity == Severity::kWarning);
  CHECK(rose.where == "h0_0[1]");
  CHECK(rose.evidence["over_threshold"]["SymbolErrorCounter"]["delta"] == 20);
  CHECK(rose.evidence["over_threshold"]["SymbolErrorCounter"]["per_second"] == doctest::Approx(2.0));
  double link_gbps = LinkDataGbps(f.port(a).width_active, f.port(a).speed_active);
  CHECK(rose.evidence["bit_error_rate"].get<double>() == doctest::Approx(20 / (link_gbps * 1e9 * 10)));
  // h1: reset in between, and XmitWait is congestion, judged only with a threshold.
  const Finding& reset = r.findings[1];
  CHECK(reset.where == "h1_0[1]");
  CHECK(reset.severity == Severity::kInfo);
  CHECK(reset.evidence["reset"] == true);

  CheckOptions wait_limit;
  wait_limit.thresholds.limit[size_t(Counter::kPortXmitWait)] = 500;
  wait_limit.thresholds.limit[size_t(Counter::kSymbolErrorCounter)] = 100;
  CheckReport w = RunChecks(Snapshot{.fabric = &f, .counters = counters}, wait_limit);
  REQUIRE(w.findings.size() == 1);
  CHECK(w.findings[0].where == "h1_0[1]");
  CHECK(w.findings[0].evidence["over_threshold"].contains("PortXmitWait"));
}

TEST_CASE("check: one counter reading is judged as ibqueryerrors judges it; saturated counters say so") {
  Fabric f = Ring(3);
  PortId a = f.port_id(*f.FindByDescription("h0_0"), 1);
  CounterInterval counters;
  counters.after.ports = {Reading(a, 0xffff)};
  CheckReport r = RunChecks(Snapshot{.fabric = &f, .counters = counters}, {});
  REQUIRE(r.findings.size() == 1);
  CHECK(r.findings[0].evidence["saturated"][0] == "SymbolErrorCounter");
  CHECK(r.findings[0].summary.find("lower bound") != std::string::npos);
}

// What a check of a file sees: the fabric and the identities it shows.
std::vector<std::string> FileFindings(const Fabric& f) {
  std::vector<std::string> out;
  Snapshot s{.fabric = &f, .source = "file", .identities = IdentitiesFromFabric(f)};
  for (const Finding& x : RunChecks(s, {}).findings) out.push_back(x.kind + " " + x.where + ": " + x.summary);
  return out;
}

TEST_CASE("check: no finding on any generator preset or test fabric, one on the dump with a DDR link") {
  for (const GeneratorInfo& g : Generators()) {
    CAPTURE(g.name);
    auto f = Generate(g.name, {});
    REQUIRE(f);
    CHECK(FileFindings(*f).empty());
  }
  for (const auto& entry : std::filesystem::directory_iterator(fabricctl::testing::TopoDataPath(""))) {
    std::string name = entry.path().filename().string();
    if (name.ends_with(".md")) continue;
    CAPTURE(name);
    auto f = ReadTopologyFile(entry.path().string());
    REQUIRE(f);
    auto findings = FileFindings(*f);
    if (name == "edr_6sw_96hca_one_ddr.ibnd")
      CHECK(findings == std::vector<std::string>{
                            "link-rate MF0;ib-leaf03:MSB7700/U1[34] -- SwitchIB Mellanox Technologies "
                            "(0x7cfe900300a0c1c0)[16]: runs at 4xDDR (16 Gb/s), expected 4xEDR (100 Gb/s): 5 parallel "
                            "links run at 4xEDR"});
    else
      CHECK(findings.empty());
  }
}

}  // namespace
}  // namespace fabricctl::check
