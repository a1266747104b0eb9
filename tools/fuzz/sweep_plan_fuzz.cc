// libFuzzer target for the sweep plan reader, against a small routed fat tree: never
// crash or throw; an accepted plan has dense rounds, paths inside its channel list and
// coverage figures that add up.
// Run: bash tools/fuzz/run-fuzz.sh 60 sweep_plan_fuzz (seeds in tests/fuzz/sweep_plan_fuzz/).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "probes/sweep/sweep_plan_io.h"
#include "tools/fuzz/fuzz_fabric.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& routed = fabricctl::fuzz::SmallFatTree();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto plan = fabricctl::sweep::ParsePlanJson(routed.fabric, routed.routes, text, "fuzz.json");
  if (!plan) return 0;
  if (plan->num_rounds > plan->probes.size()) __builtin_trap();
  if (plan->channels_covered > plan->channels || plan->channels_at_target > plan->channels_covered) __builtin_trap();
  for (const auto& p : plan->probes)
    if (p.round >= plan->num_rounds || p.path_end > plan->path_channels.size() || p.path_begin > p.path_end)
      __builtin_trap();
  return 0;
}
