// The agent and the client over loopback TCP: real sockets, real measurements.
#include "probes/agent.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "probes/control_protocol.h"
#include "probes/handshake.h"
#include "probes/order_client.h"
#include "probes/peer_list.h"
#include "probes/probe_client.h"
#include "probes/tcp_transport.h"

namespace fabricctl::probes {
namespace {

using namespace std::chrono_literals;

const Bytes kToken = {'l', 'o', 'o', 'p', 'b', 'a', 'c', 'k', '-', 't', 'o', 'k', 'e', 'n', '-', '1', '6'};

// An agent on 127.0.0.1 with an ephemeral port, serving from a thread until destroyed.
class RunningAgent {
 public:
  // `options` without listen and token, which are filled in.
  explicit RunningAgent(AgentOptions options = {.idle_timeout = 5000ms}, const std::string& address = "127.0.0.1:0") {
    std::vector<std::unique_ptr<ServerTransport>> transports;
    transports.push_back(MakeTcpServerTransport());
    auto listen = ParseHostPort(address, 1);
    REQUIRE(listen);
    options.listen = *listen;
    options.token = kToken;
    agent_ = std::make_unique<Agent>(std::move(options), std::move(transports), [this](std::string_view line) {
      std::lock_guard lock(mu_);
      log_ += std::string(line) + "\n";
    });
    REQUIRE(agent_->Listen());
    thread_ = std::thread([this] { (void)agent_->Run(stop_); });
  }
  ~RunningAgent() {
    stop_ = true;
    thread_.join();
  }
  std::string address() const { return AddressText(agent_->bound_address().addr, agent_->bound_address().len); }
  std::string log() {
    std::lock_guard lock(mu_);
    return log_;
  }
  const AgentCounters& counters() const { return agent_->counters(); }
  int unauthenticated_capacity() const { return agent_->unauthenticated_capacity(); }
  const std::vector<SocketAddress>& bound_addresses() const { return agent_->bound_addresses(); }
  // Waits until the log contains `text` (the agent works in its own threads).
  bool WaitLog(std::string_view text, std::chrono::milliseconds limit = 3000ms) {
    auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      if (log().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  // Waits until `done` holds for the agent's counters.
  template <typename Pred>
  bool WaitCounters(Pred done, std::chrono::milliseconds limit = 5000ms) {
    auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      if (done(counters())) return true;
      std::this_thread::sleep_for(10ms);
    }
    return done(counters());
  }
  std::size_t LogCount(std::string_view text) {
    std::string all = log();
    std::size_t n = 0;
    for (std::size_t at = all.find(text); at != std::string::npos; at = all.find(text, at + 1)) ++n;
    return n;
  }

 private:
  std::unique_ptr<Agent> agent_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::string log_;
};

ProbeOptions Options(const std::string& peer, std::vector<TestKind> tests, std::vector<std::uint32_t> sizes) {
  return ProbeOptions{.peer = peer,
                      .tests = std::move(tests),
                      .sizes = std::move(sizes),
                      .iterations = 1000,
                      .timeout = 2000ms,
                      .token = kToken};
}

Fd RawConnect(const std::string& address) {
  auto addr = ParseHostPort(address, 0);
  REQUIRE(addr);
  auto fd = ConnectTcp(*addr, DeadlineAfter(2000ms));
  REQUIRE(fd);
  return std::move(*fd);
}

// Connects from `source`, a loopback address (all of 127/8 is loopback on Linux), so the
// agent's per-source limits see many hosts. Loopback completes a blocking connect at once.
Fd ConnectFrom(const std::string& source, const std::string& address) {
  auto from = ParseHostPort(source + ":0", 0);
  auto to = ParseHostPort(address, 0);
  REQUIRE(from);
  REQUIRE(to);
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&from->addr), from->len) == 0);
  REQUIRE(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to->addr), to->len) == 0);
  return fd;
}

void Send(int fd, std::string_view bytes) {
  REQUIRE(WriteAll(fd, std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
                   DeadlineAfter(1000ms)));
}

// A client that has authenticated by hand, for tests that speak the transport themselves.
ControlChannel HandshakenClient(const std::string& address, std::uint32_t timeout_ms = 1000) {
  ControlChannel ch(RawConnect(address), Role::kClient, kToken);
  auto r = RunClientHandshake(
      ch, Hello{.client_nonce = RandomNonce(), .transport = "tcp", .max_message_size = 64, .timeout_ms = timeout_ms},
      DeadlineAfter(1000ms));
  REQUIRE_MESSAGE(r, r.error().Format());
  return ch;
}

// True when the peer closes `fd` within `limit` (reads until EOF or error).
bool ClosedByPeer(int fd, std::chrono::milliseconds limit) {
  std::uint8_t buf[256];
  auto end = DeadlineAfter(limit);
  for (;;) {
    auto r = ReadExact(fd, buf, end);
    if (!r) return r.error().message == "connection closed by peer" || r.error().message.starts_with("recv");
  }
}

