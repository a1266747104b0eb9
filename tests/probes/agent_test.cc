// The agent and the client over loopback TCP: real sockets, real measurements.
#include "probes/agent.h"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "probes/control_protocol.h"
#include "probes/probe_client.h"
#include "probes/tcp_transport.h"

namespace fabricctl::probes {
namespace {

using namespace std::chrono_literals;

const Bytes kToken = {'l', 'o', 'o', 'p', 'b', 'a', 'c', 'k', '-', 't', 'o', 'k', 'e', 'n', '-', '1', '6'};

// An agent on 127.0.0.1 with an ephemeral port, serving from a thread until destroyed.
class RunningAgent {
 public:
  explicit RunningAgent(int max_sessions = 4) {
    std::vector<std::unique_ptr<ServerTransport>> transports;
    transports.push_back(MakeTcpServerTransport());
    auto listen = ParseHostPort("127.0.0.1:0", 1);
    REQUIRE(listen);
    SetAddressPort(listen->addr, 0);
    agent_ = std::make_unique<Agent>(AgentOptions{.listen = *listen,
                                                  .token = kToken,
                                                  .max_sessions = max_sessions,
                                                  .handshake_timeout = 2000ms,
                                                  .idle_timeout = 5000ms},
                                     std::move(transports), [this](std::string_view line) {
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
  // Waits until the log contains `text` (the agent works in its own threads).
  bool WaitLog(std::string_view text, std::chrono::milliseconds limit = 3000ms) {
    auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      if (log().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
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
  CHECK(agent.WaitLog("closed: authentication failed: bad HMAC"));
  CHECK(agent.counters().sessions_failed == 1);
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
  std::this_thread::sleep_for(100ms);
  Fd raw = RawConnect(agent.address());
  const char garbage[] = "GET / HTTP/1.0\r\n\r\n";
  REQUIRE(WriteAll(raw.get(), std::span(reinterpret_cast<const std::uint8_t*>(garbage), sizeof garbage - 1),
                   DeadlineAfter(1000ms)));
  CHECK(ClosedByPeer(raw.get(), 2000ms));
  CHECK(agent.WaitLog("closed: not a fabricctl probe frame (bad magic)"));
  t.join();
  REQUIRE(good.has_value());
  CHECK_MESSAGE(good->has_value(), good->error().Format());

  // An oversized length field is refused before anything is read into memory.
  Fd huge = RawConnect(agent.address());
  const std::uint8_t header[16] = {'F', 'C', 'P', '1', 0x40, 0, 0, 0};
  REQUIRE(WriteAll(huge.get(), header, DeadlineAfter(1000ms)));
  CHECK(ClosedByPeer(huge.get(), 2000ms));
  CHECK(agent.WaitLog("frame body of 1073741824 bytes exceeds the limit"));
  CHECK(RunProbe(Options(agent.address(), {TestKind::kLatency}, {8}), *client));
}

TEST_CASE("a silent connection is closed after the handshake timeout") {
  RunningAgent agent;
  Fd raw = RawConnect(agent.address());
  auto start = Clock::now();
  CHECK(ClosedByPeer(raw.get(), 5000ms));
  CHECK(Clock::now() - start < 3500ms);
  CHECK(agent.WaitLog("closed: timed out waiting for peer"));
}

TEST_CASE("sessions beyond --max-sessions are refused, the running one is untouched") {
  RunningAgent agent(/*max_sessions=*/1);
  auto client = MakeTcpClientTransport();
  Fd hog = RawConnect(agent.address());  // holds the one slot until its handshake times out
  std::this_thread::sleep_for(100ms);
  auto r = RunProbe(Options(agent.address(), {TestKind::kLatency}, {8}), *client);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.starts_with("agent closed the connection during the handshake"));
  CHECK(agent.WaitLog("refused: 1 sessions already running (--max-sessions)"));
  hog.Close();
  CHECK(agent.WaitLog("closed:"));
  std::this_thread::sleep_for(300ms);  // the accept loop reaps finished sessions every 200 ms
  CHECK(RunProbe(Options(agent.address(), {TestKind::kLatency}, {8}), *client));
}

TEST_CASE("a client that vanishes mid-test frees its session on the agent") {
  RunningAgent agent;
  Fd raw = RawConnect(agent.address());
  ControlChannel ch(std::move(raw), Role::kClient, kToken);
  Nonce cn = RandomNonce();
  REQUIRE(ch.SendMessage(Hello{.client_nonce = cn, .transport = "tcp", .max_message_size = 64, .timeout_ms = 1000},
                         DeadlineAfter(1000ms)));
  ch.codec().SetClientNonce(cn);
  auto ack = ch.ReceiveMessage(DeadlineAfter(1000ms));
  REQUIRE(ack);
  ch.codec().SetAgentNonce(std::get<HelloAck>(*ack).agent_nonce);
  auto port = ch.Receive(1000ms);  // the TCP transport's data port; never connected to
  REQUIRE(port);
  CHECK(agent.WaitLog("closed: tcp setup: data connection from client: timed out waiting for a connection"));
  CHECK(agent.counters().sessions_failed == 1);
}

TEST_CASE("the agent detects a corrupted or reordered bandwidth stream") {
  RunningAgent agent;
  Fd raw = RawConnect(agent.address());
  ControlChannel ch(std::move(raw), Role::kClient, kToken);
  Nonce cn = RandomNonce();
  REQUIRE(ch.SendMessage(Hello{.client_nonce = cn, .transport = "tcp", .max_message_size = 64, .timeout_ms = 1000},
                         DeadlineAfter(1000ms)));
  ch.codec().SetClientNonce(cn);
  auto ack = ch.ReceiveMessage(DeadlineAfter(1000ms));
  REQUIRE(ack);
  ch.codec().SetAgentNonce(std::get<HelloAck>(*ack).agent_nonce);
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
    std::this_thread::sleep_for(300ms);
    auto start = Clock::now();
    agent.reset();  // stop, as SIGTERM does
    CHECK(Clock::now() - start < 2000ms);
    t.join();
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
    auto hello = ch.ReceiveMessage(DeadlineAfter(2000ms));
    if (!hello) return;
    ch.codec().SetClientNonce(std::get<Hello>(*hello).client_nonce);
    Nonce an = RandomNonce();
    (void)ch.SendMessage(HelloAck{an}, DeadlineAfter(1000ms));
    ch.codec().SetAgentNonce(an);
    PeerAddress peer{.local = local->addr, .local_len = local->len, .remote = from.addr, .remote_len = from.len};
    auto server = MakeTcpServerTransport();
    auto session = server->Accept(peer, SessionSpec{.max_message_size = 8, .timeout = 2000ms}, ch);
    while (!done) std::this_thread::sleep_for(10ms);  // hold everything open, answer nothing
  });
  auto client = MakeTcpClientTransport();
  ProbeOptions o = Options(AddressText(bound->addr, bound->len), {TestKind::kLatency}, {8});
  o.timeout = 1000ms;
  auto start = Clock::now();
  auto r = RunProbe(o, *client);
  auto took = Clock::now() - start;
  done = true;
  fake.join();
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "tcp lat 8 B: data connection failed after 0 messages: timed out waiting for peer");
  CHECK(took < 2000ms);
}

}  // namespace
}  // namespace fabricctl::probes
