// libFuzzer target for the verbs queue-pair record a peer sends over the control channel:
// ParseQpInfo must reject any input without crashing, and whatever it accepts must
// serialise back to the same bytes (the record has no slack).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "probes/verbs_transport.h"

using namespace fabricctl::probes;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);
  if (auto q = ParseQpInfo(in, "fuzz"); q) {
    if (SerializeQpInfo(*q) != Bytes(in.begin(), in.end())) std::abort();
  }
  return 0;
}
