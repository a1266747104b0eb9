#include "probes/handshake.h"

#include <fmt/format.h>

namespace fabricctl::probes {

AgentHandshake::AgentHandshake(Bytes token, const Nonce& agent_nonce) : codec_(Role::kAgent, std::move(token)) {
  challenge_ = codec_.Seal(Challenge{.version = kProtocolVersion, .agent_nonce = agent_nonce});
}

Result<std::optional<Hello>> AgentHandshake::Feed(std::span<const std::uint8_t> data) {
  if (data.size() > wanted()) return MakeError("more bytes than the handshake asked for");
  frame_.insert(frame_.end(), data.begin(), data.end());
  if (want_ == kFrameHeaderSize && frame_.size() == kFrameHeaderSize) {
    auto length = FrameCodec::ParseHeader(frame_);
    if (!length) return std::unexpected(length.error());
    if (*length > kMaxHelloBodySize)
      return MakeError(
          fmt::format("first frame of {} bytes is larger than a hello (at most {})", *length, kMaxHelloBodySize));
    want_ = kFrameHeaderSize + *length + kMacSize;
  }
  if (want_ == kFrameHeaderSize || frame_.size() < want_) return std::nullopt;
  auto message = codec_.Open(frame_);
  if (!message) return std::unexpected(message.error());
  // The codec admits only a hello as the client's first frame.
  return std::get<Hello>(*message);
}

namespace {

// The challenge is the agent's first word, so its failures say most about who answered.
Error ChallengeError(const Error& e) {
  const std::string& m = e.message;
  if (m.starts_with("authentication failed"))
    return Error{.message = "agent's reply failed authentication: the agent uses a different token"};
  if (m == "connection closed by peer" || m.ends_with("Connection reset by peer"))
    return Error{.message =
                     "agent closed the connection before the handshake (too many connections from this address, or "
                     "not a fabricctl agent; see the agent's log)"};
  if (m == "timed out waiting for peer")
    return Error{.message =
                     "handshake: the agent sent no challenge in time (not a fabricctl agent, or one older than probe "
                     "protocol version 2)"};
  return Error{.message = "handshake: " + m};
}

}  // namespace

Result<void> RunClientHandshake(ControlChannel& channel, const Hello& hello, Deadline deadline) {
  // The codec admits only a challenge as the agent's first frame.
  if (auto challenge = channel.ReceiveMessage(deadline); !challenge)
    return std::unexpected(ChallengeError(challenge.error()));
  if (auto r = channel.SendMessage(hello, deadline); !r) return MakeError("handshake: " + r.error().message);
  auto answer = channel.ReceiveMessage(deadline);
  if (!answer) return MakeError("handshake: " + answer.error().message);
  if (auto* e = std::get_if<ErrorMessage>(&*answer)) return MakeError("agent refused: " + e->text);
  if (!std::holds_alternative<HelloAck>(*answer))
    return MakeError(fmt::format("handshake: unexpected {} message", MessageName(*answer)));
  return {};
}

}  // namespace fabricctl::probes
