#pragma once
// Balanced LFT filling for switches with few switch-to-switch channels (tori, meshes, most
// direct networks, small fat trees): every channel of a switch is a bit of a 16-bit mask,
// and the candidates of every (destination, switch) pair are computed once, as a mask, in
// the farthest-first order of the destination. A step of a pass is then a few loads and a
// loop over the set bits that keeps the minimum by a conditional move, where the general
// form (routing/balanced_lists.h) rebuilds a candidate list per destination and pass. Same
// rule, same rounds, same costs for slower cables; ties are broken by the first channel at
// or after a LID-dependent place.
#include <algorithm>
#include <cstdint>
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

// The switch-to-switch channels numbered switch by switch, so that channel k of switch s,
// bit k of its masks, is first[s] + k: a mask bit turns into a channel by one addition.
struct MaskChannels {
  std::vector<uint32_t> first;      // num_switches + 1 entries
  std::vector<uint32_t> neighbour;  // per channel: the switch it reaches
  std::vector<uint8_t> port;        // per channel: its port on its own switch
  // Per (switch * stride + port): its channel, to find the one a written LFT entry names.
  std::vector<uint32_t> of_port;
  // Per channel: the cost of one route when cable rates differ; empty when they do not.
  std::vector<uint32_t> cost;

  uint32_t count() const { return first.back(); }
};

inline MaskChannels NumberChannels(const SwitchGraph& g, const Setup& st) {
  const uint32_t num_switches = g.num_switches();
  MaskChannels channels;
  channels.first.assign(num_switches + 1, 0);
  for (uint32_t s = 0; s < num_switches; ++s) {
    uint32_t count = 0;
    for (uint32_t e = g.begin(s); e < g.end(s); ++e) count += static_cast<uint32_t>(g.ports(e).size());
    channels.first[s + 1] = channels.first[s] + count;
  }
  const uint32_t num_channels = channels.count();
  channels.neighbour.resize(num_channels);
  channels.port.resize(num_channels);
  channels.of_port.assign(size_t{num_switches} * st.stride, 0);
  channels.cost.resize(st.cost.empty() ? 0 : num_channels);
  for (uint32_t s = 0; s < num_switches; ++s) {
    uint32_t channel = channels.first[s];
    for (uint32_t e = g.begin(s); e < g.end(s); ++e)
      for (uint8_t p : g.ports(e)) {
        const size_t switch_port = size_t{s} * st.stride + p;
        channels.neighbour[channel] = g.nbr(e);
        channels.port[channel] = p;
        if (!channels.cost.empty()) channels.cost[channel] = st.cost[switch_port];
        channels.of_port[switch_port] = channel++;
      }
  }
  return channels;
}

// One step of a destination's plan: a switch that reaches the destination and the mask of
// its next-hop channels towards it.
struct MaskStep {
  uint16_t switch_index;  // num_switches < 65,536 (MaskPlanFits)
  uint16_t candidates;
};

// The plans of the destinations with endpoints: the switches that reach the destination,
// farthest first and the destination last, each with its mask. Computed once and read in
// every pass, so a pass never asks `accept` again.
struct MaskPlan {
  uint32_t num_switches = 0;
  std::vector<uint32_t> slot;     // per destination with endpoints: its place among them
  std::vector<uint32_t> reached;  // per destination with endpoints: its steps, itself included
  std::vector<MaskStep> steps;    // slot * num_switches + position

  MaskStep* of(uint32_t destination) { return &steps[size_t{slot[destination]} * num_switches]; }
  const MaskStep* of(uint32_t destination) const { return &steps[size_t{slot[destination]} * num_switches]; }
};

