#include "routing/route_walk.h"

#include <algorithm>
#include <atomic>

#include "routing/parallel.h"

namespace fabricctl {
namespace {

// Hops of a switch towards the current destination: kNone before it is resolved, then a
// count of switch-to-switch links, kBroken when its route does not arrive, kWalking while
// it is on the walk being followed (meeting it again is a loop).
constexpr uint32_t kBroken = kNoSwitch;
constexpr uint32_t kWalking = kNone - 2;

// Destination LIDs per block: the LFT rows are read in runs of this many bytes.
constexpr size_t kBlockLids = 64;

// What one thread adds up. Routes from a switch's own sources are counted per channel
// (`own`, times the switch's sources at the end): every source switch adds one per
// destination, so counting them in LFT row order keeps that work sequential; only the
// routes passed on from other switches (`passed`) are added per destination.
struct Tally {
  std::vector<uint32_t> own;
  std::vector<uint64_t> passed;
  uint64_t unreachable = 0, pairs = 0, hop_sum = 0;
  uint32_t min_hops = kNone, max_hops = 0;
};

// The walk's view of its input: the switches with sources (ascending) and their total.
struct Plan {
  const RouteWalkInput& input;
  std::vector<uint32_t> source_switches;
  uint64_t total_sources = 0;
};

// One block of destinations (`first` .. `first + size` in the destination list): per
// destination k a column over the switches (index k * stride + s) of their LFT entries
// (`col`), the switch each entry leads to (`next`, kNoSwitch when none) and the port it
// arrives on there (`in`). Columns are `stride` apart, a cache line off a multiple of the
// page size, so that writing one LFT row across all of them does not map every column to
// the same cache set.
struct Block {
  size_t stride = 0, first = 0, size = 0;
  std::vector<uint8_t> col, in;
  std::vector<uint32_t> next;
};

// Reads the block's LFT rows once, in row order (rows are num_lids apart: too far for the
// hardware prefetcher, and a column read would touch a page per switch). A source switch's
// own routes are counted here, where its row is at hand; ResolveHops takes back those that
// do not arrive.
[[gnu::always_inline]] inline void LoadBlock(const Plan& plan, Block& b, Tally& tally) {
  const PortSlots& slots = plan.input.slots;
  const size_t block_lids = b.size, num_switches = slots.num_switches(), num_lids = plan.input.routes.num_lids();
  b.stride = (num_switches + 1023) / 1024 * 1024 + 16;
  b.col.resize(block_lids * b.stride);
  b.in.resize(block_lids * b.stride);
  b.next.resize(block_lids * b.stride);
  uint8_t* const col = b.col.data();
  uint8_t* const in = b.in.data();
  uint32_t* const next = b.next.data();
  const size_t stride = b.stride;
  const Lid* const lids = &plan.input.destinations.lids[b.first];
  const uint32_t* const target = &plan.input.destinations.switches[b.first];
  const uint32_t* const sources = plan.input.sources.data();
  uint32_t* const own = tally.own.data();
  const uint8_t* const lft = plan.input.routes.lft.data();
  const Lid first = lids[0];
  for (uint32_t s = 0; s < num_switches; ++s) {
    const uint8_t* row = lft + size_t{s} * num_lids;
    // Ports a table entry can name: kNoRoute is none.
    const uint32_t base = slots.base[s], ports = std::min<uint32_t>(slots.base[s + 1] - base, kNoRoute);
    if (s + 8 < num_switches) {
      __builtin_prefetch(row + 8 * num_lids + first);
      __builtin_prefetch(row + 8 * num_lids + first + 63);
      // The tables of that switch too: they are read at random ports.
      for (uint32_t c = slots.base[s + 8]; c < slots.base[s + 9]; c += 16) {
        __builtin_prefetch(&slots.next_switch[c]);
        __builtin_prefetch(&own[c]);
      }
      __builtin_prefetch(&slots.peer_port[slots.base[s + 8]]);
      __builtin_prefetch(&slots.peer_port[slots.base[s + 9] - 1]);
    }
    const uint32_t* next_switch = &slots.next_switch[base];
    const uint8_t* peer_port = &slots.peer_port[base];
    const bool source = sources[s] != 0;
    for (size_t k = 0; k < block_lids; ++k) {
      const uint8_t p = row[lids[k]];
      const uint32_t u = p < ports ? next_switch[p] : kNoSwitch;
      col[k * stride + s] = p;
      next[k * stride + s] = u;
      in[k * stride + s] = p < ports ? peer_port[p] : 0;
      if (source && u != kNoSwitch && s != target[k]) ++own[base + p];
    }
  }
}

// Scratch of one thread, sized once.
struct Walker {
  std::vector<uint32_t> hops, inflow, stack, visited, order, touched;  // one entry per switch each
  uint32_t num_visited = 0, num_order = 0;
  std::vector<uint64_t> in_ports;  // 4 words per switch: in ports with routes this destination

