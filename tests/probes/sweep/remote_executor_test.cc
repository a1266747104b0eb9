#include "probes/sweep/remote_executor.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "probes/agent.h"
#include "probes/peer_list.h"
#include "probes/sweep/analysis.h"
#include "probes/sweep/order_link.h"
#include "probes/sweep/sweep_driver.h"
#include "probes/tcp_transport.h"
#include "tests/probes/sweep/sweep_fixture.h"

namespace fabricctl::sweep {
namespace {

using probes::OrderItem;
using probes::OrderResult;

// Agents answering in-process: every probe measures 100 Gb/s (a bandwidth test) and 2 us (a
// latency test) unless its target is in `refuse`; an agent in `down` cannot be reached; the
// sessions of an agent numbered up to `broken[control]` (1, 2, ... in the order opened)
// fail every order.
struct FakeAgents {
  std::mutex mutex;
  std::map<std::string, int> opens, orders;
  std::vector<std::vector<OrderItem>> received;
  std::vector<probes::OrderTests> tests;  // of each order received
  std::set<std::string> down, refuse;
  std::map<std::string, int> broken;
  int running = 0, most_running = 0;

  class Link final : public AgentLink {
   public:
    Link(FakeAgents& agents, std::string control, int number)
        : agents_(agents), control_(std::move(control)), number_(number) {}
    Result<std::vector<OrderResult>> Run(const std::vector<OrderItem>& items,
                                         const probes::OrderSettings& settings) override {
      std::lock_guard lock(agents_.mutex);
      ++agents_.orders[control_];
      agents_.received.push_back(items);
      agents_.tests.push_back(settings.tests);
      agents_.most_running = std::max(agents_.most_running, ++agents_.running);
      --agents_.running;
      if (number_ <= agents_.broken[control_]) return MakeError("connection closed by peer");
      std::vector<OrderResult> out;
      const bool latency = settings.tests != probes::OrderTests::kBandwidth;
      const bool bandwidth = settings.tests != probes::OrderTests::kLatency;
      for (const OrderItem& item : items)
        out.push_back(
            agents_.refuse.contains(item.target)
                ? OrderResult{.error = "target is not in --peers"}
                : OrderResult{.ok = true, .latency_us = latency ? 2.0 : 0.0, .gbps = bandwidth ? 100.0 : 0.0});
      return out;
    }

   private:
    FakeAgents& agents_;
    std::string control_;
    int number_;
  };

