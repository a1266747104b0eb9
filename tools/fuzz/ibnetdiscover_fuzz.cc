// libFuzzer target for the ibnetdiscover/ibsim topology reader and the two writers.
// Build and run: see docs/formats.md, "Fuzzing".
//
// Beyond "never crash": whatever the reader accepts, the writer's output must read back,
// and writing that again must give the same text (the writer normalises GUID-less nodes and
// control characters once; after that the format is a fixed point).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fabric/ibnetdiscover_format.h"
#include "fabric/ibsim_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto fabric = fabricctl::ParseIbnetdiscover(text, "fuzz");
  if (!fabric) {
    (void)fabric.error().Format();
    return 0;
  }
  std::string once = fabricctl::WriteIbnetdiscover(*fabric);
  auto again = fabricctl::ParseIbnetdiscover(once, "fuzz-written");
  if (!again) {
    std::fprintf(stderr, "written text does not read back: %s\n", again.error().Format().c_str());
    std::abort();
  }
  if (fabricctl::WriteIbnetdiscover(*again) != once) {
    std::fprintf(stderr, "writing is not a fixed point\n");
    std::abort();
  }
  (void)fabricctl::WriteIbsimTopology(*fabric);
  (void)fabricctl::IbsimExpectedFabric(*fabric);
  return 0;
}
