#pragma once
// The port-balancing step shared by minhop and updn. Given a rule saying which
// neighbours of switch s lead towards destination switch d, every switch fills its LFT
// row LID by LID in ascending order, giving each endpoint LID the candidate port that
// carries the fewest endpoint routes so far at that switch (OpenSM minhop's balancing).
// A row depends only on its own switch's counters, so switches run in parallel and the
// result does not depend on the thread count.
#include <array>
#include <cstdint>
#include <vector>

#include "routing/parallel.h"
#include "routing/routes.h"
#include "routing/switch_graph.h"

namespace fabricctl {

inline uint64_t Mix64(uint64_t x) {  // splitmix64 finaliser
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// accept(s, t, d): neighbour switch t of s is a next hop from s towards d.
// Ties go to the neighbour listed first at s, then to the lower port number; switch LIDs
// are routed but not counted (they carry management traffic only).
template <typename Accept>
void FillBalanced(const SwitchGraph& g, const Accept& accept, unsigned threads, SubnetRoutes& out) {
  const size_t L = out.num_lids();
  ParallelFor(
      g.num_switches(), threads,
      [&](size_t si) {
        const uint32_t s = static_cast<uint32_t>(si);
        uint8_t* row = &out.lft[si * L];
        std::array<uint32_t, 256> load{};
        std::vector<uint8_t> cand;
        uint32_t cached = kNone;
        size_t rounds = 0;
        for (Lid lid = 1; lid < L; ++lid) {
          const uint32_t d = g.lid_switch(lid);
          if (d == kNone) continue;
          if (d == s) {
            row[lid] = g.lid_port(lid);
            continue;
          }
          if (d != cached) {
            cached = d;
            cand.clear();
            for (uint32_t e = g.begin(s); e < g.end(s); ++e)
              if (accept(s, g.nbr(e), d))
                for (uint8_t p : g.ports(e)) cand.push_back(p);
          }
          if (cand.empty()) continue;
          // Ties start at a position drawn per (switch, round) from a hash (a round gives every
          // candidate one more route): with a fixed or rotating start, consecutive switches
          // on a path pick correlated ports and a 3-tier fat tree sends all of a pod's
          // destinations through a few cores.
          const size_t c = cand.size();
          const size_t first = Mix64((uint64_t{s} << 32) ^ (rounds / c)) % c;
          uint8_t best = cand[first];
          uint32_t best_load = load[best];
          for (size_t k = first + 1; k < c; ++k)
            if (load[cand[k]] < best_load) best = cand[k], best_load = load[best];
          for (size_t k = 0; k < first; ++k)
            if (load[cand[k]] < best_load) best = cand[k], best_load = load[best];
          row[lid] = best;
          if (!g.lid_is_switch(lid)) {
            ++load[best];
            if (c > 1) ++rounds;
          }
        }
      },
      4);
}

}  // namespace fabricctl
