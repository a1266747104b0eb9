#include "routing/nue.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <random>
#include <span>

#include "routing/acyclic_dependencies.h"
#include "routing/channel_capacity.h"
#include "routing/parallel.h"
#include "routing/radix_heap.h"
#include "routing/switch_graph.h"

namespace fabricctl {
namespace {

constexpr uint32_t kUnset = kNone;

// Switch-to-switch channels: one per switch port cabled to another switch of the subnet.
struct Channels {
  uint32_t stride = 0;
  std::vector<uint32_t> of_port;  // switch * stride + port -> channel (kUnset: none)
  std::vector<uint32_t> tail, head;
  std::vector<uint8_t> port;          // port on the tail switch
  std::vector<uint32_t> cost;         // ChannelCapacity::cost of one route
  std::vector<uint32_t> group_owner;  // SwitchGraph group -> the switch it belongs to
  std::vector<uint32_t> reverse;      // SwitchGraph group s -> t -> the group t -> s
  std::vector<uint32_t> group_first;  // SwitchGraph group -> its first channel (a group's are consecutive)
  uint32_t size() const { return uint32_t(tail.size()); }
  // The channels [first, end) from group grp's neighbour back to its owner, one per cable.
  std::pair<uint32_t, uint32_t> back(uint32_t grp) const {
    return {group_first[reverse[grp]], group_first[reverse[grp] + 1]};
  }
  uint32_t at(uint32_t sw, uint8_t p) const { return of_port[size_t(sw) * stride + p]; }
};

Channels BuildChannels(const Fabric& f, const SwitchGraph& g, const ChannelCapacity& capacity) {
  Channels c;
  const uint32_t num_switches = g.num_switches();
  unsigned max_port = 0;
  for (uint32_t s = 0; s < num_switches; ++s) max_port = std::max<unsigned>(max_port, f.node(g.node(s)).num_ports);
  c.stride = max_port + 1;
  c.of_port.assign(size_t(num_switches) * c.stride, kUnset);
  c.group_owner.resize(g.end(num_switches - 1));
  c.group_first.resize(c.group_owner.size() + 1);
  for (uint32_t s = 0; s < num_switches; ++s)
    for (uint32_t grp = g.begin(s); grp < g.end(s); ++grp) {
      c.group_owner[grp] = s;
      c.group_first[grp] = c.size();
      for (uint8_t p : g.ports(grp)) {
        c.of_port[size_t(s) * c.stride + p] = c.size();
        c.tail.push_back(s);
        c.head.push_back(g.nbr(grp));
        c.port.push_back(p);
        c.cost.push_back(capacity.cost(f.port_id(g.node(s), p)));
      }
    }
  c.group_first.back() = c.size();
  c.reverse.assign(c.group_owner.size(), kUnset);
  for (uint32_t s = 0; s < num_switches; ++s)
    for (uint32_t grp = g.begin(s); grp < g.end(s); ++grp) {
      const uint32_t t = g.nbr(grp);
      for (uint32_t back = g.begin(t); back < g.end(t); ++back)
        if (g.nbr(back) == s) c.reverse[grp] = back;
    }
  return c;
}

// The escape paths: a breadth-first spanning tree from a central switch; routes go up the
// tree, then down (Up*/Down* on the tree's channels), so their dependencies are acyclic.
struct EscapeTree {
  uint32_t root = 0;
  std::vector<uint32_t> parent;  // kUnset for the root
  std::vector<uint32_t> up;      // channel s -> parent (kUnset for the root)
  std::vector<uint32_t> down;    // channel parent -> s
  std::vector<uint32_t> order;   // breadth-first from the root
};

// Breadth-first search from `from`: the switches in the order found, each one's level and
// the group of its parent that reached it (kUnset for `from` and switches not reached).
struct Search {
  std::vector<uint32_t> order, level, via;
};

Search SearchFrom(const SwitchGraph& g, uint32_t from) {
  Search s;
  s.level.assign(g.num_switches(), kUnset);
  s.via.assign(g.num_switches(), kUnset);
  std::vector<uint8_t> seen(g.num_switches(), 0);
  s.order.assign(1, from);
  s.level[from] = 0;
  seen[from] = 1;
  BreadthFirst(
      g, s.order, seen, [&](uint32_t u) { return AllGroups(g, u); },
      [&](uint32_t reached, uint32_t u, uint32_t group) {
        s.level[reached] = s.level[u] + 1;
        s.via[reached] = group;
      });
  return s;
}

// The root is the switch of least eccentricity among the best-connected ones (exact
// centres cost a search per switch; on irregular graphs they are among the high degrees).
Search CentralSearch(const SwitchGraph& g) {
  std::vector<uint32_t> candidates(g.num_switches());
  for (uint32_t s = 0; s < g.num_switches(); ++s) candidates[s] = s;
  const size_t keep = std::min<size_t>(candidates.size(), 16);
  std::partial_sort(candidates.begin(), candidates.begin() + keep, candidates.end(),
                    [&](uint32_t a, uint32_t b) { return g.degree(a) > g.degree(b); });
  Search best;
  uint64_t best_score = UINT64_MAX;
  for (size_t i = 0; i < keep; ++i) {
    Search s = SearchFrom(g, candidates[i]);
    // Eccentricity first, then the sum of levels (a more central root among equals).
    uint64_t sum = 0;
    for (uint32_t v : s.order) sum += s.level[v];
    const uint64_t score = uint64_t(s.level[s.order.back()]) << 40 | sum;
    if (score < best_score) {
      best_score = score;
      best = std::move(s);
    }
  }
  return best;
}

EscapeTree BuildEscapeTree(const SwitchGraph& g, const Channels& c, const Search& search) {
  EscapeTree t;
  const uint32_t num_switches = g.num_switches();
  t.root = search.order[0];
  t.order = search.order;
  t.parent.assign(num_switches, kUnset);
  t.up.assign(num_switches, kUnset);
  t.down.assign(num_switches, kUnset);
  for (uint32_t s = 0; s < num_switches; ++s) {
    const uint32_t grp = search.via[s];
    if (grp == kUnset) continue;
    t.parent[s] = c.group_owner[grp];
    t.down[s] = c.at(t.parent[s], g.ports(grp)[0]);
    t.up[s] = c.at(s, g.peer_ports(grp)[0]);
  }
  return t;
}

// The dependencies of every Up*/Down* path on the tree: up then up, up then down (to
// another child), down then down.
std::vector<std::pair<uint32_t, uint32_t>> TreeDependencies(const EscapeTree& t) {
  const uint32_t num_switches = uint32_t(t.parent.size());
  std::vector<std::vector<uint32_t>> children(num_switches);
  for (uint32_t s = 0; s < num_switches; ++s)
    if (t.parent[s] != kUnset) children[t.parent[s]].push_back(s);
  std::vector<std::pair<uint32_t, uint32_t>> deps;
  for (uint32_t u = 0; u < num_switches; ++u)
    for (uint32_t c : children[u]) {
      if (t.parent[u] != kUnset) deps.push_back({t.up[c], t.up[u]});
      for (uint32_t other : children[u])
        if (other != c) deps.push_back({t.up[c], t.down[other]});
      if (t.parent[u] != kUnset) deps.push_back({t.down[u], t.down[c]});
    }
  return deps;
}

// Next channel of every switch towards switch `target` on the tree (kUnset at the target).
void EscapeNext(const EscapeTree& t, uint32_t target, std::vector<uint32_t>& next) {
  next = t.up;
  for (uint32_t a = target; t.parent[a] != kUnset; a = t.parent[a]) next[t.parent[a]] = t.down[a];
  next[target] = kUnset;
}

struct Dest {
  Lid lid;
  uint32_t sw;
  uint8_t last_port;  // port of `sw` the endpoint hangs off
  uint8_t vl;         // the VL its routes are tried on first
};

// One routing of every endpoint destination on a given number of VLs.
struct Tables {
  std::vector<uint8_t> lft;        // as SubnetRoutes::lft
  std::vector<uint8_t> vl_of_lid;  // VL of every destination LID
  std::vector<uint64_t> load;      // routes per channel
  uint64_t busiest_cost = 0;       // max over channels of routes x capacity cost
  uint32_t escaped = 0;            // destinations with some switches on escape paths
  uint64_t pinned = 0;             // (switch, destination) routes on escape paths
  uint64_t refused = 0;            // dependencies refused because they closed a cycle
  bool escape_ok = true;           // every escape dependency in every VL's graph (always, by design)
};

class Pass {
 public:
  Pass(const SwitchGraph& g, const Channels& c, const EscapeTree& tree, unsigned vls, unsigned base_per_endpoint)
      : g_(g), c_(c), tree_(tree), vls_(vls) {
    const uint32_t num_switches = g.num_switches();
    next_.assign(num_switches, kUnset);
    dist_.assign(num_switches, 0);
    settled_.assign(num_switches, 0);
    is_pinned_.assign(num_switches, 0);
    offered_.assign(num_switches, 0);
    offered_key_.assign(num_switches, 0);
    offered_group_.assign(num_switches, 0);
    group_key_.assign(c.group_owner.size(), 0);
    relaxed_.assign(c.group_owner.size(), 0);
    pushed_.assign(c.group_owner.size(), 0);
    sources_.resize(num_switches);
    uint64_t endpoints = 0;
    for (uint32_t s = 0; s < num_switches; ++s) endpoints += sources_[s] = uint32_t(g.endpoint_lids(s).size());
    base_ = std::max<uint64_t>(1, base_per_endpoint * endpoints / num_switches);
  }

