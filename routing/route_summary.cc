#include "routing/route_summary.h"

#include <algorithm>
#include <thread>

#include "routing/channel_capacity.h"
#include "routing/parallel.h"
#include "routing/switch_graph.h"

namespace fabricctl {
namespace {

constexpr uint32_t kBroken = kNone - 1;
constexpr uint32_t kPending = kNone - 2;  // entry resolved, hops not known yet
constexpr uint32_t kWalking = kNone - 3;  // on the walk being followed

struct PerThread {
  std::vector<uint64_t> load;
  std::vector<uint64_t> turns;  // bit per (switch, in port, out port)
  uint64_t unreachable = 0, pairs = 0, hop_sum = 0;
  uint32_t max_hops = 0;
};

}  // namespace

RouteSummary SummarizeRoutes(const Fabric& fabric, const Subnet& subnet, const SubnetRoutes& routes, unsigned threads) {
  RouteSummary sum;
  SwitchGraph g(fabric, subnet, routes);
  const uint32_t S = g.num_switches();
  const size_t L = routes.num_lids();
  if (S == 0) {
    sum.deadlock_free = true;
    return sum;
  }
  // Port slots per switch: base[s] + port number; peer switch of each port (kNone for an
  // endpoint or nothing) and the port number at the peer.
  std::vector<uint32_t> base(S + 1, 0), turn_base(S + 1, 0);
  for (uint32_t s = 0; s < S; ++s) {
    uint32_t np = fabric.node(g.node(s)).num_ports + 1u;
    base[s + 1] = base[s] + np;
    turn_base[s + 1] = turn_base[s] + np * np;
  }
  std::vector<uint32_t> peer_sw(base[S], kNone);
  std::vector<uint8_t> peer_num(base[S], 0), connected(base[S], 0);
  for (uint32_t s = 0; s < S; ++s) {
    for (const Adjacency& a : fabric.neighbors(g.node(s))) {
      uint32_t slot = base[s] + fabric.port(a.local).number;
      connected[slot] = 1;
      peer_sw[slot] = g.local(a.peer_node);
      peer_num[slot] = fabric.port(a.peer_port).number;
    }
  }
  // Destinations go in blocks of 64 consecutive LIDs per thread, so the LFT cache line of
  // each switch serves a whole block.
  constexpr size_t kBlock = 64;
  const size_t blocks = (L + kBlock - 1) / kBlock;
  const unsigned T = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(blocks)));
  std::vector<PerThread> per(T);
  std::vector<uint32_t> sources;
  for (uint32_t s = 0; s < S; ++s)
    if (!g.endpoint_lids(s).empty()) sources.push_back(s);
  ParallelFor(T, T, [&](size_t ti) {
    PerThread& pt = per[ti];
    pt.load.assign(base[S], 0);
    pt.turns.assign((turn_base[S] + 63) / 64, 0);
    std::vector<uint32_t> hops(S, kNone), next(S), stack, visited;
    std::vector<uint64_t> flow(S);
    std::vector<uint32_t> bucket_count, order(S);
    for (size_t blk = ti; blk < blocks; blk += T) {
      const size_t b0 = blk * kBlock, b1 = std::min(L, b0 + kBlock);
      for (Lid d = static_cast<Lid>(b0); d < b1; ++d) {
        if (d == 0 || g.lid_switch(d) == kNone || g.lid_is_switch(d)) continue;
        // Consecutive destinations share each row's cache line, so direct reads stay in cache.
        const uint8_t* entry = routes.lft.data() + d;
        const size_t stride = L;
        const uint32_t t = g.lid_switch(d);
        // Only switches on some source's path matter: walk from every switch with endpoints,
        // resolving each entry on first visit (hops kNone = not seen yet).
        visited.clear();
        auto resolve = [&](uint32_t s) {
          uint8_t p = entry[size_t{s} * stride];
          uint32_t slot = base[s] + p;
          visited.push_back(s);
          if (s == t && p == g.lid_port(d))
            next[s] = kNone, hops[s] = 0;
          else if (p == kNoRoute || p == 0 || slot >= base[s + 1] || !connected[slot] || peer_sw[slot] == kNone)
            next[s] = kBroken, hops[s] = kBroken;
          else
            next[s] = peer_sw[slot], hops[s] = kPending;
        };
        uint32_t max_h = 0;
        for (uint32_t s : sources) {
          if (hops[s] != kNone) continue;
          stack.clear();
          uint32_t x = s;
          for (;;) {
            if (hops[x] == kNone) resolve(x);
            if (hops[x] != kPending) break;  // final, or kWalking: back on this walk, a loop
            hops[x] = kWalking;
            stack.push_back(x);
            x = next[x];
          }
          uint32_t h = (hops[x] == kWalking || hops[x] == kBroken) ? kBroken : hops[x];
          for (size_t i = stack.size(); i-- > 0;) {
            if (h != kBroken) ++h;
            hops[stack[i]] = h;
          }
        }
        bucket_count.assign(1, 0);
        for (uint32_t s : visited) {
          uint64_t src = g.endpoint_lids(s).size() - (s == t ? 1 : 0);
          flow[s] = src;
          pt.pairs += src;
          if (hops[s] == kBroken) {
            pt.unreachable += src;
            continue;
          }
          if (src) {
            max_h = std::max(max_h, hops[s]);
            pt.hop_sum += src * (hops[s] + 2);
          }
          if (hops[s] >= bucket_count.size()) bucket_count.resize(hops[s] + 1, 0);
          ++bucket_count[hops[s]];
        }
        if (pt.pairs && max_h + 2 > pt.max_hops) pt.max_hops = max_h + 2;
        // Counting sort by hops; walking it backwards, farthest first, adds every inflow
        // before a switch passes it on.
        std::vector<uint32_t> start(bucket_count.size() + 1, 0);
        for (size_t b = 0; b < bucket_count.size(); ++b) start[b + 1] = start[b] + bucket_count[b];
        const uint32_t reachable = start.back();
        for (uint32_t s : visited)
          if (hops[s] != kBroken) order[start[hops[s]]++] = s;
        std::reverse(order.begin(), order.begin() + reachable);
        for (uint32_t i = 0; i < reachable; ++i) {
          uint32_t s = order[i];
          if (s == t || flow[s] == 0) continue;
          uint8_t p = entry[size_t{s} * stride];
          pt.load[base[s] + p] += flow[s];
          uint32_t u = next[s];
          flow[u] += flow[s];
          if (u != t) {
            uint32_t in = peer_num[base[s] + p], out = entry[size_t{u} * stride];
            uint32_t np = base[u + 1] - base[u];
            uint32_t bit = turn_base[u] + in * np + out;
            pt.turns[bit / 64] |= uint64_t{1} << (bit % 64);
          }
        }
        for (uint32_t s : visited) hops[s] = kNone;
      }
    }
  });

  std::vector<uint64_t> load(base[S], 0), turns((turn_base[S] + 63) / 64, 0);
  uint64_t hop_sum = 0;
  for (const PerThread& pt : per) {
    for (size_t i = 0; i < load.size(); ++i) load[i] += pt.load[i];
    for (size_t i = 0; i < turns.size(); ++i) turns[i] |= pt.turns[i];
    sum.unreachable_pairs += pt.unreachable;
    sum.pairs += pt.pairs;
    hop_sum += pt.hop_sum;
    sum.max_hops = std::max(sum.max_hops, pt.max_hops);
  }
  sum.max_channel_load = load.empty() ? 0 : *std::max_element(load.begin(), load.end());
  sum.max_load_per_capacity = double(sum.max_channel_load);
  if (ChannelCapacity capacity(fabric, subnet); !capacity.uniform()) {
    for (uint32_t s = 0; s < S; ++s)
      for (uint32_t p = 1; p < base[s + 1] - base[s]; ++p)
        if (load[base[s] + p] != 0)
          sum.max_load_per_capacity = std::max(
              sum.max_load_per_capacity, double(load[base[s] + p]) / capacity.share(fabric.port_id(g.node(s), p)));
  }
  uint64_t reachable = sum.pairs - sum.unreachable_pairs;
  sum.avg_hops = reachable ? double(hop_sum) / double(reachable) : 0;
  if (routes.num_vls > 1) return sum;

  // Channel dependency graph: channel (s, p) -> (u, out) for every used turn at u.
  // Kahn's algorithm: acyclic iff every channel gets removed.
  std::vector<uint32_t> indeg(base[S], 0);
  auto for_each_succ = [&](uint32_t s, uint32_t p, auto&& fn) {
    uint32_t slot = base[s] + p;
    uint32_t u = peer_sw[slot];
    if (u == kNone) return;
    uint32_t in = peer_num[slot], np = base[u + 1] - base[u];
    for (uint32_t out = 1; out < np; ++out) {
      uint32_t bit = turn_base[u] + in * np + out;
      if ((turns[bit / 64] >> (bit % 64)) & 1) fn(base[u] + out);
    }
  };
  std::vector<std::pair<uint32_t, uint32_t>> slot_owner(base[S]);
  for (uint32_t s = 0; s < S; ++s)
    for (uint32_t p = 0; p < base[s + 1] - base[s]; ++p) slot_owner[base[s] + p] = {s, p};
  for (uint32_t s = 0; s < S; ++s)
    for (uint32_t p = 1; p < base[s + 1] - base[s]; ++p) for_each_succ(s, p, [&](uint32_t c) { ++indeg[c]; });
  std::vector<uint32_t> queue;
  for (uint32_t c = 0; c < base[S]; ++c)
    if (indeg[c] == 0) queue.push_back(c);
  for (size_t head = 0; head < queue.size(); ++head) {
    auto [s, p] = slot_owner[queue[head]];
    if (p == 0) continue;
    for_each_succ(s, p, [&](uint32_t c) {
      if (--indeg[c] == 0) queue.push_back(c);
    });
  }
  sum.deadlock_free = queue.size() == base[S];
  return sum;
}

}  // namespace fabricctl