TEST_CASE("loopback: latency and bandwidth complete at several sizes with data verified") {
  RunningAgent agent;
  auto client = MakeTcpClientTransport();
  auto report =
      RunProbe(Options(agent.address(), {TestKind::kLatency, TestKind::kBandwidth}, {1, 8, 4096, 256 << 10}), *client);
  REQUIRE_MESSAGE(report, report.error().Format());
  REQUIRE(report->latency.size() == 4);
  REQUIRE(report->bandwidth.size() == 4);
  for (const LatencyStats& s : report->latency) {
    CHECK(s.iterations == 1000);
    CHECK(s.min_us > 0);
    CHECK(s.min_us <= s.p50_us);
    CHECK(s.p50_us <= s.p99_us);
    CHECK(s.p99_us <= s.p999_us);
    CHECK(s.p999_us <= s.max_us);
  }
  CHECK(report->latency[3].message_size == 256 << 10);
  for (const BandwidthStats& s : report->bandwidth) {
    CHECK(s.messages == 1000);
    CHECK(s.bytes == 1000ull * s.message_size);
    CHECK(s.gbps > 0);
  }
  CHECK(agent.WaitLog("session done after 8 tests"));
  CHECK(agent.counters().tests_ok == 8);
}

TEST_CASE("loopback: a duration-bounded bandwidth run lasts about that long") {
  RunningAgent agent;
  auto client = MakeTcpClientTransport();
  ProbeOptions o = Options(agent.address(), {TestKind::kBandwidth}, {65536});
  o.iterations = 0;
  o.duration = 300ms;
  auto report = RunProbe(o, *client);
  REQUIRE_MESSAGE(report, report.error().Format());
  CHECK(report->bandwidth[0].seconds == doctest::Approx(0.3).epsilon(0.2));
  CHECK(report->bandwidth[0].bytes == report->bandwidth[0].messages * 65536);
}

TEST_CASE("a wrong token is refused and the agent keeps serving") {
  RunningAgent agent;
  auto client = MakeTcpClientTransport();
  ProbeOptions bad = Options(agent.address(), {TestKind::kLatency}, {8});
  bad.token = Bytes(20, 'x');
  auto r = RunProbe(bad, *client);
  REQUIRE_FALSE(r);
  CHECK(r.error().where == agent.address());
  CHECK(r.error().message == "agent's reply failed authentication: the agent uses a different token");
  CHECK(agent.WaitLog("closed before authenticating: connection closed by peer"));
  CHECK(agent.counters().handshakes_failed == 1);
  CHECK(agent.counters().sessions_failed == 0);
  CHECK(RunProbe(Options(agent.address(), {TestKind::kLatency}, {8}), *client));
}

TEST_CASE("a malformed message closes only that connection") {
  RunningAgent agent;
  auto client = MakeTcpClientTransport();
  // A good client streams for a while; meanwhile another connection sends garbage.
  std::optional<Result<ProbeReport>> good;
  std::thread t([&] {
    ProbeOptions o = Options(agent.address(), {TestKind::kBandwidth}, {65536});
    o.iterations = 0;
    o.duration = 600ms;
    good = RunProbe(o, *client);
  });
  REQUIRE(agent.WaitLog("tcp session"));
  Fd raw = RawConnect(agent.address());
  const char garbage[] = "GET / HTTP/1.0\r\n\r\n";
  REQUIRE(WriteAll(raw.get(), std::span(reinterpret_cast<const std::uint8_t*>(garbage), sizeof garbage - 1),
                   DeadlineAfter(1000ms)));
  CHECK(ClosedByPeer(raw.get(), 2000ms));
  CHECK(agent.WaitLog("closed before authenticating: not a fabricctl probe frame (bad magic)"));
  t.join();
  REQUIRE(good.has_value());
  CHECK_MESSAGE(good->has_value(), good->error().Format());

  // An oversized length field is refused before anything is read into memory.
  Fd huge = RawConnect(agent.address());
  const std::uint8_t header[16] = {'F', 'C', 'P', '2', 0x40, 0, 0, 0};
  REQUIRE(WriteAll(huge.get(), header, DeadlineAfter(1000ms)));
  CHECK(ClosedByPeer(huge.get(), 2000ms));
  CHECK(agent.WaitLog("frame body of 1073741824 bytes exceeds the limit"));
  CHECK(RunProbe(Options(agent.address(), {TestKind::kLatency}, {8}), *client));
}

TEST_CASE("a silent connection is closed after the handshake timeout") {
  RunningAgent agent;
  Fd raw = RawConnect(agent.address());
  // The log line names the handshake timeout as the reason: the close came from that bound.
  CHECK(ClosedByPeer(raw.get(), 5000ms));
  CHECK(agent.WaitLog("closed before authenticating: no authenticated hello within 2000 ms"));
}

