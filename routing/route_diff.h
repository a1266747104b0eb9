#pragma once
// Compares two sets of route files switch by switch (matched by GUID): changed LFT
// entries and changed 64-entry blocks (the unit a switch's LFT is programmed in), and
// switches present on one side only. Needs no topology.
#include <cstdint>
#include <string>
#include <vector>

#include "routing/opensm_dump.h"

namespace fabricctl {

inline constexpr size_t kLftBlock = 64;

struct SwitchLftDiff {
  enum class Kind { kChanged, kOnlyInA, kOnlyInB };
  Kind kind = Kind::kChanged;
  uint64_t guid = 0;
  std::string description;
  size_t changed_entries = 0;    // LIDs whose output port differs (a missing entry counts as a change)
  std::vector<uint32_t> blocks;  // changed 64-entry block numbers, ascending
};

struct RouteDiff {
  size_t switches_compared = 0;
  size_t changed_entries = 0;
  size_t changed_blocks = 0;
  std::vector<SwitchLftDiff> switches;  // only switches that differ, by GUID
  bool same() const { return switches.empty(); }
};

RouteDiff DiffLfts(const std::vector<RawLfts>& a, const std::vector<RawLfts>& b);

}  // namespace fabricctl