  // Routes `dests` in order into `t` (lft arrives as the engine's empty table).
  // Loads only grow in this pass, so once its busiest channel is heavier than `beaten` (the
  // lightest first pass another start finished) it can no longer be the lightest: it stops
  // there and returns false.
  bool Run(const std::vector<Dest>& dests, Tables& t, const std::atomic<uint64_t>* beaten) {
    SetUp(t);
    for (const Dest& d : dests) {
      RouteOne(d, t);
      if (beaten && busiest_so_far_ > beaten->load(std::memory_order_relaxed)) return false;
    }
    t.busiest_cost = BusiestCost(t.load);
    t.refused = refused_;
    return true;
  }

  // Up to `rounds` rounds that take each destination out and route it again against the
  // loads and dependencies of all the others (the first destinations of Run saw an empty
  // fabric). Stops at the first round that does not lower the busiest channel, and undoes
  // it; after that the pass is spent. Returns the rounds kept.
  unsigned Reroute(const std::vector<Dest>& dests, unsigned rounds, Tables& t) {
    load_ = &t.load;  // the tables may have moved since Run
    for (unsigned round = 0; round < rounds; ++round) {
      Tables before = t;
      for (AcyclicDependencies& cdg : cdgs_) cdg.ForgetRefusals();
      t.escaped = 0;
      t.pinned = 0;
      for (const Dest& d : dests) {
        Remove(d, t);
        RouteOne(d, t);
      }
      t.busiest_cost = BusiestCost(t.load);
      t.refused = refused_;
      if (t.busiest_cost >= before.busiest_cost) {
        t = std::move(before);
        return round;
      }
    }
    return rounds;
  }