TEST_CASE("authenticated sessions beyond --max-sessions are refused with a reason, the running one is untouched") {
  RunningAgent agent({.max_sessions = 1, .idle_timeout = 5000ms});
  auto client = MakeTcpClientTransport();
  // Holds the one slot: authenticated, then silent while the agent waits for its data
  // connection (up to the hello's 1 s timeout).
  ControlChannel hog = HandshakenClient(agent.address());
  auto r = RunProbe(Options(agent.address(), {TestKind::kLatency}, {8}), *client);
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "agent refused: busy: 1 sessions running (--max-sessions); try again later");
  CHECK(agent.WaitLog("refused: busy: 1 sessions running (--max-sessions)"));
  CHECK(agent.WaitLog("closed: tcp setup"));  // the hog's session ends, and its slot is free
  CHECK(RunProbe(Options(agent.address(), {TestKind::kLatency}, {8}), *client));
}

TEST_CASE("idle unauthenticated connections take no session slot") {
  // Before, four idle connections held all four slots for the handshake timeout.
  RunningAgent agent({.max_sessions = 1, .handshake_timeout = 600000ms, .idle_timeout = 5000ms});
  std::vector<Fd> idle;
  for (int i = 0; i < 8; ++i) idle.push_back(ConnectFrom("127.0.0.2", agent.address()));
  REQUIRE(agent.WaitCounters([](const AgentCounters& c) { return c.unauthenticated_open == 8; }));
  auto client = MakeTcpClientTransport();
  auto r = RunProbe(Options(agent.address(), {TestKind::kLatency}, {8}), *client);
  CHECK_MESSAGE(r, r.error().Format());
  CHECK(agent.counters().unauthenticated_open == 8);
}

TEST_CASE("connections over the per-source limit are refused; other sources are served") {
  RunningAgent agent({.handshake_timeout = 600000ms, .idle_timeout = 5000ms});
  std::vector<Fd> held;
  for (int i = 0; i < 12; ++i) held.push_back(ConnectFrom("127.0.0.3", agent.address()));
  REQUIRE(agent.WaitCounters([](const AgentCounters& c) { return c.connections_refused == 4; }));
  CHECK(agent.counters().unauthenticated_open == 8);
  CHECK(agent.WaitLog("refused: 8 unauthenticated connections from this address already"));
  CHECK(ClosedByPeer(held.back().get(), 2000ms));
  auto client = MakeTcpClientTransport();
  auto r = RunProbe(Options(agent.address(), {TestKind::kLatency}, {8}), *client);
  CHECK_MESSAGE(r, r.error().Format());
}

TEST_CASE("when all unauthenticated places are taken, the busiest source makes room") {
  RunningAgent agent({.max_unauthenticated = 16,  // the floor: the agent holds at least 16
                      .max_unauthenticated_per_source = 16,
                      .max_connections_per_source = 32,
                      .handshake_timeout = 600000ms,
                      .idle_timeout = 5000ms});
  REQUIRE(agent.unauthenticated_capacity() == 16);
  std::vector<Fd> flood;
  for (int i = 0; i < 16; ++i) flood.push_back(ConnectFrom("127.0.0.4", agent.address()));
  REQUIRE(agent.WaitCounters([](const AgentCounters& c) { return c.unauthenticated_open == 16; }));
  auto client = MakeTcpClientTransport();
  auto r = RunProbe(Options(agent.address(), {TestKind::kLatency}, {8}), *client);
  CHECK_MESSAGE(r, r.error().Format());
  CHECK(agent.counters().connections_dropped == 1);
  CHECK(ClosedByPeer(flood.front().get(), 2000ms));  // the oldest of the flooding address
}

TEST_CASE("a hello recorded from one connection is refused on another") {
  RunningAgent agent;
  // A legitimate handshake, recorded on the wire.
  ControlChannel ch(RawConnect(agent.address()), Role::kClient, kToken);
  REQUIRE(ch.ReceiveMessage(DeadlineAfter(1000ms)));
  Bytes hello = ch.codec().Seal(
      Hello{.client_nonce = RandomNonce(), .transport = "tcp", .max_message_size = 64, .timeout_ms = 1000});
  REQUIRE(WriteAll(ch.fd(), hello, DeadlineAfter(1000ms)));
  auto ack = ch.ReceiveMessage(DeadlineAfter(1000ms));
  REQUIRE(ack);
  REQUIRE(std::holds_alternative<HelloAck>(*ack));
  // The replay, on a new connection.
  Fd replay = RawConnect(agent.address());
  REQUIRE(WriteAll(replay.get(), hello, DeadlineAfter(1000ms)));
  CHECK(ClosedByPeer(replay.get(), 2000ms));
  CHECK(agent.WaitLog("closed before authenticating: authentication failed: bad HMAC"));
  CHECK(agent.counters().handshakes_failed == 1);
}

TEST_CASE("log lines about unauthenticated peers are rate limited") {
  RunningAgent agent({.idle_timeout = 5000ms, .log_lines_per_second = 1});
  for (int i = 0; i < 30; ++i) {
    Fd garbage = ConnectFrom(fmt::format("127.0.5.{}", i + 1), agent.address());
    Send(garbage.get(), "GET / HTTP/1.0\r\n\r\n");
  }
  REQUIRE(agent.WaitCounters([](const AgentCounters& c) { return c.handshakes_failed == 30; }));
  CHECK(agent.counters().log_lines_suppressed > 0);
  CHECK(agent.LogCount("closed before authenticating") < 30);
  CHECK(agent.WaitLog("similar lines about unauthenticated connections (at most 1 a second)"));
}

