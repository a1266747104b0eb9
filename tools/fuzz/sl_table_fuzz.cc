// libFuzzer target for the SL table reader (routing/sl_table.h) and its application to
// routes. Run: bash tools/fuzz/run-fuzz.sh SECONDS sl_table_fuzz.
//
// Beyond "never crash": every parse error names the file and a line, whatever parses is
// written again and that text is a fixed point, and applying a table to the fuzz fabric's
// routes fails cleanly or succeeds.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "routing/sl_table.h"
#include "tools/fuzz/fuzz_fabric.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fabricctl;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto tables = ParseSlTable(text, "fuzz");
  if (!fuzz::Parsed(tables)) return 0;
  const std::string once = WriteSlTable(*tables);
  auto again = ParseSlTable(once, "fuzz-written");
  if (!again || WriteSlTable(*again) != once) {
    std::fprintf(stderr, "written SL table does not read back the same\n");
    std::abort();
  }
  for (const RawSlTable& table : *tables) {
    SubnetRoutes routes = fuzz::RingRoutes().subnets.at(0);
    if (auto applied = ApplyRawSlTable(fuzz::RingFabric(), table, "fuzz", routes); !applied)
      (void)applied.error().Format();
  }
  return 0;
}
