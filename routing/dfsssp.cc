#include "routing/dfsssp.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <numeric>

#include "routing/channel_capacity.h"
#include "routing/dynamic_topological_order.h"

namespace fabricctl {
namespace {

constexpr uint32_t kUnset = kNone;
__extension__ using Uint128 = unsigned __int128;

// The subnet seen by the engine: switches by index, switch-to-switch channels as
// switch index * stride + port.
struct Graph {
  uint32_t num_switches = 0;
  uint32_t stride = 0;
  std::vector<uint32_t> sw_of_node;
  std::vector<uint32_t> head;  // channel -> switch index it enters (kUnset: none / not a switch)
  std::vector<uint32_t> adj_offsets;
  std::vector<std::pair<uint8_t, uint32_t>> adj;  // (port, neighbour switch) per switch
  std::vector<uint32_t> sources;                  // endpoint ports hanging off each switch
  // Per switch: x % its degree as a multiply (Lemire's fastmod, exact for 32-bit x and
  // degree), 0 for a switch without switch neighbours.
  std::vector<uint64_t> degree_magic;
  // Cost of one route per channel (ChannelCapacity::cost); empty when every cable runs at
  // the top rate, where a route costs 1.
  std::vector<uint32_t> chan_cost;
};

Graph BuildGraph(const Fabric& f, const Subnet& sn) {
  Graph g;
  g.num_switches = uint32_t(sn.switches.size());
  unsigned max_port = 0;
  for (NodeId s : sn.switches) max_port = std::max<unsigned>(max_port, f.node(s).num_ports);
  g.stride = max_port + 1;
  g.sw_of_node.assign(f.num_nodes(), kUnset);
  for (uint32_t i = 0; i < g.num_switches; ++i) g.sw_of_node[sn.switches[i]] = i;
  g.head.assign(size_t(g.num_switches) * g.stride, kUnset);
  g.adj_offsets.assign(g.num_switches + 1, 0);
  g.sources.assign(g.num_switches, 0);
  const ChannelCapacity capacity(f, sn);
  if (!capacity.uniform()) g.chan_cost.assign(g.head.size(), ChannelCapacity::kUnitCost);
  for (uint32_t i = 0; i < g.num_switches; ++i) {
    for (const Adjacency& a : f.neighbors(sn.switches[i])) {
      if (f.is_switch(a.peer_node)) {
        uint8_t p = f.port(a.local).number;
        g.head[i * g.stride + p] = g.sw_of_node[a.peer_node];
        g.adj.push_back({p, g.sw_of_node[a.peer_node]});
        if (!g.chan_cost.empty()) g.chan_cost[i * g.stride + p] = capacity.cost(a.local);
      } else {
        ++g.sources[i];
      }
    }
    g.adj_offsets[i + 1] = uint32_t(g.adj.size());
  }
  g.degree_magic.resize(g.num_switches);
  for (uint32_t i = 0; i < g.num_switches; ++i)
    if (const uint32_t degree = g.adj_offsets[i + 1] - g.adj_offsets[i]) g.degree_magic[i] = ~uint64_t{0} / degree + 1;
  return g;
}

// The channel dependency graph of all paths: edges grouped by channel (chan_first is their
// CSR over channels), each with the channel it leads to.
struct Cdg {
  std::vector<uint32_t> target;  // per edge
  const std::vector<uint32_t>* chan_first;
};

// The distinct dependencies (channel * stride + out port) of a set of keys, sorted, with a
// CSR over channels and O(1) lookup of a key's position.
class EdgeIndex {
 public:
  EdgeIndex(size_t num_chan, uint32_t stride, const std::vector<uint64_t>& keys)
      : stride_(stride), words_((stride + 63) / 64), bits_(num_chan * words_, 0), chan_first_(num_chan + 1, 0) {
    for (uint64_t k : keys) {
      const uint32_t q = uint32_t(k % stride);
      bits_[(k / stride) * words_ + q / 64] |= uint64_t{1} << (q % 64);
    }
    for (size_t c = 0; c < num_chan; ++c) {
      uint32_t n = 0;
      for (uint32_t w = 0; w < words_; ++w) n += uint32_t(std::popcount(bits_[c * words_ + w]));
      chan_first_[c + 1] = chan_first_[c] + n;
    }
    keys_.reserve(chan_first_[num_chan]);
    for (size_t c = 0; c < num_chan; ++c)
      for (uint32_t w = 0; w < words_; ++w)
        for (uint64_t b = bits_[c * words_ + w]; b; b &= b - 1)
          keys_.push_back(uint64_t(c) * stride + w * 64 + uint32_t(std::countr_zero(b)));
  }
  const std::vector<uint64_t>& keys() const { return keys_; }
  const std::vector<uint32_t>& chan_first() const { return chan_first_; }
  // Position of a key that was in the input.
  uint32_t Find(uint64_t key) const { return Find(size_t(key / stride_), uint32_t(key % stride_)); }
  // Position of the key of channel c's dependency on out port q.
  uint32_t Find(size_t c, uint32_t q) const {
    const uint64_t* w = &bits_[c * words_];
    uint32_t below = 0;
    for (uint32_t i = 0; i < q / 64; ++i) below += uint32_t(std::popcount(w[i]));
    below += uint32_t(std::popcount(w[q / 64] & ((uint64_t{1} << (q % 64)) - 1)));
    return chan_first_[c] + below;
  }

 private:
  uint32_t stride_, words_;
  std::vector<uint64_t> bits_;
  std::vector<uint32_t> chan_first_;
  std::vector<uint64_t> keys_;
};

struct Layering {
  bool fits = true;
  uint32_t layers = 0;
  uint64_t left_over = 0;      // units still on a cyclic layer when the VLs ran out
  std::vector<uint8_t> layer;  // per unit
};

// Puts every unit (a set of dependencies: a destination tree or one path) in the lowest
// layer it can stay in: all start in layer 0; while a layer's dependency graph has a cycle,
// the units using the cycle's least-used dependency move up one layer.
class Layerer {
 public:
  Layerer(const Cdg& cdg, const std::vector<uint32_t>& unit_offsets, const std::vector<uint32_t>& unit_edges)
      : cdg_(cdg),
        chan_first_(*cdg.chan_first),
        unit_offsets_(unit_offsets),
        unit_edges_(unit_edges),
        units_(uint32_t(unit_offsets.size() - 1)),
        weight_(cdg.target.size()),
        color_(chan_first_.size() - 1) {
    out_.layer.assign(units_, 0);
  }

  Layering Run(unsigned max_layers) {
    for (uint32_t level = 0;; ++level) {
      const uint64_t members = WeighLevel(level);
      if (members == 0) break;
      out_.layers = level + 1;
      if (out_.layers > max_layers || out_.layers > 15) {
        out_.fits = false;
        out_.left_over = members;
        return std::move(out_);
      }
      BreakCycles(level);
    }
    return std::move(out_);
  }

 private:
  struct Frame {
    uint32_t chan;
    uint32_t next;  // next edge to try
  };

