#include "probes/control_protocol.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "tests/scratch_dir.h"

namespace fabricctl::probes {
namespace {

Bytes Token(std::string_view s) { return Bytes(s.begin(), s.end()); }
const Bytes kToken = Token("0123456789abcdef-shared-token");

Hello SomeHello() {
  return Hello{.client_nonce = RandomNonce(), .transport = "tcp", .max_message_size = 64, .timeout_ms = 1000};
}

// A client and an agent codec after a completed handshake; `hello` is the client's hello
// frame as it went over the wire.
struct Pair {
  FrameCodec client{Role::kClient, kToken};
  FrameCodec agent{Role::kAgent, kToken};
  Bytes hello;
  Pair() {
    REQUIRE(client.Open(agent.Seal(Challenge{.agent_nonce = RandomNonce()})));
    hello = client.Seal(SomeHello());
    REQUIRE(agent.Open(hello));
    auto ack = client.Open(agent.Seal(HelloAck{}));
    REQUIRE(ack);
    CHECK(std::holds_alternative<HelloAck>(*ack));
  }
};

TEST_CASE("control messages round-trip through encode and the strict decoder") {
  std::vector<Message> all = {
      Hello{.client_nonce = RandomNonce(), .transport = "verbs", .max_message_size = 1 << 20, .timeout_ms = 5000},
      HelloAck{},
      Challenge{.agent_nonce = RandomNonce()},
      OobData{Bytes{1, 2, 3, 0, 255}},
      TestRequest{.kind = TestKind::kBandwidth,
                  .message_size = 4096,
                  .iterations = 0,
                  .duration_ms = 2000,
                  .warmup = 0,
                  .timeout_ms = 3000},
      TestDone{.ok = false, .error = "peer went away"},
      ErrorMessage{"busy"},
      Bye{}};
  for (const Message& m : all) {
    Bytes body = EncodeMessage(m);
    auto back = DecodeMessage(body);
    REQUIRE_MESSAGE(back, MessageName(m));
    CHECK(back->index() == m.index());
    CHECK(EncodeMessage(*back) == body);
  }
}

TEST_CASE("the decoder rejects malformed bodies with a precise message") {
  Bytes test = EncodeMessage(TestRequest{.kind = TestKind::kLatency,
                                         .message_size = 8,
                                         .iterations = 100,
                                         .duration_ms = 0,
                                         .warmup = 1,
                                         .timeout_ms = 1000});
  Bytes trailing = test;
  trailing.push_back(0);
  CHECK(DecodeMessage(trailing).error().message == "test message has 1 trailing bytes");
  Bytes truncated(test.begin(), test.end() - 2);
  CHECK(DecodeMessage(truncated).error().message == "message truncated: missing timeout");
  CHECK(DecodeMessage(Bytes{99}).error().message == "unknown message type 99");
  CHECK(DecodeMessage(Bytes{}).error().message == "message truncated: missing message type");
  Bytes both = EncodeMessage(TestRequest{.kind = TestKind::kLatency,
                                         .message_size = 8,
                                         .iterations = 100,
                                         .duration_ms = 5,
                                         .warmup = 0,
                                         .timeout_ms = 1000});
  CHECK(DecodeMessage(both).error().message == "exactly one of iterations and duration must be set");
  Bytes big = EncodeMessage(TestRequest{
      .kind = TestKind::kLatency, .message_size = kMaxMessageSize + 1, .iterations = 1, .timeout_ms = 1000});
  CHECK(DecodeMessage(big).error().message.starts_with("message size 67108865 outside"));
  Bytes kind = test;
  kind[1] = 7;
  CHECK(DecodeMessage(kind).error().message == "unknown test kind 7");
  Bytes escape = EncodeMessage(ErrorMessage{"a\x1b[2Jb"});
  CHECK(DecodeMessage(escape).error().message == "error text contains a non-printable byte 0x1b");
  Bytes name = EncodeMessage(Hello{.transport = "TCP", .max_message_size = 1, .timeout_ms = 1});
  CHECK(DecodeMessage(name).error().message == "invalid transport name 'TCP'");
  Bytes version = EncodeMessage(Hello{.version = 9, .transport = "tcp", .max_message_size = 1, .timeout_ms = 1});
  CHECK(DecodeMessage(version).error().message ==
        "protocol version 9 not supported (this side speaks 3): run the same fabricctl release on every host");
  Bytes oob = {3, 0xff, 0xff};  // announces 65535 bytes of out-of-band data
  CHECK(DecodeMessage(oob).error().message == "oob data of 65535 bytes exceeds the limit of 4096");
}

OrderRequest SomeOrder(std::size_t items) {
  OrderRequest order{.settings = {.transport = "tcp",
                                  .tests = OrderTests::kLatency,
                                  .latency_iterations = 100,
                                  .message_size = 4096,
                                  .bandwidth_duration = std::chrono::milliseconds(200),
                                  .timeout = std::chrono::milliseconds(1000)}};
  for (std::size_t i = 0; i < items; ++i)
    order.items.push_back(
        OrderItem{.source = "198.18.0.1", .device = "eth1", .rdma = "mlx5_1:1", .target = "198.18.1.2:18520"});
  return order;
}

TEST_CASE("orders and their results round-trip; the largest fit in a frame") {
  OrderRequest order = SomeOrder(2);
  order.items[1] = OrderItem{.target = "[fd00::1]:9"};
  auto back = DecodeMessage(EncodeMessage(order));
  REQUIRE_MESSAGE(back, (back ? std::string() : back.error().message));
  auto* o = std::get_if<OrderRequest>(&*back);
  REQUIRE(o);
  CHECK(o->settings.transport == "tcp");
  CHECK(o->settings.latency_iterations == 100);
  CHECK(o->settings.bandwidth_duration == std::chrono::milliseconds(200));
  CHECK(o->settings.tests == OrderTests::kLatency);
  CHECK(o->items[0].rdma == "mlx5_1:1");
  CHECK(o->items[1].source.empty());
  CHECK(o->items[1].target == "[fd00::1]:9");

  OrderReply reply{.results = {OrderResult{.ok = true, .latency_us = 3.25, .gbps = 97.5},
                               OrderResult{.ok = false, .error = "cannot connect"}}};
  auto r = DecodeMessage(EncodeMessage(reply));
  REQUIRE(r);
  auto* rr = std::get_if<OrderReply>(&*r);
  REQUIRE(rr);
  CHECK(rr->results[0].latency_us == 3.25);
  CHECK(rr->results[0].gbps == 97.5);
  CHECK(rr->results[1].error == "cannot connect");
  CHECK(MessageName(*r) == "order-result");

  // Every field at its bound, kMaxOrderItems times: still one frame.
  OrderRequest largest = SomeOrder(kMaxOrderItems);
  for (OrderItem& item : largest.items)
    item = OrderItem{.source = std::string(kMaxOrderSourceSize, 's'),
                     .device = std::string(kMaxOrderDeviceSize, 'd'),
                     .rdma = std::string(kMaxOrderRdmaSize, 'r'),
                     .target = std::string(kMaxOrderTargetSize, 't')};
  Pair p;
  CHECK(p.agent.Open(p.client.Seal(largest)));
  OrderReply many;
  many.results.assign(kMaxOrderItems, OrderResult{.error = std::string(kMaxOrderErrorSize, 'e')});
  CHECK(p.client.Open(p.agent.Seal(many)));
}

TEST_CASE("the decoder rejects malformed orders and results") {
  auto error_of = [](const Message& m) {
    auto r = DecodeMessage(EncodeMessage(m));
    return r ? std::string("accepted") : r.error().message;
  };
  OrderRequest none = SomeOrder(0);
  CHECK(error_of(none) == "order item count 0 outside 1..64");
  OrderRequest too_many = SomeOrder(kMaxOrderItems + 1);
  CHECK(error_of(too_many) == "order item count 65 outside 1..64");
  OrderRequest no_target = SomeOrder(1);
  no_target.items[0].target.clear();
  CHECK(error_of(no_target) == "order item 1: order item without a target");
  OrderRequest long_source = SomeOrder(2);
  long_source.items[1].source = std::string(kMaxOrderSourceSize + 1, '1');
  CHECK(error_of(long_source) == "order item 2: source address of 65 bytes exceeds the limit of 64");
  OrderRequest escape = SomeOrder(1);
  escape.items[0].device = "eth\n0";
  escape.items[0].device[3] = '\n';
  CHECK(error_of(escape) == "order item 1: device contains a non-printable byte 0x0a");
  OrderRequest transport = SomeOrder(1);
  transport.settings.transport = "order";
  CHECK(error_of(transport) == "invalid probe transport name 'order'");
  OrderRequest iterations = SomeOrder(1);
  iterations.settings.latency_iterations = 0;
  CHECK(error_of(iterations) == "latency iterations 0 outside 1..1000000000");
  OrderRequest size = SomeOrder(1);
  size.settings.message_size = kMaxMessageSize + 1;
  CHECK(error_of(size) == "message size 67108865 outside 1..67108864");
  OrderRequest timeout = SomeOrder(1);
  timeout.settings.timeout = std::chrono::milliseconds(kMaxTimeoutMs + 1);
  CHECK(error_of(timeout) == "timeout 600001 outside 1..600000");
  OrderRequest tests = SomeOrder(1);
  tests.settings.tests = static_cast<OrderTests>(4);
  CHECK(error_of(tests) == "order tests 4 outside 1..3");
  tests.settings.tests = static_cast<OrderTests>(0);
  CHECK(error_of(tests) == "order tests 0 outside 1..3");
  Bytes trailing = EncodeMessage(SomeOrder(1));
  trailing.push_back(0);
  CHECK(DecodeMessage(trailing).error().message == "order message has 1 trailing bytes");
  Bytes truncated = EncodeMessage(SomeOrder(3));
  truncated.resize(truncated.size() - 3);
  CHECK(DecodeMessage(truncated).error().message == "order item 3: message truncated: missing target");

  CHECK(error_of(OrderReply{}) == "order result count 0 outside 1..64");
  Bytes nan = EncodeMessage(OrderReply{.results = {OrderResult{.ok = true, .latency_us = 1, .gbps = 2}}});
  std::fill(nan.begin() + 4, nan.begin() + 12, 0xff);  // latency: a NaN
  CHECK(DecodeMessage(nan).error().message == "order result 1: latency is not a finite non-negative number");
  Bytes negative = EncodeMessage(OrderReply{.results = {OrderResult{.ok = true, .latency_us = -1}}});
  CHECK(DecodeMessage(negative).error().message == "order result 1: latency is not a finite non-negative number");
  Bytes status = EncodeMessage(OrderReply{.results = {OrderResult{.ok = true}}});
  status[3] = 2;
  CHECK(DecodeMessage(status).error().message == "order result 1: order result status 2 is neither 0 nor 1");
  // The encoder keeps the rule (a failure always says why), the decoder enforces it.
  Bytes silent = EncodeMessage(OrderReply{.results = {OrderResult{.ok = true}}});
  silent[3] = 0;
  CHECK(DecodeMessage(silent).error().message ==
        "order result 1: an order result has an error text exactly when it failed");
  auto said = DecodeMessage(EncodeMessage(OrderReply{.results = {OrderResult{.ok = false}}}));
  REQUIRE(said);
  CHECK(std::get<OrderReply>(*said).results[0].error == "failed");
}

TEST_CASE("frames: header bounds, HMAC, replay and reordering") {
  Pair p;
  Bytes f1 =
      p.client.Seal(TestRequest{.kind = TestKind::kLatency, .message_size = 8, .iterations = 10, .timeout_ms = 1000});
  Bytes f2 = p.client.Seal(Bye{});

  SUBCASE("in order they open") {
    CHECK(p.agent.Open(f1));
    CHECK(p.agent.Open(f2));
  }
  SUBCASE("a replayed frame fails") {
    CHECK(p.agent.Open(f1));
    CHECK(p.agent.Open(f1).error().message == "replayed or out-of-order frame: sequence 1, expected 2");
  }
  SUBCASE("a reordered frame fails") {
    CHECK(p.agent.Open(f2).error().message == "replayed or out-of-order frame: sequence 2, expected 1");
  }
  SUBCASE("a flipped bit fails authentication") {
    f1[20] ^= 1;
    CHECK(p.agent.Open(f1).error().message.starts_with("authentication failed: bad HMAC"));
  }
  SUBCASE("a frame from another session fails authentication") {
    Pair other;
    CHECK(other.agent.Open(f1).error().message.starts_with("authentication failed"));
  }
  SUBCASE("a frame sealed with another token fails authentication") {
    // The same challenge nonce, but the client holds another token.
    Nonce an = RandomNonce();
    FrameCodec evil_agent(Role::kAgent, Token("another-token-of-enough-length"));
    FrameCodec evil(Role::kClient, Token("another-token-of-enough-length"));
    FrameCodec agent(Role::kAgent, kToken);
    Bytes challenge = agent.Seal(Challenge{.agent_nonce = an});
    CHECK(evil.Open(challenge).error().message.starts_with("authentication failed"));
    REQUIRE(evil.Open(evil_agent.Seal(Challenge{.agent_nonce = an})));
    CHECK(agent.Open(evil.Seal(SomeHello())).error().message.starts_with("authentication failed"));
  }
  SUBCASE("an agent's frame cannot be reflected back to it") {
    Bytes from_agent = p.agent.Seal(TestDone{});
    FrameCodec agent2 = p.agent;
    CHECK(agent2.Open(from_agent).error().message.starts_with("authentication failed"));
  }
  SUBCASE("headers are bounded and checked") {
    Bytes h(kFrameHeaderSize, 0);
    CHECK(FrameCodec::ParseHeader(h).error().message == "not a fabricctl probe frame (bad magic)");
    Bytes big = f1;
    big[4] = 0x7f;  // body length 0x7f0000xx
    CHECK(FrameCodec::ParseHeader(big).error().message.ends_with("exceeds the limit of 32768"));
    Bytes shortened(f1.begin(), f1.end() - 1);
    CHECK(p.agent.Open(shortened).error().message.starts_with("frame is"));
  }
}

TEST_CASE("a hello recorded on one connection fails authentication on any other") {
  Pair recorded;
  // The replay: a new connection, a fresh challenge, the old hello byte for byte.
  FrameCodec agent(Role::kAgent, kToken);
  (void)agent.Seal(Challenge{.agent_nonce = RandomNonce()});
  CHECK(agent.Open(recorded.hello).error().message.starts_with("authentication failed: bad HMAC"));
}

TEST_CASE("the handshake order is enforced by the codec") {
  SUBCASE("an agent opens nothing before it has sent its challenge") {
    FrameCodec client(Role::kClient, kToken);
    FrameCodec agent(Role::kAgent, kToken);
    CHECK(agent.Open(client.Seal(SomeHello())).error().message == "a frame arrived before the challenge was sent");
  }
  SUBCASE("the client's first frame must be a hello") {
    FrameCodec client(Role::kClient, kToken);
    FrameCodec agent(Role::kAgent, kToken);
    REQUIRE(client.Open(agent.Seal(Challenge{.agent_nonce = RandomNonce()})));
    CHECK(agent.Open(client.Seal(Bye{})).error().message == "expected hello as the first frame, got bye");
  }
  SUBCASE("the agent's first frame must be a challenge") {
    FrameCodec client(Role::kClient, kToken);
    FrameCodec agent(Role::kAgent, kToken);
    CHECK(client.Open(agent.Seal(HelloAck{})).error().message ==
          "expected challenge as the first frame, got hello-ack");
  }
  SUBCASE("no second hello or challenge mid-session") {
    Pair p;
    CHECK(p.agent.Open(p.client.Seal(SomeHello())).error().message == "unexpected hello after the handshake");
    CHECK(p.client.Open(p.agent.Seal(Challenge{.agent_nonce = RandomNonce()})).error().message ==
          "unexpected challenge after the handshake");
  }
}

TEST_CASE("a version-1 frame is refused with a clear error") {
  const std::uint8_t v1[kFrameHeaderSize] = {'F', 'C', 'P', '1', 0, 0, 0, 45};
  CHECK(FrameCodec::ParseHeader(v1).error().message ==
        "peer speaks probe protocol version 1 (an older fabricctl); this side speaks 3: upgrade the older side");
}

TEST_CASE("token files must be private and long enough") {
  const fabricctl::testing::ScratchDir scratch("token-test");
  const std::string& dir = scratch.dir;
  std::string good = dir + "/good", open = dir + "/open", shorty = dir + "/short";
  std::ofstream(good) << "0123456789abcdef0123\n";
  std::ofstream(open) << "0123456789abcdef0123\n";
  std::ofstream(shorty) << "abc\n";
  ::chmod(good.c_str(), 0600);
  ::chmod(open.c_str(), 0644);
  ::chmod(shorty.c_str(), 0600);
  auto t = ReadTokenFile(good);
  REQUIRE(t);
  CHECK(t->size() == 20);  // trailing newline trimmed
  auto o = ReadTokenFile(open);
  CHECK(o.error().where == open);
  CHECK(o.error().message == "token file is accessible by group or others (mode 644); run chmod 600");
  CHECK(ReadTokenFile(shorty).error().message.starts_with("token is 3 bytes, need at least 16"));
  CHECK(ReadTokenFile(dir + "/missing").error().message.starts_with("cannot read token file"));
}

TEST_CASE("a token file that is not a small regular file is refused at once, never waited on") {
  const fabricctl::testing::ScratchDir scratch("token-kinds");
  const std::string& dir = scratch.dir;
  std::string fifo = dir + "/fifo", big = dir + "/big", sub = dir + "/dir";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);  // with no writer, a blocking open would wait forever
  ::mkdir(sub.c_str(), 0700);
  std::ofstream(big) << std::string(kMaxTokenFileSize + 1, 'k');
  ::chmod(big.c_str(), 0600);
  CHECK(ReadTokenFile(fifo).error().message == "token file is a FIFO; give a regular file");
  CHECK(ReadTokenFile(fifo).error().where == fifo);
  CHECK(ReadTokenFile(sub).error().message == "token file is a directory; give a regular file");
  CHECK(ReadTokenFile("/dev/null").error().message == "token file is a device; give a regular file");
  CHECK(ReadTokenFile(big).error().message == "token file is 4097 bytes, more than a token can be (at most 4096)");
}

}  // namespace
}  // namespace fabricctl::probes