// Descriptors for `needed` sockets in this process, raising the soft limit if needed.
bool EnsureDescriptors(rlim_t needed) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  if (limit.rlim_cur >= needed) return true;
  if (limit.rlim_max < needed) return false;
  limit.rlim_cur = needed;
  return ::setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

TEST_CASE("1000 hostile connections held open do not keep legitimate probes out") {
  // Both ends of every connection live in this process, plus the agent's own.
  REQUIRE_MESSAGE(EnsureDescriptors(3000), "needs RLIMIT_NOFILE >= 3000 (ulimit -n)");
  // A handshake timeout far beyond the test: the hostile connections stay held throughout,
  // the worst case for the agent, and nothing depends on timing.
  RunningAgent agent({.max_sessions = 4, .handshake_timeout = 600000ms, .idle_timeout = 5000ms});
  REQUIRE(agent.unauthenticated_capacity() >= 1000);
  auto client = MakeTcpClientTransport();

  // A legitimate hello, recorded on the wire for the replay attack; its session then fails
  // in the transport's setup.
  Bytes hello;
  {
    ControlChannel recorded(RawConnect(agent.address()), Role::kClient, kToken);
    REQUIRE(recorded.ReceiveMessage(DeadlineAfter(2000ms)));
    hello = recorded.codec().Seal(
        Hello{.client_nonce = RandomNonce(), .transport = "tcp", .max_message_size = 64, .timeout_ms = 1000});
    REQUIRE(WriteAll(recorded.fd(), hello, DeadlineAfter(1000ms)));
    REQUIRE(recorded.ReceiveMessage(DeadlineAfter(2000ms)));
  }
  REQUIRE(agent.WaitCounters([](const AgentCounters& c) { return c.sessions_failed == 1; }));

  // 1000 connections from 250 loopback addresses, four of each kind from each: idle,
  // garbage, slowloris (a frame header one byte at a time) and the replayed hello.
  const Bytes header = {'F', 'C', 'P', '2', 0, 0, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0};
  std::vector<Fd> idle, slow, closed_by_agent;
  for (int i = 0; i < 1000; ++i) {
    Fd fd = ConnectFrom(fmt::format("127.0.1.{}", 1 + i / 4), agent.address());
    switch (i % 4) {
      case 0:
        idle.push_back(std::move(fd));
        break;
      case 1:
        Send(fd.get(), "GET / HTTP/1.0\r\n\r\n");
        closed_by_agent.push_back(std::move(fd));
        break;
      case 2:
        Send(fd.get(), std::string_view(reinterpret_cast<const char*>(header.data()), 1));
        slow.push_back(std::move(fd));
        break;
      default:
        REQUIRE(WriteAll(fd.get(), hello, DeadlineAfter(1000ms)));
        closed_by_agent.push_back(std::move(fd));
    }
  }
  REQUIRE(agent.WaitCounters(
      [](const AgentCounters& c) { return c.unauthenticated_open == 500 && c.handshakes_failed == 500; }, 30000ms));

  // While the idle and slowloris connections are held (and drip on), legitimate probes
  // succeed, one after another and four at once.
  for (std::size_t round = 1; round <= 8; ++round) {
    auto r = RunProbe(Options(agent.address(), {TestKind::kLatency}, {8}), *client);
    CHECK_MESSAGE(r, r.error().Format());
    for (const Fd& fd : slow) Send(fd.get(), std::string_view(reinterpret_cast<const char*>(header.data()) + round, 1));
  }
  std::vector<std::optional<Result<ProbeReport>>> parallel(4);
  std::vector<std::thread> threads;
  for (auto& result : parallel)
    threads.emplace_back([&] { result = RunProbe(Options(agent.address(), {TestKind::kLatency}, {8}), *client); });
  for (auto& t : threads) t.join();
  for (const auto& result : parallel) CHECK_MESSAGE(result->has_value(), result->error().Format());

  CHECK(agent.counters().unauthenticated_open == 500);  // every hostile connection still held
  CHECK(agent.WaitCounters([](const AgentCounters& c) { return c.sessions_ok == 12; }));
  CHECK(agent.counters().sessions_failed == 1);  // no replay got a session
  CHECK(agent.counters().sessions_refused == 0);
  CHECK(agent.counters().connections_refused == 0);
  for (const Fd& fd : closed_by_agent) CHECK(ClosedByPeer(fd.get(), 2000ms));
}

TEST_CASE("a client that vanishes mid-test frees its session on the agent") {
  RunningAgent agent;
  ControlChannel ch = HandshakenClient(agent.address());
  auto port = ch.Receive(1000ms);  // the TCP transport's data port; never connected to
  REQUIRE(port);
  CHECK(agent.WaitLog("closed: tcp setup: data connection from client: timed out waiting for a connection"));
  CHECK(agent.counters().sessions_failed == 1);
}

