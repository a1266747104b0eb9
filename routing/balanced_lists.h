#pragma once
// Balanced LFT filling, the general form (routing/balanced_lft.h): for switches with more
// channels than a mask holds, or fabrics whose mask plan would not fit in memory. The plan
// of one destination, a candidate list per switch, is rebuilt for every destination in
// every round, which needs no memory per switch pair. Same rule, rounds and costs as the
// mask form (routing/balanced_masks.h).
#include <algorithm>
#include <cstdint>
#include <vector>

#include "routing/balanced_rounds.h"
#include "routing/parallel.h"
#include "routing/routes.h"
#include "routing/switch_graph.h"

namespace fabricctl::balanced {

// Switch LIDs: any next hop will do. Each task writes its own LID's column, so destinations
// run side by side.
template <typename Accept>
void RouteSwitchLids(const SwitchGraph& g, const HopTable& table, const Accept& accept, unsigned threads,
                     const Setup& st, SubnetRoutes& out) {
  const uint32_t num_switches = g.num_switches();
  ParallelFor(
      num_switches, ThreadsFor(size_t{num_switches} * st.channels, threads),
      [&](size_t index) {
        const uint32_t d = static_cast<uint32_t>(index);
        if (const Lid lid = g.switch_lid(d))
          RouteSwitchLidRotating(g, &table.hop[size_t{d} * num_switches], accept, d, lid, out);
      },
      16);
}

// A next hop of a switch in the plan of one destination.
struct Candidate {
  uint32_t channel;  // switch * stride + port: an index into the loads
  uint32_t next;     // the position, in the plan's order, of the neighbour it reaches
};

// Routes destination after destination against the loads of all routes so far: Plan(d)
// lists the switches that reach d, farthest first, and the candidates of each (a CSR over
// that order); the route methods then make one pass per LID of d. Storing one plan per
// destination would touch more fresh memory than rebuilding costs in warm buffers; the raw
// arrays, sized once, keep the inner loops free of capacity checks.
template <typename Accept>
class CandidateListRouter {
 public:
  CandidateListRouter(const SwitchGraph& g, const HopTable& table, const Accept& accept, const Setup& st,
                      SubnetRoutes& out)
      : g_(g),
        table_(table),
        accept_(accept),
        st_(st),
        out_(out),
        weighted_(!st.cost.empty()),
        load_(size_t{g.num_switches()} * st.stride, 0),
        flow_(g.num_switches()),
        old_flow_(g.num_switches()),
        order_(g.num_switches()),
        position_(g.num_switches()),
        candidate_first_(g.num_switches() + 1),
        plan_sources_(g.num_switches()),
        candidates_(st.channels),
        forced_(weighted_ ? g.num_switches() : 0) {}

  // Routes every endpoint LID of destination d, taking its previous routes off when
  // rerouting.
  void RouteDestination(uint32_t d, bool reroute) {
    Plan(d);
    if (weighted_) MarkForced();
    for (Lid lid : g_.endpoint_lids(d)) {
      if (!weighted_) {
        RouteLid(d, lid, reroute);
        continue;
      }
      if (reroute) TakeOffPreviousWeighted(d, lid);
      RouteLidWeighted(d, lid);
    }
  }

  uint64_t Busiest() const { return *std::max_element(load_.begin(), load_.end()); }

