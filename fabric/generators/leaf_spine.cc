// leaf-spine: leaves joined to a few large spines by several cables per leaf-spine pair, as
// many production clusters are cabled (two or three director-class spines, six cables from
// every leaf to each), with hosts on one leaf or dual-homed to a pair of leaves.
#include <fmt/format.h>

#include <string>
#include <vector>

#include "fabric/generators/generators.h"

namespace fabricctl::gen {
namespace {

constexpr GeneratorParam kParams[] = {
    {"leaves", "24", "leaf switches"},
    {"spines", "2", "spine switches; a spine has leaves x cables ports"},
    {"cables", "6", "parallel cables between every leaf and every spine"},
    {"hosts", "18", "host ports per leaf"},
    {"dual_homed", "false", "every host has two ports, one on each leaf of a pair (leaves 2i and 2i+1)"},
    {"rate", "4xNDR", "link width and speed"},
};

struct Shape {
  unsigned leaves = 0, spines = 0, cables = 0, hosts = 0;
  bool dual_homed = false;
  LinkRate rate;
  unsigned leaf_ports() const { return hosts + spines * cables; }
  unsigned spine_ports() const { return leaves * cables; }
};

void CheckShape(const Shape& s, ParamReader& r) {
  if (s.leaf_ports() > kMaxSwitchPorts)
    r.Fail(fmt::format("a leaf would need hosts + spines x cables = {} ports, more than {}", s.leaf_ports(),
                       kMaxSwitchPorts));
  else if (s.spine_ports() > kMaxSwitchPorts)
    r.Fail(
        fmt::format("a spine would need leaves x cables = {} ports, more than {}", s.spine_ports(), kMaxSwitchPorts));
  else if (s.dual_homed && s.leaves % 2 == 1)
    r.Fail(fmt::format("dual_homed=true pairs the leaves: leaves must be even, not {}", s.leaves));
}

// Hosts on ports 1..hosts of their leaf; dual-homed hosts use the same port on both leaves
// of their pair.
void AddHosts(GenBuilder& b, const Shape& s, const std::vector<NodeId>& leaf) {
  const unsigned homes = s.dual_homed ? 2 : 1;
  for (unsigned first = 0; first < s.leaves && b.ok(); first += homes) {
    const std::string group = s.dual_homed ? fmt::format("ls-pair{}", Padded(first / 2, s.leaves / 2))
                                           : fmt::format("ls-leaf{}", Padded(first, s.leaves));
    for (unsigned h = 0; h < s.hosts && b.ok(); ++h) {
      const NodeId host = b.AddCa(fmt::format("{}-h{}", group, Padded(h, s.hosts)), homes,
                                  Labels{.tier = 0, .rack = static_cast<int32_t>(first)});
      for (unsigned home = 0; home < homes && b.ok(); ++home)
        b.Connect(host, home + 1, leaf[first + home], h + 1, s.rate);
    }
  }
}

Result<Fabric> Generate(ParamReader& r) {
  Shape s{.leaves = static_cast<unsigned>(r.Int("leaves", 1, kMaxSwitchPorts)),
          .spines = static_cast<unsigned>(r.Int("spines", 1, 254)),
          .cables = static_cast<unsigned>(r.Int("cables", 1, kMaxSwitchPorts)),
          .hosts = static_cast<unsigned>(r.Int("hosts", 0, 254)),
          .dual_homed = r.Bool("dual_homed"),
          .rate = r.Rate("rate")};
  if (r.error()) return std::unexpected(*r.error());
  CheckShape(s, r);
  if (r.error()) return std::unexpected(*r.error());

  GenBuilder b;
  const size_t hosts = size_t{s.leaves} * s.hosts / (s.dual_homed ? 2 : 1);
  const size_t switches = size_t{s.leaves} + s.spines;
  b.Reserve(hosts + switches,
            hosts * 3 + size_t{s.leaves} * (s.leaf_ports() + 1) + size_t{s.spines} * (s.spine_ports() + 1));
  if (!b.ok()) return b.Finish();
  std::vector<NodeId> leaf(s.leaves), spine(s.spines);
  for (unsigned l = 0; l < s.leaves; ++l)
    leaf[l] = b.AddSwitch(fmt::format("ls-leaf{}", Padded(l, s.leaves)), s.leaf_ports(),
                          Labels{.tier = 1, .rack = static_cast<int32_t>(l), .level = FabricLevel::kScaleOut});
  for (unsigned p = 0; p < s.spines; ++p)
    spine[p] = b.AddSwitch(fmt::format("ls-spine{}", Padded(p, s.spines)), s.spine_ports(),
                           Labels{.tier = 2, .rack = -1, .level = FabricLevel::kScaleOut});
  AddHosts(b, s, leaf);
  // Leaf l's cables to spine p on ports hosts + p * cables + 1.., arriving on spine ports
  // l * cables + 1..
  for (unsigned l = 0; l < s.leaves && b.ok(); ++l)
    for (unsigned p = 0; p < s.spines; ++p)
      for (unsigned c = 0; c < s.cables; ++c)
        b.Connect(leaf[l], s.hosts + p * s.cables + c + 1, spine[p], l * s.cables + c + 1, s.rate);
  return b.Finish();
}

}  // namespace

const GeneratorDef kLeafSpine{
    .info = {.name = "leaf-spine",
             .help = "leaf-spine: leaves joined to a few large spines by several cables each; hosts on one leaf or "
                     "dual-homed to a pair",
             .params = kParams},
    .generate = Generate,
};

}  // namespace fabricctl::gen