  // Per dependency, how many units of `level` use it; returns how many units are there.
  uint64_t WeighLevel(uint32_t level) {
    uint64_t members = 0;
    std::fill(weight_.begin(), weight_.end(), 0);
    for (uint32_t u = 0; u < units_; ++u) {
      if (out_.layer[u] != level) continue;
      ++members;
      for (uint32_t i = unit_offsets_[u]; i < unit_offsets_[u + 1]; ++i) ++weight_[unit_edges_[i]];
    }
    return members;
  }

  // Depth-first search over the level's graph from every channel not yet done, breaking
  // each cycle found.
  void BreakCycles(uint32_t level) {
    std::fill(color_.begin(), color_.end(), 0);
    const uint32_t num_chan = uint32_t(color_.size());
    for (uint32_t root = 0; root < num_chan; ++root)
      if (color_[root] == 0 && chan_first_[root] != chan_first_[root + 1]) SearchFrom(root, level);
  }

  void SearchFrom(uint32_t root, uint32_t level) {
    stack_.assign(1, {root, chan_first_[root]});
    color_[root] = 1;
    while (!stack_.empty()) {
      Frame& fr = stack_.back();
      if (fr.next == chan_first_[fr.chan + 1]) {
        color_[fr.chan] = 2;
        stack_.pop_back();
        continue;
      }
      const uint32_t e = fr.next++;
      if (weight_[e] == 0) continue;
      const uint32_t w = cdg_.target[e];
      if (color_[w] == 2) continue;
      if (color_[w] == 0) {
        color_[w] = 1;
        stack_.push_back({w, chan_first_[w]});
        continue;
      }
      BreakCycle(e, w, level);
    }
  }

  // A cycle: the edges taken from w's frame to the top, plus e. Breaks it at the dependency
  // the fewest units use, whose users move up a level.
  void BreakCycle(uint32_t e, uint32_t w, uint32_t level) {
    uint32_t weakest = e;
    for (size_t i = stack_.size(); i-- > 0;) {
      const uint32_t taken = stack_[i].next - 1;
      if (weight_[taken] < weight_[weakest]) weakest = taken;
      if (stack_[i].chan == w) break;
    }
    MoveUsersUp(weakest, level);
    // Removing edges cannot create cycles, so finished channels stay finished. The DFS
    // path stays valid up to its first edge that lost its last user at this level (the
    // weakest one at the latest); the search resumes there.
    size_t keep = stack_.size();
    for (size_t i = 0; i < stack_.size(); ++i)
      if (weight_[stack_[i].next - 1] == 0) {
        keep = i + 1;
        break;
      }
    for (size_t i = keep; i < stack_.size(); ++i) color_[stack_[i].chan] = 0;
    stack_.resize(keep);
  }

  void MoveUsersUp(uint32_t edge, uint32_t level) {
    if (users_.empty()) BuildUsers();
    for (uint32_t i = user_offsets_[edge]; i < user_offsets_[edge + 1]; ++i) {
      const uint32_t u = users_[i];
      if (out_.layer[u] != level) continue;
      out_.layer[u] = uint8_t(level + 1);
      for (uint32_t j = unit_offsets_[u]; j < unit_offsets_[u + 1]; ++j) --weight_[unit_edges_[j]];
    }
  }

  // Users of every dependency, CSR; built when the first cycle shows up.
  void BuildUsers() {
    user_offsets_.assign(weight_.size() + 1, 0);
    for (uint32_t e : unit_edges_) ++user_offsets_[e + 1];
    std::partial_sum(user_offsets_.begin(), user_offsets_.end(), user_offsets_.begin());
    users_.resize(unit_edges_.size());
    std::vector<uint32_t> fill(user_offsets_.begin(), user_offsets_.end() - 1);
    for (uint32_t u = 0; u < units_; ++u)
      for (uint32_t i = unit_offsets_[u]; i < unit_offsets_[u + 1]; ++i) users_[fill[unit_edges_[i]]++] = u;
  }

  const Cdg& cdg_;
  const std::vector<uint32_t>& chan_first_;
  const std::vector<uint32_t>& unit_offsets_;
  const std::vector<uint32_t>& unit_edges_;
  const uint32_t units_;
  Layering out_;
  std::vector<uint32_t> user_offsets_, users_;
  std::vector<uint32_t> weight_;  // per dependency: units of the current level using it
  std::vector<uint8_t> color_;    // per channel: 0 white, 1 on the DFS path, 2 done (no cycle reachable)
  std::vector<Frame> stack_;
};

Layering Layer(const Cdg& cdg, const std::vector<uint32_t>& unit_offsets, const std::vector<uint32_t>& unit_edges,
               unsigned max_layers) {
  return Layerer(cdg, unit_offsets, unit_edges).Run(max_layers);
}

// Empties a layering's top layer where it can: each unit there moves to the lowest layer
// whose dependency graph stays acyclic with the unit's dependencies added (one dynamic
// topological order per layer checks each new dependency), and while the top layer
// empties, the next one is tried. A top layer that cannot be emptied stays as it was. The
// greedy cycle breaking moves every user of a dependency up at once, though many fit lower
// down on their own (a 70-switch random regular graph: 5 VLs instead of 6, as many as
// OpenSM's dfsssp), and paths left over past the VL budget can still fit.
class LayerCompaction {
 public:
  LayerCompaction(const Cdg& cdg, const std::vector<uint32_t>& unit_offsets, const std::vector<uint32_t>& unit_edges)
      : cdg_(cdg), unit_offsets_(unit_offsets), unit_edges_(unit_edges) {}

  void Run(Layering& out, unsigned max_layers) {
    // The top layer: the last of a layering that fits, else the units left over (the
    // greedy layering stops with them one layer past the budget).
    uint32_t top = out.layers - 1;
    if (top == 0 || cdg_.target.empty() || size_t(top) * cdg_.target.size() > kMaxCounts) return;
    Prepare(out, top);
    while (top > 0 && EmptyTop(out, top)) {
      out.layers = top;
      out.fits = out.layers <= max_layers;
      out.left_over = 0;
      --top;
    }
  }

 private:
  // users_[k][e]: the units of layer k using dependency e; past this many counts in all the
  // compaction is skipped (it would take more memory than the layering).
  static constexpr size_t kMaxCounts = size_t{1} << 24;
  // A dependency whose check would reorder more channels than this counts as a cycle.
  static constexpr size_t kSearchBudget = 4096;

  // Per layer below `top`: its dependency counts and a topological order of its graph.
  void Prepare(const Layering& out, uint32_t top) {
    const auto& chan_first = *cdg_.chan_first;
    const uint32_t num_chan = uint32_t(chan_first.size() - 1), num_edges = uint32_t(cdg_.target.size());
    source_.resize(num_edges);
    for (uint32_t c = 0; c < num_chan; ++c)
      std::fill(source_.begin() + chan_first[c], source_.begin() + chan_first[c + 1], c);
    in_first_.assign(num_chan + 1, 0);
    for (uint32_t t : cdg_.target) ++in_first_[t + 1];
    std::partial_sum(in_first_.begin(), in_first_.end(), in_first_.begin());
    in_edges_.resize(num_edges);
    std::vector<uint32_t> fill(in_first_.begin(), in_first_.end() - 1);
    for (uint32_t e = 0; e < num_edges; ++e) in_edges_[fill[cdg_.target[e]]++] = e;
    users_.assign(top, std::vector<uint32_t>(num_edges, 0));
    for (uint32_t u = 0; u + 1 < unit_offsets_.size(); ++u)
      if (out.layer[u] < top)
        for (uint32_t i = unit_offsets_[u]; i < unit_offsets_[u + 1]; ++i) ++users_[out.layer[u]][unit_edges_[i]];
    orders_.clear();
    for (uint32_t k = 0; k < top; ++k)
      orders_.emplace_back(TopologicalRanks(users_[k]), DynamicTopologicalOrder::Journal::kOn);
  }

