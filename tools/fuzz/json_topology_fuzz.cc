// libFuzzer target for the JSON topology reader. Besides "never crash", it checks the
// round trip on every input the reader accepts: write it back, read that, same fabric.
// Build and run: see docs/formats.md, section "JSON topology".
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fabric/json_topology.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto fabric = fabricctl::ParseJsonTopology(text, "fuzz.json");
  if (!fabric) return 0;
  auto again = fabricctl::ParseJsonTopology(fabricctl::WriteJsonTopology(*fabric), "again.json");
  if (!again || !(*again == *fabric)) __builtin_trap();
  return 0;
}