  void SetUp(Tables& t) {
    const auto deps = TreeDependencies(tree_);
    cdgs_.clear();
    for (unsigned k = 0; k < vls_; ++k) {
      cdgs_.emplace_back(c_.port, c_.stride);
      // A tree's Up*/Down* dependencies are acyclic, so none is refused.
      for (auto [a, b] : deps) t.escape_ok = cdgs_.back().AddPermanent(a, b) && t.escape_ok;
      cdgs_.back().Commit();
    }
    t.load.assign(c_.size(), 0);
    t.vl_of_lid.assign(g_.num_lids(), 0);
    load_ = &t.load;
  }

  uint64_t BusiestCost(const std::vector<uint64_t>& load) const {
    uint64_t busiest = 0;
    for (uint32_t ch = 0; ch < c_.size(); ++ch) busiest = std::max(busiest, load[ch] * c_.cost[ch]);
    return busiest;
  }

  // One destination's tree: on its first VL that can hold it, else with switches pinned
  // to their escape paths; then its loads, dependency uses and table column.
  void RouteOne(const Dest& d, Tables& t) {
    uint8_t vl = d.vl;
    bool grown = false;
    ClearPins(d.sw);
    for (unsigned attempt = 0; attempt < vls_ && !grown; ++attempt) {
      const uint8_t k = uint8_t((d.vl + attempt) % vls_);
      grown = Grow(d, cdgs_[k]);
      if (grown) {
        vl = k;
        cdgs_[k].Commit();
      } else {
        cdgs_[k].Rollback();
      }
    }
    // An impasse on every VL: pin the switches that could not settle to their escape
    // paths (whose dependencies every VL holds) and grow again around them. Every retry
    // pins at least one more switch, and with all pinned the tree is the escape tree.
    while (!grown) {
      PinUnsettled();
      grown = Grow(d, cdgs_[d.vl]);
      if (grown)
        cdgs_[d.vl].Commit();
      else
        cdgs_[d.vl].Rollback();
    }
    if (pinned_.size() > 1) {
      ++t.escaped;
      t.pinned += pinned_.size() - 1;
    }
    t.vl_of_lid[d.lid] = vl;
    AddLoad(d);
    ForEachDependency(d.sw, [&](uint32_t a, uint32_t b) { cdgs_[vl].Use(a, b); });
    Write(d.lid, d.sw, d.last_port, t.lft);
  }

  // Takes a routed destination out: its loads and its uses of dependencies.
  void Remove(const Dest& d, Tables& t) {
    const size_t num_lids = g_.num_lids();
    for (uint32_t v = 0; v < g_.num_switches(); ++v)
      next_[v] = v == d.sw ? kUnset : c_.at(v, t.lft[size_t(v) * num_lids + d.lid]);
    AcyclicDependencies& cdg = cdgs_[t.vl_of_lid[d.lid]];
    ForEachDependency(d.sw, [&](uint32_t a, uint32_t b) { cdg.Release(a, b); });
    auto& load = *load_;
    for (uint32_t v = 0; v < g_.num_switches(); ++v) {
      const uint32_t flow = sources_[v] - (v == d.sw ? 1 : 0);
      if (flow == 0) continue;
      for (uint32_t u = v; u != d.sw; u = c_.head[next_[u]]) load[next_[u]] -= flow;
    }
  }

  // visit(a, b) for every dependency of the tree in next_ towards switch `target`.
  template <class Visit>
  void ForEachDependency(uint32_t target, const Visit& visit) const {
    for (uint32_t v = 0; v < g_.num_switches(); ++v) {
      if (v == target) continue;
      const uint32_t u = c_.head[next_[v]];
      if (u != target) visit(next_[v], next_[u]);
    }
  }

  // A switch's own LID: the routes of one of its endpoints (a subset of their
  // dependencies) on that endpoint's VL, else the escape paths (in every VL's graph).
  void RouteSwitchLid(uint32_t s, Tables& t) {
    const Lid lid = g_.switch_lid(s);
    if (lid == 0) return;
    const size_t num_lids = g_.num_lids();
    if (!g_.endpoint_lids(s).empty()) {
      const Lid ep = g_.endpoint_lids(s)[0];
      for (uint32_t v = 0; v < g_.num_switches(); ++v)
        t.lft[size_t(v) * num_lids + lid] = t.lft[size_t(v) * num_lids + ep];
      t.lft[size_t(s) * num_lids + lid] = 0;
      t.vl_of_lid[lid] = t.vl_of_lid[ep];
      return;
    }
    EscapeNext(tree_, s, next_);
    Write(lid, s, 0, t.lft);
  }

 private:
  // Routes on the channel plus a base that makes a hop cost something while the fabric is
  // still empty (a small multiple of the endpoints per switch; see Nue::Route).
  uint64_t Weight(uint32_t ch) const { return ((*load_)[ch] + base_) * c_.cost[ch]; }

