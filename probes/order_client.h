#pragma once
// Orders: a coordinator tells a `probe serve` agent to run probes from its own host to
// other agents (remote agent mode, docs/probes.md). The coordinator opens one
// authenticated control session per agent (hello transport "order") and sends one order
// per sweep round over it; the agent runs the order's items side by side and answers with
// one result per item. The agent only runs probes to DATA_ADDR targets of its --peers file,
// only from its own addresses, and never forwards an order.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fabric/error.h"
#include "probes/transport.h"

namespace fabricctl::probes {

class ControlChannel;

// One probe an agent runs from its own host on the coordinator's order.
struct OrderItem {
  std::string source;  // local address to bind the probe to ("" = any), no port
  std::string device;  // TCP: SO_BINDTODEVICE interface ("" = none)
  std::string rdma;    // verbs: "DEVICE:PORT" ("" = the agent's default device)
  std::string target;  // destination agent "ADDR[:PORT]"; must be in the agent's --peers
};

// The tests each item of an order runs. A sweep round runs every latency test before any
// bandwidth test: a latency test next to another probe's bulk transfer measures that
// transfer's queue, as its replies share the other probe's channels.
enum class OrderTests : std::uint8_t { kLatency = 1, kBandwidth = 2, kBoth = 3 };

struct OrderSettings {
  std::string transport = "tcp";  // "tcp" | "verbs"
  OrderTests tests = OrderTests::kBoth;
  std::uint64_t latency_iterations = 1000;
  std::uint32_t message_size = 65536;  // bandwidth test message size
  std::chrono::milliseconds bandwidth_duration{500};
  std::chrono::milliseconds timeout{5000};  // bound on every wait of one probe
};

struct OrderResult {
  bool ok = false;
  double latency_us = 0;  // median one-way latency (0 when the order ran no latency test)
  double gbps = 0;        // bandwidth (0 when the order ran no bandwidth test)
  std::string error;      // why not ok
};

inline constexpr std::size_t kMaxOrderItems = 64;  // probes in one order message
// Size of the latency test's messages (perftest's ib_send_lat default is 2; 8 carries the
// sequence number).
inline constexpr std::uint32_t kOrderLatencyMessageSize = 8;
// What one latency round trip may take on average when bounding a whole order.
inline constexpr std::chrono::microseconds kOrderLatencyAllowancePerIteration{1000};

// How long the coordinator waits for an order's results: connecting to the target,
// handshake and transport setup (one timeout each), the latency test (its iterations at
// kOrderLatencyAllowancePerIteration, plus one timeout), the bandwidth test (its duration
// plus two timeouts), and one more timeout for the answer to come back.
std::chrono::milliseconds OrderDeadline(const OrderSettings& settings);

// An authenticated control session with one agent for giving it orders. The agent runs
// an order's items side by side and answers when all are done (each bounded by timeout).
class OrderSession {
 public:
  // Connects to the agent's control address ("ADDR[:PORT]", default port 18520) and
  // authenticates; `timeout` bounds the connect and the handshake, and every later send.
  static Result<OrderSession> Open(const std::string& control_address, const Bytes& token,
                                   std::chrono::milliseconds timeout);
  // Sends one order and waits for its results (at most OrderDeadline(settings)); one
  // result per item, in the items' order. More than kMaxOrderItems items are sent as
  // several orders, one after another. An error here means the whole order failed (the
  // agent refused it, the session broke or the deadline passed); the session is then
  // closed and every later Run fails: open a new one.
  Result<std::vector<OrderResult>> Run(const std::vector<OrderItem>& items, const OrderSettings& settings);
  // Says goodbye and closes; also done by the destructor. Idempotent.
  void Close();
  bool is_open() const { return channel_ != nullptr; }
  const std::string& address() const { return address_; }

  OrderSession(OrderSession&&) noexcept;
  OrderSession& operator=(OrderSession&&) noexcept;
  ~OrderSession();

 private:
  OrderSession(std::string address, std::unique_ptr<ControlChannel> channel, std::chrono::milliseconds timeout);
  Result<std::vector<OrderResult>> RunOne(const std::vector<OrderItem>& items, const OrderSettings& settings);

  std::string address_;
  std::unique_ptr<ControlChannel> channel_;
  std::chrono::milliseconds timeout_;
};

}  // namespace fabricctl::probes
