#include "routing/route_summary.h"

#include <algorithm>
#include <atomic>

#include "routing/channel_capacity.h"
#include "routing/parallel.h"
#include "routing/switch_graph.h"

namespace fabricctl {
namespace {

constexpr uint32_t kBroken = kNone - 1;
constexpr uint32_t kWalking = kNone - 2;  // on the walk being followed

// Destination LIDs per block: the LFT rows are read in runs of this many bytes.
constexpr size_t kBlock = 64;

// Port slots of one subnet and what each leads to: slot base[s] + port number.
struct Slots {
  uint32_t num_switches = 0;
  size_t num_lids = 0;
  std::vector<uint32_t> base;       // num_switches + 1 entries
  std::vector<uint32_t> hop_to;     // next switch through the slot, kBroken when none
  std::vector<uint8_t> peer_num;    // port number at that switch
  std::vector<uint32_t> endpoints;  // endpoint LIDs per switch
  std::vector<uint32_t> sources;    // switches with endpoints, ascending
  uint64_t attached = 0;            // endpoint LIDs on switches: the pairs per destination + 1
  // Turn rows: row (u, out) at turn_base[u] + out * turn_words[u], bit per in port of u.
  std::vector<size_t> turn_base;
  std::vector<uint32_t> turn_words;
};

Slots MakeSlots(const Fabric& fabric, const SwitchGraph& g, size_t num_lids) {
  Slots sl;
  const uint32_t num_switches = sl.num_switches = g.num_switches();
  sl.num_lids = num_lids;
  sl.base.assign(num_switches + 1, 0);
  sl.turn_base.assign(num_switches + 1, 0);
  sl.turn_words.assign(num_switches, 0);
  sl.endpoints.assign(num_switches, 0);
  for (uint32_t s = 0; s < num_switches; ++s) {
    uint32_t np = fabric.node(g.node(s)).num_ports + 1u;
    sl.base[s + 1] = sl.base[s] + np;
    sl.turn_words[s] = (np + 63) / 64;
    sl.turn_base[s + 1] = sl.turn_base[s] + size_t{np} * sl.turn_words[s];
    sl.endpoints[s] = static_cast<uint32_t>(g.endpoint_lids(s).size());
    if (sl.endpoints[s]) sl.sources.push_back(s);
    sl.attached += sl.endpoints[s];
  }
  sl.hop_to.assign(sl.base[num_switches], kBroken);
  sl.peer_num.assign(sl.base[num_switches], 0);
  for (uint32_t s = 0; s < num_switches; ++s) {
    for (const Adjacency& a : fabric.neighbors(g.node(s))) {
      uint32_t slot = sl.base[s] + fabric.port(a.local).number;
      uint32_t peer = g.local(a.peer_node);
      sl.hop_to[slot] = peer == kNone ? kBroken : peer;
      sl.peer_num[slot] = static_cast<uint8_t>(fabric.port(a.peer_port).number);
    }
  }
  return sl;
}

// What one thread adds up. Routes from a switch's own endpoints are counted per channel
// (`own`, times the switch's endpoints at the end): every source switch adds one per
// destination, so counting them in LFT row order keeps that work sequential; only the
// routes passed on from other switches (`passed`) are added per destination.
struct Tally {
  std::vector<uint32_t> own;
  std::vector<uint64_t> passed;
  uint64_t unreachable = 0, pairs = 0, hop_sum = 0;
  uint32_t max_hops = 0;
};

// One block of destinations: per destination k a column over the switches (index
// k * stride + s) of their LFT entries (`col`), the switch each entry leads to (`next`,
// kBroken when none) and the port it arrives on there (`in`). Columns are `stride` apart,
// a cache line off a multiple of the page size, so that writing one LFT row across all of
// them does not map every column to the same cache set.
struct Block {
  size_t stride = 0;
  std::vector<Lid> lids;
  std::vector<uint32_t> target;  // switch of each destination
  std::vector<uint8_t> port;     // its port there
  std::vector<uint8_t> col, in;
  std::vector<uint32_t> next;
};

// Reads the block's LFT rows once, in row order (rows are num_lids apart: too far for the
// hardware prefetcher, and a column read would touch a page per switch). A source switch's
// own routes are counted here, where its row is at hand; WalkDestination takes back those
// that do not arrive.
void LoadBlock(const Slots& sl, const SubnetRoutes& routes, Block& b, Tally& tally) {
  const size_t block_lids = b.lids.size(), num_switches = sl.num_switches, num_lids = sl.num_lids;
  b.stride = (num_switches + 1023) / 1024 * 1024 + 16;
  b.col.resize(block_lids * b.stride);
  b.in.resize(block_lids * b.stride);
  b.next.resize(block_lids * b.stride);
  uint8_t* const col = b.col.data();
  uint8_t* const in = b.in.data();
  uint32_t* const next = b.next.data();
  const size_t stride = b.stride;
  const Lid* const lids = b.lids.data();
  const uint32_t* const target = b.target.data();
  uint32_t* const own = tally.own.data();
  const uint8_t* const lft = routes.lft.data();
  const Lid first = lids[0];
  for (uint32_t s = 0; s < num_switches; ++s) {
    const uint8_t* row = lft + size_t{s} * num_lids;
    // Ports a table entry can name: kNoRoute is none.
    const uint32_t base = sl.base[s], np = std::min<uint32_t>(sl.base[s + 1] - base, kNoRoute);
    if (s + 8 < num_switches) {
      __builtin_prefetch(row + 8 * num_lids + first);
      __builtin_prefetch(row + 8 * num_lids + first + 63);
      // The tables of that switch too: they are read at random ports.
      for (uint32_t c = sl.base[s + 8]; c < sl.base[s + 9]; c += 16) {
        __builtin_prefetch(&sl.hop_to[c]);
        __builtin_prefetch(&own[c]);
      }
      __builtin_prefetch(&sl.peer_num[sl.base[s + 8]]);
      __builtin_prefetch(&sl.peer_num[sl.base[s + 9] - 1]);
    }
    const uint32_t* hop_to = &sl.hop_to[base];
    const uint8_t* peer_num = &sl.peer_num[base];
    const bool source = sl.endpoints[s] != 0;
    for (size_t k = 0; k < block_lids; ++k) {
      const uint8_t p = row[lids[k]];
      const uint32_t u = p < np ? hop_to[p] : kBroken;
      col[k * stride + s] = p;
      next[k * stride + s] = u;
      in[k * stride + s] = p < np ? peer_num[p] : 0;
      if (source && u != kBroken && s != target[k]) ++own[base + p];
    }
  }
}

// Scratch of one thread, sized once.
struct Walker {
  std::vector<uint32_t> hops, inflow, stack, visited, order, touched;  // one entry per switch each
  uint32_t num_visited = 0, num_order = 0;
  std::vector<uint64_t> in_ports;  // 4 words per switch: in ports with routes this destination
};

// Hops from every source switch towards destination k, each switch resolved once (hops
// kNone: not seen yet). `order` lists the switches that reach it, each after the switch it
// forwards to. Sources that do not reach it are counted and their own routes taken back.
void ResolveHops(const Slots& sl, const Block& b, size_t k, Walker& w, Tally& tally) {
  const uint32_t* next = &b.next[k * b.stride];
  const uint8_t* col = &b.col[k * b.stride];
  const uint32_t t = b.target[k];
  uint32_t* hops = w.hops.data();
  uint32_t* visited = w.visited.data();
  uint32_t* order = w.order.data();
  uint32_t* stack = w.stack.data();
  uint32_t nv = 0, no = 0;
  if (col[t] == b.port[k]) {  // delivered; otherwise an ordinary switch on some walk
    hops[t] = 0;
    visited[nv++] = t;
    order[no++] = t;
  }
  for (uint32_t s : sl.sources) {
    if (hops[s] != kNone) continue;
    uint32_t x = next[s];
    if (x != kBroken && hops[x] < kWalking) {  // the common case: one step to a known switch
      hops[s] = hops[x] + 1;
      visited[nv++] = s;
      order[no++] = s;
      continue;
    }
    uint32_t depth = 0;
    x = s;
    while (hops[x] == kNone) {
      visited[nv++] = x;
      if (next[x] == kBroken) {
        hops[x] = kBroken;
        tally.unreachable += sl.endpoints[x] - (x == t ? 1 : 0);
        break;
      }
      hops[x] = kWalking;
      stack[depth++] = x;
      x = next[x];
    }
    if (hops[x] == kWalking || hops[x] == kBroken) {  // a loop, or a dead end
      for (uint32_t i = 0; i < depth; ++i) {
        const uint32_t y = stack[i];
        hops[y] = kBroken;
        tally.unreachable += sl.endpoints[y] - (y == t ? 1 : 0);
        if (sl.endpoints[y] && y != t) --tally.own[sl.base[y] + col[y]];
      }
      continue;
    }
    for (uint32_t h = hops[x]; depth-- > 0;) {
      hops[stack[depth]] = ++h;
      order[no++] = stack[depth];
    }
  }
  w.num_visited = nv;
  w.num_order = no;
}

// The routes towards destination k: hops of every pair, the routes each switch passes on
// (its own endpoints' are counted by LoadBlock), and the turns they take at the next
// switch (in port -> out port). Walking `order` backwards adds every inflow before a
// switch passes it on.
void WalkDestination(const Slots& sl, const Block& b, size_t k, Walker& w, Tally& tally, std::vector<uint64_t>& turns) {
  const size_t at = k * b.stride;
  const uint8_t* col = &b.col[at];
  const uint8_t* in = &b.in[at];
  const uint32_t* next = &b.next[at];
  const uint32_t t = b.target[k];
  ResolveHops(sl, b, k, w, tally);
  uint32_t* hops = w.hops.data();
  uint32_t* inflow = w.inflow.data();
  const uint32_t* order = w.order.data();
  const uint32_t* endpoints = sl.endpoints.data();
  uint32_t* touched = w.touched.data();
  uint64_t* in_ports = w.in_ports.data();
  uint64_t* passed_load = tally.passed.data();
  uint32_t num_touched = 0;
  uint64_t hop_sum = 0;
  uint32_t max_h = 0;
  for (uint32_t i = w.num_order; i-- > 0;) {
    const uint32_t s = order[i];
    const uint32_t src = endpoints[s] - (s == t ? 1 : 0);
    if (src) {
      max_h = std::max(max_h, hops[s]);
      hop_sum += src * uint64_t{hops[s] + 2};
    }
    const uint32_t passed = inflow[s];
    inflow[s] = 0;
    if (s == t || src + passed == 0) continue;
    if (passed) passed_load[sl.base[s] + col[s]] += passed;
    const uint32_t u = next[s];
    if (u == t) continue;
    if (inflow[u] == 0) touched[num_touched++] = u;
    inflow[u] += src + passed;
    in_ports[size_t{u} * 4 + in[s] / 64] |= uint64_t{1} << (in[s] % 64);
  }
  inflow[t] = 0;
  tally.hop_sum += hop_sum;
  tally.pairs += sl.attached - 1;
  if (tally.pairs && max_h + 2 > tally.max_hops) tally.max_hops = max_h + 2;
  // One shared row per switch the routes turn at; most turns are known after a few
  // destinations, so the row is only read.
  for (uint32_t j = 0; j < num_touched; ++j) {
    const uint32_t u = touched[j];
    uint64_t* mask = &in_ports[size_t{u} * 4];
    const size_t row = sl.turn_base[u] + size_t{col[u]} * sl.turn_words[u];
    for (uint32_t i = 0; i < std::min(sl.turn_words[u], 4u); ++i) {
      std::atomic_ref<uint64_t> word(turns[row + i]);
      if ((word.load(std::memory_order_relaxed) & mask[i]) != mask[i])
        word.fetch_or(mask[i], std::memory_order_relaxed);
      mask[i] = 0;
    }
  }
  for (uint32_t i = 0; i < w.num_visited; ++i) hops[w.visited[i]] = kNone;
}

// Channel dependency graph: channel (s, p) -> (u, out) for every used turn at u. Kahn's
// algorithm: acyclic iff every channel gets removed.
bool Acyclic(const Slots& sl, const std::vector<uint64_t>& turns) {
  const uint32_t num_switches = sl.num_switches, slots = sl.base[num_switches];
  auto for_each_succ = [&](uint32_t slot, auto&& fn) {
    const uint32_t u = sl.hop_to[slot];
    if (u == kBroken) return;
    const uint32_t in = sl.peer_num[slot], np = sl.base[u + 1] - sl.base[u], words = sl.turn_words[u];
    const uint64_t bit = uint64_t{1} << (in % 64);
    const uint64_t* row = &turns[sl.turn_base[u] + in / 64];
    for (uint32_t out = 1; out < np; ++out)
      if (row[size_t{out} * words] & bit) fn(sl.base[u] + out);
  };
  std::vector<uint32_t> indeg(slots, 0);
  for (uint32_t c = 0; c < slots; ++c) for_each_succ(c, [&](uint32_t d) { ++indeg[d]; });
  std::vector<uint32_t> queue;
  for (uint32_t c = 0; c < slots; ++c)
    if (indeg[c] == 0) queue.push_back(c);
  for (size_t head = 0; head < queue.size(); ++head)
    for_each_succ(queue[head], [&](uint32_t d) {
      if (--indeg[d] == 0) queue.push_back(d);
    });
  return queue.size() == slots;
}

}  // namespace

RouteSummary SummarizeRoutes(const Fabric& fabric, const Subnet& subnet, const SubnetRoutes& routes, unsigned threads) {
  RouteSummary sum;
  SwitchGraph g(fabric, subnet, routes);
  const uint32_t num_switches = g.num_switches();
  const size_t num_lids = routes.num_lids();
  if (num_switches == 0) {
    sum.deadlock_free = true;
    return sum;
  }
  const Slots sl = MakeSlots(fabric, g, num_lids);
  std::vector<uint64_t> turns(sl.turn_base[num_switches], 0);
  const size_t blocks = (num_lids + kBlock - 1) / kBlock;
  const unsigned T = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(blocks)));
  std::vector<Tally> tallies(T);
  std::atomic<size_t> next_block{0};
  ParallelFor(T, T, [&](size_t ti) {
    Tally& tally = tallies[ti];
    tally.own.assign(sl.base[num_switches], 0);
    tally.passed.assign(sl.base[num_switches], 0);
    Walker w;
    w.hops.assign(num_switches, kNone);
    w.inflow.assign(num_switches, 0);
    w.stack.resize(num_switches);
    w.visited.resize(num_switches);
    w.order.resize(num_switches);
    w.touched.resize(num_switches);
    w.in_ports.assign(size_t{num_switches} * 4, 0);
    Block b;
    for (size_t blk; (blk = next_block.fetch_add(1)) < blocks;) {
      b.lids.clear();
      b.target.clear();
      b.port.clear();
      for (Lid d = static_cast<Lid>(blk * kBlock); d < std::min(num_lids, (blk + 1) * kBlock); ++d) {
        if (d == 0 || g.lid_switch(d) == kNone || g.lid_is_switch(d)) continue;
        b.lids.push_back(d);
        b.target.push_back(g.lid_switch(d));
        b.port.push_back(g.lid_port(d));
      }
      if (b.lids.empty()) continue;
      LoadBlock(sl, routes, b, tally);
      for (size_t k = 0; k < b.lids.size(); ++k) WalkDestination(sl, b, k, w, tally, turns);
    }
  });

  std::vector<uint64_t> load(sl.base[num_switches], 0);
  uint64_t hop_sum = 0;
  for (const Tally& tally : tallies) {
    for (uint32_t s = 0; s < num_switches; ++s)
      for (uint32_t c = sl.base[s]; c < sl.base[s + 1]; ++c)
        load[c] += tally.passed[c] + uint64_t{tally.own[c]} * sl.endpoints[s];
    sum.unreachable_pairs += tally.unreachable;
    sum.pairs += tally.pairs;
    hop_sum += tally.hop_sum;
    sum.max_hops = std::max(sum.max_hops, tally.max_hops);
  }
  sum.max_channel_load = load.empty() ? 0 : *std::max_element(load.begin(), load.end());
  sum.max_load_per_capacity = double(sum.max_channel_load);
  if (ChannelCapacity capacity(fabric, subnet); !capacity.uniform()) {
    for (uint32_t s = 0; s < num_switches; ++s)
      for (uint32_t p = 1; p < sl.base[s + 1] - sl.base[s]; ++p)
        if (load[sl.base[s] + p] != 0)
          sum.max_load_per_capacity = std::max(
              sum.max_load_per_capacity, double(load[sl.base[s] + p]) / capacity.share(fabric.port_id(g.node(s), p)));
  }
  const uint64_t reachable = sum.pairs - sum.unreachable_pairs;
  sum.avg_hops = reachable ? double(hop_sum) / double(reachable) : 0;
  if (routes.num_vls > 1) return sum;
  sum.deadlock_free = Acyclic(sl, turns);
  return sum;
}

}  // namespace fabricctl
