#pragma once
// Both sides of the control protocol's handshake (probes/control_protocol.h): the agent
// sends a challenge, the client answers with a hello whose MAC covers the challenge's
// nonce, the agent acknowledges. The agent's side is a step function fed with bytes as
// they arrive, so one thread can hold many unauthenticated connections at a bounded cost
// each (probes/agent.cc); the client's side runs on a blocking control channel.
#include <cstddef>
#include <optional>
#include <span>

#include "fabric/error.h"
#include "probes/control_protocol.h"

namespace fabricctl::probes {

// One connection's handshake on the agent, before the client has shown it holds the token.
// Memory is bounded by one hello frame; nothing after the hello is consumed.
class AgentHandshake {
 public:
  AgentHandshake(Bytes token, const Nonce& agent_nonce);
  // The challenge frame, to send as soon as the connection is accepted.
  const Bytes& challenge() const { return challenge_; }
  // How many more bytes the current frame needs; read no more than this.
  std::size_t wanted() const { return want_ - frame_.size(); }
  // Takes received bytes (at most wanted()). Returns the hello once its frame is complete
  // and authenticated, nothing while more bytes are needed, or why the peer is refused.
  Result<std::optional<Hello>> Feed(std::span<const std::uint8_t> data);
  // After the hello: the codec the session continues with.
  FrameCodec& codec() { return codec_; }

 private:
  FrameCodec codec_;
  Bytes challenge_;
  Bytes frame_;
  std::size_t want_ = kFrameHeaderSize;
};

// The client's handshake on a fresh connection: waits for the challenge, sends `hello`,
// and waits for the agent's acknowledgement. Errors say what a user can do about them.
Result<void> RunClientHandshake(ControlChannel& channel, const Hello& hello, Deadline deadline);

}  // namespace fabricctl::probes