// The data address the agent announced in its port message.
SocketAddress DataAddress(const std::string& agent_address, const Bytes& port_msg) {
  auto data_addr = ParseHostPort(agent_address, 0);
  REQUIRE(data_addr);
  REQUIRE(port_msg.size() == 19);
  SetAddressPort(data_addr->addr, static_cast<std::uint16_t>((port_msg[1] << 8) | port_msg[2]));
  return *data_addr;
}

TEST_CASE("a silent stranger on the data port does not hold up the client's data connection") {
  RunningAgent agent;
  // The session's timeout is long: the agent must not spend it on the stranger.
  ControlChannel ch = HandshakenClient(agent.address(), 60000);
  auto port_msg = ch.Receive(1000ms);
  REQUIRE(port_msg);
  SocketAddress data_addr = DataAddress(agent.address(), *port_msg);
  // Strangers on the client's host connect first: silent, a partial cookie, a wrong cookie.
  auto silent = ConnectTcp(data_addr, DeadlineAfter(1000ms));
  auto partial = ConnectTcp(data_addr, DeadlineAfter(1000ms));
  auto wrong = ConnectTcp(data_addr, DeadlineAfter(1000ms));
  REQUIRE(silent);
  REQUIRE(partial);
  REQUIRE(wrong);
  Send(partial->get(), std::string_view(reinterpret_cast<const char*>(port_msg->data() + 3), 8));
  Send(wrong->get(), std::string(16, 'x'));
  auto data = ConnectTcp(data_addr, DeadlineAfter(1000ms));
  REQUIRE(data);
  REQUIRE(WriteAll(data->get(), std::span(port_msg->data() + 3, 16), DeadlineAfter(1000ms)));

  REQUIRE(
      ch.SendMessage(TestRequest{.kind = TestKind::kBandwidth, .message_size = 8, .iterations = 2, .timeout_ms = 1000},
                     DeadlineAfter(1000ms)));
  Bytes stream(16, 0);
  stream[8] = 1;  // message 1's sequence number
  REQUIRE(WriteAll(data->get(), stream, DeadlineAfter(1000ms)));
  (void)ch.Send(Bytes{'E', 0, 0, 0, 0, 0, 0, 0, 2});
  auto report = ch.Receive(3000ms);
  REQUIRE_MESSAGE(report, report.error().message);
  CHECK(report->size() == 25);
  auto done = ch.ReceiveMessage(DeadlineAfter(1000ms));
  REQUIRE(done);
  auto* d = std::get_if<TestDone>(&*done);
  REQUIRE(d != nullptr);
  CHECK(d->ok);
  CHECK(ClosedByPeer(wrong->get(), 1000ms));
  (void)ch.SendMessage(Bye{}, DeadlineAfter(1000ms));
}

TEST_CASE("a client that trickles data cannot keep a test running past its duration") {
  for (TestKind kind : {TestKind::kLatency, TestKind::kBandwidth}) {
    CAPTURE(TestKindName(kind));
    RunningAgent agent;
    ControlChannel ch = HandshakenClient(agent.address());
    auto port_msg = ch.Receive(1000ms);
    REQUIRE(port_msg);
    auto data = ConnectTcp(DataAddress(agent.address(), *port_msg), DeadlineAfter(1000ms));
    REQUIRE(data);
    REQUIRE(WriteAll(data->get(), std::span(port_msg->data() + 3, 16), DeadlineAfter(1000ms)));
    // 100 ms of test with a 300 ms timeout: the agent may spend 700 ms on it.
    REQUIRE(ch.SendMessage(TestRequest{.kind = kind, .message_size = 1, .duration_ms = 100, .timeout_ms = 300},
                           DeadlineAfter(1000ms)));
    // One whole message (one byte, numbered as the stream expects) every 100 ms, well
    // inside the timeout, and never an "end"; echoes are left unread. The attack itself is
    // paced; the agent must end it on its own.
    std::optional<Result<Message>> done;
    for (int sent = 0; sent < 100 && !done; ++sent) {
      (void)WriteAll(data->get(), Bytes{static_cast<std::uint8_t>(sent)}, DeadlineAfter(100ms));
      if (auto ready = ch.Pending(100ms); ready && *ready) done = ch.ReceiveMessage(DeadlineAfter(1000ms));
    }
    REQUIRE(done.has_value());
    REQUIRE(done->has_value());
    auto* d = std::get_if<TestDone>(&**done);
    REQUIRE(d != nullptr);
    CHECK_FALSE(d->ok);
    CHECK(d->error == "test still running after 700 ms (its duration and twice its timeout)");
  }
}