  explicit Walker(uint32_t num_switches)
      : hops(num_switches, kNone),
        inflow(num_switches, 0),
        stack(num_switches),
        visited(num_switches),
        order(num_switches),
        touched(num_switches),
        in_ports(size_t{num_switches} * 4, 0) {}
};

// Hops from every source switch towards destination k, each switch resolved once. `order`
// lists the switches that reach it, each after the switch it forwards to. Sources that do
// not reach it are counted and their own routes taken back. Inlined, like LoadBlock, into
// each kind of walk: the hot loops keep their pointers in registers.
[[gnu::always_inline]] inline void ResolveHops(const Plan& plan, const Block& b, size_t k, Walker& w, Tally& tally) {
  const uint32_t* next = &b.next[k * b.stride];
  const uint8_t* col = &b.col[k * b.stride];
  const uint32_t t = plan.input.destinations.switches[b.first + k];
  const uint32_t* sources = plan.input.sources.data();
  const uint32_t* base = plan.input.slots.base.data();
  uint32_t* hops = w.hops.data();
  uint32_t* visited = w.visited.data();
  uint32_t* order = w.order.data();
  uint32_t* stack = w.stack.data();
  uint32_t nv = 0, no = 0;
  if (col[t] == plan.input.destinations.ports[b.first + k]) {  // delivered; otherwise an ordinary switch on some walk
    hops[t] = 0;
    visited[nv++] = t;
    order[no++] = t;
  }
  for (uint32_t s : plan.source_switches) {
    if (hops[s] != kNone) continue;
    uint32_t x = next[s];
    if (x != kNoSwitch && hops[x] < kWalking) {  // the common case: one step to a known switch
      hops[s] = hops[x] + 1;
      visited[nv++] = s;
      order[no++] = s;
      continue;
    }
    uint32_t depth = 0;
    x = s;
    while (hops[x] == kNone) {
      visited[nv++] = x;
      if (next[x] == kNoSwitch) {
        hops[x] = kBroken;
        tally.unreachable += sources[x] - (x == t ? 1 : 0);
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
        tally.unreachable += sources[y] - (y == t ? 1 : 0);
        if (sources[y] && y != t) --tally.own[base[y] + col[y]];
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
// (its own sources' are counted by LoadBlock) and, with kTurns, the in ports they arrive
// on at the next switch. Walking `order` backwards adds every inflow before a switch
// passes it on.
template <bool kTurns>
void WalkDestination(const Plan& plan, const Block& b, size_t k, Walker& w, Tally& tally) {
  const size_t at = k * b.stride;
  const uint8_t* col = &b.col[at];
  const uint8_t* in = &b.in[at];
  const uint32_t* next = &b.next[at];
  const uint32_t t = plan.input.destinations.switches[b.first + k];
  ResolveHops(plan, b, k, w, tally);
  const uint32_t* hops = w.hops.data();
  uint32_t* inflow = w.inflow.data();
  const uint32_t* order = w.order.data();
  const uint32_t* sources = plan.input.sources.data();
  const uint32_t* base = plan.input.slots.base.data();
  uint32_t* touched = w.touched.data();
  uint64_t* in_ports = w.in_ports.data();
  uint64_t* passed_load = tally.passed.data();
  uint32_t num_touched = 0;
  uint64_t hop_sum = 0;
  uint32_t min_links = kNone, max_links = 0;  // of the routes that arrive, endpoint links included
  for (uint32_t i = w.num_order; i-- > 0;) {
    const uint32_t s = order[i];
    const uint32_t src = sources[s] - (s == t ? 1 : 0);
    if (src) {
      min_links = std::min(min_links, hops[s] + 2);
      max_links = std::max(max_links, hops[s] + 2);
      hop_sum += src * uint64_t{hops[s] + 2};
    }
    const uint32_t passed = inflow[s];
    inflow[s] = 0;
    if (s == t || src + passed == 0) continue;
    if (passed) passed_load[base[s] + col[s]] += passed;
    const uint32_t u = next[s];
    if (u == t) continue;
    if constexpr (kTurns) {
      if (inflow[u] == 0) touched[num_touched++] = u;
      in_ports[size_t{u} * 4 + in[s] / 64] |= uint64_t{1} << (in[s] % 64);
    }
    inflow[u] += src + passed;
  }
  inflow[t] = 0;
  tally.hop_sum += hop_sum;
  tally.pairs += plan.total_sources - 1;
  tally.min_hops = std::min(tally.min_hops, min_links);
  tally.max_hops = std::max(tally.max_hops, max_links);
  if constexpr (kTurns) {
    plan.input.turns->Record(std::span<const uint32_t>(touched, num_touched), in_ports, col);
    for (uint32_t j = 0; j < num_touched; ++j) std::fill_n(&in_ports[size_t{touched[j]} * 4], 4, 0);
  }
  for (uint32_t i = 0; i < w.num_visited; ++i) w.hops[w.visited[i]] = kNone;
}

// Where each block starts in the destination list: a block holds the destinations of one
// run of kBlockLids LIDs, so its LFT reads stay within that run.
std::vector<size_t> BlockStarts(const WalkDestinations& destinations) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < destinations.lids.size(); ++i)
    if (i == 0 || destinations.lids[i] / kBlockLids != destinations.lids[i - 1] / kBlockLids) starts.push_back(i);
  starts.push_back(destinations.lids.size());
  return starts;
}

// Per-thread tallies, each over the blocks that thread took.
template <bool kTurns>
std::vector<Tally> WalkBlocks(const Plan& plan) {
  const uint32_t num_switches = plan.input.slots.num_switches(), num_slots = plan.input.slots.num_slots();
  const std::vector<size_t> starts = BlockStarts(plan.input.destinations);
  const size_t blocks = starts.size() - 1;
  const unsigned threads = std::max(1u, std::min<unsigned>(plan.input.threads, static_cast<unsigned>(blocks)));
  std::vector<Tally> tallies(threads);
  std::atomic<size_t> next_block{0};
  ParallelFor(threads, threads, [&](size_t thread) {
    Tally& tally = tallies[thread];
    tally.own.assign(num_slots, 0);
    tally.passed.assign(num_slots, 0);
    Walker w(num_switches);
    Block b;
    for (size_t block; (block = next_block.fetch_add(1)) < blocks;) {
      b.first = starts[block];
      b.size = starts[block + 1] - starts[block];
      LoadBlock(plan, b, tally);
      for (size_t k = 0; k < b.size; ++k) WalkDestination<kTurns>(plan, b, k, w, tally);
    }
  });
  return tallies;
}

}  // namespace

PortSlots MakePortSlots(const Fabric& fabric, std::span<const NodeId> switches) {
  PortSlots slots;
  const uint32_t num_switches = static_cast<uint32_t>(switches.size());
  std::vector<uint32_t> local(fabric.num_nodes(), kNoSwitch);
  slots.base.assign(num_switches + 1, 0);
  for (uint32_t s = 0; s < num_switches; ++s) {
    local[switches[s]] = s;
    slots.base[s + 1] = slots.base[s] + fabric.node(switches[s]).num_ports + 1u;
  }
  slots.next_switch.assign(slots.num_slots(), kNoSwitch);
  slots.peer_port.assign(slots.num_slots(), 0);
  for (uint32_t s = 0; s < num_switches; ++s)
    for (const Adjacency& a : fabric.neighbors(switches[s])) {
      const uint32_t slot = slots.base[s] + fabric.port(a.local).number;
      slots.next_switch[slot] = local[a.peer_node];
      slots.peer_port[slot] = static_cast<uint8_t>(fabric.port(a.peer_port).number);
    }
  return slots;
}

RouteWalkTotals WalkRoutes(const RouteWalkInput& input) {
  Plan plan{.input = input};
  const uint32_t num_switches = input.slots.num_switches();
  for (uint32_t s = 0; s < num_switches; ++s) {
    if (input.sources[s]) plan.source_switches.push_back(s);
    plan.total_sources += input.sources[s];
  }
  RouteWalkTotals totals;
  totals.load.assign(input.slots.num_slots(), 0);
  if (input.destinations.lids.empty()) return totals;
  const std::vector<Tally> tallies = input.turns ? WalkBlocks<true>(plan) : WalkBlocks<false>(plan);
  uint32_t min_hops = kNone;
  for (const Tally& tally : tallies) {
    for (uint32_t s = 0; s < num_switches; ++s)
      for (uint32_t c = input.slots.base[s]; c < input.slots.base[s + 1]; ++c)
        totals.load[c] += tally.passed[c] + uint64_t{tally.own[c]} * input.sources[s];
    totals.unreachable += tally.unreachable;
    totals.pairs += tally.pairs;
    totals.hop_sum += tally.hop_sum;
    min_hops = std::min(min_hops, tally.min_hops);
    totals.max_hops = std::max(totals.max_hops, tally.max_hops);
  }
  totals.min_hops = min_hops == kNone ? 0 : min_hops;
  return totals;
}

}  // namespace fabricctl
