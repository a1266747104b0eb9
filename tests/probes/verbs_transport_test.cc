#include "probes/verbs_transport.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

namespace fabricctl::probes {
namespace {

QpInfo SampleInfo() {
  return QpInfo{.qpn = 0x11,
                .psn = 0xabcdef,
                .gid = ParseGid("::ffff:198.18.0.1").value(),
                .lid = 0,
                .mtu = IBV_MTU_1024,
                .link_layer = static_cast<std::uint8_t>(LinkLayer::kEthernet),
                .rkey = 0x1234,
                .addr = 0x7f0012345000,
                .slot_size = 65536,
                .slots = 64,
                .latency_method = VerbsLatencyMethod::kWritePoll,
                .window = 64};
}

TEST_CASE("queue-pair details round-trip through their wire form") {
  const QpInfo in = SampleInfo();
  Bytes b = SerializeQpInfo(in);
  REQUIRE(b.size() == kQpInfoBytes);
  CHECK(b[0] == 'F');
  auto out = ParseQpInfo(b, "agent");
  REQUIRE(out.has_value());
  CHECK(out->qpn == in.qpn);
  CHECK(out->psn == in.psn);
  CHECK(out->gid == in.gid);
  CHECK(out->mtu == in.mtu);
  CHECK(out->rkey == in.rkey);
  CHECK(out->addr == in.addr);
  CHECK(out->slot_size == in.slot_size);
  CHECK(out->slots == in.slots);
  CHECK(out->window == in.window);
  CHECK(out->latency_method == VerbsLatencyMethod::kWritePoll);
}

TEST_CASE("malformed queue-pair details are refused with the reason") {
  Bytes good = SerializeQpInfo(SampleInfo());
  auto message = [](const Bytes& b) { return ParseQpInfo(b, "client 198.18.0.1:4000").error().message; };

  Bytes shortb(good.begin(), good.end() - 1);
  CHECK(message(shortb) == "client 198.18.0.1:4000: bad queue-pair details: 63 bytes, expected 64");
  Bytes magic = good;
  magic[0] = 'X';
  CHECK(message(magic) == "client 198.18.0.1:4000: bad queue-pair details: wrong magic");
  Bytes version = good;
  version[4] = 9;
  CHECK(message(version) == "client 198.18.0.1:4000: bad queue-pair details: version 9, this fabricctl speaks 1");
  QpInfo zero_qpn = SampleInfo();
  zero_qpn.qpn = 0;
  CHECK(message(SerializeQpInfo(zero_qpn)) == "client 198.18.0.1:4000: bad queue-pair details: qpn 0");
  QpInfo big_psn = SampleInfo();
  big_psn.psn = 0x1000000;
  CHECK(message(SerializeQpInfo(big_psn)) == "client 198.18.0.1:4000: bad queue-pair details: psn 16777216");
  QpInfo mtu = SampleInfo();
  mtu.mtu = 7;
  CHECK(message(SerializeQpInfo(mtu)) == "client 198.18.0.1:4000: bad queue-pair details: mtu code 7");
  QpInfo slots = SampleInfo();
  slots.slots = 65;
  CHECK(message(SerializeQpInfo(slots)) == "client 198.18.0.1:4000: bad queue-pair details: 65 slots, window 64");
  QpInfo huge = SampleInfo();
  huge.slot_size = kMaxMessageSize + 1;
  CHECK(message(SerializeQpInfo(huge)).starts_with("client 198.18.0.1:4000: bad queue-pair details: slot size"));
  Bytes reserved = good;
  reserved[61] = 1;
  CHECK(message(reserved) == "client 198.18.0.1:4000: bad queue-pair details: reserved bytes set");
  Bytes method = good;
  method[7] = 2;
  CHECK(message(method) == "client 198.18.0.1:4000: bad queue-pair details: latency method 2");
}

sockaddr_storage V4(const char* addr) {
  sockaddr_storage ss{};
  auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
  sin->sin_family = AF_INET;
  REQUIRE(::inet_pton(AF_INET, addr, &sin->sin_addr) == 1);
  return ss;
}

TEST_CASE("a RoCE peer may only name the connecting host or this host") {
  const Gid peer = ParseGid("::ffff:198.18.0.1").value();
  const std::vector<Gid> local = {ParseGid("::ffff:127.0.0.1").value(), ParseGid("::ffff:198.18.0.2").value()};
  CHECK(CheckPeerGid(peer, LinkLayer::kEthernet, V4("198.18.0.1"), local).has_value());
  // Connected over loopback but naming one of our own addresses: traffic stays on this host.
  CHECK(CheckPeerGid(ParseGid("::ffff:198.18.0.2").value(), LinkLayer::kEthernet, V4("127.0.0.1"), local).has_value());
  auto third = CheckPeerGid(ParseGid("::ffff:198.19.0.9").value(), LinkLayer::kEthernet, V4("198.18.0.1"), local);
  REQUIRE_FALSE(third.has_value());
  CHECK(third.error().message ==
        "RoCE GID 0000:0000:0000:0000:0000:ffff:c613:0009 is neither the control connection's address nor one of "
        "this host's; refusing to send traffic to a third host");
  // InfiniBand GIDs carry no IP address; RC connection semantics protect third hosts.
  CHECK(CheckPeerGid(ParseGid("fe80::2:c903:1").value(), LinkLayer::kInfiniBand, V4("198.18.0.1"), local).has_value());
}

TEST_CASE("this host's addresses include loopback") {
  auto gids = LocalAddressGids();
  const Gid lo = ParseGid("::ffff:127.0.0.1").value();
  CHECK(std::find(gids.begin(), gids.end(), lo) != gids.end());
}

TEST_CASE("the verbs transport reports a host without devices") {
  std::error_code ec;
  auto it = std::filesystem::directory_iterator("/sys/class/infiniband", ec);
  if (!ec && it != std::filesystem::directory_iterator()) return;
  auto c = MakeVerbsClientTransport({});
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().message.starts_with("no RDMA devices"));
  CHECK_FALSE(MakeVerbsServerTransport({}).has_value());
}

// ---- Soft-RoCE in the VM (tools/vm/): both ends in one process, rxe0 -> rxe1 ----

// Two ends of an in-memory, ordered message pipe.
class PipeEnd final : public OobChannel {
 public:
  struct Queue {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Bytes> items;
    bool closed = false;
  };
  PipeEnd(std::shared_ptr<Queue> in, std::shared_ptr<Queue> out) : in_(std::move(in)), out_(std::move(out)) {}
  ~PipeEnd() override {
    std::lock_guard lock(out_->mu);
    out_->closed = true;
    out_->cv.notify_all();
  }
  Result<void> Send(std::span<const std::uint8_t> data) override {
    if (data.size() > kMaxOobBytes) return MakeError("oob message too large");
    std::lock_guard lock(out_->mu);
    if (out_->closed) return MakeError("pipe closed");
    out_->items.emplace_back(data.begin(), data.end());
    out_->cv.notify_all();
    return {};
  }
  Result<bool> Pending(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(in_->mu);
    in_->cv.wait_for(lock, timeout, [&] { return !in_->items.empty() || in_->closed; });
    if (in_->items.empty() && in_->closed) return MakeError("connection closed by the peer");
    return !in_->items.empty();
  }
  Result<Bytes> Receive(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(in_->mu);
    if (!in_->cv.wait_for(lock, timeout, [&] { return !in_->items.empty() || in_->closed; }))
      return MakeError("timed out waiting for the peer");
    if (in_->items.empty()) return MakeError("connection closed by the peer");
    Bytes b = std::move(in_->items.front());
    in_->items.pop_front();
    return b;
  }