  // Ranks of the channels in which every dependency with users goes to a higher rank
  // (reverse post-order of a depth-first search).
  std::vector<uint32_t> TopologicalRanks(const std::vector<uint32_t>& users) const {
    const auto& chan_first = *cdg_.chan_first;
    const uint32_t num_chan = uint32_t(chan_first.size() - 1);
    std::vector<uint32_t> rank(num_chan), next(chan_first.begin(), chan_first.end() - 1);
    std::vector<uint8_t> seen(num_chan, 0);
    std::vector<uint32_t> stack;
    uint32_t finished = 0;
    for (uint32_t root = 0; root < num_chan; ++root) {
      if (seen[root]) continue;
      seen[root] = 1;
      stack.assign(1, root);
      while (!stack.empty()) {
        const uint32_t c = stack.back();
        if (next[c] == chan_first[c + 1]) {
          rank[c] = num_chan - 1 - finished++;
          stack.pop_back();
          continue;
        }
        const uint32_t e = next[c]++;
        if (users[e] == 0 || seen[cdg_.target[e]]) continue;
        seen[cdg_.target[e]] = 1;
        stack.push_back(cdg_.target[e]);
      }
    }
    return rank;
  }

  // Moves every unit of layer `top` lower down, or none (false). Units with the most
  // dependencies go first: where one does not fit, that shows before the others are tried.
  bool EmptyTop(Layering& out, uint32_t top) {
    std::vector<uint32_t> units;
    for (uint32_t u = 0; u + 1 < unit_offsets_.size(); ++u)
      if (out.layer[u] == top) units.push_back(u);
    auto size = [&](uint32_t u) { return unit_offsets_[u + 1] - unit_offsets_[u]; };
    std::stable_sort(units.begin(), units.end(), [&](uint32_t a, uint32_t b) { return size(a) > size(b); });
    std::vector<std::pair<uint32_t, uint32_t>> moved;  // unit, layer it went to
    for (uint32_t u : units) {
      uint32_t k = 0;
      while (k < top && !Place(u, k)) ++k;
      if (k == top) {
        for (auto [unit, layer] : moved) Take(unit, layer);
        return false;
      }
      moved.push_back({u, k});
    }
    for (auto [unit, layer] : moved) out.layer[unit] = uint8_t(layer);
    return true;
  }

  // Adds unit u's dependencies to layer k when its graph stays acyclic.
  bool Place(uint32_t u, uint32_t k) {
    std::vector<uint32_t>& users = users_[k];
    DynamicTopologicalOrder& order = orders_[k];
    auto successors = [&](uint32_t c, const auto& visit) {
      for (uint32_t e = (*cdg_.chan_first)[c]; e < (*cdg_.chan_first)[c + 1]; ++e)
        if (users[e]) visit(cdg_.target[e]);
    };
    auto predecessors = [&](uint32_t c, const auto& visit) {
      for (uint32_t i = in_first_[c]; i < in_first_[c + 1]; ++i)
        if (users[in_edges_[i]]) visit(source_[in_edges_[i]]);
    };
    order.Checkpoint();
    for (uint32_t i = unit_offsets_[u]; i < unit_offsets_[u + 1]; ++i) {
      const uint32_t e = unit_edges_[i];
      if (users[e] == 0 && !order.MakeRoom(source_[e], cdg_.target[e], successors, predecessors, kSearchBudget)) {
        for (uint32_t j = unit_offsets_[u]; j < i; ++j) --users[unit_edges_[j]];
        order.RollBack();
        return false;
      }
      ++users[e];
    }
    return true;
  }

  // Takes unit u's dependencies out of layer k again (the ranks may stay: fewer
  // dependencies keep an order topological).
  void Take(uint32_t u, uint32_t k) {
    for (uint32_t i = unit_offsets_[u]; i < unit_offsets_[u + 1]; ++i) --users_[k][unit_edges_[i]];
  }