// Writes the steps of destination d (row: its hop row) and returns how many there are.
template <typename Accept>
uint32_t PlanDestination(const uint8_t* row, uint8_t hop_mask, const Accept& accept, const MaskChannels& channels,
                         uint32_t d, MaskStep* steps) {
  const uint32_t* const first = channels.first.data();
  const uint32_t* const neighbour = channels.neighbour.data();
  const uint32_t num_switches = static_cast<uint32_t>(channels.first.size() - 1);
  return OrderFarthestFirst(row, hop_mask, num_switches, [&](uint32_t s, uint32_t position) {
    uint32_t candidates = 0;
    if (s != d)
      for (uint32_t c = first[s]; c < first[s + 1]; ++c)
        candidates |= uint32_t{accept(row, s, neighbour[c])} << (c - first[s]);
    steps[position] = {static_cast<uint16_t>(s), static_cast<uint16_t>(candidates)};
  });
}

// Switch LID `lid` of destination d carries management traffic only, so no balancing: the
// mask says it already, every switch takes its first candidate channel at or after the
// LID's place.
inline void RouteSwitchLidByMask(const SwitchGraph& g, const MaskChannels& channels, const MaskStep* steps,
                                 uint32_t reached, uint32_t d, Lid lid, SubnetRoutes& out) {
  const size_t num_lids = out.num_lids();
  const uint32_t* const first = channels.first.data();
  const uint32_t spread = Spread(lid);
  out.lft[size_t{d} * num_lids + lid] = g.lid_port(lid);
  for (uint32_t i = 0; i + 1 < reached; ++i) {
    const uint32_t s = steps[i].switch_index;
    const uint32_t candidates = steps[i].candidates;
    if (candidates == 0) continue;
    const uint32_t from = SpreadOf(spread, first[s + 1] - first[s]);
    const uint32_t at_or_after = candidates >> from << from;
    const uint32_t chosen = first[s] + __builtin_ctz(at_or_after ? at_or_after : candidates);
    out.lft[size_t{s} * num_lids + lid] = channels.port[chosen];
  }
}

// Plans every destination with endpoints and routes every switch LID on the way (those of
// switches without endpoints by RouteSwitchLidRotating, as they get no plan). Each task
// writes only its own destination's plan and LID column, so destinations run side by side.
template <typename Accept>
MaskPlan BuildMaskPlan(const SwitchGraph& g, const HopTable& table, const Accept& accept, unsigned threads,
                       const Setup& st, const MaskChannels& channels, SubnetRoutes& out) {
  const uint32_t num_switches = g.num_switches();
  MaskPlan plan{.num_switches = num_switches,
                .slot = std::vector<uint32_t>(num_switches, 0),
                .reached = std::vector<uint32_t>(num_switches, 0)};
  uint32_t slots = 0;
  for (uint32_t d = 0; d < num_switches; ++d)
    if (st.sources[d]) plan.slot[d] = slots++;
  plan.steps.resize(size_t{slots} * num_switches);
  ParallelFor(
      num_switches, ThreadsFor(size_t{num_switches} * channels.count(), threads),
      [&](size_t index) {
        const uint32_t d = static_cast<uint32_t>(index);
        const uint8_t* row = &table.hop[size_t{d} * num_switches];
        const Lid lid = g.switch_lid(d);
        if (st.sources[d] == 0) {
          if (lid) RouteSwitchLidRotating(g, row, accept, d, lid, out);
          return;
        }
        MaskStep* steps = plan.of(d);
        plan.reached[d] = PlanDestination(row, table.mask, accept, channels, d, steps);
        if (lid) RouteSwitchLidByMask(g, channels, steps, plan.reached[d], d, lid, out);
      },
      16);
  return plan;
}

// The passes over the plans: routes per channel, kept across destinations and rounds, and
// per switch the sources whose routes to the current LID pass through it (this pass and,
// when rerouting, the previous one). Weighted: each route weighs its channel's cost and a
// candidate is judged by a look at the forced path beyond it (LoadAfter); unweighted: by
// its channel's load alone. A template flag, so the equal-rate loop carries no cost
// lookups.
class MaskRouter {
 public:
  MaskRouter(const SwitchGraph& g, const Setup& st, const MaskChannels& channels, const MaskPlan& plan,
             SubnetRoutes& out)
      : g_(g),
        st_(st),
        channels_(channels),
        plan_(plan),
        out_(out),
        load_(channels.count(), 0),
        flow_(g.num_switches()),
        old_flow_(g.num_switches()),
        forced_(channels.cost.empty() ? 0 : g.num_switches()) {}

