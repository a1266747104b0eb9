// libFuzzer target for both sides of the probe handshake (probes/handshake.h). The first
// byte picks the role and how the rest is used:
//   agent, raw     the rest as a peer's bytes, in chunks of 1..64 bytes (never more than
//                  the handshake asks for), fed to AgentHandshake: it refuses or yields a
//                  hello, and never wants more than one hello frame.
//   agent, sealed  the rest decoded as a message body that a correct client seals after
//                  the challenge: the agent yields a hello exactly when it is one.
//   client, raw    the rest as the agent's bytes on a socket: RunClientHandshake cannot see
//                  a valid MAC, so it fails, and at once (the stream ends, nothing waits).
//   client, sealed the rest as two message bodies (the second after a length byte) that a
//                  correct agent seals: the client succeeds exactly on challenge, hello-ack.
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "probes/handshake.h"

using namespace fabricctl::probes;
using fabricctl::Result;

namespace {

const Bytes kToken(32, 'k');

Nonce Fixed(std::uint8_t byte) {
  Nonce n{};
  n.fill(byte);
  return n;
}

const Hello kHello{.client_nonce = Fixed(0x5a), .transport = "tcp", .max_message_size = 8, .timeout_ms = 1000};

void AgentRaw(std::size_t chunk, std::span<const std::uint8_t> in) {
  AgentHandshake agent(kToken, Fixed(0xa5));
  while (!in.empty()) {
    if (agent.wanted() == 0 || agent.wanted() > kFrameHeaderSize + kMaxHelloBodySize + kMacSize) std::abort();
    std::size_t n = std::min({chunk, in.size(), agent.wanted()});
    auto r = agent.Feed(in.first(n));
    in = in.subspan(n);
    if (!r || r->has_value()) return;
  }
}

void AgentSealed(std::span<const std::uint8_t> body) {
  auto m = DecodeMessage(body);
  if (!m) return;
  AgentHandshake agent(kToken, Fixed(0xa5));
  FrameCodec client(Role::kClient, kToken);
  if (!client.Open(agent.challenge())) std::abort();
  Bytes frame = client.Seal(*m);
  Result<std::optional<Hello>> r = std::nullopt;
  std::span<const std::uint8_t> rest(frame);
  while (!rest.empty() && r && !r->has_value()) {
    std::size_t n = std::min(rest.size(), agent.wanted());
    r = agent.Feed(rest.first(n));
    rest = rest.subspan(n);
  }
  bool hello = r && r->has_value();
  if (hello != std::holds_alternative<Hello>(*m)) std::abort();
}

// Runs the client's handshake against `agent_bytes`, already written and ended.
Result<void> ClientAgainst(std::span<const std::uint8_t> agent_bytes) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  Fd agent_end(fds[1]);
  ControlChannel ch(Fd(fds[0]), Role::kClient, kToken);
  // Well within the socket buffer, so writing never waits.
  agent_bytes = agent_bytes.first(std::min<std::size_t>(agent_bytes.size(), 16384));
  if (!WriteAll(agent_end.get(), agent_bytes, DeadlineAfter(std::chrono::seconds(1)))) std::abort();
  ::shutdown(agent_end.get(), SHUT_WR);
  auto start = Clock::now();
  auto r = RunClientHandshake(ch, kHello, DeadlineAfter(std::chrono::seconds(5)));
  if (Clock::now() - start > std::chrono::seconds(2)) std::abort();  // it waited on a closed stream
  return r;
}

void ClientSealed(std::span<const std::uint8_t> in) {
  if (in.empty()) return;
  std::size_t first_size = std::min<std::size_t>(in[0], in.size() - 1);
  auto first = DecodeMessage(in.subspan(1, first_size));
  auto second = DecodeMessage(in.subspan(1 + first_size));
  if (!first || !second) return;
  FrameCodec agent(Role::kAgent, kToken);
  Bytes stream = agent.Seal(*first);
  bool challenge = std::holds_alternative<Challenge>(*first);
  if (challenge) {
    // Stand in for the client's hello so the agent's next frame is bound to it.
    FrameCodec client(Role::kClient, kToken);
    if (!client.Open(stream) || !agent.Open(client.Seal(kHello))) std::abort();
  }
  Bytes answer = agent.Seal(*second);
  stream.insert(stream.end(), answer.begin(), answer.end());
  bool ok = ClientAgainst(stream).has_value();
  if (ok != (challenge && std::holds_alternative<HelloAck>(*second))) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::span<const std::uint8_t> rest(data + 1, size - 1);
  switch (data[0] & 3) {
    case 0:
      AgentRaw(1 + (data[0] >> 2), rest);
      break;
    case 1:
      AgentSealed(rest);
      break;
    case 2:
      if (ClientAgainst(rest)) std::abort();
      break;
    default:
      ClientSealed(rest);
  }
  return 0;
}
