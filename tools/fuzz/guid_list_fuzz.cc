// libFuzzer target for GUID lists (routing/updn.h: `route compute --root-guid-file`),
// checked against the fuzz fabric's switches.
// Run: bash tools/fuzz/run-fuzz.sh SECONDS guid_list_fuzz. Every error names file:line, or the file
// for a list with no GUID in it.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "routing/updn.h"
#include "tools/fuzz/fuzz_fabric.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto guids = fabricctl::ParseRootGuids(fabricctl::fuzz::RingFabric(), text, "fuzz");
  (void)fabricctl::fuzz::Parsed(guids, fabricctl::fuzz::ErrorPlace::kFileOrLine);
  return 0;
}
