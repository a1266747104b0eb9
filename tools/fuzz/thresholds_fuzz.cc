// libFuzzer target for the counter thresholds file reader (fabric/counters.h).
// Run: bash tools/fuzz/run-fuzz.sh SECONDS thresholds_fuzz. Every error names file:line.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fabric/counters.h"
#include "tools/fuzz/fuzz_fabric.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto thresholds = fabricctl::ParseThresholds(text, "fuzz");
  (void)fabricctl::fuzz::Parsed(thresholds);
  return 0;
}