  const Cdg& cdg_;
  const std::vector<uint32_t>& unit_offsets_;
  const std::vector<uint32_t>& unit_edges_;
  std::vector<uint32_t> source_, in_first_, in_edges_;  // per dependency its channel; CSR by target
  std::vector<std::vector<uint32_t>> users_;
  std::vector<DynamicTopologicalOrder> orders_;
};

// The adjacency index of u's next hop towards a destination `dist` hops away: among the
// shortest next hops, the one whose path costs least (its channel's load plus the cost of
// the neighbour's path, `cost`); equal costs rotate by LID so destinations spread.
// kLowestPort takes the first shortest next hop instead.
// How equal-length next hops are chosen: by load (balanced), or always the lowest port,
// which on dimension-ordered cabling (tori, meshes) gives dimension-order-like paths with far
// fewer dependency cycles.
enum class Tie { kBalanced, kLowestPort };

// The shortest next hops of every switch towards one destination switch, as adjacency
// indexes in adjacency order: a CSR over switches.
struct NextHops {
  std::vector<uint32_t> first;  // num_switches + 1
  std::vector<uint32_t> adj;
};

// NextHops where they are stored: u's are adj[first[u]] to adj[first[u + 1]].
struct NextHopsView {
  const uint32_t* first;
  const uint32_t* adj;
};

uint32_t NextHop(const Graph& g, const NextHopsView& hops, const std::vector<uint64_t>& cost,
                 const std::vector<uint64_t>& load, uint32_t u, Lid lid, Tie tie) {
  const uint32_t first = hops.first[u], end = hops.first[u + 1];
  if (first == end) return kUnset;
  if (tie == Tie::kLowestPort) return hops.adj[first];
  // The scan over all of u's adjacency from lid % degree, round, keeping the first of the
  // least cost: over the shortest next hops, from the first at or after that place.
  const uint32_t degree = g.adj_offsets[u + 1] - g.adj_offsets[u];
  const uint64_t lowbits = g.degree_magic[u] * lid;
  const uint32_t start_adj = g.adj_offsets[u] + uint32_t((static_cast<Uint128>(lowbits) * degree) >> 64);
  uint32_t start = first;
  while (start < end && hops.adj[start] < start_adj) ++start;
  if (start == end) start = first;
  // The first of the least cost, by conditional moves (no cost reaches ~0).
  uint32_t best = kUnset;
  uint64_t best_cost = ~uint64_t{0};
  for (uint32_t j = 0, i = start; j < end - first; ++j, i = i + 1 == end ? first : i + 1) {
    const uint32_t k = hops.adj[i];
    const uint64_t c = cost[g.adj[k].second] + load[u * g.stride + g.adj[k].first];
    const bool better = c < best_cost;
    best = better ? k : best;
    best_cost = better ? c : best_cost;
  }
  return best;
}

struct Dest {
  Lid lid;
  uint32_t sw;
  uint8_t last_port;  // port of `sw` towards the destination; 0 for the switch itself
  uint32_t endpoint;  // index in Subnet::endpoint_ports, kUnset for a switch
};

// The multi-VL part of a layered routing: every (endpoint, destination) pair gets the SL of
// its layer, sl_of(destination tree, index of the source's switch among src_switches), and
// every port maps SL n to VL n.
template <typename SlOf>
void WriteLayers(const Fabric& f, const Subnet& sn, const Graph& g, const std::vector<Dest>& dests,
                 const std::vector<uint32_t>& endpoint_dests, const std::vector<uint32_t>& src_index, const SlOf& sl_of,
                 SubnetRoutes& out) {
  const size_t num_lids = out.num_lids();
  out.pair_sl.assign(sn.endpoint_ports.size() * num_lids, 0);
  for (size_t e = 0; e < sn.endpoint_ports.size(); ++e) {
    PortId peer = f.port(sn.endpoint_ports[e]).peer;
    if (peer == kNone || !f.is_switch(f.port(peer).node)) continue;
    const uint32_t k = src_index[g.sw_of_node[f.port(peer).node]];
    for (uint32_t t = 0; t < endpoint_dests.size(); ++t)
      out.pair_sl[e * num_lids + dests[endpoint_dests[t]].lid] = uint8_t(sl_of(t, k));
  }
  for (uint8_t s = 0; s < 16; ++s) out.endpoint_sl2vl[s] = s < out.num_vls ? s : 0;
  out.sl2vl_stride = g.stride;
  out.sl2vl.assign(size_t(g.num_switches) * g.stride * g.stride * 16, 0);
  for (size_t i = 0; i < out.sl2vl.size(); i += 16)
    for (uint8_t s = 0; s < out.num_vls; ++s) out.sl2vl[i + s] = s;
}

// Up*/Down* next hops towards switch `to` over the BFS order of the escape tree (`pos`:
// place in `order`, earlier is up): down[u], the hops from u to `to` going only down (kUnset
// when it cannot), any[u], the fewest legal hops (up, then down), and in `hops` every
// switch's legal next hops: down where it can go only down, else up.
void UpDownNextHops(const Graph& g, const std::vector<uint32_t>& order, const std::vector<uint32_t>& pos, uint32_t to,
                    std::vector<uint32_t>& down, std::vector<uint32_t>& any, std::vector<uint32_t>& queue,
                    NextHops& hops) {
  std::fill(down.begin(), down.end(), kUnset);
  down[to] = 0;
  queue.assign(1, to);
  for (size_t qi = 0; qi < queue.size(); ++qi) {  // who reaches `to` going only down
    uint32_t v = queue[qi];
    for (uint32_t k = g.adj_offsets[v]; k < g.adj_offsets[v + 1]; ++k) {
      uint32_t u = g.adj[k].second;
      if (pos[u] < pos[v] && down[u] == kUnset) {
        down[u] = down[v] + 1;
        queue.push_back(u);
      }
    }
  }
  for (uint32_t u : order) {
    any[u] = down[u];
    if (any[u] != kUnset) continue;
    for (uint32_t k = g.adj_offsets[u]; k < g.adj_offsets[u + 1]; ++k) {
      uint32_t w = g.adj[k].second;
      if (pos[w] < pos[u] && any[w] != kUnset) any[u] = std::min(any[u], any[w] + 1);
    }
  }
  hops.first.assign(g.num_switches + 1, 0);
  hops.adj.clear();
  for (uint32_t u = 0; u < g.num_switches; ++u) {
    for (uint32_t k = g.adj_offsets[u]; k < g.adj_offsets[u + 1]; ++k) {
      const uint32_t w = g.adj[k].second;
      if (down[u] != kUnset ? (pos[w] > pos[u] && down[w] + 1 == down[u])
                            : (pos[w] < pos[u] && any[w] != kUnset && any[w] + 1 == any[u]))
        hops.adj.push_back(k);
    }
    hops.first[u + 1] = uint32_t(hops.adj.size());
  }
}

// The escape layer: every destination with a path that did not fit in the `cap` shortest-path
// layers gets an Up*/Down* tree (BFS levels from the best-connected switch; a switch that can
// still reach the destination going only down does so, so no path turns down-then-up) and
// all its pairs ride the last VL. Layers below keep only other destinations, whose tables
// are unchanged, so they stay acyclic; Up*/Down* trees together are acyclic.
Outcome Escape(const Fabric& f, const Subnet& sn, const Graph& g, SubnetRoutes& out, const std::vector<Dest>& dests,
               const std::vector<uint32_t>& endpoint_dests, const std::vector<uint32_t>& src_switches,
               const std::vector<uint32_t>& src_index, const Layering& by_path, const Layering& by_tree, unsigned cap,
               std::vector<uint64_t>& load, uint32_t& escaped_count) {
  const size_t num_lids = out.num_lids();
  const uint32_t num_source_switches = uint32_t(src_switches.size());
  const uint32_t trees = uint32_t(endpoint_dests.size());
  uint32_t root = 0;
  for (uint32_t u = 0; u < g.num_switches; ++u)
    if (g.adj_offsets[u + 1] - g.adj_offsets[u] > g.adj_offsets[root + 1] - g.adj_offsets[root]) root = u;
  std::vector<uint32_t> level(g.num_switches, kUnset), order{root};
  level[root] = 0;
  for (size_t qi = 0; qi < order.size(); ++qi)
    for (uint32_t k = g.adj_offsets[order[qi]]; k < g.adj_offsets[order[qi] + 1]; ++k)
      if (const uint32_t next = g.adj[k].second; level[next] == kUnset) {
        level[next] = level[order[qi]] + 1;
        order.push_back(next);
      }
  // BFS order is increasing (level, discovery): "up" means towards an earlier position.
  std::vector<uint32_t> pos(g.num_switches);
  for (uint32_t i = 0; i < order.size(); ++i) pos[order[i]] = i;
  std::vector<uint32_t> down(g.num_switches), any(g.num_switches), queue;
  uint32_t top = 0;
  // A destination escapes when any of its paths (path layering) or its tree (tree layering)
  // did not fit; whichever layering leaves more destinations on shortest paths is used.
  std::vector<uint8_t> escaped(trees, 0), escaped_tree(trees, 0);
  for (uint32_t t = 0; t < trees; ++t) {
    for (uint32_t k = 0; k < num_source_switches && !escaped[t]; ++k)
      escaped[t] = by_path.layer[size_t(t) * num_source_switches + k] >= cap;
    escaped_tree[t] = by_tree.layer[t] >= cap;
  }
  const bool use_tree =
      std::count(escaped_tree.begin(), escaped_tree.end(), 1) < std::count(escaped.begin(), escaped.end(), 1);
  if (use_tree) escaped = escaped_tree;
  auto layer_of = [&](uint32_t t, uint32_t k) -> uint32_t {
    return use_tree ? by_tree.layer[t] : by_path.layer[size_t(t) * num_source_switches + k];
  };
  for (uint32_t t = 0; t < trees; ++t)
    if (!escaped[t])
      for (uint32_t k = 0; k < num_source_switches; ++k) top = std::max<uint32_t>(top, layer_of(t, k) + 1u);
  escaped_count = uint32_t(std::count(escaped.begin(), escaped.end(), 1));
  uint32_t levels_of = kUnset;  // the switch `down`, `any` and `hops` are for
  NextHops hops;
  for (uint32_t t = 0; t < trees; ++t) {
    if (!escaped[t]) continue;
    const Dest& d = dests[endpoint_dests[t]];
    // Destinations come grouped by switch, and the levels depend on the switch only.
    if (d.sw != levels_of) {
      levels_of = d.sw;
      UpDownNextHops(g, order, pos, d.sw, down, any, queue, hops);
    }
    for (uint32_t u = 0; u < g.num_switches; ++u) {
      uint8_t port = d.last_port;
      if (u != d.sw) {
        uint32_t best = kUnset;
        for (uint32_t i = hops.first[u]; i < hops.first[u + 1]; ++i) {
          const uint32_t k = hops.adj[i];
          if (best == kUnset || load[u * g.stride + g.adj[k].first] < load[u * g.stride + g.adj[best].first]) best = k;
        }
        if (best == kUnset) return Outcome::Failed("the escape layer found no Up*/Down* path (disconnected subnet?)");
        port = g.adj[best].first;
        ++load[u * g.stride + port];
      }
      out.lft[size_t(u) * num_lids + d.lid] = port;
    }
  }
  out.num_vls = uint8_t(top + 1);
  out.reason = fmt::format("{} of {} destinations on the Up*/Down* escape VL {}",
                           std::count(escaped.begin(), escaped.end(), 1), trees, top);
  if (out.num_vls == 1) return Outcome::Ok();
  WriteLayers(
      f, sn, g, dests, endpoint_dests, src_index,
      [&](uint32_t t, uint32_t k) { return escaped[t] ? top : layer_of(t, k); }, out);
  return Outcome::Ok();
}

struct Prepared;

class Dfsssp final : public RoutingEngine {
 public:
  // kStrict fails past --vls; kEscape keeps the last VL for Up*/Down* routes of whatever
  // does not fit, so it never needs more VLs than it is given (the promise of Nue).
  enum class Mode { kStrict, kEscape };
  explicit Dfsssp(Mode mode) : mode_(mode) {}
  std::string_view name() const override { return mode_ == Mode::kStrict ? "dfsssp" : "escape"; }
  Outcome Route(const RouteRequest& req, SubnetRoutes& out) const override;