 private:
  // Fills order_, position_, plan_sources_ and the candidate CSR for destination d.
  void Plan(uint32_t d) {
    const uint32_t num_switches = g_.num_switches();
    const unsigned stride = st_.stride;
    const uint8_t* row = &table_.hop[size_t{d} * num_switches];
    uint32_t* const order = order_.data();
    uint32_t* const position = position_.data();
    reached_ = OrderFarthestFirst(row, table_.mask, num_switches, [&](uint32_t s, uint32_t i) {
      position[s] = i;
      order[i] = s;
    });
    uint32_t* const candidate_first = candidate_first_.data();
    uint64_t* const plan_sources = plan_sources_.data();
    Candidate* const candidates = candidates_.data();
    uint32_t listed = 0;
    candidate_first[0] = 0;
    for (uint32_t i = 0; i < reached_; ++i) {
      const uint32_t s = order[i];
      // The LID itself is not a source of routes to it.
      plan_sources[i] = st_.sources[s] - (s == d ? 1 : 0);
      if (s != d)
        for (uint32_t e = g_.begin(s); e < g_.end(s); ++e) {
          const uint32_t t = g_.nbr(e);
          if (!accept_(row, s, t)) continue;
          for (uint8_t port : g_.ports(e)) candidates[listed++] = {s * stride + port, position[t]};
        }
      candidate_first[i + 1] = listed;
    }
  }

  // With costs: per position, its only candidate channel (kNone when it has a choice) and
  // the position that channel reaches, which LoadAfter follows beyond a candidate.
  void MarkForced() {
    const uint32_t* const candidate_first = candidate_first_.data();
    const Candidate* const candidates = candidates_.data();
    for (uint32_t i = 0; i < reached_; ++i) {
      const bool only_one = candidate_first[i + 1] == candidate_first[i] + 1;
      forced_[i] = only_one ? ForcedHop{candidates[candidate_first[i]].channel, candidates[candidate_first[i]].next}
                            : ForcedHop{};
    }
  }

  // One pass of one LID by route counts: farthest switch first, each takes the candidate
  // channel with the fewest routes and passes its flow on to the neighbour it reaches.
  void RouteLid(uint32_t d, Lid lid, bool reroute) {
    const size_t num_lids = out_.num_lids();
    const unsigned stride = st_.stride;
    const uint32_t spread = Spread(lid);
    const uint32_t* const order = order_.data();
    const uint32_t* const candidate_first = candidate_first_.data();
    const Candidate* const candidates = candidates_.data();
    uint64_t* const load = load_.data();
    uint64_t* const flow = flow_.data();
    uint64_t* const old = old_flow_.data();
    uint8_t* const column = out_.lft.data() + lid;
    std::copy_n(plan_sources_.data(), reached_, flow);
    if (reroute) std::copy_n(plan_sources_.data(), reached_, old);
    for (uint32_t i = 0; i < reached_; ++i) {
      const uint32_t s = order[i];
      uint8_t* const entry = column + size_t{s} * num_lids;
      if (s == d) {
        *entry = g_.lid_port(lid);
        continue;
      }
      const uint32_t first = candidate_first[i];
      const uint32_t end = candidate_first[i + 1];
      if (first == end) continue;
      const uint32_t base = s * stride;
      // Rerouting: all of this LID's routes through s's channels come from s's own flow in
      // the previous round, so taking it off here, before s chooses, is enough.
      if (reroute)
        for (uint32_t k = first; k < end; ++k)
          if (candidates[k].channel == base + *entry) {
            load[candidates[k].channel] -= old[i];
            old[candidates[k].next] += old[i];
            break;
          }
      const uint32_t start = first + SpreadOf(spread, end - first);
      const auto [best, least] = LeastFrom(first, start, end, [&](uint32_t k) { return load[candidates[k].channel]; });
      *entry = static_cast<uint8_t>(candidates[best].channel - base);
      load[candidates[best].channel] = least + flow[i];
      flow[candidates[best].next] += flow[i];
    }
  }