 private:
  std::shared_ptr<Queue> in_, out_;
};

std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

struct Pair {
  std::shared_ptr<PipeEnd::Queue> a = std::make_shared<PipeEnd::Queue>();
  std::shared_ptr<PipeEnd::Queue> b = std::make_shared<PipeEnd::Queue>();
  PipeEnd client_oob{a, b};
  PipeEnd server_oob{b, a};
  std::unique_ptr<ClientSession> client;
  std::unique_ptr<ServerSession> server;
};

void Connect(Pair& p, VerbsLatencyMethod method, std::uint32_t max_size) {
  VerbsOptions copt{.device = Env("FABRICCTL_VM_CLIENT_DEV", "rxe0"), .latency_method = method, .window = 16};
  VerbsOptions sopt{.device = Env("FABRICCTL_VM_SERVER_DEV", "rxe1")};
  auto ct = MakeVerbsClientTransport(copt);
  REQUIRE_MESSAGE(ct.has_value(), ct.error().Format());
  auto st = MakeVerbsServerTransport(sopt);
  REQUIRE_MESSAGE(st.has_value(), st.error().Format());
  PeerAddress to_server{.remote = V4("198.18.0.2"), .remote_text = "198.18.0.2:1"};
  PeerAddress to_client{.remote = V4("198.18.0.1"), .remote_text = "198.18.0.1:2"};
  const SessionSpec session{.max_message_size = max_size, .timeout = std::chrono::milliseconds(20000)};
  auto accepted = std::async(std::launch::async, [&] { return (*st)->Accept(to_client, session, p.server_oob); });
  auto c = (*ct)->Connect(to_server, session, p.client_oob);
  auto s = accepted.get();
  REQUIRE_MESSAGE(c.has_value(), c.error().Format());
  REQUIRE_MESSAGE(s.has_value(), s.error().Format());
  p.client = std::move(*c);
  p.server = std::move(*s);
}

TEST_SUITE("vm_verbs") {
  TEST_CASE("latency ping-pong over rxe, both methods, several sizes, data verified") {
    for (auto method : {VerbsLatencyMethod::kSendRecv, VerbsLatencyMethod::kWritePoll}) {
      Pair p;
      Connect(p, method, 65536);
      for (std::uint32_t size : {1u, 8u, 1000u, 4096u, 65536u}) {
        CAPTURE(size);
        CAPTURE(static_cast<int>(method));
        TestSpec spec{.kind = TestKind::kLatency,
                      .message_size = size,
                      .iterations = 50,
                      .warmup = 5,
                      .timeout = std::chrono::milliseconds(20000)};
        auto served = std::async(std::launch::async, [&] { return p.server->Serve(spec); });
        auto lat = p.client->RunLatency(spec);
        auto sv = served.get();
        REQUIRE_MESSAGE(lat.has_value(), lat.error().Format());
        REQUIRE_MESSAGE(sv.has_value(), sv.error().Format());
        CHECK(lat->iterations == 50);
        CHECK(lat->message_size == size);
        CHECK(lat->min_us > 0);
        CHECK(lat->min_us <= lat->p50_us);
        CHECK(lat->p50_us <= lat->max_us);
      }
      // A run by duration ends by the client's mark, which the agent follows.
      TestSpec spec{.kind = TestKind::kLatency,
                    .message_size = 64,
                    .duration = std::chrono::milliseconds(300),
                    .timeout = std::chrono::milliseconds(20000)};
      auto served = std::async(std::launch::async, [&] { return p.server->Serve(spec); });
      auto lat = p.client->RunLatency(spec);
      REQUIRE(served.get().has_value());
      REQUIRE_MESSAGE(lat.has_value(), lat.error().Format());
      CHECK(lat->iterations >= 1);
    }
  }

  TEST_CASE("bandwidth by windowed RDMA WRITE over rxe, data verified by the agent") {
    Pair p;
    Connect(p, VerbsLatencyMethod::kSendRecv, 1 << 20);
    // Emulated rxe moves a few MB/s: short streams; the 64 KiB one wraps the 16 slots.
    for (auto [size, iterations] : {std::pair{64u, 100u}, {4096u, 100u}, {65536u, 40u}, {1u << 20, 12u}}) {
      CAPTURE(size);
      TestSpec spec{.kind = TestKind::kBandwidth,
                    .message_size = size,
                    .iterations = iterations,
                    .timeout = std::chrono::milliseconds(20000)};
      auto served = std::async(std::launch::async, [&] { return p.server->Serve(spec); });
      auto bw = p.client->RunBandwidth(spec);
      auto sv = served.get();
      REQUIRE_MESSAGE(bw.has_value(), bw.error().Format());
      REQUIRE_MESSAGE(sv.has_value(), sv.error().Format());
      CHECK(bw->messages == iterations);
      CHECK(bw->bytes == std::uint64_t{iterations} * size);
      CHECK(bw->gbps > 0);
    }
    TestSpec spec{.kind = TestKind::kBandwidth,
                  .message_size = 4096,
                  .duration = std::chrono::milliseconds(300),
                  .timeout = std::chrono::milliseconds(20000)};
    auto served = std::async(std::launch::async, [&] { return p.server->Serve(spec); });
    auto bw = p.client->RunBandwidth(spec);
    REQUIRE(served.get().has_value());
    REQUIRE_MESSAGE(bw.has_value(), bw.error().Format());
    CHECK(bw->messages > 0);
  }

  TEST_CASE("an agent that vanishes mid-stream is an error within the timeout") {
    Pair p;
    Connect(p, VerbsLatencyMethod::kSendRecv, 65536);
    TestSpec spec{.kind = TestKind::kBandwidth,
                  .message_size = 65536,
                  .duration = std::chrono::milliseconds(4000),
                  .timeout = std::chrono::milliseconds(3000)};
    // Play the agent by hand: say ready, then tear the queue pair down under the stream.
    REQUIRE(p.server_oob.Send(Bytes{'R'}).has_value());
    auto killer = std::async(std::launch::async, [&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      p.server.reset();
    });
    const auto t0 = std::chrono::steady_clock::now();
    auto bw = p.client->RunBandwidth(spec);
    killer.get();
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    REQUIRE_FALSE(bw.has_value());
    MESSAGE("error after vanishing agent: ", bw.error().Format());
    CHECK(elapsed < std::chrono::milliseconds(4000 + 3000 + 2000));
  }
}

}  // namespace
}  // namespace fabricctl::probes
