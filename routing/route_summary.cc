#include "routing/route_summary.h"

#include <algorithm>
#include <atomic>
#include <optional>

#include "routing/channel_capacity.h"
#include "routing/route_walk.h"
#include "routing/switch_graph.h"

namespace fabricctl {
namespace {

// The turns routes take, for the channel dependency graph: row (u, out) at base[u] +
// out * words[u], a bit per in port of u. Threads only ever set bits, and most turns are
// known after a few destinations, so a row is read before it is written.
class TurnRows final : public TurnSink {
 public:
  explicit TurnRows(const PortSlots& slots) : slots_(slots) {
    const uint32_t num_switches = slots.num_switches();
    base_.assign(num_switches + 1, 0);
    words_.assign(num_switches, 0);
    for (uint32_t s = 0; s < num_switches; ++s) {
      words_[s] = (slots.ports(s) + 63) / 64;
      base_[s + 1] = base_[s] + size_t{slots.ports(s)} * words_[s];
    }
    bits_.assign(base_[num_switches], 0);
  }

  void Record(std::span<const uint32_t> at, const uint64_t* in_ports, const uint8_t* out_ports) override {
    for (const uint32_t u : at) {
      const uint64_t* mask = &in_ports[size_t{u} * 4];
      const size_t row = base_[u] + size_t{out_ports[u]} * words_[u];
      for (uint32_t i = 0; i < std::min(words_[u], 4u); ++i) {
        std::atomic_ref<uint64_t> word(bits_[row + i]);
        if ((word.load(std::memory_order_relaxed) & mask[i]) != mask[i])
          word.fetch_or(mask[i], std::memory_order_relaxed);
      }
    }
  }

  // Channel dependency graph: channel (s, p) -> (u, out) for every turn taken at u.
  // Kahn's algorithm: acyclic iff every channel gets removed.
  bool Acyclic() const {
    const uint32_t slots = slots_.num_slots();
    std::vector<uint32_t> indegree(slots, 0);
    for (uint32_t c = 0; c < slots; ++c) ForEachSuccessor(c, [&](uint32_t d) { ++indegree[d]; });
    std::vector<uint32_t> queue;
    for (uint32_t c = 0; c < slots; ++c)
      if (indegree[c] == 0) queue.push_back(c);
    for (size_t head = 0; head < queue.size(); ++head)
      ForEachSuccessor(queue[head], [&](uint32_t d) {
        if (--indegree[d] == 0) queue.push_back(d);
      });
    return queue.size() == slots;
  }

 private:
  template <class Fn>
  void ForEachSuccessor(uint32_t slot, Fn&& fn) const {
    const uint32_t u = slots_.next_switch[slot];
    if (u == kNoSwitch) return;
    const uint32_t in = slots_.peer_port[slot], words = words_[u];
    const uint64_t bit = uint64_t{1} << (in % 64);
    const uint64_t* row = &bits_[base_[u] + in / 64];
    for (uint32_t out = 1; out < slots_.ports(u); ++out)
      if (row[size_t{out} * words] & bit) fn(slots_.base[u] + out);
  }

  const PortSlots& slots_;
  std::vector<size_t> base_;
  std::vector<uint32_t> words_;
  std::vector<uint64_t> bits_;
};

// The worst routes per channel, and per capacity where cable rates differ.
void ChannelLoads(const Fabric& fabric, const Subnet& subnet, const PortSlots& slots, const std::vector<uint64_t>& load,
                  RouteSummary& sum) {
  sum.max_channel_load = load.empty() ? 0 : *std::max_element(load.begin(), load.end());
  sum.max_load_per_capacity = double(sum.max_channel_load);
  const ChannelCapacity capacity(fabric, subnet);
  if (capacity.uniform()) return;
  for (uint32_t s = 0; s < slots.num_switches(); ++s)
    for (uint32_t p = 1; p < slots.ports(s); ++p)
      if (const uint64_t routes = load[slots.base[s] + p]; routes != 0)
        sum.max_load_per_capacity =
            std::max(sum.max_load_per_capacity, double(routes) / capacity.share(fabric.port_id(subnet.switches[s], p)));
}

}  // namespace

RouteSummary SummarizeRoutes(const Fabric& fabric, const Subnet& subnet, const SubnetRoutes& routes, unsigned threads,
                             SummaryCreditLoops credit_loops) {
  RouteSummary sum;
  const SwitchGraph g(fabric, subnet, routes);
  const uint32_t num_switches = g.num_switches();
  if (num_switches == 0) {
    sum.deadlock_free = true;
    return sum;
  }
  // Every endpoint LID on a switch is a source and a destination.
  std::vector<uint32_t> sources(num_switches);
  for (uint32_t s = 0; s < num_switches; ++s) sources[s] = static_cast<uint32_t>(g.endpoint_lids(s).size());
  WalkDestinations destinations;
  for (Lid lid = 1; lid < routes.num_lids(); ++lid)
    if (g.lid_switch(lid) != kNone && !g.lid_is_switch(lid)) destinations.Add(lid, g.lid_switch(lid), g.lid_port(lid));
  const PortSlots slots = MakePortSlots(fabric, subnet.switches);
  const bool check_loops = routes.num_vls <= 1 && credit_loops == SummaryCreditLoops::kCheck;
  std::optional<TurnRows> turns;
  if (check_loops) turns.emplace(slots);
  const RouteWalkTotals totals = WalkRoutes({.slots = slots,
                                             .routes = routes,
                                             .destinations = destinations,
                                             .sources = sources,
                                             .threads = threads,
                                             .turns = turns ? &*turns : nullptr});
  sum.pairs = totals.pairs;
  sum.unreachable_pairs = totals.unreachable;
  // Two links (endpoint, switch, endpoint) is the floor the summary reports once there are
  // pairs, even when none arrives.
  sum.max_hops = totals.pairs ? std::max(totals.max_hops, 2u) : 0;
  const uint64_t reachable = totals.pairs - totals.unreachable;
  sum.avg_hops = reachable ? double(totals.hop_sum) / double(reachable) : 0;
  ChannelLoads(fabric, subnet, slots, totals.load, sum);
  if (turns) sum.deadlock_free = turns->Acyclic();
  return sum;
}

}  // namespace fabricctl
