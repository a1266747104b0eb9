#include "routing/route_diff.h"

#include <algorithm>
#include <map>

#include "routing/routes.h"

namespace fabricctl {

RouteDiff DiffLfts(const std::vector<RawLfts>& a, const std::vector<RawLfts>& b) {
  std::map<uint64_t, const RawSwitchLft*> left, right;
  for (const RawLfts& f : a)
    for (const RawSwitchLft& s : f.switches) left.emplace(s.guid, &s);
  for (const RawLfts& f : b)
    for (const RawSwitchLft& s : f.switches) right.emplace(s.guid, &s);
  RouteDiff diff;
  for (const auto& [guid, sa] : left) {
    auto it = right.find(guid);
    if (it == right.end()) {
      diff.switches.push_back({.kind = SwitchLftDiff::Kind::kOnlyInA, .guid = guid, .description = sa->description});
      continue;
    }
    const RawSwitchLft* sb = it->second;
    ++diff.switches_compared;
    SwitchLftDiff d{.guid = guid, .description = sa->description};
    const size_t n = std::max(sa->lft.size(), sb->lft.size());
    for (size_t lid = 1; lid < n; ++lid) {
      uint8_t pa = lid < sa->lft.size() ? sa->lft[lid] : kNoRoute;
      uint8_t pb = lid < sb->lft.size() ? sb->lft[lid] : kNoRoute;
      if (pa == pb) continue;
      ++d.changed_entries;
      uint32_t block = static_cast<uint32_t>(lid / kLftBlock);
      if (d.blocks.empty() || d.blocks.back() != block) d.blocks.push_back(block);
    }
    if (d.changed_entries) {
      diff.changed_entries += d.changed_entries;
      diff.changed_blocks += d.blocks.size();
      diff.switches.push_back(std::move(d));
    }
  }
  for (const auto& [guid, sb] : right)
    if (!left.count(guid))
      diff.switches.push_back({.kind = SwitchLftDiff::Kind::kOnlyInB, .guid = guid, .description = sb->description});
  std::sort(diff.switches.begin(), diff.switches.end(), [](auto& x, auto& y) { return x.guid < y.guid; });
  return diff;
}

}  // namespace fabricctl