 private:
  // `escaped`: destinations the escape mode put on Up*/Down* (0 when none or strict).
  Outcome RouteWith(const RouteRequest& req, Prepared& p, SubnetRoutes& out, Tie tie, uint32_t& escaped) const;
  Mode mode_;
};

// Destinations grouped by the switch they hang off (a switch's own LID: the switch).
std::vector<Dest> Destinations(const Fabric& f, const Subnet& sn, const Graph& g, const SubnetRoutes& out) {
  std::vector<uint32_t> ep_of_port(f.num_port_slots(), kUnset);
  for (uint32_t e = 0; e < sn.endpoint_ports.size(); ++e) ep_of_port[sn.endpoint_ports[e]] = e;
  std::vector<Dest> dests;
  for (Lid lid = 1; lid < out.num_lids(); ++lid) {
    PortId owner = out.lid_owner[lid];
    if (owner == kNone) continue;
    const Port& p = f.port(owner);
    if (f.is_switch(p.node)) {
      dests.push_back({lid, g.sw_of_node[p.node], 0, kUnset});
    } else if (p.peer != kNone && f.is_switch(f.port(p.peer).node)) {
      dests.push_back({lid, g.sw_of_node[f.port(p.peer).node], f.port(p.peer).number, ep_of_port[owner]});
    }
  }
  std::stable_sort(dests.begin(), dests.end(), [](const Dest& a, const Dest& b) { return a.sw < b.sw; });
  return dests;
}

// Every switch's shortest next hops towards one destination switch (the root), and the
// switches nearest the root first. Every pass and tie-break asks for the same roots, so
// where they fit (kCachedEntries) they are kept per root.
class ShortestHops {
 public:
  static constexpr size_t kCachedEntries = size_t{8} << 20;  // 32 MB of per-root paths at most

  ShortestHops(const Fabric& f, const Subnet& sn, const Graph& g) : f_(f), sn_(sn), g_(g), dist_(g.num_switches) {
    const size_t n = g.num_switches;
    if (n * (2 * n + 1 + g.adj.size()) <= kCachedEntries) {
      kept_.assign(n, 0);
      kept_queue_.resize(n * n);
      kept_first_.resize(n * (n + 1));
    }
  }

  // Makes `root` the switch queue() and hops() are for; fails when a switch cannot reach it.
  Outcome To(uint32_t root) {
    if (root == root_) return Outcome::Ok();
    root_ = root;
    const uint32_t n = g_.num_switches;
    if (!kept_.empty() && kept_[root]) {
      queue_ = &kept_queue_[size_t{root} * n];
      hops_ = {&kept_first_[size_t{root} * (n + 1)], kept_adj_.data()};
      return Outcome::Ok();
    }
    std::fill(dist_.begin(), dist_.end(), kUnset);
    dist_[root] = 0;
    search_.assign(1, root);
    for (size_t head = 0; head < search_.size(); ++head) {
      const uint32_t u = search_[head];
      for (uint32_t k = g_.adj_offsets[u]; k < g_.adj_offsets[u + 1]; ++k) {
        const uint32_t w = g_.adj[k].second;
        if (dist_[w] != kUnset) continue;
        dist_[w] = dist_[u] + 1;
        search_.push_back(w);
      }
    }
    if (search_.size() != n) {
      root_ = kUnset;
      uint32_t lost = 0;
      while (dist_[lost] != kUnset) ++lost;
      return Outcome::Failed(fmt::format("switch {} cannot reach switch {}", f_.description(sn_.switches[lost]),
                                         f_.description(sn_.switches[root])));
    }
    // Every destination of this switch picks among the same shortest next hops.
    next_hops_.first.assign(n + 1, 0);
    next_hops_.adj.clear();
    for (uint32_t u = 0; u < n; ++u) {
      for (uint32_t k = g_.adj_offsets[u]; k < g_.adj_offsets[u + 1]; ++k)
        if (dist_[g_.adj[k].second] + 1 == dist_[u]) next_hops_.adj.push_back(k);
      next_hops_.first[u + 1] = uint32_t(next_hops_.adj.size());
    }
    queue_ = search_.data();
    hops_ = {next_hops_.first.data(), next_hops_.adj.data()};
    if (!kept_.empty()) Keep(root);
    return Outcome::Ok();
  }