  // With costs, all of the LID's previous routes come off before any switch chooses, so
  // that a look at the channels further on (LoadAfter) does not count them.
  void TakeOffPreviousWeighted(uint32_t d, Lid lid) {
    const size_t num_lids = out_.num_lids();
    const unsigned stride = st_.stride;
    const uint32_t* const order = order_.data();
    const uint32_t* const candidate_first = candidate_first_.data();
    const Candidate* const candidates = candidates_.data();
    const uint32_t* const cost = st_.cost.data();
    uint64_t* const load = load_.data();
    uint64_t* const old = old_flow_.data();
    const uint8_t* const column = out_.lft.data() + lid;
    std::copy_n(plan_sources_.data(), reached_, old);
    for (uint32_t i = 0; i < reached_; ++i) {
      const uint32_t s = order[i];
      if (s == d) continue;
      const uint32_t base = s * stride;
      for (uint32_t k = candidate_first[i]; k < candidate_first[i + 1]; ++k)
        if (candidates[k].channel == base + column[size_t{s} * num_lids]) {
          load[candidates[k].channel] -= old[i] * cost[candidates[k].channel];
          old[candidates[k].next] += old[i];
          break;
        }
    }
  }

  // One pass of one LID with costs: each switch takes the candidate whose load, or that of
  // the forced path beyond it, would be least after adding its flow at the channel's cost.
  void RouteLidWeighted(uint32_t d, Lid lid) {
    const size_t num_lids = out_.num_lids();
    const unsigned stride = st_.stride;
    const uint32_t spread = Spread(lid);
    const uint32_t* const order = order_.data();
    const uint32_t* const candidate_first = candidate_first_.data();
    const Candidate* const candidates = candidates_.data();
    const uint32_t* const cost = st_.cost.data();
    const ForcedHop* const forced = forced_.data();
    uint64_t* const load = load_.data();
    uint64_t* const flow = flow_.data();
    uint8_t* const column = out_.lft.data() + lid;
    std::copy_n(plan_sources_.data(), reached_, flow);
    for (uint32_t i = 0; i < reached_; ++i) {
      const uint32_t s = order[i];
      uint8_t* const entry = column + size_t{s} * num_lids;
      if (s == d) {
        *entry = g_.lid_port(lid);
        continue;
      }
      const uint32_t first = candidate_first[i];
      const uint32_t end = candidate_first[i + 1];
      if (first == end) continue;
      auto load_after = [&](uint32_t k) {
        const uint32_t channel = candidates[k].channel;
        return LoadAfter(load[channel] + flow[i] * cost[channel], candidates[k].next, flow[i], load, cost, forced,
                         flow);
      };
      const uint32_t start = first + SpreadOf(spread, end - first);
      const uint32_t best = LeastFrom(first, start, end, load_after).first;
      *entry = static_cast<uint8_t>(candidates[best].channel - s * stride);
      load[candidates[best].channel] += flow[i] * cost[candidates[best].channel];
      flow[candidates[best].next] += flow[i];
    }
  }

  const SwitchGraph& g_;
  const HopTable& table_;
  const Accept& accept_;
  const Setup& st_;
  SubnetRoutes& out_;
  const bool weighted_;
  std::vector<uint64_t> load_;  // per channel (switch * stride + port): routes, or their costs
  // Per position in the plan's order: the sources whose routes to the current LID pass
  // through that switch, this pass and (rerouting) the previous one.
  std::vector<uint64_t> flow_, old_flow_;
  // The plan of the current destination: reached_ switches in order_, farthest first;
  // position_[s] is s's place in it; per position, its candidates from candidate_first_[i]
  // to candidate_first_[i + 1] and the sources it adds itself.
  uint32_t reached_ = 0;
  std::vector<uint32_t> order_, position_, candidate_first_;
  std::vector<uint64_t> plan_sources_;
  std::vector<Candidate> candidates_;
  std::vector<ForcedHop> forced_;  // per plan position, with costs only (MarkForced)
};

template <typename Accept>
void FillCandidateLists(const SwitchGraph& g, const HopTable& table, const Accept& accept, unsigned threads,
                        const Setup& st, SubnetRoutes& out) {
  RouteSwitchLids(g, table, accept, threads, st, out);
  CandidateListRouter<Accept> router(g, table, accept, st, out);
  RunRounds(
      st, [&](uint32_t d, bool reroute) { router.RouteDestination(d, reroute); }, [&] { return router.Busiest(); },
      out.lft);
}

}  // namespace fabricctl::balanced
