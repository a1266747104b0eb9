#include "probes/sweep/agent_runner.h"

#include <doctest/doctest.h>

#include "probes/sweep/analysis.h"
#include "probes/sweep/sweep_driver.h"
#include "probes/tcp_transport.h"
#include "tests/probes/sweep/sweep_fixture.h"

namespace fabricctl::sweep {
namespace {

TEST_CASE("agents file: entries, comments and pinned errors") {
  auto r = testing::FatTree(2, 2, 2);
  auto ok = ParseAgentsFile(r.fabric, "# agents\nhost0 127.0.0.1:18520\nhost1 127.0.0.1:18521 netns=h1  # comment\n",
                            "a.txt");
  REQUIRE(ok);
  CHECK(ok->by_node[*r.fabric.FindByDescription("host0")].address == "127.0.0.1:18520");
  CHECK(ok->by_node[*r.fabric.FindByDescription("host1")].netns == "h1");
  CHECK(ok->by_node[*r.fabric.FindByDescription("host2")].address.empty());
  auto e1 = ParseAgentsFile(r.fabric, "host0\n", "a.txt");
  REQUIRE(!e1);
  CHECK(e1.error().Format() == "a.txt:1: expected 'DESC ADDR[:PORT] [netns=NAME]'\n  host0");
  auto e2 = ParseAgentsFile(r.fabric, "\nhost9 1.2.3.4\n", "a.txt");
  CHECK(e2.error().Format() == "a.txt:2: no node has the description 'host9'\n  host9 1.2.3.4");
  // An empty or comment-only file would leave every probe unmeasured.
  for (std::string_view text : {"", "\n \n", "# agents to come\n"})
    CHECK(ParseAgentsFile(r.fabric, text, "a.txt").error().Format() ==
          "a.txt: lists no agent; expected 'DESC ADDR[:PORT] [netns=NAME]' lines");
  CHECK(ParseAgentsFile(r.fabric, "leaf0 1.2.3.4\n", "a").error().message == "'leaf0' is a switch, not an endpoint");
  CHECK(ParseAgentsFile(r.fabric, "host0 a\nhost0 b\n", "a").error().message == "'host0' is listed twice");
  CHECK(ParseAgentsFile(r.fabric, "host0 a ns=x\n", "a").error().message == "expected netns=NAME after the address");
  CHECK(ParseAgentsFile(r.fabric, "host0 a netns=x y\n", "a").error().message ==
        "unexpected text after the agent entry");
}

TEST_CASE("agents file: values are quoted cut, addresses and namespaces checked") {
  auto r = testing::FatTree(2, 2, 2);
  auto error = [&](std::string_view text) {
    auto a = ParseAgentsFile(r.fabric, text, "a.txt");
    REQUIRE(!a);
    return a.error().message;
  };
  CHECK(error(std::string(200, 'h') + " 1.2.3.4\n") ==
        "no node has the description '" + std::string(64, 'h') + "... (200 bytes)'");
  CHECK(error(std::string(100'000, 'h') + " 1.2.3.4\n") == "a word of 100000 bytes, expected at most 255");
  CHECK(error("host0\x1b[2J 1.2.3.4\n") == "no node has the description 'host0?[2J'");
  CHECK(error("host0 1.2.3.4:99999\n") == "address '1.2.3.4:99999': the port must be a number in 1..65535");
  CHECK(error("host0 1.2.3.4:\n") == "address '1.2.3.4:': missing port after ':'");
  CHECK(error("host0 ::1\n") == "address '::1': write IPv6 addresses as [ADDR]:PORT");
  CHECK(error("host0 [::1\n") == "address '[::1': missing ']' after the IPv6 address");
  CHECK(error("host0 1.2.3.4 netns=..\n") == "a namespace name has no '/' and is not '.' or '..'");
  CHECK(ParseAgentsFile(r.fabric, "host0 [::1]:18520\r\nhost1\t127.0.0.1\n", "a.txt"));
}

TEST_CASE("rounds are taken from the probes, never from a round number: a wrapped round count runs") {
  auto r = testing::FatTree(2, 2, 2);
  auto plan = PlanSweep(r.fabric, r.routes, {});
  REQUIRE(plan);
  // What a plan with round 4294967295 used to hold: the count wrapped to 0.
  plan->probes.resize(2);
  plan->probes[0].round = 4294967295u;
  plan->probes[1].round = 7;
  plan->num_rounds = 0;
  AgentMap none;
  none.by_node.resize(r.fabric.num_nodes());
  auto transport = probes::MakeTcpClientTransport();
  std::vector<uint32_t> rounds_seen;
  DirectAgentExecutor executor(r.fabric, none, *transport, {.timeout = std::chrono::milliseconds(100)});
  auto result = DriveSweep(r.fabric, r.routes, *plan, executor, nullptr, {}, [&](const DriverProgress& p) {
    CHECK(p.rounds == 2);
    rounds_seen.push_back(p.round);
  });
  REQUIRE(result);
  REQUIRE(result->measurements.size() == 2);
  CHECK(result->failures.size() == 2);  // no agents: unmeasured
  CHECK(rounds_seen == std::vector<uint32_t>{1, 2});
}

TEST_CASE("agents that do not answer make probes unmeasured, never healthy") {
  auto r = testing::FatTree(2, 2, 2);
  auto plan = PlanSweep(r.fabric, r.routes, {});
  REQUIRE(plan);
  // Port 1 on loopback: nothing listens, every connection is refused at once.
  std::string text;
  for (int h = 0; h < 4; ++h) text += "host" + std::to_string(h) + " 127.0.0.1:1\n";
  auto agents = ParseAgentsFile(r.fabric, text, "a");
  REQUIRE(agents);
  auto transport = probes::MakeTcpClientTransport();
  size_t calls = 0;
  DirectAgentExecutor executor(r.fabric, *agents, *transport,
                               {.token = probes::Bytes(32, 7), .timeout = std::chrono::milliseconds(500)});
  auto result = DriveSweep(r.fabric, r.routes, *plan, executor, nullptr, {}, [&](const DriverProgress& p) {
    ++calls;
    CHECK(p.done <= p.total);
  });
  REQUIRE(result);
  CHECK(calls == plan->num_rounds);
  REQUIRE(result->measurements.size() == plan->probes.size());
  for (const Measurement& m : result->measurements) CHECK(m.status == ProbeStatus::kUnmeasured);
  CHECK(result->failures.size() == plan->probes.size());
  const SweepAnalysis& a = result->analysis;
  CHECK(!a.healthy());
  CHECK(a.unmeasured == plan->probes.size());
}

}  // namespace
}  // namespace fabricctl::sweep
