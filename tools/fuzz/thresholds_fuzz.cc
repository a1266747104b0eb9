// libFuzzer target for the counter thresholds file reader (fabric/counters.h).
// Run: bash tools/fuzz/run-fuzz.sh SECONDS thresholds_fuzz. Every error names file:line.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fabric/counters.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto thresholds = fabricctl::ParseThresholds(text, "fuzz");
  if (!thresholds && (thresholds.error().where != "fuzz" || thresholds.error().line <= 0)) {
    std::fprintf(stderr, "error without file:line: %s\n", thresholds.error().Format().c_str());
    std::abort();
  }
  if (!thresholds) (void)thresholds.error().Format();
  return 0;
}
