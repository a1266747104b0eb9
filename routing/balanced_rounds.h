#pragma once
// What the two ways of filling balanced LFTs (routing/balanced_lft.h) share: the hop table
// they read, the cut bound that ends rerouting, and the driver that runs the first pass and
// the rip-up-and-reroute rounds in a fixed destination order.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "routing/routes.h"
#include "routing/switch_graph.h"

namespace fabricctl {

// Rip-up-and-reroute rounds after the first pass, at most; they stop as soon as the busiest
// channel reaches the cut bound or a round lowers its load by less than 2%.
inline constexpr unsigned kRerouteRounds = 2;

// The hop table is by destination: hop[d * S + s] & mask is the hop count from switch
// s to destination switch d, kUnreachable when there is none (so the scans over s read one
// row). accept(row, s, t): neighbour switch t of s is a next hop towards the destination
// whose row that is; it must imply row[t] + 1 == row[s] (masked).
struct HopTable {
  const std::vector<uint8_t>& hop;
  uint8_t mask = 0xFF;
};

namespace balanced {

struct Setup {
  std::vector<uint64_t> sources;  // endpoint LIDs per switch
  uint64_t bound = 0;             // the busiest cut around one switch
};

inline Setup MakeSetup(const SwitchGraph& g) {
  const uint32_t S = g.num_switches();
  Setup st;
  st.sources.resize(S);
  uint64_t total = 0;
  for (uint32_t s = 0; s < S; ++s) total += st.sources[s] = g.endpoint_lids(s).size();
  // No routing can beat the busiest cut around one switch: its endpoints send to all the
  // others over its switch-to-switch channels. Reaching it ends the rerouting.
  for (uint32_t s = 0; s < S; ++s) {
    uint64_t up = 0;
    for (uint32_t e = g.begin(s); e < g.end(s); ++e) up += g.ports(e).size();
    if (up) st.bound = std::max(st.bound, (st.sources[s] * (total - st.sources[s]) + up - 1) / up);
  }
  return st;
}

// Where the scan for the least loaded candidate starts, as a fraction of the candidates: a
// multiplicative hash of the LID, so that the destinations of one switch spread over its
// equal choices (d-mod-k on fat trees).
inline uint32_t Spread(Lid lid) { return static_cast<uint32_t>(lid * 0x9E3779B9u); }
// That fraction of n, by a multiply rather than a division.
inline uint32_t SpreadOf(uint32_t spread, uint32_t n) { return static_cast<uint32_t>((uint64_t{spread} * n) >> 32); }

// route(d, reroute) routes every endpoint LID of switch d (taking its previous routes off
// first when rerouting); busiest() is the load of the busiest channel. The first pass takes
// destinations in switch order (on fat trees that alone meets the bound: the LIDs of one
// leaf in a row spread like d-mod-k); rerouting takes them in a scrambled order, which on
// tori gets further in one round than switch order does. Sequential in a fixed order, so
// the result does not depend on the thread count.
template <typename Route, typename Busiest>
void RunRounds(const Setup& st, const Route& route, const Busiest& busiest_now) {
  const uint32_t S = static_cast<uint32_t>(st.sources.size());
  std::vector<uint32_t> scrambled(S);
  std::iota(scrambled.begin(), scrambled.end(), 0u);
  std::sort(scrambled.begin(), scrambled.end(),
            [](uint32_t a, uint32_t b) { return std::pair(a * 0x9E3779B9u, a) < std::pair(b * 0x9E3779B9u, b); });
  uint64_t busiest = ~uint64_t{0};
  for (unsigned round = 0; round <= kRerouteRounds; ++round) {
    for (uint32_t i = 0; i < S; ++i) {
      const uint32_t d = round == 0 ? i : scrambled[i];
      if (st.sources[d]) route(d, round > 0);
    }
    const uint64_t now = busiest_now();
    if (now <= st.bound || now >= busiest - busiest / 50) break;  // at the bound, or < 2% better
    busiest = now;
  }
}

}  // namespace balanced
}  // namespace fabricctl