  // Offers every unsettled neighbour of the newly settled u its entry through u.
  void Relax(uint32_t u) {
    for (uint32_t grp = g_.begin(u); grp < g_.end(u); ++grp) {
      const uint32_t w = g_.nbr(grp);
      if (settled_[w] == epoch_) continue;
      const auto [first, end] = c_.back(grp);  // the cables w -> u
      uint64_t best = UINT64_MAX;
      for (uint32_t ch = first; ch < end; ++ch) best = std::min(best, Weight(ch));
      group_key_[grp] = dist_[u] + best;
      relaxed_[grp] = epoch_;
      Offer(w, grp);
    }
  }

  // The search settles switches in (key, group) order of their entries, as if every
  // relaxed group were in the heap. Until one of a switch's entries is refused, only its
  // least entry needs to be there (a greater one can only be popped after the switch has
  // settled); after a refusal all of them are (OfferRest). So the settle order is the
  // same with far fewer entries.
  void Offer(uint32_t w, uint32_t grp) {
    const uint64_t key = group_key_[grp];
    if (offered_[w] == epoch_ && std::pair(offered_key_[w], offered_group_[w]) < std::pair(key, grp)) return;
    if (offered_[w] != kEveryEntry) {
      offered_[w] = epoch_;
      offered_key_[w] = key;
      offered_group_[w] = grp;
    }
    pushed_[grp] = epoch_;
    heap_.push(key, grp);
  }

  // An entry (key, grp) of v was refused: from now on every entry of v is in the heap.
  void OfferRest(uint32_t v, uint64_t key, uint32_t grp) {
    if (offered_[v] == kEveryEntry) return;
    offered_[v] = kEveryEntry;
    every_entry_.push_back(v);
    for (uint32_t own = g_.begin(v); own < g_.end(v); ++own) {
      const uint32_t in = c_.reverse[own];
      if (relaxed_[in] != epoch_ || pushed_[in] == epoch_ || std::pair(group_key_[in], in) < std::pair(key, grp))
        continue;
      pushed_[in] = epoch_;
      heap_.push(group_key_[in], in);
    }
  }

  // The channel into u from the neighbour of u's group grp (one of the parallel cables,
  // least loaded first) whose dependency on u's next channel the VL's graph accepts; kUnset
  // when none.
  uint32_t Accept(uint32_t grp, uint32_t u, AcyclicDependencies& cdg) {
    const auto [first, end] = c_.back(grp);  // the cables v -> u
    candidates_.clear();
    for (uint32_t ch = first; ch < end; ++ch) candidates_.push_back({Weight(ch), ch});
    if (candidates_.size() > 1) std::sort(candidates_.begin(), candidates_.end());
    for (auto [weight, ch] : candidates_) {
      if (next_[u] == kUnset) return ch;  // u is the destination's switch
      if (cdg.TryAdd(ch, next_[u])) return ch;
      ++refused_;
    }
    return kUnset;
  }

  // Dijkstra from the destination's switch outward; false at an impasse. Pinned switches
  // (the destination's switch first, parents before children) start settled on their
  // escape paths.
  bool Grow(const Dest& d, AcyclicDependencies& cdg) {
    for (uint32_t v : every_entry_) offered_[v] = 0;
    every_entry_.clear();
    if (++epoch_ == kEveryEntry) {  // after 2^32 - 1 searches: start the epochs again
      std::fill(settled_.begin(), settled_.end(), 0);
      std::fill(relaxed_.begin(), relaxed_.end(), 0);
      std::fill(pushed_.begin(), pushed_.end(), 0);
      std::fill(offered_.begin(), offered_.end(), 0);
      epoch_ = 1;
    }
    order_.clear();
    heap_.clear();
    for (uint32_t v : pinned_) {
      next_[v] = v == d.sw ? kUnset : escape_next_[v];
      dist_[v] = v == d.sw ? 0 : dist_[c_.head[next_[v]]] + Weight(next_[v]);
      settled_[v] = epoch_;
      order_.push_back(v);
    }
    for (uint32_t v : pinned_) Relax(v);
    while (!heap_.empty()) {
      const auto [dist, grp] = heap_.pop();
      const uint32_t v = g_.nbr(grp), u = c_.group_owner[grp];
      if (settled_[v] == epoch_) continue;
      const uint32_t ch = Accept(grp, u, cdg);
      if (ch == kUnset) {
        OfferRest(v, dist, grp);
        continue;
      }
      next_[v] = ch;
      dist_[v] = dist;
      settled_[v] = epoch_;
      order_.push_back(v);
      Relax(v);
    }
    return order_.size() == g_.num_switches();
  }

  void ClearPins(uint32_t target) {
    for (uint32_t v : pinned_) is_pinned_[v] = 0;
    pinned_.assign(1, target);
    is_pinned_[target] = 1;
    EscapeNext(tree_, target, escape_next_);
  }

  // Pins the switches the last Grow left unsettled, each with the rest of its escape
  // path; a path's switches go in from the pinned end so parents precede children.
  void PinUnsettled() {
    for (uint32_t s : tree_.order) {
      if (settled_[s] == epoch_ || is_pinned_[s]) continue;
      path_.clear();
      for (uint32_t v = s; !is_pinned_[v]; v = c_.head[escape_next_[v]]) path_.push_back(v);
      for (size_t i = path_.size(); i-- > 0;) {
        is_pinned_[path_[i]] = 1;
        pinned_.push_back(path_[i]);
      }
    }
  }

