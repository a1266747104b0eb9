// libFuzzer target for the route set manifest (routing/route_set.h).
// Run: bash tools/fuzz/run-fuzz.sh SECONDS route_manifest_fuzz.
//
// Beyond "never crash": every error names file:line, and what parses is written again as a
// fixed point.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "routing/route_set.h"
#include "tools/fuzz/fuzz_fabric.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fabricctl;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto manifest = ParseRouteManifest(text, "fuzz");
  if (!fuzz::Parsed(manifest)) return 0;
  const std::string once = WriteRouteManifest(*manifest);
  auto again = ParseRouteManifest(once, "fuzz-written");
  if (!again || WriteRouteManifest(*again) != once) {
    std::fprintf(stderr, "written manifest does not read back the same\n");
    std::abort();
  }
  return 0;
}
