// rail: rail-optimised multi-plane Clos. NIC r of every server joins rail r; each rail is
// its own two-tier plane (a leaf per group of servers, spines per rail), so the rails are
// separate subnets "scale-out/pNN".
#include <fmt/format.h>

#include <vector>

#include "fabric/generators/generators.h"

namespace fabricctl::gen {
namespace {

constexpr GeneratorParam kParams[] = {
    {"servers", "128", "servers (hosts)"},
    {"rails", "8", "NICs per server = rails = planes"},
    {"group", "32", "servers per leaf group (a leaf per rail per group); a leaf uses group down + group up ports"},
    {"spines", "0", "spines per rail, must divide group; 0: as few as fit"},
    {"radix", "64", "ports per switch"},
    {"rate", "4xNDR", "link width and speed"},
};

Result<Fabric> Generate(ParamReader& r) {
  const unsigned servers = static_cast<unsigned>(r.Int("servers", 1, 1'000'000));
  const unsigned rails = static_cast<unsigned>(r.Int("rails", 1, 64));
  const unsigned group = static_cast<unsigned>(r.Int("group", 1, 127));
  unsigned spines = static_cast<unsigned>(r.Int("spines", 0, 254));
  const unsigned radix = static_cast<unsigned>(r.Int("radix", 2, 254));
  const LinkRate rate = r.Rate("rate");
  if (r.error()) return std::unexpected(*r.error());
  if (2 * group > radix)
    r.Fail(fmt::format("a leaf needs group={} down and {} up ports, more than radix={}", group, group, radix));
  const size_t groups = (size_t{servers} + group - 1) / group;
  if (spines == 0) {
    for (unsigned s = 1; s <= group && spines == 0; ++s)
      if (group % s == 0 && groups * (group / s) <= radix) spines = s;
    if (spines == 0) r.Fail(fmt::format("{} leaf groups per rail do not fit spines of radix {}", groups, radix));
  } else if (group % spines != 0) {
    r.Fail(fmt::format("spines={} must divide group={}", spines, group));
  } else if (groups * (group / spines) > radix) {
    r.Fail(fmt::format("{} leaf groups x {} links need {} ports per spine, more than radix={}", groups, group / spines,
                       groups * (group / spines), radix));
  }
  if (r.error()) return std::unexpected(*r.error());
  const unsigned per_spine = group / spines;

  GenBuilder b;
  const size_t switches = size_t{rails} * (groups + spines);
  b.Reserve(servers + switches, size_t{servers} * (rails + 1) + switches * (radix + 1));
  if (!b.ok()) return b.Finish();
  std::vector<NodeId> srv(servers);
  for (unsigned i = 0; i < servers; ++i)
    srv[i] = b.AddCa(fmt::format("srv{}", Padded(i, servers)), rails,
                     Labels{.tier = 0, .rack = static_cast<int32_t>(i / group)});
  for (unsigned rail = 0; rail < rails; ++rail) {
    const std::string prefix = fmt::format("r{}", Padded(rail, rails));
    const auto labels = [&](int32_t tier, int32_t rack) {
      return Labels{.plane = static_cast<int32_t>(rail), .tier = tier, .rack = rack, .level = FabricLevel::kScaleOut};
    };
    std::vector<NodeId> leaf(groups), spine(spines);
    for (size_t g = 0; g < groups; ++g)
      leaf[g] =
          b.AddSwitch(fmt::format("{}-l1-{}", prefix, Padded(g, groups)), radix, labels(1, static_cast<int32_t>(g)));
    for (unsigned s = 0; s < spines; ++s)
      spine[s] = b.AddSwitch(fmt::format("{}-l2-{}", prefix, Padded(s, spines)), radix, labels(2, -1));
    if (!b.ok()) break;
    for (unsigned i = 0; i < servers; ++i) b.Connect(srv[i], rail + 1, leaf[i / group], i % group + 1, rate);
    for (size_t g = 0; g < groups; ++g)
      for (unsigned y = 0; y < group; ++y)
        b.Connect(leaf[g], group + y + 1, spine[y / per_spine],
                  static_cast<unsigned>(g * per_spine + y % per_spine) + 1, rate);
  }
  return b.Finish();
}

}  // namespace

const GeneratorDef kRail{
    .info = {.name = "rail",
             .help = "rail-optimised multi-plane Clos: NIC r of every server on rail r, each rail its own leaf/spine "
                     "plane",
             .params = kParams},
    .generate = Generate,
};

}  // namespace fabricctl::gen
