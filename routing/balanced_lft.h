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
// channel; the first pass here 306, after rerouting 200 (dimension order: 216). On fat
// trees the first pass meets the cut bound and no rerouting runs. Routing is sequential in
// a fixed destination order, so the result does not depend on the thread count.
#include <algorithm>
#include <array>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "routing/parallel.h"
#include "routing/routes.h"
#include "routing/switch_graph.h"

namespace fabricctl {

// Rip-up-and-reroute rounds after the first pass, at most; they stop as soon as the busiest
// channel reaches the cut bound or a round lowers its load by less than 2%.
inline constexpr unsigned kRerouteRounds = 7;

// The hop table is by destination: hop[d * S + s] & hop_mask is the hop count from switch
// s to destination switch d, kUnreachable when there is none (so the scans over s read one
// row). accept(row, s, t): neighbour switch t of s is a next hop towards the destination
// whose row that is; it must imply row[t] + 1 == row[s] (masked). Switch LIDs are routed but
// carry no weight (management traffic only): they take the first candidate in a rotation.
// Rows of switches without a candidate stay kNoRoute.
struct HopTable {
  const std::vector<uint8_t>& hop;
  uint8_t mask = 0xFF;
};

template <typename Accept>
void FillBalanced(const SwitchGraph& g, const HopTable& table, const Accept& accept, unsigned threads,
                  SubnetRoutes& out) {
  const uint32_t S = g.num_switches();
  const size_t L = out.num_lids();
  unsigned stride = 1;
  for (uint32_t s = 0; s < S; ++s)
    for (uint32_t e = g.begin(s); e < g.end(s); ++e)
      for (uint8_t p : g.ports(e)) stride = std::max<unsigned>(stride, p + 1u);
  std::vector<uint64_t> load(size_t{S} * stride, 0);  // routes per channel (switch, port)
  std::vector<uint64_t> flow(S), old_flow(S), sources(S);
  uint64_t total = 0;
  for (uint32_t s = 0; s < S; ++s) total += sources[s] = g.endpoint_lids(s).size();
  // No routing can beat the busiest cut around one switch: its endpoints send to all the
  // others over its switch-to-switch channels. Reaching it ends the rerouting.
  uint64_t bound = 0;
  for (uint32_t s = 0; s < S; ++s) {
    uint64_t up = 0;
    for (uint32_t e = g.begin(s); e < g.end(s); ++e) up += g.ports(e).size();
    if (up) bound = std::max(bound, (sources[s] * (total - sources[s]) + up - 1) / up);
  }

  // What routing towards switch d needs: the switches that reach d, farthest first, and
  // the candidate ports of each (a CSR over `order`) with the neighbour each reaches. One
  // plan, rebuilt for every destination in every round: storing one per destination costs
  // more (memory first touched) than rebuilding it in warm buffers.
  struct Plan {
    std::vector<uint32_t> order;       // switches, farthest first
    std::vector<uint32_t> position;    // per switch: its place in `order`
    std::vector<uint64_t> sources;     // per position: endpoints that send from there
    std::vector<uint32_t> cand_first;  // per position: its candidates, a CSR
    std::vector<uint32_t> cand_chan;   // per candidate: switch * stride + port, into `load`
    std::vector<uint32_t> cand_next;   // per candidate: position of the neighbour it reaches
    std::vector<uint8_t> cand_port;
  } plan;
  plan.position.resize(S);
  auto build = [&](uint32_t d, Plan& p) {
    const uint8_t* row = &table.hop[size_t{d} * S];
    std::array<uint32_t, 257> bucket{};  // counting sort by hop count, farthest first
    for (uint32_t s = 0; s < S; ++s)
      if (row[s] != kUnreachable) ++bucket[255 - (row[s] & table.mask) + 1];
    for (size_t i = 1; i < bucket.size(); ++i) bucket[i] += bucket[i - 1];
    const uint32_t n = bucket.back();
    p.order.resize(n);
    for (uint32_t s = 0; s < S; ++s)
      if (row[s] != kUnreachable) {
        p.position[s] = bucket[255 - (row[s] & table.mask)]++;
        p.order[p.position[s]] = s;
      }
    p.sources.resize(n);
    p.cand_first.assign(1, 0);
    p.cand_chan.clear();
    p.cand_next.clear();
    p.cand_port.clear();
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t s = p.order[i];
      p.sources[i] = sources[s] - (s == d ? 1 : 0);
      if (s != d)
        for (uint32_t e = g.begin(s); e < g.end(s); ++e)
          if (accept(row, s, g.nbr(e)))
            for (uint8_t port : g.ports(e)) {
              p.cand_chan.push_back(s * stride + port);
              p.cand_next.push_back(p.position[g.nbr(e)]);
              p.cand_port.push_back(port);
            }
      p.cand_first.push_back(static_cast<uint32_t>(p.cand_port.size()));
    }
  };

