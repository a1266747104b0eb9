// libFuzzer target for the routes.json reader: never crash, never throw, never take time
// or memory beyond the input's size; when the reader accepts an input, every LFT it
// returns has one entry per LID.
// Run: bash tools/fuzz/run-fuzz.sh 60 route_json_fuzz (seeds in tests/fuzz/route_json_fuzz/).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "routing/route_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto subnets = fabricctl::ParseRouteJson(text, "fuzz.json");
  if (!subnets) return 0;
  for (const fabricctl::ParsedRouteSubnet& s : *subnets)
    for (const fabricctl::RawSwitchLft& sw : s.lfts.switches)
      if (!s.lfts.switches.empty() && sw.lft.size() != s.lfts.switches.front().lft.size()) __builtin_trap();
  return 0;
}