  // Routes from every endpoint (except the destination) onto the channels they cross;
  // children settle after their parents.
  void AddLoad(const Dest& d) {
    auto& load = *load_;
    flow_.resize(g_.num_switches());
    for (uint32_t v = 0; v < g_.num_switches(); ++v) flow_[v] = sources_[v] - (v == d.sw ? 1 : 0);
    for (size_t i = order_.size(); i-- > 1;) {
      const uint32_t v = order_[i], ch = next_[v];
      load[ch] += flow_[v];
      flow_[c_.head[ch]] += flow_[v];
      busiest_so_far_ = std::max(busiest_so_far_, load[ch] * c_.cost[ch]);
    }
  }

  void Write(Lid lid, uint32_t target, uint8_t last_port, std::vector<uint8_t>& lft) const {
    const size_t num_lids = g_.num_lids();
    for (uint32_t v = 0; v < g_.num_switches(); ++v)
      lft[size_t(v) * num_lids + lid] = v == target ? last_port : c_.port[next_[v]];
  }

  const SwitchGraph& g_;
  const Channels& c_;
  const EscapeTree& tree_;
  const unsigned vls_;
  std::vector<AcyclicDependencies> cdgs_;
  std::vector<uint64_t>* load_ = nullptr;
  std::vector<uint32_t> next_, settled_, sources_, order_;
  std::vector<uint32_t> escape_next_, pinned_, path_;
  std::vector<uint8_t> is_pinned_;
  std::vector<uint64_t> dist_, flow_;
  // The search's entries: by switch, the least one in the heap (when offered_ is the
  // epoch) or all of them (kEveryEntry; those switches listed in every_entry_); by group,
  // its key once relaxed and whether it was pushed (epochs).
  static constexpr uint32_t kEveryEntry = UINT32_MAX;
  std::vector<uint32_t> offered_, offered_group_, relaxed_, pushed_, every_entry_;
  std::vector<uint64_t> offered_key_, group_key_;
  uint32_t epoch_ = 0;
  uint64_t refused_ = 0;
  uint64_t busiest_so_far_ = 0;  // the most any channel has cost (only meaningful in Run)
  uint64_t base_ = 1;
  RadixHeap heap_;
  std::vector<std::pair<uint64_t, uint32_t>> candidates_;
};

// Which destinations are routed first: those of the switches nearest the escape tree's
// root, or the farthest.
enum class Order { kNearFirst, kFarFirst };

// Endpoint destinations in routing order, each with the VL it is tried on first: VLs get
// contiguous runs of switches in breadth-first order from the root (equal endpoint
// counts), and the order takes one endpoint of every switch per round, the switches in
// `visit` order (a permutation of the tree's), so loads build up evenly across the fabric;
// kFarFirst takes the same list backwards.
std::vector<Dest> Destinations(const SwitchGraph& g, const EscapeTree& tree, std::span<const uint32_t> visit,
                               unsigned vls, Order order) {
  uint64_t total = 0, before = 0;
  size_t rounds = 0;
  for (uint32_t s : tree.order) total += g.endpoint_lids(s).size();
  std::vector<uint8_t> vl_of_switch(g.num_switches(), 0);
  for (uint32_t s : tree.order) {
    vl_of_switch[s] = uint8_t(std::min<uint64_t>(vls - 1, before * vls / std::max<uint64_t>(total, 1)));
    before += g.endpoint_lids(s).size();
    rounds = std::max(rounds, g.endpoint_lids(s).size());
  }
  std::vector<Dest> dests;
  dests.reserve(total);
  for (size_t r = 0; r < rounds; ++r)
    for (uint32_t s : visit)
      if (r < g.endpoint_lids(s).size()) {
        const Lid lid = g.endpoint_lids(s)[r];
        dests.push_back({lid, s, g.lid_port(lid), vl_of_switch[s]});
      }
  if (order == Order::kFarFirst) std::reverse(dests.begin(), dests.end());
  return dests;
}

// How one routing starts: the hop base (see Pass) and the order of the destinations.
struct Start {
  unsigned base = 1;
  Order order = Order::kNearFirst;
};

// One routing on a number of VLs from one start, its pass kept for more rounds.
struct Routing {
  std::unique_ptr<Pass> pass;
  Tables tables;
  Start start;
  unsigned rounds = 0;         // rerouting rounds kept
  uint64_t first_busiest = 0;  // busiest channel cost before them
  uint64_t first_refused = 0;  // dependencies the first pass refused
};

// The first pass from `start`; when it can no longer beat `beaten` it stops, and its
// first_busiest reads kAbandoned.
constexpr uint64_t kAbandoned = UINT64_MAX;
Routing FirstPass(const SwitchGraph& g, const Channels& c, const EscapeTree& tree, unsigned vls, Start start,
                  const std::vector<Dest>& dests, const std::vector<uint8_t>& empty_lft,
                  const std::atomic<uint64_t>* beaten = nullptr) {
  Routing r{.pass = std::make_unique<Pass>(g, c, tree, vls, start.base), .start = start};
  r.tables.lft = empty_lft;
  const bool finished = r.pass->Run(dests, r.tables, beaten);
  r.first_busiest = finished ? r.tables.busiest_cost : kAbandoned;
  r.first_refused = r.tables.refused;
  return r;
}

// The switches' own LIDs and the VLs numbered 0..n-1: the tables as the engine hands them out.
Tables Finish(const SwitchGraph& g, unsigned vls, Routing&& r) {
  Tables t = std::move(r.tables);
  for (uint32_t s = 0; s < g.num_switches(); ++s) r.pass->RouteSwitchLid(s, t);
  r.pass.reset();
  std::vector<uint8_t> used(vls, 0), renumber(vls, 0);
  for (Lid l = 1; l < g.num_lids(); ++l)
    if (g.lid_switch(l) != kUnset) used[t.vl_of_lid[l]] = 1;
  uint8_t n = 0;
  for (unsigned k = 0; k < vls; ++k)
    if (used[k]) renumber[k] = n++;
  for (uint8_t& vl : t.vl_of_lid) vl = renumber[vl];
  return t;
}

uint8_t VlsUsed(const SwitchGraph& g, const Tables& t) {
  uint8_t top = 0;
  for (Lid l = 1; l < g.num_lids(); ++l)
    if (g.lid_switch(l) != kUnset) top = std::max(top, t.vl_of_lid[l]);
  return uint8_t(top + 1);
}

// The SLs of a multi-VL result: a pair's SL is its destination's VL, SL n rides VL n.
void WriteVls(const Fabric& f, const Subnet& sn, const SwitchGraph& g, const Channels& c, const Tables& t,
              SubnetRoutes& out) {
  const size_t num_lids = out.num_lids();
  out.pair_sl.assign(sn.endpoint_ports.size() * num_lids, 0);
  for (size_t e = 0; e < sn.endpoint_ports.size(); ++e) {
    const PortId peer = f.port(sn.endpoint_ports[e]).peer;
    if (peer == kNone || !f.is_switch(f.port(peer).node)) continue;
    std::copy(t.vl_of_lid.begin(), t.vl_of_lid.end(), out.pair_sl.begin() + e * num_lids);
  }
  for (uint8_t s = 0; s < 16; ++s) out.endpoint_sl2vl[s] = s < out.num_vls ? s : 0;
  out.sl2vl_stride = c.stride;
  out.sl2vl.assign(size_t(g.num_switches()) * c.stride * c.stride * 16, 0);
  for (size_t i = 0; i < out.sl2vl.size(); i += 16)
    for (uint8_t s = 0; s < out.num_vls; ++s) out.sl2vl[i + s] = s;
}

// The balance reached on one VL depends erratically on how much a hop costs against the
// routes already on a channel (measured on random regular graphs of 50-1,000 switches: up
// to 20% apart between neighbouring bases) and on which destinations come first (routed
// far-first, random regular graphs' busiest channel was 44% lighter on 200 switches and 51%
// on 2,000, a fat tree with failed cables' 60%, a dragonfly's 25% heavier), so a few starts
// are tried side by side, and the one whose first pass is lightest gets the rerouting
// rounds.
constexpr Start kStarts[] = {
    {2, Order::kNearFirst}, {1, Order::kNearFirst}, {2, Order::kFarFirst}, {1, Order::kFarFirst}};
// Rerouting rounds after the first pass. Each costs about as much as the pass; on random
// regular graphs of 2,000 switches the busiest channel still fell in the seventh.
constexpr unsigned kRounds = 8;

// How much searching a routing does: the starts tried on one VL, the destination orders
// tried on several, and the rerouting rounds after the first pass. One pass (--one-pass)
// routes each destination once per VL count, from the first start.
struct Effort {
  std::span<const Start> starts;
  unsigned many_vl_orders = 2;
  unsigned rounds = kRounds;
};
constexpr Effort kFullEffort{.starts = kStarts};
constexpr Effort kOnePass{.starts = std::span(kStarts).first(1), .many_vl_orders = 1, .rounds = 0};

// Lowers `lightest` to `busiest` when that is lighter, whichever thread gets there first.
void LowerTo(std::atomic<uint64_t>& lightest, uint64_t busiest) {
  uint64_t now = lightest.load();
  while (busiest < now && !lightest.compare_exchange_weak(now, busiest)) {
  }
}

// The routing on every VL allowed (max_vls > 1) with the hop base chosen on one VL: the
// destination order matters there too, and not always as on one VL (a k=16 fat tree: far-first
// on one VL, near-first on 8), so both orders make a first pass, and the lighter gets the
// rounds.
Routing RouteManyVls(const SwitchGraph& g, const Channels& c, const EscapeTree& tree, std::span<const uint32_t> visit,
                     unsigned max_vls, unsigned base, const std::vector<uint8_t>& empty_lft, const Effort& effort) {
  std::array<std::vector<Dest>, 2> dests;
  std::array<Routing, 2> tries;
  std::atomic<uint64_t> lightest{kAbandoned};
  for (size_t i = 0; i < effort.many_vl_orders; ++i) {
    const Start start{base, i == 0 ? Order::kNearFirst : Order::kFarFirst};
    dests[i] = Destinations(g, tree, visit, max_vls, start.order);
    tries[i] = FirstPass(g, c, tree, max_vls, start, dests[i], empty_lft, &lightest);
    LowerTo(lightest, tries[i].first_busiest);
  }
  const size_t best = effort.many_vl_orders > 1 && tries[1].first_busiest < tries[0].first_busiest ? 1 : 0;
  Routing r = std::move(tries[best]);
  r.rounds = r.pass->Reroute(dests[best], effort.rounds, r.tables);
  return r;
}

// The routing on one VL, and on max_vls when that may help: when its first pass refused
// some dependency (otherwise every tree was a plain weighted shortest-path tree and more
// VLs route the same), with the base chosen on one VL.
struct Routings {
  Routing one;
  std::optional<Routing> many;
};

// Every start's first pass on one VL, side by side; then the rounds of the lightest, and
// beside them the routing on max_vls with the same base when its first pass refused a
// dependency. Refusals only add up over the rounds, so where they come only there, the
// routing on max_vls runs after them: the same result on any number of threads.
class StartChoice {
 public:
  StartChoice(const SwitchGraph& g, const Channels& c, const EscapeTree& tree, std::span<const uint32_t> visit,
              unsigned max_vls, const std::vector<uint8_t>& empty_lft, const Effort& effort)
      : effort_(effort),
        g_(g),
        c_(c),
        tree_(tree),
        visit_(visit),
        max_vls_(max_vls),
        empty_lft_(empty_lft),
        near_first_(Destinations(g, tree, visit, 1, Order::kNearFirst)),
        far_first_(Destinations(g, tree, visit, 1, Order::kFarFirst)) {}

