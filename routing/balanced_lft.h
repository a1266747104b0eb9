#pragma once
// The port-balancing step shared by minhop and updn: given each switch's hop count to every
// destination switch and a rule saying which neighbours are a next hop, it fills every LFT
// so that the busiest channel carries as few (source, destination) routes as it can manage.
//
// Destinations are routed one LID at a time. For one destination, switches are visited from
// the farthest to the nearest, so when a switch chooses its port it knows how many sources
// will send through it (its own endpoints plus whatever upstream switches already sent its
// way); it takes the candidate channel with the fewest routes so far over the whole subnet
// and adds that flow to it. Then, while the busiest channel keeps getting lighter, every
// destination is taken off and routed again against everyone else's routes (rip-up and
// reroute), which undoes the early choices made against an almost empty fabric.
//
// OpenSM's minhop balances a per-switch count of destinations per port, which ignores how
// many sources stand behind each choice: on a 6x6x6 torus it puts 288 routes on the busiest
// channel; the first pass here 339, after rerouting 195 (dimension order: 216). On fat
// trees the first pass meets the cut bound and no rerouting runs. Routing is sequential in
// a fixed destination order, so the result does not depend on the thread count.
//
// Cable rates: when some cable trained slower than the others (routing/channel_capacity.h),
// a route over a channel costs ChannelCapacity::cost of its port instead of 1, and a switch
// takes the candidate whose load would be least after adding its flow at that cost; where
// the path beyond a candidate has no choice left (a spine's one cable down to a leaf), the
// loads of those channels count too (balanced::LoadAfter). A cable at a sixth of the top rate
// thus takes about a sixth of the routes of its neighbours. With one rate everywhere the
// plain route counts run, and the tables are the same as without rates.
//
// Two forms of the same rule: switches with at most 16 switch-to-switch channels get a plan
// of channel masks computed once (routing/balanced_masks.h); larger ones a candidate list
// rebuilt per destination and pass (here), which needs no memory per switch pair.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "routing/balanced_masks.h"
#include "routing/balanced_rounds.h"
#include "routing/parallel.h"
#include "routing/routes.h"
#include "routing/switch_graph.h"

