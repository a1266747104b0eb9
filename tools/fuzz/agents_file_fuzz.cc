// libFuzzer target for the agents file reader (`sweep run --agents`), against a small
// fat tree: never crash; accepted entries are endpoints with an address.
// Run: bash tools/fuzz/run-fuzz.sh 60 agents_file_fuzz (seeds in tests/fuzz/agents_file_fuzz/).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "probes/sweep/agent_runner.h"
#include "tools/fuzz/fuzz_fabric.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& routed = fabricctl::fuzz::SmallFatTree();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto agents = fabricctl::sweep::ParseAgentsFile(routed.fabric, text, "agents.txt");
  if (!agents) return 0;
  for (const auto& entry : agents->by_node)
    if (!entry.address.empty() && (entry.node == fabricctl::kNone || routed.fabric.is_switch(entry.node)))
      __builtin_trap();
  return 0;
}
