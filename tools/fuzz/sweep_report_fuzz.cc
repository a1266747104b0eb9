// libFuzzer target for the sweep history reader (`sweep history`): the input is the bytes
// of a history database file, opened, listed and scanned for trends. Never crash; a
// damaged or foreign database is an error naming the file.
// Run: bash tools/fuzz/run-fuzz.sh 60 sweep_report_fuzz (seeds in tests/fuzz/sweep_report_fuzz/).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "probes/sweep/history.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/fabricctl-history-fuzz-" + std::to_string(::getpid()) + ".db";
  std::remove((path + "-journal").c_str());
  FILE* out = std::fopen(path.c_str(), "wb");
  if (!out) return 0;
  if (size) std::fwrite(data, 1, size, out);
  std::fclose(out);
  {
    auto history = fabricctl::sweep::History::Open(path);
    if (history) {
      auto sweeps = history->Sweeps(50);
      if (!sweeps && sweeps.error().where != path) __builtin_trap();
      auto trends = history->Trends({});
      if (!trends && trends.error().where != path) __builtin_trap();
    } else if (history.error().where != path) {
      __builtin_trap();
    }
  }
  std::remove(path.c_str());
  std::remove((path + "-journal").c_str());
  return 0;
}