namespace fabricctl {

// Which form FillBalanced uses: kAuto picks the mask plan where it fits; tests ask for
// the candidate lists to cover that form on small fabrics too.
enum class BalanceForm { kAuto, kCandidateLists };

// Switch LIDs are routed but carry no weight (management traffic only): they take the first
// candidate in a rotation. Rows of switches without a candidate stay kNoRoute.
template <typename Accept>
void FillBalanced(const SwitchGraph& g, const ChannelRates& rates, const HopTable& table, const Accept& accept,
                  unsigned threads, SubnetRoutes& out, BalanceForm form = BalanceForm::kAuto) {
  const balanced::Setup st = balanced::MakeSetup(g, rates);
  if (form == BalanceForm::kAuto && balanced::MaskPlanFits(g, st)) {
    balanced::FillMasked(g, table, accept, threads, st, out);
    return;
  }
  const uint32_t num_switches = g.num_switches();
  const size_t num_lids = out.num_lids();
  const std::vector<uint64_t>& sources = st.sources;
  const unsigned stride = st.stride;
  std::vector<uint64_t> load(size_t{num_switches} * stride, 0);  // routes per channel (switch, port)
  std::vector<uint64_t> flow(num_switches), old_flow(num_switches);

  // What routing towards switch d needs: the switches that reach d, farthest first, and
  // the candidates of each (a CSR over that order): the channel (switch * stride + port,
  // an index into `load`) and the position of the neighbour it reaches. One plan, rebuilt
  // for every destination in every round: storing one per destination touches more fresh
  // memory than rebuilding costs in warm buffers. Raw arrays sized once keep the inner
  // loops free of capacity checks.
  struct Candidate {
    uint32_t chan, next;
  };
  std::vector<uint32_t> order(num_switches), position(num_switches), cand_first(num_switches + 1);
  std::vector<uint64_t> plan_sources(num_switches);
  std::vector<Candidate> cands(st.channels);
  // With costs: per position, its only candidate channel (kNone when it has a choice) and
  // the position that channel reaches.
  const bool weighted = !st.cost.empty();
  std::vector<uint32_t> forced(weighted ? num_switches : 0), forced_next(weighted ? num_switches : 0);
  uint32_t reached = 0;  // switches in `order`
  auto build = [&](uint32_t d) {
    const uint8_t* row = &table.hop[size_t{d} * num_switches];
    uint32_t* ord = order.data();
    uint32_t* pos = position.data();
    reached = balanced::OrderFarthestFirst(row, table.mask, num_switches, [&](uint32_t s, uint32_t i) {
      pos[s] = i;
      ord[i] = s;
    });
    uint32_t* cf = cand_first.data();
    uint64_t* src = plan_sources.data();
    Candidate* c = cands.data();
    uint32_t n = 0;
    cf[0] = 0;
    for (uint32_t i = 0; i < reached; ++i) {
      const uint32_t s = ord[i];
      src[i] = sources[s] - (s == d ? 1 : 0);
      if (s != d)
        for (uint32_t e = g.begin(s); e < g.end(s); ++e) {
          const uint32_t t = g.nbr(e);
          if (!accept(row, s, t)) continue;
          for (uint8_t port : g.ports(e)) c[n++] = {s * stride + port, pos[t]};
        }
      cf[i + 1] = n;
    }
    if (weighted)
      for (uint32_t i = 0; i < reached; ++i) {
        const bool one = cf[i + 1] == cf[i] + 1;
        forced[i] = one ? c[cf[i]].chan : kNone;
        forced_next[i] = one ? c[cf[i]].next : kNone;
      }
  };

  // Switch LIDs: any next hop will do. Each task writes its own LID's column, so
  // destinations run side by side.
  ParallelFor(
      num_switches, ThreadsFor(size_t{num_switches} * st.channels, threads),
      [&](size_t d) {
        if (const Lid lid = g.switch_lid(static_cast<uint32_t>(d)))
          balanced::RouteSwitchLidRotating(g, &table.hop[d * num_switches], accept, static_cast<uint32_t>(d), lid, out);
      },
      16);

  auto route_lid = [&](uint32_t d, Lid lid, bool reroute) {
    const uint32_t spread = balanced::Spread(lid);
    const uint32_t* ord = order.data();
    const uint32_t* cf = cand_first.data();
    const Candidate* c = cands.data();
    uint64_t* ld = load.data();
    uint64_t* fl = flow.data();
    uint64_t* old = old_flow.data();
    uint8_t* lft = out.lft.data() + lid;
    std::copy_n(plan_sources.data(), reached, fl);
    if (reroute) std::copy_n(plan_sources.data(), reached, old);
    for (uint32_t i = 0; i < reached; ++i) {
      const uint32_t s = ord[i];
      uint8_t* entry = lft + size_t{s} * num_lids;
      if (s == d) {
        *entry = g.lid_port(lid);
        continue;
      }
      const uint32_t first = cf[i], end = cf[i + 1];
      if (first == end) continue;
      const uint32_t base = s * stride;
      // Rerouting: all of this LID's routes through s's channels come from s's own flow in
      // the previous round, so taking it off here, before s chooses, is enough.
      if (reroute)
        for (uint32_t k = first; k < end; ++k)
          if (c[k].chan == base + *entry) {
            ld[c[k].chan] -= old[i];
            old[c[k].next] += old[i];
            break;
          }
      const uint32_t start = first + balanced::SpreadOf(spread, end - first);
      const auto [best, least] = balanced::LeastFrom(first, start, end, [&](uint32_t k) { return ld[c[k].chan]; });
      *entry = static_cast<uint8_t>(c[best].chan - base);
      ld[c[best].chan] = least + fl[i];
      fl[c[best].next] += fl[i];
    }
  };

  // With costs. Rerouting takes all of the LID's previous routes off first, so that a look
  // at the channels further on does not count them.
  auto route_lid_weighted = [&](uint32_t d, Lid lid, bool reroute) {
    const uint32_t spread = balanced::Spread(lid);
    const uint32_t* ord = order.data();
    const uint32_t* cf = cand_first.data();
    const Candidate* c = cands.data();
    const uint32_t* cost = st.cost.data();
    uint64_t* ld = load.data();
    uint64_t* fl = flow.data();
    uint8_t* lft = out.lft.data() + lid;
    if (reroute) {
      uint64_t* old = old_flow.data();
      std::copy_n(plan_sources.data(), reached, old);
      for (uint32_t i = 0; i < reached; ++i) {
        const uint32_t s = ord[i], base = s * stride;
        for (uint32_t k = cf[i]; k < cf[i + 1] && s != d; ++k)
          if (c[k].chan == base + lft[size_t{s} * num_lids]) {
            ld[c[k].chan] -= old[i] * cost[c[k].chan];
            old[c[k].next] += old[i];
            break;
          }
      }
    }
    std::copy_n(plan_sources.data(), reached, fl);
    for (uint32_t i = 0; i < reached; ++i) {
      const uint32_t s = ord[i];
      uint8_t* entry = lft + size_t{s} * num_lids;
      if (s == d) {
        *entry = g.lid_port(lid);
        continue;
      }
      const uint32_t first = cf[i], end = cf[i + 1];
      if (first == end) continue;
      auto after = [&](uint32_t k) {
        const uint32_t ch = c[k].chan;
        return balanced::LoadAfter(ld[ch] + fl[i] * cost[ch], c[k].next, fl[i], ld, cost, forced.data(), fl,
                                   [&](uint32_t at) { return forced_next[at]; });
      };
      const uint32_t start = first + balanced::SpreadOf(spread, end - first);
      const uint32_t best = balanced::LeastFrom(first, start, end, after).first;
      *entry = static_cast<uint8_t>(c[best].chan - s * stride);
      ld[c[best].chan] += fl[i] * cost[c[best].chan];
      fl[c[best].next] += fl[i];
    }
  };

  balanced::RunRounds(
      st,
      [&](uint32_t d, bool reroute) {
        build(d);
        for (Lid lid : g.endpoint_lids(d)) weighted ? route_lid_weighted(d, lid, reroute) : route_lid(d, lid, reroute);
      },
      [&] { return *std::max_element(load.begin(), load.end()); });
}

}  // namespace fabricctl