  const uint32_t* queue() const { return queue_; }  // nearest the root first
  NextHopsView hops() const { return hops_; }

 private:
  void Keep(uint32_t root) {
    const uint32_t n = g_.num_switches;
    const uint32_t base = uint32_t(kept_adj_.size());
    kept_[root] = 1;
    std::copy(search_.begin(), search_.end(), kept_queue_.begin() + size_t{root} * n);
    for (uint32_t u = 0; u <= n; ++u) kept_first_[size_t{root} * (n + 1) + u] = base + next_hops_.first[u];
    kept_adj_.insert(kept_adj_.end(), next_hops_.adj.begin(), next_hops_.adj.end());
    queue_ = &kept_queue_[size_t{root} * n];
    hops_ = {&kept_first_[size_t{root} * (n + 1)], kept_adj_.data()};
  }

  const Fabric& f_;
  const Subnet& sn_;
  const Graph& g_;
  std::vector<uint32_t> dist_, search_;
  const uint32_t* queue_ = nullptr;
  NextHops next_hops_;
  NextHopsView hops_{};
  // Per root, when num_switches * (2 * num_switches + adjacency) fits in kCachedEntries:
  // whether kept, its queue (num_switches each), its next-hop CSR (num_switches + 1 each,
  // into kept_adj_).
  std::vector<uint8_t> kept_;
  std::vector<uint32_t> kept_queue_, kept_first_, kept_adj_;
  uint32_t root_ = kUnset;
};

// Balanced shortest paths for every destination: each switch takes the shortest next hop
// whose whole path is least loaded so far, in two passes (the second re-routes every
// destination knowing all the others' routes). `load` ends as the channels' loads.
class Balancer {
 public:
  // track_loads: false when nothing will ask for the loads (load() stays zero).
  Balancer(const Graph& g, ShortestHops& shortest, Tie tie, bool track_loads, SubnetRoutes& out)
      : g_(g),
        shortest_(shortest),
        tie_(tie),
        track_loads_(track_loads),
        out_(out),
        lids_(out.num_lids()),
        load_(size_t(g.num_switches) * g.stride, 0),
        flow_(g.num_switches),
        cost_(g.num_switches),
        next_(g.num_switches) {}

  // Lowest-port choices ignore the loads: a second pass would choose and load the same.
  unsigned passes() const { return tie_ == Tie::kLowestPort ? 1 : 2; }

  // One pass over the destinations `which` admits; a destination already routed (`again`)
  // first leaves the loads.
  template <class Which>
  Outcome Pass(const std::vector<Dest>& dests, bool again, Which which) {
    for (const Dest& d : dests) {
      if (!which(d)) continue;
      if (Outcome reached = shortest_.To(d.sw); reached.status != EngineStatus::kOk) return reached;
      if (again && d.endpoint != kUnset) RipUp(d);
      ChooseHops(d);
      // A switch's own LID carries no endpoint pairs: its tree does not count in the loads.
      if (d.endpoint != kUnset && track_loads_) AddLoads(d);
    }
    return Outcome::Ok();
  }
  std::vector<uint64_t>& load() { return load_; }

 private:
  // Adds (sign +1) or removes (-1) destination d's routes along `hop(u)` to the loads:
  // farthest first, every switch's sources plus all routes that pass through it load its
  // channel (a slow cable's channel by its capacity cost).
  template <class Hop>
  void Carry(const Dest& d, Hop hop, bool remove) {
    const uint32_t n = g_.num_switches;
    const uint32_t* queue = shortest_.queue();
    for (uint32_t i = 0; i < n; ++i) flow_[queue[i]] = g_.sources[queue[i]] - (queue[i] == d.sw ? 1 : 0);
    for (uint32_t i = n; i-- > 0;) {  // farthest first
      const uint32_t u = queue[i];
      if (u == d.sw || flow_[u] == 0) continue;
      const uint32_t chan = u * g_.stride + hop(u);
      const uint64_t added = g_.chan_cost.empty() ? flow_[u] : flow_[u] * g_.chan_cost[chan];
      if (remove)
        load_[chan] -= added;
      else
        load_[chan] += added;
      flow_[g_.head[chan]] += flow_[u];
    }
  }

  // Rip up: the destination's routes leave the loads before it is routed again.
  void RipUp(const Dest& d) {
    Carry(
        d, [&](uint32_t u) { return out_.lft[size_t(u) * lids_ + d.lid]; }, true);
  }

  // Nearest first: every switch takes the shortest next hop whose whole path to the
  // destination is the least loaded so far (sum of channel loads), so a route avoids a
  // busy channel anywhere on its way, not just the one leaving the switch.
  void ChooseHops(const Dest& d) {
    const uint32_t* queue = shortest_.queue();
    const NextHopsView hops = shortest_.hops();
    cost_[d.sw] = 0;
    for (uint32_t i = 0; i < g_.num_switches; ++i) {
      const uint32_t u = queue[i];
      if (u == d.sw) {
        out_.lft[size_t(u) * lids_ + d.lid] = d.last_port;
        continue;
      }
      const uint32_t k = NextHop(g_, hops, cost_, load_, u, d.lid, tie_);
      next_[u] = k;
      cost_[u] = cost_[g_.adj[k].second] + load_[u * g_.stride + g_.adj[k].first];
      out_.lft[size_t(u) * lids_ + d.lid] = g_.adj[k].first;
    }
  }

  void AddLoads(const Dest& d) {
    Carry(
        d, [&](uint32_t u) { return g_.adj[next_[u]].first; }, false);
  }

