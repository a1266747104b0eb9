// libFuzzer target for the probe control protocol: the body decoder and the frame opener
// (header bounds, HMAC check, sequence check, handshake order) must reject any input
// without crashing, and whatever the decoder accepts must re-encode to the same bytes.
// The handshake itself is fuzzed by probe_handshake_fuzz.cc.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "probes/control_protocol.h"

using namespace fabricctl::probes;

namespace {

const Bytes kToken(32, 'k');

// A client and an agent codec after a handshake, with fixed nonces so runs repeat.
struct Session {
  FrameCodec client{Role::kClient, kToken};
  FrameCodec agent{Role::kAgent, kToken};
  Session() {
    Nonce an{};
    an.fill(0xa5);
    Nonce cn{};
    cn.fill(0x5a);
    if (!client.Open(agent.Seal(Challenge{.agent_nonce = an}))) std::abort();
    if (!agent.Open(client.Seal(Hello{.client_nonce = cn, .transport = "tcp", .max_message_size = 8, .timeout_ms = 1})))
      std::abort();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);
  if (auto m = DecodeMessage(in); m) {
    if (EncodeMessage(*m) != Bytes(in.begin(), in.end())) std::abort();
  }
  (void)FrameCodec::ParseHeader(in);
  Session s;
  if (size > 0 && (data[0] & 1)) {
    // The input as a message body in a correctly authenticated frame mid-session: it opens
    // exactly when it is not a second challenge or hello.
    if (auto m = DecodeMessage(in.subspan(1)); m) {
      bool opener = std::holds_alternative<Hello>(*m) || std::holds_alternative<Challenge>(*m);
      if (s.agent.Open(s.client.Seal(*m)).has_value() == opener) std::abort();
      if (s.client.Open(s.agent.Seal(*m)).has_value() == opener) std::abort();
    }
  } else {
    (void)s.agent.Open(in);
    (void)s.client.Open(in);
  }
  return 0;
}
