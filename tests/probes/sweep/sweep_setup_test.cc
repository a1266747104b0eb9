#include "probes/sweep/sweep_setup.h"

#include <doctest/doctest.h>

#include <string>

#include "tests/probes/sweep/sweep_fixture.h"

namespace fabricctl::sweep {
namespace {

SweepSetupOptions OptionsFor(std::string fabric) {
  SweepSetupOptions o;
  o.fabric = std::move(fabric);
  if (o.fabric != "sim") o.agents = "agents.txt";
  if (o.fabric == "tcp" || o.fabric == "verbs") o.token_file = "token";
  return o;
}

std::string ChoiceError(const SweepSetupOptions& o) {
  auto c = ChooseExecutor(o);
  REQUIRE_FALSE(c);
  return c.error().message;
}

TEST_CASE("sweep setup: the simulated fabric probes and counts by default") {
  auto c = ChooseExecutor(OptionsFor("sim"));
  REQUIRE(c);
  CHECK(c->probes == ProbeRunner::kSimulated);
  CHECK(c->counters == CounterKind::kSimulated);
  CHECK(ToString(c->counters) == "sim");
}

TEST_CASE("sweep setup: tcp and verbs probe through agents, without counters unless asked") {
  for (const char* fabric : {"tcp", "verbs"}) {
    CAPTURE(fabric);
    auto c = ChooseExecutor(OptionsFor(fabric));
    REQUIRE(c);
    CHECK(c->probes == ProbeRunner::kAgents);
    CHECK(c->counters == CounterKind::kNone);
    CHECK(ToString(c->counters) == "none");
  }
}

TEST_CASE("sweep setup: mpi probes through the job's ranks and needs no token") {
  auto c = ChooseExecutor(OptionsFor("mpi"));
  REQUIRE(c);
  CHECK(c->probes == ProbeRunner::kMpiJob);
  CHECK(c->counters == CounterKind::kNone);
}

TEST_CASE("sweep setup: --counters mad reads the PMAs on any fabric") {
  for (const char* fabric : {"sim", "tcp", "mpi"}) {
    CAPTURE(fabric);
    SweepSetupOptions o = OptionsFor(fabric);
    o.counters = "mad";
    auto c = ChooseExecutor(o);
    REQUIRE(c);
    CHECK(c->counters == CounterKind::kMad);
  }
  SweepSetupOptions none = OptionsFor("sim");
  none.counters = "none";
  REQUIRE(ChooseExecutor(none));
  CHECK(ChooseExecutor(none)->counters == CounterKind::kNone);
}

TEST_CASE("sweep setup: combinations that cannot work are refused with the flag to fix") {
  SweepSetupOptions inject = OptionsFor("tcp");
  inject.inject = {"random:2"};
  CHECK(ChoiceError(inject) == "--inject works only with --fabric sim");

  SweepSetupOptions no_agents = OptionsFor("verbs");
  no_agents.agents.clear();
  CHECK(ChoiceError(no_agents) == "--fabric verbs needs --agents FILE (endpoint -> agent address)");

  SweepSetupOptions no_token = OptionsFor("tcp");
  no_token.token_file.clear();
  CHECK(ChoiceError(no_token) == "--token-file is needed to talk to probe agents");

  SweepSetupOptions sim_counters = OptionsFor("mpi");
  sim_counters.counters = "sim";
  CHECK(ChoiceError(sim_counters) == "--counters sim works only with --fabric sim");

  CHECK(ChoiceError(OptionsFor("udp")) == "unknown --fabric udp: sim, tcp, verbs or mpi");
  SweepSetupOptions bad_counters = OptionsFor("sim");
  bad_counters.counters = "snmp";
  CHECK(ChoiceError(bad_counters) == "unknown --counters snmp: sim, mad or none");
}

TEST_CASE("sweep setup: a bad combination is refused before any input is read") {
  SweepSetupOptions o = OptionsFor("tcp");
  o.topology = "/nonexistent/fabric.topo";
  o.counters = "sim";
  std::string stages;
  auto prepared = PrepareSweep(o, [&](std::string_view stage) { stages += stage; });
  REQUIRE_FALSE(prepared);
  CHECK(prepared.error().message == "--counters sim works only with --fabric sim");
  CHECK(stages.empty());
}

TEST_CASE("sweep setup: the simulated fabric's executor probes and counts in process") {
  auto r = testing::FatTree();
  SweepSetupOptions o = OptionsFor("sim");
  auto faults = ParseFaults(o, r.fabric);
  REQUIRE(faults);
  auto e = MakeExecutor(o, r.fabric, *faults);
  REQUIRE(e);
  CHECK((*e)->probes != nullptr);
  CHECK((*e)->counters != nullptr);
  CHECK((*e)->job == nullptr);
  CHECK((*e)->mad == nullptr);
}

}  // namespace
}  // namespace fabricctl::sweep
