#include "probes/handshake.h"

#include <doctest/doctest.h>
#include <sys/socket.h>

#include <thread>

namespace fabricctl::probes {
namespace {

using namespace std::chrono_literals;

const Bytes kToken(24, 't');

// Feeds a whole frame as the event loop does: no more than the handshake asks for at once.
Result<std::optional<Hello>> FeedAll(AgentHandshake& agent, std::span<const std::uint8_t> bytes) {
  Result<std::optional<Hello>> last = std::nullopt;
  while (!bytes.empty() && last && !last->has_value()) {
    std::size_t n = std::min(bytes.size(), agent.wanted());
    last = agent.Feed(bytes.first(n));
    bytes = bytes.subspan(n);
  }
  return last;
}

Hello SomeHello() {
  return Hello{.client_nonce = RandomNonce(), .transport = "tcp", .max_message_size = 64, .timeout_ms = 1000};
}

TEST_CASE("the agent's handshake takes the hello byte by byte and nothing after it") {
  AgentHandshake agent(kToken, RandomNonce());
  FrameCodec client(Role::kClient, kToken);
  REQUIRE(client.Open(agent.challenge()));
  Bytes hello = client.Seal(SomeHello());
  CHECK(agent.wanted() == kFrameHeaderSize);
  for (std::size_t i = 0; i + 1 < hello.size(); ++i) {
    auto r = agent.Feed(std::span(hello).subspan(i, 1));
    REQUIRE_MESSAGE(r, r.error().message);
    CHECK_FALSE(r->has_value());
  }
  CHECK(agent.wanted() == 1);
  auto last = agent.Feed(std::span(hello).last(1));
  REQUIRE(last);
  REQUIRE(last->has_value());
  CHECK((*last)->transport == "tcp");
  CHECK(agent.wanted() == 0);
  // The session goes on with the same codec: both nonces are in place.
  auto ack = client.Open(agent.codec().Seal(HelloAck{}));
  CHECK(ack);
}

TEST_CASE("the agent's handshake refuses a replayed hello, an oversized first frame and an old client") {
  AgentHandshake first(kToken, RandomNonce());
  FrameCodec client(Role::kClient, kToken);
  REQUIRE(client.Open(first.challenge()));
  Bytes hello = client.Seal(SomeHello());
  auto accepted = FeedAll(first, hello);
  REQUIRE(accepted);
  REQUIRE(accepted->has_value());

  AgentHandshake second(kToken, RandomNonce());
  CHECK(FeedAll(second, hello).error().message ==
        "authentication failed: bad HMAC (wrong token, or the frame was altered or replayed)");

  AgentHandshake big(kToken, RandomNonce());
  const std::uint8_t header[kFrameHeaderSize] = {'F', 'C', 'P', '2', 0, 0, 0x10, 0};
  CHECK(big.Feed(header).error().message == "first frame of 4096 bytes is larger than a hello (at most 64)");

  AgentHandshake old(kToken, RandomNonce());
  const std::uint8_t v1[kFrameHeaderSize] = {'F', 'C', 'P', '1', 0, 0, 0, 45};
  CHECK(old.Feed(v1).error().message.starts_with("peer speaks probe protocol version 1 (an older fabricctl)"));
}

// The client's side against a scripted agent on a socketpair.
Result<void> ClientAgainst(const std::vector<Bytes>& agent_frames, const Hello& hello = SomeHello()) {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  Fd agent_end(fds[1]);
  for (const Bytes& f : agent_frames) REQUIRE(WriteAll(agent_end.get(), f, DeadlineAfter(1000ms)));
  ::shutdown(agent_end.get(), SHUT_WR);
  ControlChannel ch(Fd{fds[0]}, Role::kClient, kToken);
  return RunClientHandshake(ch, hello, DeadlineAfter(1000ms));
}

TEST_CASE("the client's handshake says who refused it and why") {
  Nonce an = RandomNonce();
  SUBCASE("an agent with another token") {
    FrameCodec other(Role::kAgent, Bytes(24, 'o'));
    CHECK(ClientAgainst({other.Seal(Challenge{.agent_nonce = an})}).error().message ==
          "agent's reply failed authentication: the agent uses a different token");
  }
  SUBCASE("an agent that closes at once") {
    CHECK(ClientAgainst({}).error().message.starts_with("agent closed the connection before the handshake"));
  }
  SUBCASE("a version-1 peer") {
    Bytes v1 = {'F', 'C', 'P', '1', 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK(ClientAgainst({v1}).error().message.starts_with("handshake: peer speaks probe protocol version 1"));
  }
  SUBCASE("a busy agent, and a refusal that belongs to another hello") {
    // The scripted agent opens the very hello the client will send (same nonces, same
    // sequence), so its refusal verifies; one sealed after another hello does not.
    Hello hello = SomeHello();
    FrameCodec agent(Role::kAgent, kToken);
    Bytes challenge = agent.Seal(Challenge{.agent_nonce = an});
    FrameCodec stand_in(Role::kClient, kToken);
    REQUIRE(stand_in.Open(challenge));
    FrameCodec other_agent = agent;
    REQUIRE(agent.Open(stand_in.Seal(hello)));
    CHECK(ClientAgainst({challenge, agent.Seal(ErrorMessage{"busy"})}, hello).error().message == "agent refused: busy");
    FrameCodec other_client(Role::kClient, kToken);
    REQUIRE(other_client.Open(challenge));
    REQUIRE(other_agent.Open(other_client.Seal(SomeHello())));
    CHECK(ClientAgainst({challenge, other_agent.Seal(ErrorMessage{"busy"})}, hello).error().message ==
          "handshake: authentication failed: bad HMAC (wrong token, or the frame was altered or replayed)");
  }
}

}  // namespace
}  // namespace fabricctl::probes