TEST_CASE("the agent detects a corrupted or reordered bandwidth stream") {
  RunningAgent agent;
  ControlChannel ch = HandshakenClient(agent.address());
  // Speak the TCP transport's data setup by hand: port and cookie from the agent.
  auto port_msg = ch.Receive(1000ms);
  REQUIRE(port_msg);
  REQUIRE(port_msg->size() == 19);
  auto data_addr = ParseHostPort(agent.address(), 0);
  REQUIRE(data_addr);
  SetAddressPort(data_addr->addr, static_cast<std::uint16_t>(((*port_msg)[1] << 8) | (*port_msg)[2]));
  auto data = ConnectTcp(*data_addr, DeadlineAfter(1000ms));
  REQUIRE(data);
  REQUIRE(WriteAll(data->get(), std::span(port_msg->data() + 3, 16), DeadlineAfter(1000ms)));

  REQUIRE(ch.SendMessage(
      TestRequest{.kind = TestKind::kBandwidth, .message_size = 16, .iterations = 10, .timeout_ms = 1000},
      DeadlineAfter(1000ms)));
  // Ten 16-byte messages whose first 8 bytes should be their sequence numbers 0..9
  // (little-endian); message 3 claims to be message 4.
  Bytes stream(160, 0xab);
  for (int m = 0; m < 10; ++m) {
    std::uint64_t seq = m == 3 ? 4 : m;
    for (int i = 0; i < 8; ++i) stream[m * 16 + i] = static_cast<std::uint8_t>(seq >> (8 * i));
  }
  REQUIRE(WriteAll(data->get(), stream, DeadlineAfter(1000ms)));
  Bytes end = {'E', 0, 0, 0, 0, 0, 0, 0, 10};
  (void)ch.Send(end);
  auto done = ch.ReceiveMessage(DeadlineAfter(3000ms));
  REQUIRE(done);
  auto* d = std::get_if<TestDone>(&*done);
  REQUIRE(d != nullptr);
  CHECK_FALSE(d->ok);
  CHECK(d->error == "bandwidth test: message 3 arrived corrupted or out of order");
  CHECK(agent.WaitLog("closed: tcp bw 16 B: bandwidth test: message 3 arrived corrupted or out of order"));
}

TEST_CASE("stopping the agent ends running tests promptly") {
  for (TestKind kind : {TestKind::kLatency, TestKind::kBandwidth}) {
    CAPTURE(TestKindName(kind));
    auto agent = std::make_unique<RunningAgent>();
    auto client = MakeTcpClientTransport();
    std::optional<Result<ProbeReport>> result;
    ProbeOptions o = Options(agent->address(), {kind}, {1024});
    o.iterations = 0;
    o.duration = 30000ms;
    std::thread t([&] { result = RunProbe(o, *client); });
    REQUIRE(agent->WaitLog("tcp session"));
    agent.reset();  // stop, as SIGTERM does
    t.join();
    // A test left running would have lasted its 30 s and succeeded; the stop cut it short.
    REQUIRE(result.has_value());
    CHECK_FALSE(result->has_value());
  }
}

TEST_CASE("an agent that stops answering mid-test gives the client an error within the timeout") {
  // A fake agent: completes the handshake and the data connection, then goes silent.
  auto listen = ParseHostPort("127.0.0.1:0", 1);
  REQUIRE(listen);
  SetAddressPort(listen->addr, 0);
  auto lfd = ListenTcp(*listen, 4);
  REQUIRE(lfd);
  auto bound = LocalAddress(lfd->get());
  std::atomic<bool> done{false};
  std::thread fake([&] {
    SocketAddress from;
    auto fd = AcceptTcp(lfd->get(), DeadlineAfter(3000ms), from);
    if (!fd) return;
    auto local = LocalAddress(fd->get());
    ControlChannel ch(std::move(*fd), Role::kAgent, kToken);
    (void)ch.SendMessage(Challenge{.agent_nonce = RandomNonce()}, DeadlineAfter(1000ms));
    auto hello = ch.ReceiveMessage(DeadlineAfter(2000ms));
    if (!hello) return;
    (void)ch.SendMessage(HelloAck{}, DeadlineAfter(1000ms));
    PeerAddress peer{.local = local->addr, .local_len = local->len, .remote = from.addr, .remote_len = from.len};
    auto server = MakeTcpServerTransport();
    auto session = server->Accept(peer, SessionSpec{.max_message_size = 8, .timeout = 2000ms}, ch);
    while (!done) std::this_thread::sleep_for(10ms);  // hold everything open, answer nothing
  });
  auto client = MakeTcpClientTransport();
  ProbeOptions o = Options(AddressText(bound->addr, bound->len), {TestKind::kLatency}, {8});
  o.timeout = 1000ms;
  auto r = RunProbe(o, *client);
  done = true;
  fake.join();
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "tcp lat 8 B: data connection failed after 0 messages: timed out waiting for peer");
}

// Orders: agents on different loopback addresses (all of 127/8 is local), so a probe's
// source address shows which agent it came from.

PeerList Peers(std::initializer_list<std::string> addresses) {
  std::string text;
  int n = 0;
  for (const std::string& a : addresses) text += fmt::format("host{} {}\n", ++n, a);
  auto peers = ParsePeerList(text, "peers");
  REQUIRE_MESSAGE(peers, (peers ? std::string() : peers.error().Format()));
  return *peers;
}

AgentOptions OrderAgentOptions(std::optional<PeerList> peers) {
  return AgentOptions{.peers = std::move(peers), .idle_timeout = 5000ms};
}

