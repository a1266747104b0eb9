// libFuzzer target for the OpenSM LFT dump reader (routing/opensm_dump.h) and the matching
// of its tables to a topology. Run: bash tools/fuzz/run-fuzz.sh SECONDS opensm_dump_fuzz.
//
// Beyond "never crash": every parse error names the file and a line, and tables that
// resolve against the fuzz fabric are written and read back.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "routing/opensm_dump.h"
#include "tools/fuzz/fuzz_fabric.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fabricctl;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto raw = ParseOpensmDump(text, "fuzz");
  if (!fuzz::Parsed(raw)) return 0;
  auto resolved = ResolveRawLfts(fuzz::RingFabric(), {*raw});
  if (!resolved) {
    (void)resolved.error().Format();
    return 0;
  }
  for (const SubnetRoutes& r : resolved->subnets) {
    std::string written = WriteOpensmDump(fuzz::RingFabric(), r, "fuzz");
    auto again = ParseOpensmDump(written, "fuzz-written");
    if (!again) {
      std::fprintf(stderr, "written dump does not read back: %s\n", again.error().Format().c_str());
      std::abort();
    }
  }
  return 0;
}
