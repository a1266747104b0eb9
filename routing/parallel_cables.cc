#include "routing/parallel_cables.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace fabricctl {
namespace {

// One destination's flow over a pair of switches: its routes there and the cable (index
// into the pair's ports) they take.
struct Item {
  Lid lid;
  uint32_t flow;
  uint32_t cable;
};

// The switch pairs joined by several cables: every group of SwitchGraph with more than one
// port, the group of each (switch, port), and the destinations' flows over each.
class ParallelGroups {
 public:
  ParallelGroups(const Fabric& f, const SwitchGraph& g) : g_(g), group_of_(f, g) {
    parallel_.assign(g.end(g.num_switches() - 1), kNone);
    for (uint32_t s = 0; s < g.num_switches(); ++s)
      for (uint32_t grp = g.begin(s); grp < g.end(s); ++grp)
        if (g.ports(grp).size() > 1) {
          parallel_[grp] = uint32_t(items_.size());
          items_.emplace_back();
          owner_.push_back(s);
        }
  }

  bool any() const { return !items_.empty(); }

  // The group switch s's port p belongs to (kNone: no switch cable).
  uint32_t group(uint32_t s, uint8_t p) const { return group_of_.at(s, p); }

  // Records the flow of destination `lid` leaving switch s by port p, when p is one of
  // several cables to the same neighbour.
  void Record(uint32_t s, uint8_t p, Lid lid, uint32_t flow) {
    const uint32_t grp = group(s, p);
    if (grp == kNone || parallel_[grp] == kNone) return;
    const auto ports = g_.ports(grp);
    const uint32_t cable = uint32_t(std::find(ports.begin(), ports.end(), p) - ports.begin());
    items_[parallel_[grp]].push_back(Item{lid, flow, cable});
  }

  // visit(switch, group, items) for every parallel group.
  template <class Visit>
  void ForEach(const Visit& visit) {
    for (uint32_t grp = 0; grp < parallel_.size(); ++grp)
      if (const uint32_t i = parallel_[grp]; i != kNone) visit(owner_[i], grp, items_[i]);
  }

 private:
  const SwitchGraph& g_;
  const PortGroups group_of_;
  std::vector<uint32_t> parallel_;        // per group: its index in items_ (kNone: one cable)
  std::vector<std::vector<Item>> items_;  // per parallel group
  std::vector<uint32_t> owner_;           // per parallel group: the switch it leaves
};

// The flows of every endpoint destination: for each, the routes of every source switch's
// endpoints walked along the LFT, summed per switch they leave, then recorded where the
// switch leaves by one of several cables. A destination some walk does not reach (a
// missing entry, or a loop: more steps than switches; the verifier reports both) records
// nothing, and its entries stay as they are.
void CollectFlows(const SwitchGraph& g, const SubnetRoutes& out, ParallelGroups& groups) {
  const uint32_t switches = g.num_switches();
  const size_t num_lids = out.num_lids();
  std::vector<uint32_t> sources;
  for (uint32_t s = 0; s < switches; ++s)
    if (!g.endpoint_lids(s).empty()) sources.push_back(s);
  std::vector<uint32_t> flow(switches, 0), touched, path;
  // The switches from v to x's switch d, in `path`; false when the walk does not get there.
  auto walk = [&](uint32_t v, Lid x, uint32_t d) {
    path.clear();
    for (uint32_t s = v; s != d;) {
      const uint32_t grp = groups.group(s, out.lft[size_t{s} * num_lids + x]);
      if (grp == kNone || path.size() == switches) return false;
      path.push_back(s);
      s = g.nbr(grp);
    }
    return true;
  };
  for (Lid x = 1; x < g.num_lids(); ++x) {
    const uint32_t d = g.lid_switch(x);
    if (d == kNone || g.lid_is_switch(x)) continue;
    bool reached = true;
    for (uint32_t v : sources) {
      if (v == d) continue;
      reached = walk(v, x, d);
      if (!reached) break;
      for (uint32_t s : path) {
        if (flow[s] == 0) touched.push_back(s);
        flow[s] += uint32_t(g.endpoint_lids(v).size());
      }
    }
    for (uint32_t s : touched) {
      if (reached) groups.Record(s, out.lft[size_t{s} * num_lids + x], x, flow[s]);
      flow[s] = 0;
    }
    touched.clear();
  }
}

// The busiest cable of a group, each cable's routes times its cost.
uint64_t Busiest(const std::vector<uint64_t>& load, const std::vector<uint32_t>& cost) {
  uint64_t busiest = 0;
  for (size_t c = 0; c < load.size(); ++c) busiest = std::max(busiest, load[c] * cost[c]);
  return busiest;
}

// Packs one group's items over its cables, heaviest flow first (then by LID), each onto the
// cable it leaves least loaded per capacity (its own cable on a tie, else the first). Returns
// whether that lowered the busiest cable; the items' cables are then the new ones.
bool Pack(std::vector<Item>& items, const std::vector<uint32_t>& cost) {
  std::vector<uint64_t> load(cost.size(), 0);
  for (const Item& it : items) load[it.cable] += it.flow;
  const uint64_t before = Busiest(load, cost);
  std::vector<Item> packed = items;
  std::sort(packed.begin(), packed.end(),
            [](const Item& a, const Item& b) { return a.flow != b.flow ? a.flow > b.flow : a.lid < b.lid; });
  std::fill(load.begin(), load.end(), 0);
  for (Item& it : packed) {
    uint32_t pick = it.cable;
    uint64_t least = (load[pick] + it.flow) * cost[pick];
    for (uint32_t c = 0; c < cost.size(); ++c)
      if (const uint64_t after = (load[c] + it.flow) * cost[c]; after < least) least = after, pick = c;
    it.cable = pick;
    load[pick] += it.flow;
  }
  if (Busiest(load, cost) >= before) return false;
  items = std::move(packed);
  return true;
}

// The most LFT entries spread: the walk and the flows cost about 60 ns per entry (0.49 s
// for the 8 million of scalex-cluster's scale-out subnet on a 2-core EPYC VM).
constexpr size_t kMostEntries = size_t{1} << 22;

}  // namespace

CableSpread SpreadOverParallelCables(const Fabric& f, const SwitchGraph& g, const ChannelCapacity& capacity,
                                     SubnetRoutes& out) {
  CableSpread spread;
  if (g.num_switches() == 0 || out.lft.size() > kMostEntries) return spread;
  ParallelGroups groups(f, g);
  if (!groups.any()) return spread;
  CollectFlows(g, out, groups);
  const size_t num_lids = out.num_lids();
  std::vector<uint32_t> cost;
  groups.ForEach([&](uint32_t s, uint32_t grp, std::vector<Item>& items) {
    if (items.empty()) return;
    ++spread.groups;
    const auto ports = g.ports(grp);
    cost.clear();
    for (uint8_t p : ports) cost.push_back(capacity.cost(f.port_id(g.node(s), p)));
    if (!Pack(items, cost)) return;
    ++spread.packed;
    for (const Item& it : items) {
      uint8_t& entry = out.lft[size_t{s} * num_lids + it.lid];
      if (entry != ports[it.cable]) ++spread.entries;
      entry = ports[it.cable];
    }
  });
  return spread;
}

}  // namespace fabricctl
