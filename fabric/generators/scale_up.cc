#include "fabric/generators/scale_up.h"

#include <fmt/format.h>

#include <vector>

namespace fabricctl::gen {

Result<ScaleUpPlan> PlanScaleUp(const ScaleUpOptions& options) {
  ScaleUpPlan p;
  p.o = options;
  ScaleUpOptions& o = p.o;
  if (o.tiers != 1 && o.tiers != 2) return MakeError(fmt::format("tiers must be 1 or 2, not {}", o.tiers));
  if (o.planes == 0) o.planes = o.tiers == 1 ? o.ports : 1;
  if (o.ports % o.planes != 0)
    return MakeError(fmt::format("ports={} cannot be spread evenly over planes={}", o.ports, o.planes));
  p.per_plane = o.ports / o.planes;
  if (o.tiers == 1) {
    p.links = p.per_plane;
    if (size_t{o.accelerators} * p.links > o.radix)
      return MakeError(
          fmt::format("a single tier of radix {} switches takes at most {} accelerators x {} links; "
                      "use tiers=2 or more planes",
                      o.radix, o.radix / p.links, p.links));
    return p;
  }
  if (o.l1_down == 0) o.l1_down = o.radix / 2;
  if (o.l1_up == 0) o.l1_up = o.l1_down;
  if (o.spines == 0) o.spines = o.l1_up;
  if (o.l1_down + o.l1_up > o.radix)
    return MakeError(fmt::format("l1_down={} + l1_up={} exceed radix={}", o.l1_down, o.l1_up, o.radix));
  const unsigned m = o.links_per_l1;
  if (m == 0 || p.per_plane % m != 0 || o.l1_down % m != 0)
    return MakeError(fmt::format("links_per_l1={} must divide the ports per plane ({}) and l1_down ({})", m,
                                 p.per_plane, o.l1_down));
  if (o.l1_up % o.spines != 0) return MakeError(fmt::format("spines={} must divide l1_up={}", o.spines, o.l1_up));
  p.group = o.l1_down / m;
  p.groups = (o.accelerators + p.group - 1) / p.group;
  p.l1_per_group = p.per_plane / m;
  p.l1_per_plane = p.groups * p.l1_per_group;
  p.spine_links = o.l1_up / o.spines;
  if (p.l1_per_plane * p.spine_links > o.radix)
    return MakeError(fmt::format(
        "{} accelerators x {} ports per plane need {} L1 switches per plane with {} links to each L2 switch, but an "
        "L2 switch has {} ports; use more planes, fewer ports or more spines",
        o.accelerators, p.per_plane, p.l1_per_plane, p.spine_links, o.radix));
  return p;
}

void BuildScaleUp(GenBuilder& b, const ScaleUpPlan& p, std::span<const NodeId> acc, Labels place,
                  std::string_view prefix, LinkRate rate) {
  const ScaleUpOptions& o = p.o;
  const auto labels = [&](unsigned plane, int32_t tier) {
    return Labels{.super_node = place.super_node,
                  .plane = o.planes > 1 ? static_cast<int32_t>(plane) : -1,
                  .tier = tier,
                  .rack = place.rack,
                  .level = FabricLevel::kScaleUp};
  };
  if (o.tiers == 1) {
    for (unsigned s = 0; s < o.planes; ++s) {
      NodeId sw = b.AddSwitch(fmt::format("{}-sw{}", prefix, Padded(s, o.planes)), o.radix, labels(s, 1));
      if (!b.ok()) return;
      for (size_t a = 0; a < acc.size(); ++a)
        for (unsigned t = 0; t < p.links; ++t)
          b.Connect(acc[a], s * p.links + t + 1, sw, static_cast<unsigned>(a * p.links + t) + 1, rate);
    }
    return;
  }
  const unsigned m = o.links_per_l1;
  for (unsigned pl = 0; pl < o.planes; ++pl) {
    std::string plane_prefix = o.planes > 1 ? fmt::format("{}-p{}", prefix, Padded(pl, o.planes)) : std::string(prefix);
    std::vector<NodeId> l1(p.l1_per_plane), l2(o.spines);
    for (size_t i = 0; i < l1.size(); ++i)
      l1[i] = b.AddSwitch(fmt::format("{}-l1-{}", plane_prefix, Padded(i, l1.size())), o.radix, labels(pl, 1));
    for (size_t i = 0; i < l2.size(); ++i)
      l2[i] = b.AddSwitch(fmt::format("{}-l2-{}", plane_prefix, Padded(i, l2.size())), o.radix, labels(pl, 2));
    if (!b.ok()) return;
    for (size_t a = 0; a < acc.size(); ++a) {
      const size_t g = a / p.group;
      const unsigned pos = static_cast<unsigned>(a % p.group);
      for (unsigned j = 0; j < p.per_plane; ++j)
        b.Connect(acc[a], pl * p.per_plane + j + 1, l1[g * p.l1_per_group + j / m], pos * m + j % m + 1, rate);
    }
    for (size_t i = 0; i < l1.size(); ++i)
      for (unsigned y = 0; y < o.l1_up; ++y)
        b.Connect(l1[i], o.l1_down + y + 1, l2[y / p.spine_links],
                  static_cast<unsigned>(i * p.spine_links + y % p.spine_links) + 1, rate);
  }
}

}  // namespace fabricctl::gen