  const Graph& g_;
  ShortestHops& shortest_;
  const Tie tie_;
  const bool track_loads_;
  SubnetRoutes& out_;
  const size_t lids_;
  std::vector<uint64_t> load_;
  std::vector<uint64_t> flow_, cost_;
  std::vector<uint32_t> next_;
};

// Calls visit(key) for every channel dependency (key: in channel * stride + out port, over
// switch-to-switch channels) of every endpoint destination's tree, counting only switches
// that carry traffic, and tree_done() after each tree.
template <class Visit, class TreeDone>
void ForEachTreeDependency(const Graph& g, const std::vector<Dest>& dests, const SubnetRoutes& out, Visit visit,
                           TreeDone tree_done) {
  const size_t lids = out.num_lids();
  std::vector<uint32_t> used(g.num_switches, kUnset);
  for (uint32_t di = 0; di < dests.size(); ++di) {
    const Dest& d = dests[di];
    if (d.endpoint == kUnset) continue;
    for (uint32_t s = 0; s < g.num_switches; ++s) {
      if (g.sources[s] == 0 || (s == d.sw && g.sources[s] == 1)) continue;
      for (uint32_t u = s; used[u] != di;) {
        used[u] = di;
        const uint32_t chan = u * g.stride + out.lft[size_t(u) * lids + d.lid];
        const uint32_t next = g.head[chan];
        if (next == kUnset) break;
        const uint8_t q = out.lft[size_t(next) * lids + d.lid];
        if (g.head[next * g.stride + q] != kUnset) visit(uint64_t(chan) * g.stride + q);
        u = next;
      }
    }
    tree_done();
  }
}

// The channel dependencies of every endpoint destination's tree, one list per tree.
struct TreeDependencies {
  std::vector<uint64_t> keys;
  std::vector<uint32_t> offsets{0};  // per tree, into keys
};

TreeDependencies DependenciesOfTrees(const Graph& g, const std::vector<Dest>& dests, const SubnetRoutes& out) {
  TreeDependencies t;
  ForEachTreeDependency(
      g, dests, out, [&](uint64_t key) { t.keys.push_back(key); },
      [&] { t.offsets.push_back(uint32_t(t.keys.size())); });
  return t;
}

// Whether the dependencies of every endpoint destination's tree together are acyclic (the
// question of one VL), by a depth-first search over a bitmap of out ports per channel.
bool TreesAcyclic(const Graph& g, const std::vector<Dest>& dests, const SubnetRoutes& out) {
  const size_t num_chan = size_t(g.num_switches) * g.stride;
  const uint32_t words = (g.stride + 63) / 64;
  std::vector<uint64_t> bits(num_chan * words, 0);
  ForEachTreeDependency(
      g, dests, out,
      [&](uint64_t key) {
        const uint32_t q = uint32_t(key % g.stride);
        bits[(key / g.stride) * words + q / 64] |= uint64_t{1} << (q % 64);
      },
      [] {});
  std::vector<uint8_t> color(num_chan, 0);  // 0 white, 1 on the search path, 2 done
  struct Frame {
    uint32_t chan, word;
    uint64_t left;  // out ports of `word` still to follow
  };
  std::vector<Frame> stack;
  for (uint32_t root = 0; root < num_chan; ++root) {
    if (color[root] != 0) continue;
    color[root] = 1;
    stack.assign(1, {root, 0, bits[size_t(root) * words]});
    while (!stack.empty()) {
      Frame& top = stack.back();
      if (top.left == 0) {
        if (++top.word < words) {
          top.left = bits[size_t(top.chan) * words + top.word];
        } else {
          color[top.chan] = 2;
          stack.pop_back();
        }
        continue;
      }
      const uint32_t q = top.word * 64 + uint32_t(std::countr_zero(top.left));
      top.left &= top.left - 1;
      const uint32_t next = g.head[top.chan] * g.stride + q;
      if (color[next] == 1) return false;
      if (color[next] == 0) {
        color[next] = 1;
        stack.push_back({next, 0, bits[size_t(next) * words]});
      }
    }
  }
  return true;
}

// The indexes of the endpoint destinations in dests, one per tree.
std::vector<uint32_t> EndpointDests(const std::vector<Dest>& dests) {
  std::vector<uint32_t> out;
  for (uint32_t di = 0; di < dests.size(); ++di)
    if (dests[di].endpoint != kUnset) out.push_back(di);
  return out;
}

// The dependencies of every (source switch, destination tree) path, as DFSSSP layers them;
// false when there are too many to index.
bool DependenciesOfPaths(const Graph& g, const std::vector<Dest>& dests, const std::vector<uint32_t>& endpoint_dests,
                         const std::vector<uint32_t>& src_switches, const EdgeIndex& index, const SubnetRoutes& out,
                         std::vector<uint32_t>& offsets, std::vector<uint32_t>& edges) {
  const size_t lids = out.num_lids();
  offsets.assign(1, 0);
  edges.clear();
  for (uint32_t di : endpoint_dests) {
    const Dest& d = dests[di];
    for (uint32_t s : src_switches) {
      for (uint32_t u = s;;) {
        const uint32_t chan = u * g.stride + out.lft[size_t(u) * lids + d.lid];
        const uint32_t v = g.head[chan];
        if (v == kUnset) break;
        const uint8_t q = out.lft[size_t(v) * lids + d.lid];
        if (g.head[v * g.stride + q] != kUnset) edges.push_back(index.Find(chan, q));
        u = v;
      }
      if (edges.size() > (uint64_t{1} << 31)) return false;
      offsets.push_back(uint32_t(edges.size()));
    }
  }
  return true;
}

// Every endpoint destination's tree (in the order of EndpointDests) as dependencies indexed
// in `index`.
struct Trees {
  EdgeIndex index;
  std::vector<uint32_t> offsets, edges;  // per tree, positions in index
};

Trees TreesOf(const Graph& g, const std::vector<Dest>& dests, const SubnetRoutes& out) {
  TreeDependencies deps = DependenciesOfTrees(g, dests, out);
  // The distinct dependencies, sorted (so grouped by channel), from a bitmap of out ports
  // per channel: no sort, and a dependency's index is its channel's first index plus the
  // set bits below its port.
  EdgeIndex index(size_t(g.num_switches) * g.stride, g.stride, deps.keys);
  std::vector<uint32_t> edges(deps.keys.size());
  for (size_t i = 0; i < deps.keys.size(); ++i) edges[i] = index.Find(deps.keys[i]);
  return {std::move(index), std::move(deps.offsets), std::move(edges)};
}

// The layering walks each edge many times: its target is looked up, not divided out of its
// key each time.
Cdg CdgOf(const Graph& g, const EdgeIndex& index) {
  Cdg cdg{.target = std::vector<uint32_t>(index.keys().size()), .chan_first = &index.chan_first()};
  for (size_t e = 0; e < cdg.target.size(); ++e) {
    const uint64_t key = index.keys()[e];
    cdg.target[e] = g.head[key / g.stride] * g.stride + uint32_t(key % g.stride);
  }
  return cdg;
}

// The switches with endpoints, and each switch's place among them (kUnset: none).
struct SourceSwitches {
  std::vector<uint32_t> list, index;
};

SourceSwitches SourcesOf(const Graph& g) {
  SourceSwitches s{.list = {}, .index = std::vector<uint32_t>(g.num_switches, kUnset)};
  for (uint32_t u = 0; u < g.num_switches; ++u)
    if (g.sources[u]) {
      s.index[u] = uint32_t(s.list.size());
      s.list.push_back(u);
    }
  return s;
}

// The subnet as the engine sees it, shared by its attempts (balanced, lowest-port).
struct Prepared {
  Prepared(const Fabric& f, const Subnet& sn, const SubnetRoutes& out)
      : g(BuildGraph(f, sn)),
        dests(Destinations(f, sn, g, out)),
        endpoint_dests(EndpointDests(dests)),
        sources(SourcesOf(g)),
        shortest(f, sn, g) {}
  const Graph g;
  const std::vector<Dest> dests;
  const std::vector<uint32_t> endpoint_dests;  // indexes into dests, one per tree
  const SourceSwitches sources;
  ShortestHops shortest;
};

// One VL, no layer for shortest paths: every endpoint destination rides the escape trees,
// which replace every balanced route, so they balance on their own loads alone.
Outcome EscapeAll(const Fabric& f, const Subnet& sn, const Prepared& p, SubnetRoutes& out, std::vector<uint64_t>& load,
                  uint32_t& escaped) {
  Layering none{.fits = false, .layers = 1};
  none.layer.assign(p.endpoint_dests.size() * p.sources.list.size(), 0);
  Layering by_tree{.fits = false, .layers = 2};
  by_tree.layer.assign(p.endpoint_dests.size(), 0);
  std::fill(load.begin(), load.end(), 0);
  return Escape(f, sn, p.g, out, p.dests, p.endpoint_dests, p.sources.list, p.sources.index, none, by_tree, 0, load,
                escaped);
}

Outcome Dfsssp::RouteWith(const RouteRequest& req, Prepared& p, SubnetRoutes& out, Tie tie, uint32_t& escaped) const {
  escaped = 0;
  out.reason.clear();
  const Fabric& f = req.fabric;
  const Subnet& sn = req.subnet;
  const Graph& g = p.g;
  const std::vector<Dest>& dests = p.dests;
  const SourceSwitches& sources = p.sources;
  const bool escape = mode_ == Mode::kEscape;
  // Shortest paths may take every VL; escape keeps the last one for Up*/Down* routes only
  // when they do not fit in all of them.
  const unsigned vls = req.options.max_vls;
  // One VL: whatever is not acyclic as a whole rides the escape trees (EscapeAll).
  // Lowest-port trees are only worth it when they fit as they are, so their loads never count.
  const bool one_vl_escape = escape && vls == 1;
  Balancer balancer(g, p.shortest, tie, !(one_vl_escape && tie == Tie::kLowestPort), out);
  std::vector<uint64_t>& load = balancer.load();
  // A switch's own LID leaves the loads alone, so only the last pass routes it.
  const bool two_passes = balancer.passes() == 2;
  if (two_passes) {
    Outcome routed = balancer.Pass(dests, false, [](const Dest& d) { return d.endpoint != kUnset; });
    if (routed.status != EngineStatus::kOk) return routed;
    // Trees with a dependency cycle after the first pass are taken to keep one after the second.
    if (one_vl_escape && !TreesAcyclic(g, dests, out)) {
      routed = balancer.Pass(dests, false, [](const Dest& d) { return d.endpoint == kUnset; });
      return routed.status != EngineStatus::kOk ? routed : EscapeAll(f, sn, p, out, load, escaped);
    }
  }
  if (Outcome routed = balancer.Pass(dests, two_passes, [](const Dest&) { return true; });
      routed.status != EngineStatus::kOk)
    return routed;
  if (one_vl_escape) {
    if (TreesAcyclic(g, dests, out)) {
      out.num_vls = 1;
      return Outcome::Ok();
    }
    if (tie == Tie::kLowestPort) return Outcome::Failed("lowest-port trees do not fit in one VL");
    return EscapeAll(f, sn, p, out, load, escaped);
  }

  const Trees trees = TreesOf(g, dests, out);
  const Cdg cdg = CdgOf(g, trees.index);
  const std::vector<uint32_t>& endpoint_dests = p.endpoint_dests;
  // Stage 1: whole destination trees. Enough for fat trees and most indirect networks
  // (one VL, checked in one pass); the real work of DFSSSP starts only when it is not.
  Layering by_tree = Layer(cdg, trees.offsets, trees.edges, vls);
  if (by_tree.fits && by_tree.layers <= 1) {
    out.num_vls = 1;
    return Outcome::Ok();
  }
  // Stage 2: one unit per (source switch, destination) path, as DFSSSP layers them.
  std::vector<uint32_t> path_offsets, path_edges;
  if (!DependenciesOfPaths(g, dests, endpoint_dests, sources.list, trees.index, out, path_offsets, path_edges))
    return Outcome::Failed("too many path dependencies to layer");
  Layering by_path = Layer(cdg, path_offsets, path_edges, vls);
  // Paths are small enough units to move down one by one (whole trees seldom fit).
  LayerCompaction(cdg, path_offsets, path_edges).Run(by_path, vls);
  const bool use_path = by_path.fits && (!by_tree.fits || by_path.layers <= by_tree.layers);
  // A layering stops at its cap, and its first layers do not depend on the cap: the
  // destinations at layer vls - 1 or above are those that do not fit below the escape VL.
  if (escape && !by_path.fits && !by_tree.fits)
    return Escape(f, sn, g, out, dests, endpoint_dests, sources.list, sources.index, by_path, by_tree, vls - 1, load,
                  escaped);
  if (!use_path && !by_tree.fits)
    return Outcome::Failed(fmt::format(
        "needs more than {} VL{} to break every credit loop of its shortest paths ({} of {} paths left over); "
        "raise --vls or use updn",
        req.options.max_vls, req.options.max_vls == 1 ? "" : "s", by_path.left_over, path_offsets.size() - 1));
  const uint32_t layers = use_path ? by_path.layers : by_tree.layers;

  out.num_vls = uint8_t(std::max<uint32_t>(layers, 1));
  if (out.num_vls == 1) return Outcome::Ok();
  const uint32_t num_sources = uint32_t(sources.list.size());
  WriteLayers(
      f, sn, g, dests, endpoint_dests, sources.index,
      [&](uint32_t t, uint32_t k) -> uint32_t {
        return use_path ? by_path.layer[size_t(t) * num_sources + k] : by_tree.layer[t];
      },
      out);
  return Outcome::Ok();
}

Outcome Dfsssp::Route(const RouteRequest& req, SubnetRoutes& out) const {
  if (req.subnet.switches.empty()) return Outcome::Ok();  // no switch, no table (RunChain says so)
  if (req.options.max_vls == 0) return Outcome::Failed("no VL to route on (--vls 0)");
  Prepared p(req.fabric, req.subnet, out);
  uint32_t escaped = 0;
  Outcome balanced = RouteWith(req, p, out, Tie::kBalanced, escaped);
  if (mode_ == Mode::kEscape) {
    if (balanced.status != EngineStatus::kOk || escaped == 0) return balanced;
    // Lowest-port paths often fit in fewer layers: keep whichever escapes fewer destinations.
    SubnetRoutes first = out;
    uint32_t escaped_ordered = 0;
    Outcome ordered = RouteWith(req, p, out, Tie::kLowestPort, escaped_ordered);
    if (ordered.status == EngineStatus::kOk && escaped_ordered < escaped) return ordered;
    out = std::move(first);
    return balanced;
  }
  if (balanced.status != EngineStatus::kFailed || balanced.reason.find("needs more than") == std::string::npos)
    return balanced;
  // Every entry is rewritten by the second pass; the tables of the first are dropped.
  out.num_vls = 1;
  out.pair_sl.clear();
  out.sl2vl.clear();
  out.sl2vl_stride = 0;
  Outcome ordered = RouteWith(req, p, out, Tie::kLowestPort, escaped);
  if (ordered.status == EngineStatus::kOk) {
    out.reason = kDfssspLowestPortReason;
    return ordered;
  }
  return Outcome::Failed(balanced.reason + " (also with lowest-port shortest paths)");
}

}  // namespace

std::unique_ptr<RoutingEngine> MakeDfssspEngine() { return std::make_unique<Dfsssp>(Dfsssp::Mode::kStrict); }
std::unique_ptr<RoutingEngine> MakeEscapeEngine() { return std::make_unique<Dfsssp>(Dfsssp::Mode::kEscape); }

}  // namespace fabricctl