  Routings Run(unsigned threads) {
    if (effort_.rounds == 0 && !WorthASecondThread()) threads = 1;
    if (effort_.starts.size() == 1 && max_vls_ > 1 && threads > 1) return RunSideBySide(threads);
    // A start that falls behind one already finished stops early: it could not be chosen,
    // so the choice is the same whichever finished first.
    std::atomic<uint64_t> lightest{kAbandoned};
    Routing chosen;
    {
      std::array<Routing, std::size(kStarts)> tries;
      ParallelFor(effort_.starts.size(), threads, [&](size_t i) {
        tries[i] = FirstPass(g_, c_, tree_, 1, effort_.starts[i], DestsOf(effort_.starts[i]), empty_lft_, &lightest);
        LowerTo(lightest, tries[i].first_busiest);
      });
      size_t best = 0;
      for (size_t i = 1; i < effort_.starts.size(); ++i)
        if (tries[i].first_busiest < tries[best].first_busiest) best = i;
      chosen = std::move(tries[best]);
    }
    std::optional<Routing> many;
    auto many_vls = [&] {
      many = RouteManyVls(g_, c_, tree_, visit_, max_vls_, chosen.start.base, empty_lft_, effort_);
    };
    const bool refused_first = max_vls_ > 1 && chosen.first_refused > 0;
    ParallelFor(refused_first ? 2 : 1, threads, [&](size_t task) {
      if (task == 1) return many_vls();
      chosen.rounds = chosen.pass->Reroute(DestsOf(chosen.start), effort_.rounds, chosen.tables);
    });
    if (!many && max_vls_ > 1 && chosen.tables.refused > 0) many_vls();
    return {std::move(chosen), std::move(many)};
  }