  // Switch LIDs: any next hop will do; the first candidate from a place that moves with the
  // LID. Each task writes its own LID's column, so destinations run side by side.
  ParallelFor(
      S, threads,
      [&](size_t di) {
        const uint32_t d = static_cast<uint32_t>(di);
        const Lid lid = g.switch_lid(d);
        if (lid == 0) return;
        const uint8_t* row = &table.hop[size_t{d} * S];
        for (uint32_t s = 0; s < S; ++s) {
          if (row[s] == kUnreachable) continue;
          uint8_t& entry = out.lft[size_t{s} * L + lid];
          if (s == d) {
            entry = g.lid_port(lid);
            continue;
          }
          const uint32_t n = g.degree(s);
          for (uint32_t j = 0, k = lid % n; j < n; ++j, k = k + 1 == n ? 0 : k + 1) {
            const uint32_t e = g.begin(s) + k;
            if (!accept(row, s, g.nbr(e))) continue;
            entry = g.ports(e)[lid % g.ports(e).size()];
            break;
          }
        }
      },
      16);

  auto route_lid = [&](const Plan& p, uint32_t d, Lid lid, bool reroute) {
    // Where the scan for the least loaded candidate starts, as a fraction of the candidates:
    // a multiplicative hash of the LID (scaled by a multiply, not a division, per switch).
    const uint32_t spread = static_cast<uint32_t>(lid * 0x9E3779B9u);
    std::copy(p.sources.begin(), p.sources.end(), flow.begin());
    if (reroute) std::copy(p.sources.begin(), p.sources.end(), old_flow.begin());
    for (size_t i = 0; i < p.order.size(); ++i) {
      const uint32_t s = p.order[i];
      uint8_t* entry = &out.lft[size_t{s} * L + lid];
      if (s == d) {
        *entry = g.lid_port(lid);
        continue;
      }
      const uint32_t first = p.cand_first[i], end = p.cand_first[i + 1];
      if (first == end) continue;
      // Rerouting: all of this LID's routes through s's channels come from s's own flow in
      // the previous round, so taking it off here, before s chooses, is enough.
      if (reroute)
        for (uint32_t k = first; k < end; ++k)
          if (p.cand_port[k] == *entry) {
            load[p.cand_chan[k]] -= old_flow[i];
            old_flow[p.cand_next[k]] += old_flow[i];
            break;
          }
      // Equal loads: start the scan at a place that moves with the LID, so that the
      // destinations of one switch spread over its equal choices (d-mod-k on fat trees).
      const uint32_t start = first + static_cast<uint32_t>((uint64_t{spread} * (end - first)) >> 32);
      uint32_t best = start;
      uint64_t least = load[p.cand_chan[start]];
      for (uint32_t k = start + 1; k < end; ++k)
        if (load[p.cand_chan[k]] < least) best = k, least = load[p.cand_chan[k]];
      for (uint32_t k = first; k < start; ++k)
        if (load[p.cand_chan[k]] < least) best = k, least = load[p.cand_chan[k]];
      *entry = p.cand_port[best];
      load[p.cand_chan[best]] += flow[i];
      flow[p.cand_next[best]] += flow[i];
    }
  };

  // The first pass takes destinations in switch order (on fat trees that alone meets the
  // bound: the LIDs of one leaf in a row spread like d-mod-k); rerouting takes them in a
  // scrambled order, which on tori gets further in one round than switch order does.
  std::vector<uint32_t> scrambled(S);
  std::iota(scrambled.begin(), scrambled.end(), 0u);
  std::sort(scrambled.begin(), scrambled.end(),
            [](uint32_t a, uint32_t b) { return std::pair(a * 0x9E3779B9u, a) < std::pair(b * 0x9E3779B9u, b); });
  uint64_t busiest = ~uint64_t{0};
  for (unsigned round = 0; round <= kRerouteRounds; ++round) {
    for (uint32_t i = 0; i < S; ++i) {
      const uint32_t d = round == 0 ? i : scrambled[i];
      if (sources[d] == 0) continue;
      build(d, plan);
      for (Lid lid : g.endpoint_lids(d)) route_lid(plan, d, lid, round > 0);
    }
    const uint64_t now = *std::max_element(load.begin(), load.end());
    if (now <= bound || now >= busiest - busiest / 50) break;  // at the bound, or < 2% better
    busiest = now;
  }
}

}  // namespace fabricctl