  AgentLinkFactory Factory() {
    return [this](const std::string& control) -> Result<std::unique_ptr<AgentLink>> {
      std::lock_guard lock(mutex);
      int number = ++opens[control];
      if (down.contains(control)) return MakeError("connection refused");
      return std::make_unique<Link>(*this, control, number);
    };
  }
};

PortId PortOf(const Fabric& fabric, std::string_view desc, unsigned number = 1) {
  return fabric.port_id(*fabric.FindByDescription(desc), number);
}

// host0 and host1 on one agent (control 198.19.0.1), host2 and host3 on their own.
AgentsFile FourHosts(const Fabric& fabric) {
  auto file = ParseAgentsFile(fabric,
                              "host0 198.18.0.1 control=198.19.0.1 dev=eth0\n"
                              "host1 198.18.0.2 control=198.19.0.1 rdma=mlx5_1:1\n"
                              "host2 198.18.0.3\n"
                              "host3 198.18.0.4:9000\n",
                              "agents.txt");
  REQUIRE(file);
  return std::move(*file);
}

TEST_CASE("a round gives each agent two orders holding the probes sourced at its ports: latency, then bandwidth") {
  auto r = testing::FatTree(2, 2, 2);
  const Fabric& f = r.fabric;
  AgentsFile file = FourHosts(f);
  FakeAgents fake;
  RemoteExecutor executor(f, file, fake.Factory(), {});
  CHECK(executor.num_agents() == 3);
  std::vector<ProbeTask> tasks = {{.probe = 0, .src = PortOf(f, "host0"), .dst = PortOf(f, "host2")},
                                  {.probe = 1, .src = PortOf(f, "host1"), .dst = PortOf(f, "host3")},
                                  {.probe = 2, .src = PortOf(f, "host2"), .dst = PortOf(f, "host0")}};
  std::vector<ProbeOutcome> out = executor.RunRound(tasks);
  REQUIRE(out.size() == 3);
  for (const ProbeOutcome& o : out) {
    CHECK(o.failure.empty());
    CHECK(o.measurement.status == ProbeStatus::kMeasured);
    CHECK(o.measurement.gbps == 100);
    CHECK(o.measurement.latency_us == 2);
  }
  CHECK(fake.orders == std::map<std::string, int>{{"198.19.0.1:18520", 2}, {"198.18.0.3:18520", 2}});
  // Every agent's latency order comes before any bandwidth order.
  using probes::OrderTests;
  CHECK(fake.tests == std::vector<OrderTests>{OrderTests::kLatency, OrderTests::kLatency, OrderTests::kBandwidth,
                                              OrderTests::kBandwidth});
  const std::vector<OrderItem>& shared = fake.received[0].size() == 2 ? fake.received[0] : fake.received[1];
  REQUIRE(shared.size() == 2);
  CHECK(shared[0].source == "198.18.0.1");
  CHECK(shared[0].device == "eth0");
  CHECK(shared[0].target == "198.18.0.3:18520");
  CHECK(shared[1].source == "198.18.0.2");
  CHECK(shared[1].rdma == "mlx5_1:1");
  CHECK(shared[1].target == "198.18.0.4:9000");
  // The sessions stay open for the next round.
  executor.RunRound(tasks);
  CHECK(fake.opens == std::map<std::string, int>{{"198.19.0.1:18520", 1}, {"198.18.0.3:18520", 1}});
}

TEST_CASE("an agent with more probes than one order holds gets several orders") {
  auto r = testing::FatTree(2, 2, 2);
  const Fabric& f = r.fabric;
  AgentsFile file = FourHosts(f);
  FakeAgents fake;
  RemoteExecutor executor(f, file, fake.Factory(), {});
  std::vector<ProbeTask> tasks(2 * probes::kMaxOrderItems + 1,
                               ProbeTask{.src = PortOf(f, "host0"), .dst = PortOf(f, "host2")});
  std::vector<ProbeOutcome> out = executor.RunRound(tasks);
  for (const ProbeOutcome& o : out) CHECK(o.measurement.status == ProbeStatus::kMeasured);
  REQUIRE(fake.received.size() == 6);  // three latency orders, then three bandwidth orders
  CHECK(fake.received[0].size() == probes::kMaxOrderItems);
  CHECK(fake.received[2].size() == 1);
  CHECK(fake.received[5].size() == 1);
  CHECK(fake.tests[2] == probes::OrderTests::kLatency);
  CHECK(fake.tests[3] == probes::OrderTests::kBandwidth);
}

TEST_CASE("probes without an agent, or whose agent fails, are unmeasured with the reason") {
  auto r = testing::FatTree(2, 2, 3);
  const Fabric& f = r.fabric;
  AgentsFile file = FourHosts(f);
  FakeAgents fake;
  fake.down = {"198.18.0.3:18520"};
  fake.refuse = {"198.18.0.4:9000"};
  RemoteExecutor executor(f, file, fake.Factory(), {});
  std::vector<ProbeTask> tasks = {{.src = PortOf(f, "host0"), .dst = PortOf(f, "host4")},
                                  {.src = PortOf(f, "host5"), .dst = PortOf(f, "host0")},
                                  {.src = PortOf(f, "host2"), .dst = PortOf(f, "host0")},
                                  {.src = PortOf(f, "host0"), .dst = PortOf(f, "host3")},
                                  {.src = PortOf(f, "host1"), .dst = PortOf(f, "host2")}};
  std::vector<ProbeOutcome> out = executor.RunRound(tasks);
  REQUIRE(out.size() == 5);
  CHECK(out[0].failure == "no agent for host4[1]");
  CHECK(out[1].failure == "no agent for host5[1]");
  CHECK(out[2].failure == "agent at 198.18.0.3:18520: connection refused");
  CHECK(out[3].failure == "target is not in --peers");
  CHECK(out[4].failure.empty());
  for (size_t k = 0; k < 4; ++k) CHECK(out[k].measurement.status == ProbeStatus::kUnmeasured);
  CHECK(out[4].measurement.status == ProbeStatus::kMeasured);
  // A fresh session that fails is not retried within the order.
  CHECK(fake.opens["198.18.0.3:18520"] == 1);
  // A probe whose latency test failed is not sent again for its bandwidth test.
  for (size_t k = 0; k < fake.received.size(); ++k)
    if (fake.tests[k] == probes::OrderTests::kBandwidth)
      for (const OrderItem& item : fake.received[k]) CHECK(item.target != "198.18.0.4:9000");
}

TEST_CASE("a session that broke since the last round is reopened once") {
  auto r = testing::FatTree(2, 2, 2);
  const Fabric& f = r.fabric;
  AgentsFile file = FourHosts(f);
  FakeAgents fake;
  std::vector<ProbeTask> tasks = {{.src = PortOf(f, "host2"), .dst = PortOf(f, "host0")}};
  const std::string agent = "198.18.0.3:18520";
  SUBCASE("the first order of a session fails: unmeasured, no second try") {
    fake.broken[agent] = 1;
    RemoteExecutor executor(f, file, fake.Factory(), {});
    CHECK(executor.RunRound(tasks)[0].failure == "agent at 198.18.0.3:18520: connection closed by peer");
    CHECK(fake.opens[agent] == 1);
    // The next round opens a new session, which works.
    CHECK(executor.RunRound(tasks)[0].measurement.status == ProbeStatus::kMeasured);
    CHECK(fake.opens[agent] == 2);
  }
  SUBCASE("a kept session fails: reopened, the order runs again") {
    RemoteExecutor executor(f, file, fake.Factory(), {});
    CHECK(executor.RunRound(tasks)[0].measurement.status == ProbeStatus::kMeasured);
    fake.broken[agent] = 1;
    CHECK(executor.RunRound(tasks)[0].measurement.status == ProbeStatus::kMeasured);
    CHECK(fake.opens[agent] == 2);
    // Two orders per round; the second round's first order failed on the kept session.
    CHECK(fake.orders[agent] == 5);
  }
  SUBCASE("a kept session fails and so does the new one: unmeasured after one reopen") {
    RemoteExecutor executor(f, file, fake.Factory(), {});
    CHECK(executor.RunRound(tasks)[0].measurement.status == ProbeStatus::kMeasured);
    fake.broken[agent] = 100;
    CHECK(executor.RunRound(tasks)[0].failure == "agent at 198.18.0.3:18520: connection closed by peer");
    CHECK(fake.opens[agent] == 2);
  }
}

TEST_CASE("agents get their orders side by side, never more than `parallel` at once") {
  auto r = testing::FatTree(2, 4, 4);
  const Fabric& f = r.fabric;
  std::string text;
  for (int h = 0; h < 16; ++h) text += fmt::format("host{} 198.18.0.{}\n", h, h + 1);
  auto file = ParseAgentsFile(f, text, "a");
  REQUIRE(file);
  FakeAgents fake;
  RemoteExecutor executor(f, *file, fake.Factory(), {.parallel = 3});
  std::vector<ProbeTask> tasks;
  for (int h = 0; h < 16; ++h)
    tasks.push_back(
        {.src = PortOf(f, fmt::format("host{}", h)), .dst = PortOf(f, fmt::format("host{}", (h + 1) % 16))});
  std::vector<ProbeOutcome> out = executor.RunRound(tasks);
  for (const ProbeOutcome& o : out) CHECK(o.measurement.status == ProbeStatus::kMeasured);
  CHECK(fake.orders.size() == 16);
  CHECK(fake.most_running >= 1);
  CHECK(fake.most_running <= 3);
}

// A real probe agent on a loopback address (all of 127/8 is local) with an ephemeral port,
// serving from a thread until destroyed.
class LoopbackAgent {
 public:
  LoopbackAgent(const std::string& address, std::optional<probes::PeerList> peers) {
    std::vector<std::unique_ptr<probes::ServerTransport>> transports;
    transports.push_back(probes::MakeTcpServerTransport());
    auto listen = probes::ParseHostPort(address + ":0", 1);
    REQUIRE(listen);
    agent_ = std::make_unique<probes::Agent>(probes::AgentOptions{.listen = *listen,
                                                                  .token = kLoopbackToken,
                                                                  .peers = std::move(peers),
                                                                  .max_sessions = 8,
                                                                  .idle_timeout = std::chrono::milliseconds(5000)},
                                             std::move(transports), [](std::string_view) {});
    REQUIRE(agent_->Listen());
    thread_ = std::thread([this] { (void)agent_->Run(stop_); });
  }
  ~LoopbackAgent() {
    stop_ = true;
    thread_.join();
  }
  std::string address() const { return probes::AddressText(agent_->bound_address().addr, agent_->bound_address().len); }
  static inline const probes::Bytes kLoopbackToken = probes::Bytes(32, 7);

