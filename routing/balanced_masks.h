#pragma once
// Balanced LFT filling for switches with few switch-to-switch channels (tori, meshes, most
// direct networks, small fat trees): every channel of a switch is a bit of a 16-bit mask,
// and the candidates of every (destination, switch) pair are computed once, as a mask, in
// the farthest-first order of the destination. A step of a pass is then a few loads and a
// loop over the set bits that keeps the minimum by a conditional move, where the general form
// (routing/balanced_lft.h) rebuilds a candidate list per destination and pass. Same rule,
// same rounds, same costs for slower cables; ties are broken by the first channel at or
// after a LID-dependent place.
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "routing/balanced_rounds.h"
#include "routing/parallel.h"
#include "routing/routes.h"
#include "routing/switch_graph.h"

namespace fabricctl::balanced {

inline constexpr unsigned kMaskChannels = 16;
// The plan holds 4 bytes per (destination with endpoints, switch) pair; above this it is
// not worth the memory and the general form runs instead.
inline constexpr size_t kMaskPlanBytes = size_t{96} << 20;

inline bool MaskPlanFits(const SwitchGraph& g, const Setup& st) {
  const uint32_t num_switches = g.num_switches();
  if (num_switches > 0xFFFF || st.most_channels > kMaskChannels) return false;
  const size_t destinations = num_switches - static_cast<size_t>(std::count(st.sources.begin(), st.sources.end(), 0));
  return destinations * num_switches * 4 <= kMaskPlanBytes;
}

template <typename Accept>
void FillMasked(const SwitchGraph& g, const HopTable& table, const Accept& accept, unsigned threads, const Setup& st,
                SubnetRoutes& out) {
  const uint32_t num_switches = g.num_switches();
  const size_t num_lids = out.num_lids();
  // Channels numbered switch by switch: first[s] + k is channel k (bit k) of s.
  const unsigned stride = st.stride;
  std::vector<uint32_t> chan_first(num_switches + 1, 0);
  for (uint32_t s = 0; s < num_switches; ++s) {
    uint32_t n = 0;
    for (uint32_t e = g.begin(s); e < g.end(s); ++e) n += static_cast<uint32_t>(g.ports(e).size());
    chan_first[s + 1] = chan_first[s] + n;
  }
  const uint32_t num_channels = chan_first[num_switches];
  std::vector<uint32_t> chan_nbr(num_channels);
  std::vector<uint8_t> chan_port(num_channels);
  std::vector<uint32_t> port_chan(size_t{num_switches} * stride, 0);  // the channel out of (switch, port)
  // The cost of one route per channel when cable rates differ (empty otherwise).
  std::vector<uint32_t> chan_cost(st.cost.empty() ? 0 : num_channels);
  for (uint32_t s = 0; s < num_switches; ++s) {
    uint32_t c = chan_first[s];
    for (uint32_t e = g.begin(s); e < g.end(s); ++e)
      for (uint8_t p : g.ports(e)) {
        chan_nbr[c] = g.nbr(e);
        chan_port[c] = p;
        if (!chan_cost.empty()) chan_cost[c] = st.cost[size_t{s} * stride + p];
        port_chan[size_t{s} * stride + p] = c++;
      }
  }
  const uint32_t* const first = chan_first.data();
  const uint32_t* const nbr = chan_nbr.data();
  const uint8_t* const port = chan_port.data();

  // The plan of destination d (one with endpoints; slot[d] numbers them): the switches that
  // reach d, farthest first and d last, each with the mask of its next-hop channels;
  // reached[d] of them. Switch LIDs are routed here too (any next hop will do).
  struct Step {
    uint16_t s, bits;  // num_switches < 65,536 (MaskPlanFits)
  };
  std::vector<uint32_t> slot(num_switches, 0), reached(num_switches, 0);
  uint32_t slots = 0;
  for (uint32_t d = 0; d < num_switches; ++d)
    if (st.sources[d]) slot[d] = slots++;
  std::vector<Step> plan(size_t{slots} * num_switches);
  ParallelFor(
      num_switches, ThreadsFor(size_t{num_switches} * num_channels, threads),
      [&](size_t di) {
        const uint32_t d = static_cast<uint32_t>(di);
        const uint8_t* row = &table.hop[size_t{d} * num_switches];
        const Lid lid = g.switch_lid(d);
        if (st.sources[d] == 0) {
          if (lid) RouteSwitchLidRotating(g, row, accept, d, lid, out);
          return;
        }
        Step* steps = &plan[size_t{slot[d]} * num_switches];
        reached[d] = OrderFarthestFirst(row, table.mask, num_switches, [&](uint32_t s, uint32_t i) {
          uint32_t bits = 0;
          if (s != d)
            for (uint32_t c = first[s]; c < first[s + 1]; ++c)
              bits |= uint32_t{accept(row, s, nbr[c])} << (c - first[s]);
          steps[i] = {static_cast<uint16_t>(s), static_cast<uint16_t>(bits)};
        });
        if (lid == 0) return;
        // The mask says it already: the first candidate channel at or after the LID's place.
        const uint32_t spread = Spread(lid);
        out.lft[size_t{d} * num_lids + lid] = g.lid_port(lid);
        for (uint32_t i = 0; i + 1 < reached[d]; ++i) {
          const uint32_t s = steps[i].s, bits = steps[i].bits;
          if (bits == 0) continue;
          const uint32_t from = SpreadOf(spread, first[s + 1] - first[s]);
          const uint32_t at_or_after = bits >> from << from;
          out.lft[size_t{s} * num_lids + lid] = port[first[s] + __builtin_ctz(at_or_after ? at_or_after : bits)];
        }
      },
      16);

  // Routes per channel, and per switch the sources whose routes to the current LID pass
  // through it (this pass and, when rerouting, the previous one).
  std::vector<uint64_t> load(num_channels, 0), flow(num_switches), old_flow(num_switches);
  // With costs (`weighted`), each route weighs its channel's cost and a candidate is judged
  // by a look at the forced path beyond it (LoadAfter); forced[s]: s's only channel towards
  // d, or kNone. Without, by its channel's load alone.
  std::vector<uint32_t> forced(chan_cost.empty() ? 0 : num_switches, kNone);
  auto route = [&](auto weighted_type, uint32_t d, bool reroute) {
    constexpr bool weighted = decltype(weighted_type)::value;
    const Step* steps = &plan[size_t{slot[d]} * num_switches];
    const uint32_t n = reached[d] - 1;  // d itself is last
    [[maybe_unused]] const uint32_t* const cost = chan_cost.data();
    uint64_t* const ld = load.data();
    uint64_t* const fl = flow.data();
    uint64_t* const old = old_flow.data();
    const uint32_t* const pchan = port_chan.data();
    if constexpr (weighted) {
      for (uint32_t i = 0; i < n; ++i) {
        const uint32_t bits = steps[i].bits;
        forced[steps[i].s] = bits && (bits & (bits - 1)) == 0 ? first[steps[i].s] + __builtin_ctz(bits) : kNone;
      }
    }
    [[maybe_unused]] auto next_of = [&](uint32_t at) { return nbr[forced[at]]; };
    for (Lid lid : g.endpoint_lids(d)) {
      const uint32_t spread = Spread(lid);
      uint8_t* const lft = out.lft.data() + lid;
      // Rerouting: this LID's routes of the previous round come off first, in one pass of
      // their own (a tight loop; cheaper than taking each off just before its switch
      // chooses, with the same result, since a switch looks only at its own channels).
      if (reroute) {
        std::copy(st.sources.begin(), st.sources.end(), old);
        for (uint32_t i = 0; i < n; ++i) {
          const uint32_t s = steps[i].s;
          if (steps[i].bits == 0) continue;
          const uint32_t was = pchan[size_t{s} * stride + lft[size_t{s} * num_lids]];
          if constexpr (weighted)
            ld[was] -= old[s] * cost[was];
          else
            ld[was] -= old[s];
          old[nbr[was]] += old[s];
        }
      }
      std::copy(st.sources.begin(), st.sources.end(), fl);
      for (uint32_t i = 0; i < n; ++i) {
        const uint32_t s = steps[i].s, bits = steps[i].bits;
        if (bits == 0) continue;
        // The least (load, place in the scan from `from`) over the set bits: the place
        // (k - from) mod 16 orders k >= from before k < from, as a cyclic scan would, and
        // the minimum is a conditional move, not a branch.
        const uint32_t base = first[s];
        const uint32_t from = SpreadOf(spread, first[s + 1] - base);
        uint64_t key = ~uint64_t{0};
        for (uint32_t x = bits; x; x &= x - 1) {
          const uint32_t k = static_cast<uint32_t>(__builtin_ctz(x)), ch = base + k;
          uint64_t judged = ld[ch];
          if constexpr (weighted)
            judged = LoadAfter(ld[ch] + fl[s] * cost[ch], nbr[ch], fl[s], ld, cost, forced.data(), fl, next_of);
          const uint64_t v = (judged << 4) | ((k - from) & 15);
          key = v < key ? v : key;
        }
        const uint32_t best = base + ((static_cast<uint32_t>(key) + from) & 15);
        lft[size_t{s} * num_lids] = port[best];
        if constexpr (weighted)
          ld[best] += fl[s] * cost[best];
        else
          ld[best] = (key >> 4) + fl[s];
        fl[nbr[best]] += fl[s];
      }
      lft[size_t{d} * num_lids] = g.lid_port(lid);
    }
    if constexpr (weighted)
      for (uint32_t i = 0; i < n; ++i) forced[steps[i].s] = kNone;
  };
  auto busiest = [&] { return load.empty() ? 0 : *std::max_element(load.begin(), load.end()); };
  if (chan_cost.empty())
    RunRounds(
        st, [&](uint32_t d, bool reroute) { route(std::false_type{}, d, reroute); }, busiest);
  else
    RunRounds(
        st, [&](uint32_t d, bool reroute) { route(std::true_type{}, d, reroute); }, busiest);
}

}  // namespace fabricctl::balanced
