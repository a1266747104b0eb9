#pragma once
// What the two ways of filling balanced LFTs (routing/balanced_lft.h) share: the hop table
// they read, the cost of a route on each channel, the cut bound that ends rerouting, and the
// driver that runs the first pass and the rip-up-and-reroute rounds in a fixed destination
// order.
#include <algorithm>
#include <array>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "routing/channel_capacity.h"
#include "routing/cut_bound.h"
#include "routing/routes.h"
#include "routing/switch_graph.h"

namespace fabricctl {

// Rip-up-and-reroute rounds after the first pass, at most; they stop as soon as the busiest
// channel reaches the cut bound or a round lowers its load by less than 5%.
inline constexpr unsigned kRerouteRounds = 2;

// The hop table is by destination: hop[d * num_switches + s] & mask is the hop count from switch
// s to destination switch d, kUnreachable when there is none (so the scans over s read one
// row). accept(row, s, t): neighbour switch t of s is a next hop towards the destination
// whose row that is; it must imply row[t] + 1 == row[s] (masked).
struct HopTable {
  const std::vector<uint8_t>& hop;
  uint8_t mask = 0xFF;
};

// The cable rates of the subnet a SwitchGraph was built from (routing/channel_capacity.h):
// a route over a channel costs capacity.cost() of its port.
struct ChannelRates {
  const Fabric& fabric;
  const ChannelCapacity& capacity;
};

namespace balanced {

struct Setup {
  std::vector<uint64_t> sources;  // endpoint LIDs per switch
  uint64_t bound = 0;             // the cut bound of switches (routing/cut_bound.h), in load units
  unsigned stride = 1;            // highest switch-to-switch port number + 1
  size_t channels = 0;            // switch-to-switch ports, all switches
  size_t most_channels = 0;       // switch-to-switch ports of the switch with the most
  // When cable rates differ: the cost of one route per channel (switch * stride + port),
  // and loads are sums of costs, so that balancing evens out load per capacity. Empty when
  // every cable runs at the top rate: loads are route counts, as they always were, and the
  // tables do not change.
  std::vector<uint32_t> cost;
  unsigned reroute_rounds = kRerouteRounds;  // at most, after the first pass
};

// No routing can beat the busiest cut around one switch (routing/cut_bound.h). With costs,
// a channel of cost c carries at most X / c routes when the busiest load is X, so
// X >= routes / sum(1 / c) (rounded down: a bound only ends rerouting, and must not end it
// too early).
inline uint64_t CutBound(const SwitchGraph& g, const Setup& st, uint64_t total) {
  auto ends = [&](uint32_t s) { return std::pair<uint64_t, uint64_t>(st.sources[s], st.sources[s]); };
  auto channels = [&](uint32_t s, const auto& visit) {
    for (uint32_t e = g.begin(s); e < g.end(s); ++e)
      for (uint8_t p : g.ports(e)) visit(g.nbr(e), st.cost.empty() ? 1.0 : 1.0 / st.cost[size_t{s} * st.stride + p]);
  };
  const CutBounds bounds = SubnetCutBounds(CutSets::kSwitches, g.num_switches(), total, total, ends, channels);
  return st.cost.empty() ? bounds.routes : static_cast<uint64_t>(bounds.weighted);
}

inline Setup MakeSetup(const SwitchGraph& g, const ChannelRates& rates) {
  const uint32_t num_switches = g.num_switches();
  Setup st;
  st.sources.resize(num_switches);
  uint64_t total = 0;
  for (uint32_t s = 0; s < num_switches; ++s) total += st.sources[s] = g.endpoint_lids(s).size();
  for (uint32_t s = 0; s < num_switches; ++s) {
    uint64_t up = 0;
    for (uint32_t e = g.begin(s); e < g.end(s); ++e) {
      up += g.ports(e).size();
      for (uint8_t p : g.ports(e)) st.stride = std::max<unsigned>(st.stride, p + 1u);
    }
    st.channels += up;
    st.most_channels = std::max<size_t>(st.most_channels, up);
  }
  if (!rates.capacity.uniform()) {
    st.cost.assign(size_t{num_switches} * st.stride, ChannelCapacity::kUnitCost);
    for (uint32_t s = 0; s < num_switches; ++s)
      for (uint32_t e = g.begin(s); e < g.end(s); ++e)
        for (uint8_t p : g.ports(e))
          st.cost[size_t{s} * st.stride + p] = rates.capacity.cost(rates.fabric.port_id(g.node(s), p));
  }
  st.bound = CutBound(g, st, total);
  return st;
}

// The switches that reach the destination whose hop row this is (row[s] & mask hops,
// kUnreachable for none), farthest first, so the destination comes last: place(s, i) puts
// switch s at position i. Returns how many. A counting sort: hop counts are below 256.
template <typename Place>
uint32_t OrderFarthestFirst(const uint8_t* row, uint8_t mask, uint32_t num_switches, const Place& place) {
  std::array<uint32_t, 256> at{};  // per hop count: how many, then the next position
  uint32_t farthest = 0, reached = 0;
  for (uint32_t s = 0; s < num_switches; ++s)
    if (row[s] != kUnreachable) {
      const uint32_t hops = row[s] & mask;
      ++at[hops];
      farthest = std::max(farthest, hops);
      ++reached;
    }
  for (uint32_t hops = farthest + 1, next = 0; hops-- > 0;) {
    const uint32_t count = at[hops];
    at[hops] = next;
    next += count;
  }
  for (uint32_t s = 0; s < num_switches; ++s)
    if (row[s] != kUnreachable) place(s, at[row[s] & mask]++);
  return reached;
}

// The candidate k of [first, end) with the least value(k), scanning from `start` round to
// just before it, so that of equal values the first in that order wins: with `start` moving
// with the LID, the destinations of one switch spread over its equal choices (d-mod-k on
// fat trees). Returns the candidate and its value.
template <typename Value>
std::pair<uint32_t, uint64_t> LeastFrom(uint32_t first, uint32_t start, uint32_t end, const Value& value) {
  uint32_t best = start;
  uint64_t least = value(start);
  for (uint32_t k = start + 1; k < end; ++k)
    if (const uint64_t v = value(k); v < least) {
      best = k;
      least = v;
    }
  for (uint32_t k = first; k < start; ++k)
    if (const uint64_t v = value(k); v < least) {
      best = k;
      least = v;
    }
  return {best, least};
}

// How far LoadAfter follows a forced path (fat trees: two switches down from a core).
inline constexpr unsigned kForcedLookAhead = 8;

// Where a switch's path towards the current destination has no choice left: its one
// channel onward and the switch (or plan position) that channel reaches; channel kNone
// where it has a choice.
struct ForcedHop {
  uint32_t channel = kNone;
  uint32_t next = kNone;
};

// With costs: the load a candidate channel would have after taking `flow` (`own`), or more
// when the path from its far end `at` is forced (forced[at]) and a channel on it would be
// busier: a leaf choosing between fast uplinks does not see the slow cable down that the
// spine then has no choice but to take, nor the fast ones the other spines would take.
// pending[at]: the flow `at` already passes on. The channel and the next switch share one
// entry, so each step of the walk is one dependent load.
inline uint64_t LoadAfter(uint64_t own, uint32_t at, uint64_t flow, const uint64_t* load, const uint32_t* cost,
                          const ForcedHop* forced, const uint64_t* pending) {
  uint64_t worst = own;
  for (unsigned depth = 0; depth < kForcedLookAhead; ++depth) {
    const ForcedHop hop = forced[at];
    if (hop.channel == kNone) break;
    flow += pending[at];
    worst = std::max(worst, load[hop.channel] + flow * cost[hop.channel]);
    at = hop.next;
  }
  return worst;
}

// Switch LID `lid` of switch d (row: d's hop row): it carries management traffic only, so
// no balancing; every switch that reaches d takes the first next hop (a neighbour group,
// then one of its cables) at or after a place that moves with the LID.
template <typename Accept>
void RouteSwitchLidRotating(const SwitchGraph& g, const uint8_t* row, const Accept& accept, uint32_t d, Lid lid,
                            SubnetRoutes& out) {
  const size_t num_lids = out.num_lids();
  // Neighbouring switches mostly have the same degree: one division per run of them.
  uint32_t degree = 0, start = 0;
  for (uint32_t s = 0; s < g.num_switches(); ++s) {
    if (row[s] == kUnreachable) continue;
    uint8_t& entry = out.lft[size_t{s} * num_lids + lid];
    if (s == d) {
      entry = g.lid_port(lid);
      continue;
    }
    const uint32_t n = g.degree(s);
    if (n != degree) {
      degree = n;
      start = lid % n;
    }
    for (uint32_t j = 0, k = start; j < n; ++j, k = k + 1 == n ? 0 : k + 1) {
      const uint32_t e = g.begin(s) + k;
      if (!accept(row, s, g.nbr(e))) continue;
      const auto ports = g.ports(e);
      entry = ports.size() == 1 ? ports[0] : ports[lid % ports.size()];
      break;
    }
  }
}

// Where the scan for the least loaded candidate starts, as a fraction of the candidates: a
// multiplicative hash of the LID, so that the destinations of one switch spread over its
// equal choices (d-mod-k on fat trees).
inline uint32_t Spread(Lid lid) { return static_cast<uint32_t>(lid * 0x9E3779B9u); }
// That fraction of n, by a multiply rather than a division.
inline uint32_t SpreadOf(uint32_t spread, uint32_t n) { return static_cast<uint32_t>((uint64_t{spread} * n) >> 32); }

// Up to this many bytes of LFT are copied before a rerouting round, so that a round that
// leaves the busiest channel heavier can be undone; larger tables keep such a round.
inline constexpr size_t kUndoableLftBytes = size_t{512} << 20;

// route(d, reroute) routes every endpoint LID of switch d (taking its previous routes off
// first when rerouting); busiest() is the load of the busiest channel (in st.bound's units).
// The first pass takes destinations in switch order (on fat trees that alone meets the
// bound: the LIDs of one leaf in a row spread like d-mod-k); rerouting takes them in a
// scrambled order, which on tori gets further in one round than switch order does. A
// rerouting round that leaves the busiest channel heavier than the round before (jellyfish
// with slow cables, tori with a failed cable, dragonflies under updn) is undone: `lft` goes
// back to the copy taken before it. Sequential in a fixed order, so the result does not
// depend on the thread count.
template <typename Route, typename Busiest>
void RunRounds(const Setup& st, const Route& route, const Busiest& busiest_now, std::vector<uint8_t>& lft) {
  const uint32_t num_switches = static_cast<uint32_t>(st.sources.size());
  std::vector<uint32_t> scrambled(num_switches);
  std::iota(scrambled.begin(), scrambled.end(), 0u);
  std::sort(scrambled.begin(), scrambled.end(),
            [](uint32_t a, uint32_t b) { return std::pair(a * 0x9E3779B9u, a) < std::pair(b * 0x9E3779B9u, b); });
  const bool undoable = lft.size() <= kUndoableLftBytes;
  std::vector<uint8_t> before;
  uint64_t busiest = ~uint64_t{0};
  for (unsigned round = 0; round <= st.reroute_rounds; ++round) {
    if (round > 0 && undoable) before = lft;
    for (uint32_t i = 0; i < num_switches; ++i) {
      const uint32_t d = round == 0 ? i : scrambled[i];
      if (st.sources[d]) route(d, round > 0);
    }
    const uint64_t now = busiest_now();
    if (round > 0 && undoable && now > busiest) {
      lft.swap(before);
      break;
    }
    if (now <= st.bound || now >= busiest - busiest / 20) break;  // at the bound, or < 5% better
    busiest = now;
  }
}

}  // namespace balanced
}  // namespace fabricctl