  // Routes every endpoint LID of destination d, taking its previous routes off first when
  // rerouting.
  template <bool kWeighted>
  void RouteDestination(uint32_t d, bool reroute) {
    const MaskStep* steps = plan_.of(d);
    const uint32_t count = plan_.reached[d] - 1;  // d itself is last
    if constexpr (kWeighted) MarkForced(steps, count);
    for (Lid lid : g_.endpoint_lids(d)) {
      uint8_t* const column = out_.lft.data() + lid;
      if (reroute) TakeOffPrevious<kWeighted>(steps, count, column);
      RouteLid<kWeighted>(steps, count, Spread(lid), column);
      column[size_t{d} * out_.num_lids()] = g_.lid_port(lid);
    }
    if constexpr (kWeighted) ClearForced(steps, count);
  }

  uint64_t Busiest() const { return load_.empty() ? 0 : *std::max_element(load_.begin(), load_.end()); }

 private:
  // forced_[s]: s's only channel towards the destination and the switch it reaches, channel
  // kNone where s has a choice; what LoadAfter follows beyond a candidate.
  void MarkForced(const MaskStep* steps, uint32_t count) {
    const uint32_t* const first = channels_.first.data();
    for (uint32_t i = 0; i < count; ++i) {
      const uint32_t candidates = steps[i].candidates;
      if (!candidates || (candidates & (candidates - 1)) != 0) continue;
      const uint32_t channel = first[steps[i].switch_index] + __builtin_ctz(candidates);
      forced_[steps[i].switch_index] = {channel, channels_.neighbour[channel]};
    }
  }

  void ClearForced(const MaskStep* steps, uint32_t count) {
    for (uint32_t i = 0; i < count; ++i) forced_[steps[i].switch_index] = {};
  }

  // The LID's routes of the previous round come off in one pass of their own before any
  // switch chooses: a tight loop, cheaper than taking each off just before its switch
  // chooses, with the same result, since a switch looks only at its own channels. column:
  // the LID's LFT column, entry of switch s at s * num_lids.
  template <bool kWeighted>
  void TakeOffPrevious(const MaskStep* steps, uint32_t count, const uint8_t* column) {
    const size_t num_lids = out_.num_lids();
    const unsigned stride = st_.stride;
    [[maybe_unused]] const uint32_t* const cost = channels_.cost.data();
    const uint32_t* const neighbour = channels_.neighbour.data();
    const uint32_t* const of_port = channels_.of_port.data();
    uint64_t* const load = load_.data();
    uint64_t* const old = old_flow_.data();
    std::copy(st_.sources.begin(), st_.sources.end(), old);
    for (uint32_t i = 0; i < count; ++i) {
      const uint32_t s = steps[i].switch_index;
      if (steps[i].candidates == 0) continue;
      const uint32_t was = of_port[size_t{s} * stride + column[size_t{s} * num_lids]];
      if constexpr (kWeighted)
        load[was] -= old[s] * cost[was];
      else
        load[was] -= old[s];
      old[neighbour[was]] += old[s];
    }
  }

  // Raw pointers to what a pass reads, taken once per LID: an LFT entry is a byte, and a
  // store through a byte pointer may alias anything, so a member read after one would be
  // loaded again at every step of the pass.
  struct PassArrays {
    const uint32_t* first;
    const uint32_t* neighbour;
    const uint32_t* cost;
    const ForcedHop* forced;
    uint64_t* load;
    uint64_t* flow;
  };

