// One ordered probe against a real agent over loopback TCP (all of 127/8 is local, so the
// address a probe arrives from shows which source it was bound to).
#include "probes/order_item.h"

#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "probes/agent.h"
#include "probes/tcp_transport.h"

namespace fabricctl::probes {
namespace {

using namespace std::chrono_literals;

const Bytes kToken = {'o', 'r', 'd', 'e', 'r', '-', 'i', 't', 'e', 'm', '-', 't', 'o', 'k', 'e', 'n'};

OrderSettings QuickSettings() {
  return {.latency_iterations = 100, .message_size = 4096, .bandwidth_duration = 50ms, .timeout = 2000ms};
}

// A probe target on 127.0.0.3 that records who its sessions came from.
struct Target {
  Target() {
    std::vector<std::unique_ptr<ServerTransport>> transports;
    transports.push_back(MakeTcpServerTransport());
    auto listen = ParseHostPort("127.0.0.3:0", 1);
    REQUIRE(listen);
    agent = std::make_unique<Agent>(AgentOptions{.listen = *listen, .token = kToken}, std::move(transports),
                                    [this](std::string_view line) {
                                      std::lock_guard lock(mu);
                                      log += std::string(line) + "\n";
                                    });
    REQUIRE(agent->Listen());
    thread = std::thread([this] { (void)agent->Run(stop); });
  }
  ~Target() {
    stop = true;
    thread.join();
  }
  std::string address() const { return AddressText(agent->bound_address().addr, agent->bound_address().len); }
  std::string Log() {
    std::lock_guard lock(mu);
    return log;
  }
  // The agent logs a session's end after the client has its answer: wait for the lines.
  bool WaitSessions(size_t sessions) {
    for (auto end = Clock::now() + 3000ms; Clock::now() < end; std::this_thread::sleep_for(10ms)) {
      std::string all = Log();
      size_t n = 0;
      for (size_t at = all.find("session done"); at != std::string::npos; at = all.find("session done", at + 1)) ++n;
      if (n == sessions) return true;
    }
    return false;
  }

  std::unique_ptr<Agent> agent;
  std::atomic<bool> stop{false};
  std::thread thread;
  std::mutex mu;
  std::string log;
};

// The item on the TCP transport an agent would make for it.
Result<OrderResult> Run(const OrderItem& item, const Bytes& token = kToken, OrderTests tests = OrderTests::kBoth) {
  auto transport = MakeDefaultOrderTransport("tcp", item);
  REQUIRE(transport);
  OrderSettings settings = QuickSettings();
  settings.tests = tests;
  return RunOrderItem(item, settings, token, **transport);
}

TEST_CASE("an order item measures latency then bandwidth from its source address") {
  Target target;
  OrderItem item{.source = "127.0.0.4", .target = target.address()};
  auto result = Run(item);
  REQUIRE_MESSAGE(result, (result ? std::string() : result.error().Format()));
  CHECK(result->ok);
  CHECK(result->latency_us > 0);
  CHECK(result->gbps > 0);
  REQUIRE(target.WaitSessions(2));
  CHECK(target.agent->counters().tests_ok == 2);
  std::string log = target.Log();
  CHECK(log.find("127.0.0.4:") != std::string::npos);
  CHECK(log.find("127.0.0.1:") == std::string::npos);
}

TEST_CASE("an order of latency tests only, or bandwidth tests only, runs just that test") {
  Target target;
  OrderItem item{.source = "127.0.0.4", .target = target.address()};
  auto latency = Run(item, kToken, OrderTests::kLatency);
  REQUIRE_MESSAGE(latency, (latency ? std::string() : latency.error().Format()));
  CHECK(latency->latency_us > 0);
  CHECK(latency->gbps == 0);
  REQUIRE(target.WaitSessions(1));
  CHECK(target.agent->counters().tests_ok == 1);
  auto bandwidth = Run(item, kToken, OrderTests::kBandwidth);
  REQUIRE_MESSAGE(bandwidth, (bandwidth ? std::string() : bandwidth.error().Format()));
  CHECK(bandwidth->latency_us == 0);
  CHECK(bandwidth->gbps > 0);
  REQUIRE(target.WaitSessions(2));
  CHECK(target.agent->counters().tests_ok == 2);
}

TEST_CASE("an order item with a source that is not this host's fails before probing") {
  Target target;
  OrderItem item{.source = "198.18.255.254", .target = target.address()};
  auto result = Run(item);
  REQUIRE(!result);
  CHECK(result.error().message.find("source 198.18.255.254 is not an address of this host") != std::string::npos);
  CHECK(target.agent->counters().tests_ok == 0);
}

TEST_CASE("an order item with the wrong token is refused by the target") {
  Target target;
  OrderItem item{.target = target.address()};
  auto result = Run(item, Bytes(16, 'x'));
  REQUIRE(!result);
  CHECK(target.agent->counters().tests_ok == 0);
}

}  // namespace
}  // namespace fabricctl::probes