OrderSettings QuickOrder() {
  return OrderSettings{
      .latency_iterations = 200, .message_size = 65536, .bandwidth_duration = 100ms, .timeout = 2000ms};
}

OrderSession OpenOrders(const RunningAgent& agent) {
  auto session = OrderSession::Open(agent.address(), kToken, 2000ms);
  REQUIRE_MESSAGE(session, (session ? std::string() : session.error().Format()));
  return std::move(*session);
}

TEST_CASE("orders: agent A probes agent B from its own address, several orders on one session") {
  RunningAgent b({.idle_timeout = 5000ms}, "127.0.0.3:0");
  RunningAgent a(OrderAgentOptions(Peers({b.address()})), "127.0.0.2:0");
  OrderSession session = OpenOrders(a);
  for (int round = 1; round <= 2; ++round) {
    auto results = session.Run({OrderItem{.source = "127.0.0.2", .target = b.address()}}, QuickOrder());
    REQUIRE_MESSAGE(results, (results ? std::string() : results.error().Format()));
    REQUIRE(results->size() == 1);
    const OrderResult& r = results->front();
    CHECK_MESSAGE(r.ok, r.error);
    CHECK(r.latency_us > 0);
    CHECK(r.gbps > 0);
  }
  // B served both tests of both rounds to sessions from A's source address (it counts a
  // test after its reply is on the wire: wait for it).
  CHECK(b.WaitCounters([](const AgentCounters& c) { return c.tests_ok == 4; }));
  CHECK(b.LogCount("127.0.0.2:") >= 4);
  CHECK(b.log().find("127.0.0.1:") == std::string::npos);
  CHECK(a.counters().orders_ok == 2);
  CHECK(a.counters().order_items_ok == 2);
  session.Close();
  CHECK(a.WaitLog("order session done after 2 orders"));
}

TEST_CASE("orders: items run side by side, each with its own result") {
  RunningAgent b({.max_sessions = 8, .idle_timeout = 5000ms}, "127.0.0.3:0");
  RunningAgent c({.idle_timeout = 5000ms}, "127.0.0.4:0");
  RunningAgent a(OrderAgentOptions(Peers({b.address(), c.address(), "127.0.0.9:1"})), "127.0.0.2:0");
  OrderSession session = OpenOrders(a);
  auto results =
      session.Run({OrderItem{.source = "127.0.0.2", .target = b.address()}, OrderItem{.target = c.address()},
                   OrderItem{.source = "198.18.255.254", .target = b.address()}, OrderItem{.target = "127.0.0.9:1"}},
                  QuickOrder());
  REQUIRE_MESSAGE(results, (results ? std::string() : results.error().Format()));
  REQUIRE(results->size() == 4);
  CHECK((*results)[0].ok);
  CHECK((*results)[1].ok);
  // A source that is not this host's is refused before any traffic.
  CHECK_FALSE((*results)[2].ok);
  CHECK((*results)[2].error.find("source 198.18.255.254 is not an address of this host") != std::string::npos);
  // Nobody listens there: an item error, the other items are unaffected.
  CHECK_FALSE((*results)[3].ok);
  CHECK((*results)[3].error.find("cannot connect to 127.0.0.9:1") != std::string::npos);
  CHECK(b.WaitCounters([](const AgentCounters& counters) { return counters.tests_ok == 2; }));
  CHECK(c.WaitCounters([](const AgentCounters& counters) { return counters.tests_ok == 2; }));
  CHECK(a.counters().order_items_failed == 2);
}

TEST_CASE("orders: a target that never answers gives an item error within the timeout") {
  // Accepts connections (the kernel completes them) but never says a word.
  auto silent_address = ParseHostPort("127.0.0.5:0", 1);
  REQUIRE(silent_address);
  auto silent = ListenTcp(*silent_address, 16);
  REQUIRE(silent);
  auto bound = LocalAddress(silent->get());
  REQUIRE(bound);
  std::string target = AddressText(bound->addr, bound->len);
  RunningAgent a(OrderAgentOptions(Peers({target})), "127.0.0.2:0");
  OrderSession session = OpenOrders(a);
  OrderSettings settings = QuickOrder();
  settings.timeout = 300ms;
  auto results = session.Run({OrderItem{.target = target}}, settings);
  REQUIRE_MESSAGE(results, (results ? std::string() : results.error().Format()));
  CHECK_FALSE(results->front().ok);
  CHECK(results->front().error.find("sent no challenge in time") != std::string::npos);
  CHECK(session.is_open());
}

TEST_CASE("orders: a target outside --peers is refused, and nothing reaches it") {
  RunningAgent b({.idle_timeout = 5000ms}, "127.0.0.3:0");
  RunningAgent c({.idle_timeout = 5000ms}, "127.0.0.4:0");
  RunningAgent a(OrderAgentOptions(Peers({b.address()})), "127.0.0.2:0");
  OrderSession session = OpenOrders(a);
  auto results = session.Run({OrderItem{.target = b.address()}, OrderItem{.target = c.address()}}, QuickOrder());
  REQUIRE_FALSE(results);
  CHECK(results.error().message ==
        fmt::format("agent: order refused: target {} is not a DATA_ADDR of this agent's --peers file", c.address()));
  CHECK_FALSE(session.is_open());
  CHECK(a.WaitLog("order refused: target"));
  CHECK(a.counters().orders_refused == 1);
  CHECK(b.counters().tests_ok == 0);
  CHECK(c.counters().tests_ok == 0);
  CHECK(c.counters().sessions_ok == 0);
}