  // One pass of one LID: farthest switch first, each takes its least loaded candidate and
  // passes its flow on to the neighbour that channel reaches.
  template <bool kWeighted>
  void RouteLid(const MaskStep* steps, uint32_t count, uint32_t spread, uint8_t* column) {
    const size_t num_lids = out_.num_lids();
    const uint8_t* const port = channels_.port.data();
    const PassArrays arrays{.first = channels_.first.data(),
                            .neighbour = channels_.neighbour.data(),
                            .cost = channels_.cost.data(),
                            .forced = forced_.data(),
                            .load = load_.data(),
                            .flow = flow_.data()};
    std::copy(st_.sources.begin(), st_.sources.end(), arrays.flow);
    for (uint32_t i = 0; i < count; ++i) {
      const uint32_t s = steps[i].switch_index;
      const uint32_t candidates = steps[i].candidates;
      if (candidates == 0) continue;
      const uint32_t base = arrays.first[s];
      uint32_t best;
      // With costs, one candidate is not weighed (that would look along the path beyond
      // it); without, the branch costs more than the one load it saves.
      if (kWeighted && (candidates & (candidates - 1)) == 0) {
        best = base + static_cast<uint32_t>(__builtin_ctz(candidates));
        arrays.load[best] += arrays.flow[s] * arrays.cost[best];
      } else {
        const uint32_t from = SpreadOf(spread, arrays.first[s + 1] - base);
        const uint64_t key = LeastKey<kWeighted>(arrays, s, candidates, base, from);
        best = base + ((static_cast<uint32_t>(key) + from) & 15);
        if constexpr (kWeighted)
          arrays.load[best] += arrays.flow[s] * arrays.cost[best];
        else
          arrays.load[best] = (key >> 4) + arrays.flow[s];
      }
      column[size_t{s} * num_lids] = port[best];
      arrays.flow[arrays.neighbour[best]] += arrays.flow[s];
    }
  }

  // The least (judged load, place in the scan from `from`) over the candidate bits of
  // switch s, packed as judged << 4 | place: the place (k - from) mod 16 orders k >= from
  // before k < from, as a cyclic scan would, and the minimum is a conditional move, not a
  // branch. Unweighted, judged is the channel's load, which RouteLid reuses from the key.
  template <bool kWeighted>
  static uint64_t LeastKey(const PassArrays& arrays, uint32_t s, uint32_t candidates, uint32_t base, uint32_t from) {
    const uint64_t* const load = arrays.load;
    [[maybe_unused]] const uint64_t* const flow = arrays.flow;
    [[maybe_unused]] const uint32_t* const cost = arrays.cost;
    [[maybe_unused]] const uint32_t* const neighbour = arrays.neighbour;
    [[maybe_unused]] const ForcedHop* const forced = arrays.forced;
    uint64_t key = ~uint64_t{0};
    for (uint32_t rest = candidates; rest; rest &= rest - 1) {
      const uint32_t k = static_cast<uint32_t>(__builtin_ctz(rest));
      const uint32_t channel = base + k;
      uint64_t judged = load[channel];
      if constexpr (kWeighted)
        judged =
            LoadAfter(load[channel] + flow[s] * cost[channel], neighbour[channel], flow[s], load, cost, forced, flow);
      const uint64_t candidate_key = (judged << 4) | ((k - from) & 15);
      key = candidate_key < key ? candidate_key : key;
    }
    return key;
  }

  const SwitchGraph& g_;
  const Setup& st_;
  const MaskChannels& channels_;
  const MaskPlan& plan_;
  SubnetRoutes& out_;
  std::vector<uint64_t> load_;  // per channel: routes, or their summed costs when weighted
  std::vector<uint64_t> flow_, old_flow_;
  std::vector<ForcedHop> forced_;  // per switch, weighted only (MarkForced)
};

template <typename Accept>
void FillMasked(const SwitchGraph& g, const HopTable& table, const Accept& accept, unsigned threads, const Setup& st,
                SubnetRoutes& out) {
  const MaskChannels channels = NumberChannels(g, st);
  const MaskPlan plan = BuildMaskPlan(g, table, accept, threads, st, channels, out);
  MaskRouter router(g, st, channels, plan, out);
  auto busiest = [&] { return router.Busiest(); };
  if (channels.cost.empty())
    RunRounds(
        st, [&](uint32_t d, bool reroute) { router.RouteDestination<false>(d, reroute); }, busiest, out.lft);
  else
    RunRounds(
        st, [&](uint32_t d, bool reroute) { router.RouteDestination<true>(d, reroute); }, busiest, out.lft);
}

}  // namespace fabricctl::balanced