 private:
  // A pass relaxes about every channel per destination; starting a thread costs about as
  // much as 16,384 of those steps, so one pass on a smaller fabric runs on the calling
  // thread alone (measured: nue --one-pass on 8 VLs of a 6-switch fabric took 44 us on one
  // thread and 111 us on two). The full search has several passes to share out.
  bool WorthASecondThread() const { return uint64_t(near_first_.size()) * c_.size() >= (uint64_t{1} << 14); }

  // With a single start the hop base is known from the outset, so the routing on max_vls
  // runs beside the one on one VL instead of after it, and is dropped where that refused no
  // dependency: the result Run gives one after the other, in the time of the longer.
  Routings RunSideBySide(unsigned threads) {
    const Start start = effort_.starts[0];
    Routing one;
    std::optional<Routing> many;
    ParallelFor(2, threads, [&](size_t task) {
      if (task == 1) {
        many = RouteManyVls(g_, c_, tree_, visit_, max_vls_, start.base, empty_lft_, effort_);
        return;
      }
      one = FirstPass(g_, c_, tree_, 1, start, DestsOf(start), empty_lft_);
      one.rounds = one.pass->Reroute(DestsOf(start), effort_.rounds, one.tables);
    });
    if (one.tables.refused == 0) many.reset();
    return {std::move(one), std::move(many)};
  }

  const std::vector<Dest>& DestsOf(Start start) const {
    return start.order == Order::kNearFirst ? near_first_ : far_first_;
  }

