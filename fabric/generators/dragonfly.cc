// dragonfly: groups of routers, all-to-all inside a group, global links between groups in
// the consecutive arrangement (group pairs in order take the next free global port of
// each side), so every pair of groups is joined when groups <= routers * global + 1.
#include <fmt/format.h>

#include <vector>

#include "fabric/generators/generators.h"

namespace fabricctl::gen {
namespace {

constexpr GeneratorParam kParams[] = {
    {"groups", "9", "groups; at most routers x global + 1"},
    {"routers", "4", "routers per group (all-to-all inside the group)"},
    {"hosts", "2", "hosts per router"},
    {"global", "2", "global links per router"},
    {"rate", "4xNDR", "link width and speed"},
};

Result<Fabric> Generate(ParamReader& r) {
  const unsigned groups = static_cast<unsigned>(r.Int("groups", 2, 10'000));
  const unsigned routers = static_cast<unsigned>(r.Int("routers", 1, 254));
  const unsigned hosts = static_cast<unsigned>(r.Int("hosts", 0, 254));
  const unsigned global = static_cast<unsigned>(r.Int("global", 1, 254));
  const LinkRate rate = r.Rate("rate");
  if (r.error()) return std::unexpected(*r.error());
  const unsigned radix = hosts + (routers - 1) + global;
  const size_t per_group = size_t{routers} * global;
  if (radix > kMaxSwitchPorts)
    r.Fail(fmt::format("a router would need {} ports (hosts + routers - 1 + global), more than {}", radix,
                       kMaxSwitchPorts));
  else if (groups - 1 > per_group)
    r.Fail(fmt::format("{} groups need {} global links per group to reach each other, have routers x global = {}",
                       groups, groups - 1, per_group));
  if (r.error()) return std::unexpected(*r.error());
  const size_t links_per_pair = per_group / (groups - 1);

  GenBuilder b;
  const size_t n_routers = size_t{groups} * routers;
  b.Reserve(n_routers * (1 + hosts), n_routers * (radix + 1 + hosts * 2));
  if (!b.ok()) return b.Finish();
  std::vector<NodeId> router(n_routers);
  for (unsigned g = 0; g < groups; ++g)
    for (unsigned x = 0; x < routers; ++x) {
      const std::string name = fmt::format("df-g{}-r{}", Padded(g, groups), Padded(x, routers));
      const int32_t rack = static_cast<int32_t>(g);
      NodeId rt = router[g * routers + x] =
          b.AddSwitch(name, radix, Labels{.tier = 1, .rack = rack, .level = FabricLevel::kScaleOut});
      for (unsigned h = 0; h < hosts; ++h) {
        NodeId host = b.AddCa(fmt::format("{}-h{}", name, Padded(h, hosts)), 1, Labels{.tier = 0, .rack = rack});
        if (b.ok()) b.Connect(host, 1, rt, h + 1, rate);
      }
    }
  if (!b.ok()) return b.Finish();
  // Local port of router x towards router y (y != x).
  const auto local_port = [&](unsigned x, unsigned y) { return hosts + (y < x ? y : y - 1) + 1; };
  for (unsigned g = 0; g < groups; ++g)
    for (unsigned x = 0; x < routers; ++x)
      for (unsigned y = x + 1; y < routers; ++y)
        b.Connect(router[g * routers + x], local_port(x, y), router[g * routers + y], local_port(y, x), rate);
  std::vector<size_t> next_slot(groups, 0);
  const auto global_port = [&](unsigned g) {
    size_t slot = next_slot[g]++;
    return PortRef{router[g * routers + slot / global],
                   hosts + (routers - 1) + static_cast<unsigned>(slot % global) + 1};
  };
  for (unsigned i = 0; i < groups; ++i)
    for (unsigned j = i + 1; j < groups; ++j)
      for (size_t t = 0; t < links_per_pair; ++t) {
        PortRef a = global_port(i);
        b.Connect(a, global_port(j), rate);
      }
  return b.Finish();
}

}  // namespace

const GeneratorDef kDragonfly{
    .info = {.name = "dragonfly",
             .help = "dragonfly: all-to-all groups of routers joined by global links; needs VLs for deadlock freedom",
             .params = kParams},
    .generate = Generate,
};

}  // namespace fabricctl::gen