 private:
  std::unique_ptr<probes::Agent> agent_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST_CASE("real agents on loopback measure host to host; a refused or missing agent is unmeasured") {
  auto r = testing::FatTree(2, 2, 2, 2);
  const Fabric& f = r.fabric;
  // B and C only answer probes; A runs the orders and may probe B and C.
  LoopbackAgent b("127.0.0.3", std::nullopt), c("127.0.0.4", std::nullopt);
  std::string peers_text = fmt::format("host1 {}\nhost2 {}\n", b.address(), c.address());
  auto peers = probes::ParsePeerList(peers_text, "peers");
  REQUIRE(peers);
  LoopbackAgent a("127.0.0.2", *peers);
  auto file = ParseAgentsFile(
      f, fmt::format("host0 {}\nhost1 {}\nhost2 {}\nhost3 127.0.0.9:1\n", a.address(), b.address(), c.address()),
      "agents.txt");
  REQUIRE(file);
  RemoteExecutor executor(f, *file, OrderSessionLinks(LoopbackAgent::kLoopbackToken, std::chrono::milliseconds(2000)),
                          {.settings = {.latency_iterations = 200,
                                        .bandwidth_duration = std::chrono::milliseconds(100),
                                        .timeout = std::chrono::milliseconds(2000)}});
  std::vector<ProbeTask> tasks = {{.src = PortOf(f, "host0", 1), .dst = PortOf(f, "host1", 1)},
                                  {.src = PortOf(f, "host0", 2), .dst = PortOf(f, "host2", 1)},
                                  {.src = PortOf(f, "host1", 2), .dst = PortOf(f, "host0", 1)},
                                  {.src = PortOf(f, "host3", 1), .dst = PortOf(f, "host0", 2)}};
  for (int round = 0; round < 2; ++round) {
    std::vector<ProbeOutcome> out = executor.RunRound(tasks);
    REQUIRE(out.size() == 4);
    for (size_t k = 0; k < 2; ++k) {
      CHECK_MESSAGE(out[k].measurement.status == ProbeStatus::kMeasured, out[k].failure);
      CHECK(out[k].measurement.gbps > 0);
      CHECK(out[k].measurement.latency_us > 0);
    }
    // B has no --peers: it refuses every order.
    CHECK(out[2].measurement.status == ProbeStatus::kUnmeasured);
    CHECK(!out[2].failure.empty());
    // Nothing listens for host3's agent.
    CHECK(out[3].measurement.status == ProbeStatus::kUnmeasured);
    CHECK(out[3].failure.starts_with("agent at 127.0.0.9:1: "));
  }
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
  auto file = ParseAgentsFile(r.fabric, "host3 198.18.0.4\n", "a");
  REQUIRE(file);
  FakeAgents fake;
  RemoteExecutor executor(r.fabric, *file, fake.Factory(), {});
  std::vector<uint32_t> rounds_seen;
  auto result = DriveSweep(r.fabric, r.routes, *plan, executor, nullptr, {}, [&](const DriverProgress& p) {
    CHECK(p.rounds == 2);
    rounds_seen.push_back(p.round);
  });
  REQUIRE(result);
  REQUIRE(result->measurements.size() == 2);
  CHECK(result->failures.size() == 2);  // no agents for these hosts: unmeasured
  CHECK(rounds_seen == std::vector<uint32_t>{1, 2});
}

}  // namespace
}  // namespace fabricctl::sweep