TEST_CASE("orders: an agent without --peers refuses every order") {
  RunningAgent b({.idle_timeout = 5000ms}, "127.0.0.3:0");
  RunningAgent a(OrderAgentOptions(std::nullopt), "127.0.0.2:0");
  OrderSession session = OpenOrders(a);
  auto results = session.Run({OrderItem{.target = b.address()}}, QuickOrder());
  REQUIRE_FALSE(results);
  CHECK(results.error().message == "agent: order refused: this agent takes no orders (it was started without --peers)");
  CHECK(b.counters().tests_ok == 0);
}

// An order session set up by hand, to send frames the order client never would.
ControlChannel OrderChannel(const std::string& address) {
  ControlChannel ch(RawConnect(address), Role::kClient, kToken);
  auto r = RunClientHandshake(
      ch, Hello{.client_nonce = RandomNonce(), .transport = "order", .max_message_size = 1, .timeout_ms = 2000},
      DeadlineAfter(2000ms));
  REQUIRE_MESSAGE(r, (r ? std::string() : r.error().Format()));
  return ch;
}

TEST_CASE("orders: a forged or replayed order frame closes the session without running anything") {
  RunningAgent b({.idle_timeout = 5000ms}, "127.0.0.3:0");
  RunningAgent a(OrderAgentOptions(Peers({b.address()})), "127.0.0.2:0");
  OrderRequest order{.settings = QuickOrder(), .items = {OrderItem{.target = b.address()}}};
  SUBCASE("a flipped bit") {
    ControlChannel ch = OrderChannel(a.address());
    Bytes frame = ch.codec().Seal(order);
    frame[kFrameHeaderSize + 3] ^= 1;
    REQUIRE(WriteAll(ch.fd(), frame, DeadlineAfter(1000ms)));
    CHECK(ClosedByPeer(ch.fd(), 3000ms));
    CHECK(a.WaitLog("authentication failed: bad HMAC"));
    CHECK(b.counters().tests_ok == 0);
  }
  SUBCASE("a wrong token") {
    ControlChannel ch = OrderChannel(a.address());
    FrameCodec other(Role::kClient, Bytes(32, 'x'));
    REQUIRE(WriteAll(ch.fd(), other.Seal(order), DeadlineAfter(1000ms)));
    CHECK(ClosedByPeer(ch.fd(), 3000ms));
    CHECK(b.counters().tests_ok == 0);
  }
  SUBCASE("a replayed order") {
    ControlChannel ch = OrderChannel(a.address());
    Bytes frame = ch.codec().Seal(order);
    REQUIRE(WriteAll(ch.fd(), frame, DeadlineAfter(1000ms)));
    auto reply = ch.ReceiveMessage(DeadlineAfter(10000ms));
    REQUIRE(reply);
    REQUIRE(std::holds_alternative<OrderReply>(*reply));
    REQUIRE(WriteAll(ch.fd(), frame, DeadlineAfter(1000ms)));
    CHECK(ClosedByPeer(ch.fd(), 3000ms));
    CHECK(a.WaitLog("replayed or out-of-order frame"));
    CHECK(b.WaitCounters([](const AgentCounters& c) { return c.tests_ok == 2; }));  // the first order only
  }
  SUBCASE("a second order while one runs") {
    ControlChannel ch = OrderChannel(a.address());
    REQUIRE(ch.SendMessage(order, DeadlineAfter(1000ms)));
    REQUIRE(ch.SendMessage(order, DeadlineAfter(1000ms)));
    CHECK(ClosedByPeer(ch.fd(), 10000ms));
    CHECK(a.WaitLog("protocol error: order while an order was running"));
    CHECK(a.counters().orders_ok == 0);
  }
  CHECK(a.counters().orders_ok <= 1);
}

TEST_CASE("an agent listens on every --listen address") {
  auto second = ParseHostPort("127.0.0.7:0", 1);
  REQUIRE(second);
  RunningAgent a({.also_listen = {*second}, .idle_timeout = 5000ms}, "127.0.0.6:0");
  REQUIRE(a.bound_addresses().size() == 2);
  auto client = MakeTcpClientTransport();
  for (const SocketAddress& address : a.bound_addresses()) {
    auto r = RunProbe(Options(AddressText(address.addr, address.len), {TestKind::kLatency}, {8}), *client);
    CHECK_MESSAGE(r, (r ? std::string() : r.error().Format()));
  }
  // The agent counts a test after its reply is on the wire: wait for it.
  CHECK(a.WaitCounters([](const AgentCounters& c) { return c.tests_ok == 2; }));
}

}  // namespace
}  // namespace fabricctl::probes