  const Effort& effort_;
  const SwitchGraph& g_;
  const Channels& c_;
  const EscapeTree& tree_;
  const std::span<const uint32_t> visit_;
  const unsigned max_vls_;
  const std::vector<uint8_t>& empty_lft_;
  const std::vector<Dest> near_first_, far_first_;
};

class Nue final : public RoutingEngine {
 public:
  std::string_view name() const override { return "nue"; }
  Outcome Route(const RouteRequest& req, SubnetRoutes& out) const override;
};

// One routing from a switch visit order: the lightest start's, on one VL or on max_vls
// where that is lighter; nullopt when the escape paths' dependencies form a cycle.
struct Routed {
  Routing routing;
  unsigned vls = 1;
};

std::optional<Routed> RouteFrom(const SwitchGraph& g, const Channels& c, const EscapeTree& tree,
                                std::span<const uint32_t> visit, unsigned max_vls,
                                const std::vector<uint8_t>& empty_lft, unsigned threads, const Effort& effort) {
  Routings routed = StartChoice(g, c, tree, visit, max_vls, empty_lft, effort).Run(threads);
  if (!routed.one.tables.escape_ok) return std::nullopt;
  if (routed.many && routed.many->tables.escape_ok && routed.many->tables.busiest_cost < routed.one.tables.busiest_cost)
    return Routed{std::move(*routed.many), max_vls};
  return Routed{std::move(routed.one), 1};
}

// The tree's switch order shuffled for restart `restart` of `seed`: Fisher-Yates on a
// 64-bit Mersenne Twister, whose output the C++ standard fixes, so an order (and the tables
// it leads to) is the same on every machine and build.
std::vector<uint32_t> ShuffledVisit(std::span<const uint32_t> order, uint64_t seed, unsigned restart) {
  std::vector<uint32_t> visit(order.begin(), order.end());
  std::mt19937_64 random(seed * 0x9E3779B97F4A7C15ull + restart);
  for (size_t i = visit.size(); i > 1; --i) std::swap(visit[i - 1], visit[random() % i]);
  return visit;
}

Outcome Nue::Route(const RouteRequest& req, SubnetRoutes& out) const {
  const Fabric& f = req.fabric;
  const Subnet& sn = req.subnet;
  if (sn.switches.empty()) return Outcome::Ok();  // no switch, no table (RunChain says so)
  const SwitchGraph g(f, sn, out);
  const Search search = CentralSearch(g);
  if (search.order.size() != g.num_switches()) {
    uint32_t lost = 0;
    while (search.level[lost] != kUnset) ++lost;
    return Outcome::Failed(fmt::format("switch {} cannot reach switch {}", f.description(g.node(lost)),
                                       f.description(g.node(search.order[0]))));
  }
  const ChannelCapacity capacity(f, sn);
  const Channels c = BuildChannels(f, g, capacity);
  const EscapeTree tree = BuildEscapeTree(g, c, search);
  const unsigned max_vls = std::clamp<unsigned>(req.options.max_vls, 1, 15);
  const unsigned threads = std::max(1u, req.options.threads);

  // One VL, and more only where they lower the busiest channel; from the tree's order, and
  // on request from shuffled orders too, the lightest kept (fewer VLs on a tie, then the
  // earlier order). Several routings run side by side, one thread each.
  const Effort& effort = req.options.one_pass ? kOnePass : kFullEffort;
  const unsigned routings = req.options.one_pass ? 1 : req.options.restarts + 1;
  std::vector<std::optional<Routed>> routed(routings);
  ParallelFor(routings, threads, [&](size_t restart) {
    const std::vector<uint32_t> visit =
        restart == 0 ? tree.order : ShuffledVisit(tree.order, req.options.seed, unsigned(restart));
    routed[restart] = RouteFrom(g, c, tree, visit, max_vls, out.lft, routings == 1 ? threads : 1, effort);
  });
  if (!routed[0]) return Outcome::Failed("the escape paths' dependencies form a cycle");
  const auto weight = [](const Routed& r) { return std::make_pair(r.routing.tables.busiest_cost, r.vls); };
  unsigned lightest_restart = 0;
  for (unsigned restart = 1; restart < routings; ++restart)
    if (routed[restart] && weight(*routed[restart]) < weight(*routed[lightest_restart])) lightest_restart = restart;
  std::optional<Routed>& lightest = routed[lightest_restart];
  Routing chosen = std::move(lightest->routing);
  const unsigned vls = lightest->vls;
  const unsigned rounds = chosen.rounds;
  const double lowered =
      chosen.first_busiest == 0 ? 0.0 : 1.0 - double(chosen.tables.busiest_cost) / double(chosen.first_busiest);
  Tables best = Finish(g, vls, std::move(chosen));
  out.lft = std::move(best.lft);
  out.num_vls = VlsUsed(g, best);
  out.pair_sl.clear();
  out.sl2vl.clear();
  out.sl2vl_stride = 0;
  if (out.num_vls > 1) WriteVls(f, sn, g, c, best, out);
  size_t dests = 0;
  for (uint32_t s = 0; s < g.num_switches(); ++s) dests += g.endpoint_lids(s).size();
  out.reason = fmt::format("{} VL{}; {} of {} destinations on escape paths at some switches ({:.1f}% of routes); ",
                           out.num_vls, out.num_vls == 1 ? "" : "s", best.escaped, dests,
                           100.0 * double(best.pinned) / double(std::max<size_t>(1, dests * g.num_switches())));
  out.reason += req.options.one_pass ? std::string("one pass")
                                     : fmt::format("{} rerouting round{} lowered the busiest channel by {:.1f}%",
                                                   rounds, rounds == 1 ? "" : "s", 100.0 * lowered);
  if (routings > 1)
    out.reason += fmt::format("; the lightest of {} routings (destination order {}: {})", routings,
                              lightest_restart + 1, lightest_restart == 0 ? "the escape tree's" : "shuffled");
  return Outcome::Ok();
}

}  // namespace

std::unique_ptr<RoutingEngine> MakeNueEngine() { return std::make_unique<Nue>(); }

}  // namespace fabricctl
