// libFuzzer target for the probe control protocol: the body decoder and the frame opener
// (header bounds, HMAC check, sequence check) must reject any input without crashing,
// and whatever the decoder accepts must re-encode to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "probes/control_protocol.h"

using namespace fabricctl::probes;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);
  if (auto m = DecodeMessage(in); m) {
    if (EncodeMessage(*m) != Bytes(in.begin(), in.end())) std::abort();
  }
  (void)FrameCodec::ParseHeader(in);
  // A frame with a valid MAC is the interesting case for the decoder behind it: seal the
  // input as a body-bearing frame half the time, open the raw input the other half.
  static const Bytes kToken(32, 'k');
  FrameCodec agent(Role::kAgent, kToken);
  if (size > 0 && (data[0] & 1)) {
    // Treat the input as a message body: wrap it in a correctly authenticated frame by
    // round-tripping through a decoded message when it decodes.
    if (auto m = DecodeMessage(in.subspan(1)); m) {
      FrameCodec client(Role::kClient, kToken);
      Bytes frame = client.Seal(*m);
      if (!agent.Open(frame)) std::abort();  // a frame we sealed must open
    }
  } else {
    (void)agent.Open(in);
  }
  return 0;
}
