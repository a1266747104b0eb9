#include "routing/ftree.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <barrier>
#include <bit>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include "routing/balanced_rounds.h"
#include "routing/channel_capacity.h"
#include "routing/leaf_spine_moves.h"
#include "routing/parallel.h"
#include "routing/switch_graph.h"

namespace fabricctl {
namespace {

// One bit per switch, one row per leaf.
class BitRows {
 public:
  BitRows(size_t rows, size_t bits) : words_((bits + 63) / 64), data_(rows * words_, 0) {}
  void set(size_t r, size_t b) { data_[r * words_ + b / 64] |= uint64_t{1} << (b % 64); }
  bool test(size_t r, size_t b) const { return (data_[r * words_ + b / 64] >> (b % 64)) & 1; }
  size_t words() const { return words_; }
  uint64_t* row(size_t r) { return &data_[r * words_]; }
  const uint64_t* row(size_t r) const { return &data_[r * words_]; }
  size_t count(size_t r) const {
    size_t n = 0;
    for (size_t w = 0; w < words_; ++w) n += static_cast<size_t>(__builtin_popcountll(data_[r * words_ + w]));
    return n;
  }

 private:
  size_t words_;
  std::vector<uint64_t> data_;
};

// v % n for a run of values that mostly repeat or count up by one (the digits of the
// endpoints of one leaf), without a division per value.
class Modulo {
 public:
  explicit Modulo(uint32_t n) : n_(n) {}
  uint32_t operator()(uint32_t v) {
    if (!valid_ || v != last_) {
      rest_ = valid_ && v == last_ + 1 ? (rest_ + 1 == n_ ? 0 : rest_ + 1) : v % n_;
      last_ = v;
      valid_ = true;
    }
    return rest_;
  }

 private:
  uint32_t n_, last_ = 0, rest_ = 0;
  bool valid_ = false;
};

// The shape ftree found: levels, up and down neighbour groups, leaves and their cones.
struct Tree {
  const SwitchGraph& g;
  const std::vector<uint32_t>& level;
  const std::vector<std::vector<uint32_t>>& up;
  const std::vector<std::vector<uint32_t>>& down;
  const std::vector<uint32_t>& leaves;
  const BitRows& cone;   // cone.test(li, s): s is leaf li or one of its ancestors
  const BitRows& climb;  // climb.test(li, s): s can climb into that cone (when not complete)
  bool complete;
  bool can_climb(size_t li, uint32_t s) const { return complete || climb.test(li, s); }
};

// Load-balanced fill for trees that are not regular (failed cables or switches, or cables
// trained slower). Destination-mod-k relies on every switch of a level having the same
// parents: with a leaf short of uplinks it sends two destinations' whole traffic down one
// cable. Here destinations are routed one at a time, interleaved over the leaves, and each
// source leaf's flow takes the legal Up*/Down* path (climb to the lowest common ancestor,
// then down) whose busiest channel, with that flow added, is lightest; a switch's choice,
// once made for a destination, holds for every later flow through it (one LFT entry), so a
// destination's traffic splits at the source leaves over several cables down into its leaf.
// Channels weigh routes by their cost (ChannelCapacity), so slower cables get fewer.

// The fill's channels: the cables between switches, numbered hop by hop, so that the
// per-channel arrays leave out the endpoint ports and stay small enough for the cache.
// Built once, then only read.
struct FillChannels {
  // A hop from a switch: the switch it reaches and its channels, numbered from `first` up
  // to the next hop's first (a last hop, to no switch, ends them).
  struct Hop {
    uint32_t to, first;
  };

  FillChannels(const Tree& t, const Fabric& f, const ChannelCapacity& capacity) {
    const SwitchGraph& g = t.g;
    const uint32_t num_switches = g.num_switches();
    for (uint32_t e = 0; e < g.end(num_switches - 1); ++e)
      for (uint8_t p : g.ports(e)) stride = std::max<uint32_t>(stride, p + 1u);
    channel_of.assign(size_t{num_switches} * stride, kNone);
    uniform = capacity.uniform();
    hop_offsets.push_back(0);
    for (uint32_t s = 0; s < num_switches; ++s) {
      AddHops(g, s, t.up[s], f, capacity);
      AddHops(g, s, t.down[s], f, capacity);
    }
    hops.push_back(Hop{.to = kNone, .first = static_cast<uint32_t>(head.size())});
    AddConeHops(t);
  }

  size_t size() const { return head.size(); }

  // Switch s's hops: up (the first of the pair) or down.
  const uint32_t* Range(uint32_t s, bool down) const { return &hop_offsets[2 * s + (down ? 1 : 0)]; }

  uint32_t stride = 1;
  std::vector<uint32_t> channel_of;  // per switch * stride + port: its channel (kNone: none)
  std::vector<uint32_t> weight;      // per channel: cost of one route
  bool uniform = true;               // every weight 1
  std::vector<uint32_t> head;        // per channel: the switch it reaches
  std::vector<uint8_t> port;         // per channel: its port on the switch it leaves
  // Per switch s, its up groups hops[hop_offsets[2s], hop_offsets[2s + 1]) and then its
  // down groups, up to hop_offsets[2s + 2], in the order of Tree's lists.
  std::vector<Hop> hops;
  std::vector<uint32_t> hop_offsets;
  std::vector<uint32_t> from;  // per hop: the switch it leaves
  // Per leaf, the way down its cone: the hops from switches of the cone to switches of the
  // cone (indices into hops, ascending, so grouped by the switch they leave), the only legal
  // hops of a switch in the cone; a destination's routes look them up instead of testing
  // every child. Leaf li's are cone_hops[cone_offsets[li], cone_offsets[li + 1]).
  std::vector<uint32_t> cone_offsets;
  std::vector<uint32_t> cone_hops;

 private:
  void AddConeHops(const Tree& t) {
    const uint32_t num_switches = t.g.num_switches();
    from.assign(hops.size(), kNone);
    for (uint32_t s = 0; s < num_switches; ++s)
      std::fill(from.begin() + hop_offsets[2 * s], from.begin() + hop_offsets[2 * s + 2], s);
    // Per up hop of a switch c: its parent's down hop back to c (cables join two switches
    // both ways, so there is one).
    std::vector<uint32_t> back(hops.size(), kNone);
    for (uint32_t c = 0; c < num_switches; ++c)
      for (uint32_t u = Range(c, false)[0]; u < Range(c, false)[1]; ++u) {
        const uint32_t* down = Range(hops[u].to, true);
        for (uint32_t d = down[0]; d < down[1] && back[u] == kNone; ++d)
          if (hops[d].to == c) back[u] = d;
      }
    cone_offsets.push_back(0);
    for (size_t li = 0; li < t.leaves.size(); ++li) {
      const size_t first = cone_hops.size();
      const uint64_t* cone = t.cone.row(li);
      for (size_t w = 0; w < t.cone.words(); ++w)
        for (uint64_t bits = cone[w]; bits != 0; bits &= bits - 1) {
          const uint32_t c = static_cast<uint32_t>(w * 64 + static_cast<size_t>(__builtin_ctzll(bits)));
          for (uint32_t u = Range(c, false)[0]; u < Range(c, false)[1]; ++u)
            if (t.cone.test(li, hops[u].to) && back[u] != kNone) cone_hops.push_back(back[u]);
        }
      std::sort(cone_hops.begin() + static_cast<ptrdiff_t>(first), cone_hops.end());
      cone_offsets.push_back(static_cast<uint32_t>(cone_hops.size()));
    }
  }

  // Switch s's hops along `groups`, after those added before; each cable of a hop gets the
  // next channel number.
  void AddHops(const SwitchGraph& g, uint32_t s, const std::vector<uint32_t>& groups, const Fabric& f,
               const ChannelCapacity& capacity) {
    for (uint32_t e : groups) {
      hops.push_back(Hop{.to = g.nbr(e), .first = static_cast<uint32_t>(head.size())});
      for (uint8_t p : g.ports(e)) {
        channel_of[s * stride + p] = static_cast<uint32_t>(head.size());
        head.push_back(g.nbr(e));
        port.push_back(p);
        weight.push_back(uniform ? 1 : capacity.cost(f.port_id(g.node(s), p)));
      }
    }
    hop_offsets.push_back(static_cast<uint32_t>(hops.size()));
  }
};

// Routes destinations one at a time against its own loads: every switch's choice towards
// the destination, and the routes that adds to the channels.
class FillLane {
 public:
  FillLane(const Tree& t, const FillChannels& c) : t_(t), g_(t.g), channels_(c) {
    const uint32_t num_switches = g_.num_switches();
    load.assign(channels_.size(), 0);
    memo_.assign(num_switches, PathMemo{});
    version_.assign(num_switches, 0);
    chan_.assign(num_switches, kNone);
    next_.assign(num_switches, kNone);
    cone_.assign(num_switches, ConeHops{});
  }

  std::vector<uint64_t> load;  // per channel: routes so far times their weight

  // Routes LID x of leaf li: source leaves in turn, starting after the destination's own,
  // then every switch no flow passed.
  void Route(Lid x, size_t li) {
    ++tick_;
    li_ = li;
    dest_ = t_.leaves[li];
    rotation_ = x;
    const std::span<const uint32_t> cone(channels_.cone_hops.data() + channels_.cone_offsets[li],
                                         channels_.cone_offsets[li + 1] - channels_.cone_offsets[li]);
    for (size_t i = 0; i < cone.size(); ++i) {
      ConeHops& hops = cone_[channels_.from[cone[i]]];
      if (hops.count++ == 0) hops.first = static_cast<uint32_t>(channels_.cone_offsets[li] + i);
    }
    const size_t num_leaves = t_.leaves.size();
    for (size_t k = 0; k < num_leaves; ++k) {
      const uint32_t src = t_.leaves[(li + 1 + k) % num_leaves];
      const uint64_t flow = g_.endpoint_lids(src).size();
      if (src == dest_ || flow == 0) continue;
      Decide(src, flow);
      if (chan_[src] == kNone) continue;
      version_[memo_[src].root] = ++versions_;
      for (uint32_t s = src; s != dest_; s = next_[s]) load[chan_[s]] += flow * channels_.weight[chan_[s]];
    }
    for (uint32_t s = 0; s < g_.num_switches(); ++s) Decide(s, 0);
    for (uint32_t hop : cone) cone_[channels_.from[hop]].count = 0;
  }

  // Switch s's LFT entry towards LID x, the destination last routed.
  uint8_t Entry(uint32_t s, Lid x) const {
    return s == dest_ ? g_.lid_port(x) : chan_[s] == kNone ? kNoRoute : channels_.port[chan_[s]];
  }

  // Takes LID x's routes off the loads: every source leaf's flow along its entries in
  // out.lft (written from Entry, so each step is a channel with a head), at most one step
  // per switch.
  void TakeOff(Lid x, uint32_t dest_leaf, const SubnetRoutes& out) {
    const uint32_t num_switches = g_.num_switches();
    const size_t num_lids = out.num_lids();
    for (uint32_t src : t_.leaves) {
      const uint64_t flow = g_.endpoint_lids(src).size();
      if (src == dest_leaf || flow == 0) continue;
      uint32_t s = src;
      for (uint32_t step = 0; s != dest_leaf && s != kNone && step < num_switches; ++step) {
        const uint8_t port = out.lft[size_t{s} * num_lids + x];
        if (port == kNoRoute) break;
        const uint32_t c = channels_.channel_of[s * channels_.stride + port];
        if (c == kNone) break;
        load[c] -= flow * channels_.weight[c];
        s = channels_.head[c];
      }
    }
  }

  uint64_t Busiest() const { return load.empty() ? 0 : *std::max_element(load.begin(), load.end()); }

 private:
  static constexpr uint64_t kNoPath = ~uint64_t{0};
  struct Cost {
    uint64_t worst = 0, total = 0;
    // Lighter busiest channel, then fewer routes in all. Which of two candidates is cheaper
    // is unpredictable: no branch, so that callers choose by conditional moves.
    bool operator<(const Cost& o) const { return (worst < o.worst) | ((worst == o.worst) & (total < o.total)); }
  };

  // The path from t (decided) to the destination along choices made, with `flow` added to
  // each channel; nullopt when t has no route. Memoised: a source leaf's candidates mostly
  // lead along paths no flow has changed since they were last weighed.
  std::optional<Cost> PathCost(uint32_t t, uint64_t flow) {
    if (t == dest_) return Cost{};
    const PathMemo& m = memo_[t];
    if (m.root == kNone) return std::nullopt;
    if (m.version == version_[m.root] && m.flow == flow) return m.cost;
    return Reweigh(t, flow);
  }

  Cost Reweigh(uint32_t t, uint64_t flow) {
    const Cost rest = *PathCost(next_[t], flow);
    const uint64_t v = Weighed(chan_[t], flow);
    Remember(t, Cost{std::max(rest.worst, v), rest.total + v}, flow);
    return memo_[t].cost;
  }

  // Channel c's load with `flow` more routes.
  uint64_t Weighed(uint32_t c, uint64_t flow) const {
    return load[c] + (channels_.uniform ? flow : flow * channels_.weight[c]);
  }

  void Remember(uint32_t t, const Cost& cost, uint64_t flow) {
    PathMemo& m = memo_[t];
    m.cost = cost;
    m.flow = flow;
    m.version = version_[m.root];
  }

  // Makes switch s's choice for the current destination (once), weighing `flow` routes.
  void Decide(uint32_t s, uint64_t flow) {
    if (memo_[s].stamp == tick_) return;
    memo_[s].stamp = tick_;
    memo_[s].root = kNone;
    chan_[s] = next_[s] = kNone;
    if (s == dest_) return;
    const uint64_t* cone = t_.cone.row(li_);
    const bool in_cone = In(cone, s);
    // Down into the cone, else up.
    const uint32_t* range = channels_.Range(s, in_cone);
    const FillChannels::Hop* hops = channels_.hops.data() + range[0];
    const size_t n = range[1] - range[0];
    // Starting at a rotation per destination spreads ties: the hops from there on, then
    // those before (this runs for every switch and destination: no division per hop).
    const FillChannels::Hop* start = hops + (n == 0 ? 0 : rotation_ % static_cast<uint32_t>(n));
    Choice choice;
    if (in_cone) {
      // The legal hops are those into the cone, listed ascending: the same turn.
      const uint32_t* into = channels_.cone_hops.data() + cone_[s].first;
      const uint32_t* end = into + cone_[s].count;
      const uint32_t from = static_cast<uint32_t>(start - channels_.hops.data());
      for (const uint32_t* h = into; h != end; ++h)
        if (*h >= from) Consider(channels_.hops[*h], flow, choice);
      for (const uint32_t* h = into; h != end && *h < from; ++h) Consider(channels_.hops[*h], flow, choice);
    } else {
      const bool any_in_cone = std::any_of(hops, hops + n, [&](const FillChannels::Hop& h) { return In(cone, h.to); });
      // Legal next switches: in the cone when a parent is, else any that can climb.
      const Legal legal{.bits = any_in_cone || t_.complete ? cone : t_.climb.row(li_),
                        .any = !any_in_cone && t_.complete};
      Weigh(start, hops + n, legal, flow, choice);
      Weigh(hops, start, legal, flow, choice);
    }
    if (choice.channel == kNone) return;
    chan_[s] = choice.channel;
    next_[s] = choice.next;
    memo_[s].root = choice.next == dest_ ? s : memo_[choice.next].root;
    Remember(s, choice.best, flow);
  }

  static bool In(const uint64_t* bits, uint32_t b) { return (bits[b / 64] >> (b % 64)) & 1; }

  // The next switches a choice may take: those in `bits`, or any when `any`.
  struct Legal {
    const uint64_t* bits;
    bool any;
  };

  // The best candidate so far: its path cost, channel and the switch it reaches. No path
  // costs as much as none (loads stay far below), so the first legal candidate wins.
  struct Choice {
    Cost best{kNoPath, kNoPath};
    uint32_t channel = kNone, next = kNone;
  };

  // Weighs the legal hops of [from, to) in turn.
  void Weigh(const FillChannels::Hop* from, const FillChannels::Hop* to, const Legal& legal, uint64_t flow,
             Choice& choice) {
    for (const FillChannels::Hop* hop = from; hop != to; ++hop)
      if (legal.any || In(legal.bits, hop->to)) Consider(*hop, flow, choice);
  }

  // Weighs `hop` (a legal one): it wins when its path is cheaper than the choice so far.
  [[gnu::always_inline]] void Consider(const FillChannels::Hop& hop, uint64_t flow, Choice& choice) {
    const uint32_t t = hop.to;
    if (memo_[t].stamp != tick_) Decide(t, flow);
    const std::optional<Cost> rest = PathCost(t, flow);
    if (!rest) return;
    // The cost grows with the channel's load, so the group's first least loaded cable is
    // its best.
    uint32_t pick = hop.first;
    uint64_t low = Weighed(pick, flow);
    for (uint32_t c = hop.first + 1; c < (&hop)[1].first; ++c) {
      const uint64_t v = Weighed(c, flow);
      pick = v < low ? c : pick;
      low = std::min(low, v);
    }
    const Cost here{std::max(rest->worst, low), rest->total + low};
    const bool cheaper = here < choice.best;
    choice.best.worst = cheaper ? here.worst : choice.best.worst;
    choice.best.total = cheaper ? here.total : choice.best.total;
    choice.channel = cheaper ? pick : choice.channel;
    choice.next = cheaper ? t : choice.next;
  }

  const Tree& t_;
  const SwitchGraph& g_;
  const FillChannels& channels_;
  // Per switch, for the destination being routed: the channel taken (kNone: no route) and
  // the switch it reaches, once decided (its memo's stamp is tick_).
  std::vector<uint32_t> chan_, next_;
  // Per switch of the destination's cone: its hops into the cone (count 0 elsewhere).
  struct ConeHops {
    uint32_t first = 0, count = 0;  // channels_.cone_hops[first, first + count)
  };
  std::vector<ConeHops> cone_;
  // The chosen paths form a tree towards the destination, so two paths share a channel
  // exactly when they share their last switch before the destination (their root). Per
  // switch: its root (kNone: no route) and its path cost as last weighed with `flow`,
  // valid while its root's version is the one it was weighed at; a flow's loads bump the
  // version of its root.
  struct PathMemo {
    Cost cost;
    uint64_t flow = 0, version = 0;
    uint32_t root = kNone;
    uint32_t stamp = 0;  // tick_ when decided for the current destination
  };
  std::vector<PathMemo> memo_;
  std::vector<uint64_t> version_;  // per root switch
  uint64_t versions_ = 0;
  uint32_t tick_ = 0, dest_ = kNone;
  size_t li_ = 0;
  uint32_t rotation_ = 0;  // the destination's LID
};

// The fill: a first pass over the destinations, then rerouting rounds (Run). The result does
// not depend on the thread count.
class GreedyFill {
 public:
  // `bound`: the subnet's cut bound of switches (balanced::MakeSetup), which ends the rounds.
  GreedyFill(const Tree& t, const Fabric& f, const ChannelCapacity& capacity, uint64_t bound, SubnetRoutes& out)
      : t_(t), g_(t.g), out_(out), L_(out.num_lids()), channels_(t, f, capacity), bound_(bound) {
    order_ = Order();
    lanes_.emplace_back(t_, channels_);
  }

  // The first pass, then (unless `one_pass`), while the busiest channel is more than 5%
  // above the cut bound, rerouting rounds: each destination's routes come off and it is
  // routed again against all the others' loads. The first pass routes early destinations
  // into an empty fabric, and a switch's cable towards a destination is chosen before it
  // knows how many flows will follow it; on leaf-spines with several cables per leaf-spine pair that left the
  // busiest cable 12-25% above the bound. A round that leaves the busiest channel as it was
  // is kept (its other loads moved, and the next round may gain from that), but two such
  // rounds in a row end the rounds; a round that makes it heavier is undone.
  void Run(unsigned threads, bool one_pass) {
    if (UsesLanes())
      FirstPassInLanes(threads);
    else
      SequentialPass(Pass::kFirst);
    // The undo copies the LFT: no rounds where that would cost too much memory.
    if (one_pass || out_.lft.size() > balanced::kUndoableLftBytes) return;
    FillLane& lane = lanes_.front();
    unsigned flat = 0;  // rounds in a row that did not lower the busiest channel
    for (unsigned round = 0; round < kMaxRerouteRounds && flat < kFlatRounds && lane.Busiest() * 20 > bound_ * 21;
         ++round) {
      const uint64_t before = lane.Busiest();
      std::vector<uint8_t> lft = out_.lft;
      std::vector<uint64_t> load = lane.load;
      SequentialPass(Pass::kReroute);
      if (lane.Busiest() > before) {
        out_.lft.swap(lft);
        lane.load.swap(load);
        break;
      }
      ++rounds_kept_;
      flat = lane.Busiest() < before ? 0 : flat + 1;
    }
  }

  unsigned rounds_kept() const { return rounds_kept_; }

  // Whether the busiest channel is more than 1% above the cut bound: only then can moving
  // single flows gain enough to be worth a look at every route.
  bool AboveBound() const { return lanes_.front().Busiest() * 100 > bound_ * 101; }

  // Whether the first pass runs in lanes: from the tree's size alone, not the thread count.
  bool UsesLanes() const {
    return order_.size() >= kLaneDestinations && ThreadsFor(size_t{g_.num_switches()} * L_, kLanes) == kLanes;
  }

 private:
  enum class Pass { kFirst, kReroute };
  static constexpr unsigned kMaxRerouteRounds = 8;
  static constexpr unsigned kFlatRounds = 2;
  // Trees with at least this many destinations take their first pass in lanes, when they
  // are big enough for a second thread (ThreadsFor): their fill is long, and a batch (the
  // routes a lane does not see) is a small share of it.
  static constexpr size_t kLaneDestinations = 8192;
  static constexpr unsigned kLanes = 2;
  static constexpr size_t kLaneBatch = 32;  // destinations per batch, over all lanes

  struct Destination {
    Lid lid;
    size_t leaf;  // index into the tree's leaves
  };

  // Destinations interleaved over the leaves, so that early routes spread over the tree.
  std::vector<Destination> Order() const {
    std::vector<Destination> order;
    size_t widest = 0;
    for (uint32_t leaf : t_.leaves) widest = std::max(widest, g_.endpoint_lids(leaf).size());
    for (size_t i = 0; i < widest; ++i)
      for (size_t li = 0; li < t_.leaves.size(); ++li)
        if (std::span<const Lid> lids = g_.endpoint_lids(t_.leaves[li]); i < lids.size())
          order.push_back(Destination{.lid = lids[i], .leaf = li});
    return order;
  }

  // Every destination in order on one lane, its column written as it is routed.
  void SequentialPass(Pass pass) {
    FillLane& lane = lanes_.front();
    for (const Destination& d : order_) {
      if (pass == Pass::kReroute) lane.TakeOff(d.lid, t_.leaves[d.leaf], out_);
      lane.Route(d.lid, d.leaf);
      for (uint32_t s = 0; s < g_.num_switches(); ++s) out_.lft[size_t{s} * L_ + d.lid] = lane.Entry(s, d.lid);
    }
  }

  // The first pass of a big tree, in kLanes lanes side by side. The destinations, in
  // order, go in batches of kLaneBatch, dealt to the lanes in turn; each lane routes its
  // part of a batch against the loads of all earlier batches plus its own routes in this
  // batch, then the lanes' loads are summed and their columns written. Lanes and batches
  // do not depend on the thread count, so neither does the result; a route misses only the
  // other lanes' routes of its own batch.
  void FirstPassInLanes(unsigned threads) {
    const uint32_t num_switches = g_.num_switches();
    while (lanes_.size() < kLanes) lanes_.emplace_back(t_, channels_);
    std::vector<uint64_t> total(channels_.size(), 0);
    // Per lane: the entries of its destinations in the batch, a column of switches each.
    std::vector<std::vector<uint8_t>> columns(kLanes, std::vector<uint8_t>(kLaneBatch / kLanes * num_switches));
    const size_t batches = (order_.size() + kLaneBatch - 1) / kLaneBatch;
    // Nothing in a batch allocates or throws; were it to, the process ends (noexcept)
    // rather than leave a lane waiting at the barrier.
    auto route = [&](size_t b, unsigned k) noexcept {
      FillLane& lane = lanes_[k];
      uint8_t* column = columns[k].data();
      for (size_t p = b * kLaneBatch + k; p < std::min(order_.size(), (b + 1) * kLaneBatch); p += kLanes) {
        lane.Route(order_[p].lid, order_[p].leaf);
        for (uint32_t s = 0; s < num_switches; ++s) *column++ = lane.Entry(s, order_[p].lid);
      }
    };
    // Part k of the batch's end: a share of the channels' loads and of the LFT's rows.
    auto merge = [&](size_t b, unsigned k) noexcept {
      for (size_t c = channels_.size() * k / kLanes; c < channels_.size() * (k + 1) / kLanes; ++c) {
        uint64_t sum = 0;
        for (const FillLane& lane : lanes_) sum += lane.load[c];
        total[c] = sum - (kLanes - 1) * total[c];
      }
      const size_t first = b * kLaneBatch, last = std::min(order_.size(), first + kLaneBatch);
      for (size_t s = size_t{num_switches} * k / kLanes; s < size_t{num_switches} * (k + 1) / kLanes; ++s)
        for (size_t p = first; p < last; ++p)
          out_.lft[s * L_ + order_[p].lid] = columns[(p - first) % kLanes][(p - first) / kLanes * num_switches + s];
    };
    if (threads < 2) {
      for (size_t b = 0; b < batches; ++b) {
        for (unsigned k = 0; k < kLanes; ++k) route(b, k);
        for (unsigned k = 0; k < kLanes; ++k) merge(b, k);
        for (FillLane& lane : lanes_) lane.load = total;
      }
    } else {
      std::barrier sync(kLanes);
      auto run_lane = [&](unsigned k) noexcept {
        for (size_t b = 0; b < batches; ++b) {
          route(b, k);
          sync.arrive_and_wait();
          merge(b, k);
          sync.arrive_and_wait();
          lanes_[k].load = total;
        }
      };
      std::vector<std::thread> others;
      for (unsigned k = 1; k < kLanes; ++k) others.emplace_back(run_lane, k);
      run_lane(0);
      for (std::thread& t : others) t.join();
    }
    while (lanes_.size() > 1) lanes_.pop_back();
  }

  const Tree& t_;
  const SwitchGraph& g_;
  SubnetRoutes& out_;
  const size_t L_;
  const FillChannels channels_;
  std::vector<Destination> order_;
  std::vector<FillLane> lanes_;  // the first carries the loads of every route so far
  uint64_t bound_ = 0;           // the cut bound (balanced::CutBound) in the loads' units
  unsigned rounds_kept_ = 0;
};
// Switch LIDs: a leaf's LID follows the routes of its first endpoint (legal Up*/Down*
// paths, and no search); other switches' LIDs take shortest paths.
void RouteSwitchLids(const SwitchGraph& g, const std::vector<uint32_t>& level, unsigned threads, SubnetRoutes& out) {
  const uint32_t num_switches = g.num_switches();
  const size_t num_lids = out.num_lids();
  ParallelFor(
      num_switches, threads,
      [&](size_t si) {
        const uint32_t t = static_cast<uint32_t>(si);
        const Lid lid = g.switch_lid(t);
        if (lid == 0) return;
        if (level[t] == 0 && !g.endpoint_lids(t).empty()) {
          const Lid x0 = g.endpoint_lids(t).front();
          for (uint32_t s = 0; s < num_switches; ++s)
            if (s != t) out.lft[size_t{s} * num_lids + lid] = out.lft[size_t{s} * num_lids + x0];
          return;
        }
        std::vector<uint32_t> scratch;
        RouteSwitchLidShortest(g, lid, out, scratch);
      },
      16);
}

// True when every switch of a level has as many parents, children and cables to each as the
// others, and every top switch reaches every leaf: destination-mod-k needs such a tree (and
// endpoints that divide over its cables: UnevenSwitch).
bool Regular(const Tree& t) {
  if (!t.complete) return false;
  const SwitchGraph& g = t.g;
  auto cables = [&](const std::vector<uint32_t>& groups) {
    size_t n = 0;
    for (uint32_t e : groups) n += g.ports(e).size();
    return n;
  };
  using Shape = std::array<size_t, 4>;
  std::vector<std::optional<Shape>> shape_of_level(g.num_switches());
  for (uint32_t s = 0; s < g.num_switches(); ++s) {
    Shape shape{t.up[s].size(), cables(t.up[s]), t.down[s].size(), cables(t.down[s])};
    std::optional<Shape>& seen = shape_of_level[t.level[s]];
    if (seen && *seen != shape) return false;
    seen = shape;
  }
  return true;
}

// Destination-mod-k sends all routes to one destination down the same cables, so the
// cables down into a switch carry whole destinations, each with the routes of every source
// outside the switch's cone. A leaf's destinations go up its cables by the first digit of
// their ordinals, those through a switch above by the next digit, and so on. Where more
// destinations pass a switch than it has up cables, not a multiple of them, some cable down
// into it carries one destination more (16 endpoints on a leaf with 7 up cables: 3
// destinations on one cable, 31% above the cut bound); where fewer pass, they take turns
// over the cables (ChainFill), a destination's routes split only as many ways as it fits
// whole times (12 endpoints on a leaf with 18 up cables: one way, 50% above). Names the
// switch whose cable would carry the most, when that is more than 5% above the cut bound
// `bound`, the rerouting rounds' target ("" otherwise).
std::string UnevenSwitch(const Fabric& f, const Tree& t, uint64_t bound) {
  const SwitchGraph& g = t.g;
  const uint32_t switches = g.num_switches();
  std::vector<uint64_t> below(switches, 0);
  uint64_t endpoints = 0;
  for (size_t li = 0; li < t.leaves.size(); ++li) {
    const uint64_t on_leaf = g.endpoint_lids(t.leaves[li]).size();
    endpoints += on_leaf;
    const uint64_t* row = t.cone.row(li);
    for (size_t w = 0; w < t.cone.words(); ++w)
      for (uint64_t bits = row[w]; bits != 0; bits &= bits - 1)
        below[w * 64 + size_t(std::countr_zero(bits))] += on_leaf;
  }
  // Per level: a switch's up cables (every switch of a level of a regular tree has as many),
  // and the product of those of the levels below, the digits below (held under 2^40).
  std::vector<uint64_t> up_cables;
  for (uint32_t s = 0; s < switches; ++s) {
    if (t.level[s] >= up_cables.size()) up_cables.resize(t.level[s] + 1, 0);
    uint64_t cables = 0;
    for (uint32_t e : t.up[s]) cables += g.ports(e).size();
    up_cables[t.level[s]] = cables;
  }
  std::vector<uint64_t> lower(up_cables.size(), 1);
  for (size_t l = 1; l < lower.size(); ++l)
    lower[l] = std::min(lower[l - 1] * std::max<uint64_t>(1, up_cables[l - 1]), uint64_t{1} << 40);
  uint64_t most = 0;  // the most destination-mod-k puts on a cable down into switch `worst`
  uint32_t worst = 0;
  for (uint32_t s = 0; s < switches; ++s) {
    const uint64_t outside = endpoints - below[s], cables = up_cables[t.level[s]], digits = lower[t.level[s]];
    if (t.up[s].empty() || below[s] == 0 || outside == 0 || below[s] % digits != 0)
      continue;  // top, none, uneven below
    const uint64_t through = below[s] / digits;
    const uint64_t on_cable = through >= cables ? (through + cables - 1) / cables * outside
                                                : (outside + cables / through - 1) / (cables / through);
    if (on_cable > most) {
      most = on_cable;
      worst = s;
    }
  }
  if (most * 100 <= bound * 105) return "";
  return fmt::format("{} routes on a cable down into '{}', cut bound {}", most, f.description(g.node(worst)), bound);
}

// The tree's shape as found from the switch graph; Tree views it. `problem` says why the
// subnet is no fat tree (then the rest is incomplete).
struct TreeShape {
  std::string problem;
  std::vector<uint32_t> level;
  uint32_t top_level = 0;
  std::vector<std::vector<uint32_t>> up, down;  // neighbour groups, per switch
  std::vector<uint32_t> leaves, leaf_index;     // leaf_index: kNone for other switches
  size_t tops = 0;                              // switches at the top level
  BitRows cone{0, 0}, climb{0, 0};
  bool complete = false;
};

// Levels: tier labels when every switch has one, else hops from the nearest leaf (a switch
// with endpoints). Endpoints only on leaves, at most 17 levels.
void FindLevels(const Fabric& f, const SwitchGraph& g, TreeShape& t) {
  const uint32_t switches = g.num_switches();
  auto name = [&](uint32_t s) { return f.description(g.node(s)); };
  t.level.assign(switches, kNone);
  bool labelled = true;
  for (uint32_t s = 0; s < switches; ++s) labelled = labelled && f.node(g.node(s)).labels.tier >= 1;
  if (labelled) {
    for (uint32_t s = 0; s < switches; ++s) t.level[s] = static_cast<uint32_t>(f.node(g.node(s)).labels.tier - 1);
  } else {
    std::vector<uint32_t> queue;
    std::vector<uint8_t> seen(switches, 0);
    for (uint32_t s = 0; s < switches; ++s)
      if (!g.endpoint_lids(s).empty()) {
        t.level[s] = 0;
        seen[s] = 1;
        queue.push_back(s);
      }
    if (queue.empty()) {
      t.problem = "no endpoints, so no leaf switches";
      return;
    }
    BreadthFirst(
        g, queue, seen, [&](uint32_t x) { return AllGroups(g, x); },
        [&](uint32_t y, uint32_t x) { t.level[y] = t.level[x] + 1; });
  }
  for (uint32_t s = 0; s < switches; ++s) {
    t.top_level = std::max(t.top_level, t.level[s]);
    if (t.level[s] != 0 && !g.endpoint_lids(s).empty()) {
      t.problem = fmt::format("endpoints on '{}', a tier-{} switch", name(s), t.level[s] + 1);
      return;
    }
  }
  if (t.top_level > 16) t.problem = fmt::format("{} tiers: not a fat tree", t.top_level + 1);
}

// Up and down neighbour groups (parents before children in each switch's neighbour list
// order); every cable joins adjacent levels, every switch below the top has parents and
// every switch above the leaves has children.
void GroupNeighbours(const Fabric& f, const SwitchGraph& g, TreeShape& t) {
  const uint32_t switches = g.num_switches();
  auto name = [&](uint32_t s) { return f.description(g.node(s)); };
  t.up.assign(switches, {});
  t.down.assign(switches, {});
  for (uint32_t s = 0; s < switches && t.problem.empty(); ++s) {
    const uint32_t level = t.level[s];
    for (uint32_t e = g.begin(s); e < g.end(s); ++e) {
      const uint32_t n = g.nbr(e);
      if (t.level[n] == level + 1) {
        t.up[s].push_back(e);
      } else if (t.level[n] + 1 == level) {
        t.down[s].push_back(e);
      } else {
        t.problem = fmt::format("'{}' (tier {}) is cabled to '{}' (tier {}): not a fat tree", name(s), level + 1,
                                name(n), t.level[n] + 1);
        return;
      }
    }
    if (t.up[s].empty() && level != t.top_level)
      t.problem =
          fmt::format("'{}' at tier {} has no up-links but the tree has {} tiers", name(s), level + 1, t.top_level + 1);
    else if (level > 0 && t.down[s].empty())
      t.problem = fmt::format("'{}' at tier {} has no down-links", name(s), level + 1);
  }
}

// Leaves and their cones (a leaf's ancestors, itself included); complete when every top
// switch is in every cone.
void FindCones(const SwitchGraph& g, unsigned threads, TreeShape& t) {
  const uint32_t switches = g.num_switches();
  t.leaf_index.assign(switches, kNone);
  for (uint32_t s = 0; s < switches; ++s) {
    if (t.level[s] == 0) {
      t.leaf_index[s] = static_cast<uint32_t>(t.leaves.size());
      t.leaves.push_back(s);
    }
    t.tops += t.level[s] == t.top_level;
  }
  const size_t leaf_count = t.leaves.size();
  t.cone = BitRows(leaf_count, switches);
  std::vector<uint8_t> full(leaf_count, 0);
  ParallelFor(
      leaf_count, threads,
      [&](size_t li) {
        std::vector<uint32_t> queue{t.leaves[li]};
        std::vector<uint8_t> seen(switches, 0);
        seen[t.leaves[li]] = 1;
        BreadthFirst(
            g, queue, seen, [&](uint32_t x) { return std::span<const uint32_t>(t.up[x]); }, [](uint32_t, uint32_t) {});
        size_t top_count = 0;
        for (uint32_t x : queue) top_count += t.level[x] == t.top_level;
        full[li] = top_count == t.tops;
        // Bits of one row are written by one thread only; rows are word-aligned.
        for (uint32_t x : queue) t.cone.set(li, x);
      },
      16);
  t.complete = std::all_of(full.begin(), full.end(), [](uint8_t v) { return v != 0; });
}

// On a degraded tree: climb.test(li, s) when s can climb into the cone of leaf li. Every
// pair of leaves needs a common ancestor, else `problem` names one such pair.
void FindClimbs(const Fabric& f, const SwitchGraph& g, unsigned threads, TreeShape& t) {
  const uint32_t switches = g.num_switches();
  const size_t leaf_count = t.leaves.size();
  t.climb = BitRows(leaf_count, switches);
  std::vector<std::string> problems(leaf_count);
  ParallelFor(leaf_count, threads, [&](size_t li) {
    std::vector<uint32_t> queue;
    std::vector<uint8_t> seen(switches, 0);
    for (uint32_t s = 0; s < switches; ++s)
      if (t.cone.test(li, s)) {
        seen[s] = 1;
        queue.push_back(s);
      }
    BreadthFirst(
        g, queue, seen, [&](uint32_t x) { return std::span<const uint32_t>(t.down[x]); }, [](uint32_t, uint32_t) {});
    for (uint32_t s : queue) t.climb.set(li, s);
    for (uint32_t other : t.leaves)
      if (!seen[other]) {
        problems[li] = fmt::format("leaves '{}' and '{}' have no common ancestor", f.description(g.node(t.leaves[li])),
                                   f.description(g.node(other)));
        break;
      }
  });
  for (const std::string& p : problems)
    if (!p.empty()) {
      t.problem = p;
      return;
    }
}

// The whole shape, or the reason the subnet is not a fat tree in `problem`.
TreeShape FindTree(const Fabric& f, const SwitchGraph& g, unsigned threads) {
  TreeShape t;
  FindLevels(f, g, t);
  if (t.problem.empty()) GroupNeighbours(f, g, t);
  if (!t.problem.empty()) return t;
  FindCones(g, threads, t);
  if (!t.complete) FindClimbs(f, g, threads, t);
  return t;
}

// Destination-mod-k fill for regular trees (see ftree.h): per endpoint LID a chain of
// ancestors picked by the digits of its ordinal; each switch's row filled on its own.
class ChainFill {
 public:
  ChainFill(const Tree& tree, const TreeShape& shape, SubnetRoutes& out)
      : t_(tree), shape_(shape), g_(tree.g), out_(out), lids_(out.num_lids()), width_(shape.top_level + 1) {}

  void Run(unsigned threads) {
    BuildChains();
    BuildTables();
    ParallelFor(
        g_.num_switches(), threads, [&](size_t s) { FillRow(static_cast<uint32_t>(s)); }, 4);
    // Switches no chain passes (parents a leaf with few endpoints leaves spare): shortest paths.
    ParallelFor(g_.num_switches(), threads, [&](size_t t) {
      std::vector<uint32_t> scratch;
      if (const Lid lid = g_.switch_lid(static_cast<uint32_t>(t)); lid != 0 && via_[t] == 0)
        RouteSwitchLidShortest(g_, lid, out_, scratch);
    });
  }

 private:
  static constexpr uint8_t kMulti = 0xFF;          // port_of: parallel cables to that neighbour
  static constexpr uint32_t kSeveral = kNone - 1;  // only_child: several children lead there

  // What one switch's row needs to know about its neighbours, built once per row.
  struct RowTables {
    std::vector<uint32_t> group_of;  // per switch: the group reaching it, kNone for none
    // port_of[t]: the port to neighbour t when a single cable joins them, kMulti for
    // parallel cables, 0 for no neighbour: one load per entry in the common case.
    std::vector<uint8_t> port_of;
    // Leaves below any (every) parent, and the only child above each leaf (kNone: none;
    // kSeveral: several).
    std::vector<uint64_t> under_any, under_all;
    std::vector<uint32_t> only_child;
  };

  // Chains: per endpoint LID, a_0..a_H and the digit quotients q_0..q_H of its ordinal.
  // Each leaf takes a block of ordinals as wide as its endpoints rounded up to a multiple
  // of its uplinks, so that every leaf's first endpoint has digit 0 at its own level and
  // the digits above count leaves, whatever the leaves before it hold (on a full tree the
  // blocks are exactly the endpoints).
  void BuildChains() {
    chain_.assign(lids_ * width_, kNone);
    quotient_.assign(lids_ * width_, 0);
    uint32_t block_start = 0;
    for (uint32_t leaf : t_.leaves) {
      const uint32_t hosts = static_cast<uint32_t>(g_.endpoint_lids(leaf).size());
      const uint32_t ups = std::max<uint32_t>(1, static_cast<uint32_t>(t_.up[leaf].size()));
      uint32_t ordinal = block_start;
      block_start += (std::max(hosts, ups) + ups - 1) / ups * ups;
      for (Lid x : g_.endpoint_lids(leaf)) {
        uint32_t ancestor = leaf, quotient = ordinal++;
        chain_[x * width_] = ancestor;
        quotient_[x * width_] = quotient;
        for (uint32_t l = 0; l + 1 < width_; ++l) {
          const std::vector<uint32_t>& parents = t_.up[ancestor];
          ancestor = g_.nbr(parents[quotient % parents.size()]);
          quotient /= static_cast<uint32_t>(parents.size());
          chain_[x * width_ + l + 1] = ancestor;
          quotient_[x * width_ + l + 1] = quotient;
        }
      }
    }
  }

  // Port counts per group, the switch whose LID each switch's entries follow, and which
  // leaves lie below each switch.
  void BuildTables() {
    const uint32_t switches = g_.num_switches();
    port_count_.resize(g_.end(switches - 1));
    first_port_.resize(port_count_.size());
    for (uint32_t e = 0; e < port_count_.size(); ++e) {
      port_count_[e] = static_cast<uint32_t>(g_.ports(e).size());
      first_port_[e] = g_.ports(e)[0];
    }
    // Switch LIDs carry management traffic only. Switch t's LID follows the routes of an
    // endpoint x0 whose chain passes t (a leaf: its first endpoint), and the chain switches
    // below t climb the chain to t instead of going down: every route towards x0 reaches
    // x0's chain (at its leaf at the latest), so it reaches t, without a search per LID and
    // within the rows (a search per LID writes a column: one cache miss per switch).
    via_.assign(switches, 0);
    for (uint32_t leaf : t_.leaves)
      for (Lid x : g_.endpoint_lids(leaf))
        for (uint32_t l = 0; l < width_; ++l)
          if (uint32_t a = chain_[x * width_ + l]; via_[a] == 0) via_[a] = x;
    // below_.test(s, li): leaf li is below switch s (s is in its cone), so that a row sees
    // at once which of its neighbours lead to a leaf without testing each per leaf.
    below_ = BitRows(switches, t_.leaves.size());
    for (size_t li = 0; li < t_.leaves.size(); ++li)
      for (uint32_t s = 0; s < switches; ++s)
        if (t_.cone.test(li, s)) below_.set(s, li);
  }

  RowTables TablesFor(uint32_t s) const {
    const uint32_t switches = g_.num_switches();
    RowTables r{.group_of = std::vector<uint32_t>(switches, kNone),
                .port_of = std::vector<uint8_t>(switches, 0),
                .under_any = std::vector<uint64_t>(below_.words(), 0),
                .under_all = std::vector<uint64_t>(below_.words(), t_.up[s].empty() ? 0 : ~uint64_t{0}),
                .only_child = std::vector<uint32_t>(t_.leaves.size(), kNone)};
    for (uint32_t e = g_.begin(s); e < g_.end(s); ++e) {
      r.group_of[g_.nbr(e)] = e;
      r.port_of[g_.nbr(e)] = port_count_[e] == 1 ? first_port_[e] : kMulti;
    }
    for (uint32_t e : t_.up[s])
      for (size_t w = 0; w < below_.words(); ++w) {
        r.under_any[w] |= below_.row(g_.nbr(e))[w];
        r.under_all[w] &= below_.row(g_.nbr(e))[w];
      }
    for (uint32_t e : t_.down[s])
      for (size_t w = 0; w < below_.words(); ++w)
        for (uint64_t bits = below_.row(g_.nbr(e))[w]; bits != 0; bits &= bits - 1) {
          uint32_t& child = r.only_child[w * 64 + static_cast<size_t>(__builtin_ctzll(bits))];
          child = child == kNone ? e : kSeveral;
        }
    return r;
  }

  // The groups switch s may take towards leaf li (down into its cone, else up towards it);
  // `blind` when climbing and no parent is an ancestor of the leaf.
  void Candidates(uint32_t s, size_t li, const RowTables& r, std::vector<uint32_t>& candidates, bool& blind) const {
    auto has = [](const std::vector<uint64_t>& set, size_t i) { return (set[i / 64] >> (i % 64)) & 1; };
    blind = false;
    candidates.clear();
    if (t_.cone.test(li, s)) {
      if (r.only_child[li] != kSeveral) {
        if (r.only_child[li] != kNone) candidates.push_back(r.only_child[li]);
      } else {
        for (uint32_t e : t_.down[s])
          if (t_.cone.test(li, g_.nbr(e))) candidates.push_back(e);
      }
    } else if (has(r.under_all, li)) {
      candidates = t_.up[s];
    } else {
      if (has(r.under_any, li))
        for (uint32_t e : t_.up[s])
          if (t_.cone.test(li, g_.nbr(e))) candidates.push_back(e);
      blind = candidates.empty();
      if (blind)
        for (uint32_t e : t_.up[s])
          if (t_.can_climb(li, g_.nbr(e))) candidates.push_back(e);
    }
  }

  // Switch s's entries towards the endpoints of leaf li.
  void FillLeaf(uint32_t s, size_t li, const RowTables& r, std::vector<uint32_t>& candidates, uint8_t* row) const {
    const uint32_t leaf = t_.leaves[li];
    const std::span<const Lid> lids = g_.endpoint_lids(leaf);
    if (lids.empty()) return;
    if (leaf == s) {
      for (Lid x : lids) row[x] = g_.lid_port(x);
      return;
    }
    bool blind = false;
    Candidates(s, li, r, candidates, blind);
    if (candidates.empty()) return;  // no legal route from here; no route passes here either
    const uint32_t level = t_.level[s];
    const bool in_cone = t_.cone.test(li, s);
    const uint32_t hosts = static_cast<uint32_t>(lids.size());
    // Turns over spare uplinks (below), per destination.
    const uint32_t spread = level == 0 && !in_cone ? static_cast<uint32_t>(candidates.size()) / hosts : 1;
    if (spread <= 1 && candidates.size() == 1 && port_count_[candidates[0]] == 1) {
      // One way on: the chain switch, when a neighbour, is that way too.
      for (Lid x : lids) row[x] = first_port_[candidates[0]];
      return;
    }
    const bool single =
        std::all_of(candidates.begin(), candidates.end(), [&](uint32_t e) { return port_count_[e] == 1; });
    Modulo digit_mod(static_cast<uint32_t>(candidates.size()));
    if (spread <= 1 && blind && single) {
      // No parent is the destination's ancestor, so no chain switch is a neighbour:
      // the destination's digit alone picks the parent.
      for (Lid x : lids) row[x] = first_port_[candidates[digit_mod(quotient_[x * width_ + level])]];
      return;
    }
    for (Lid x : lids)
      row[x] = spread > 1 ? SpreadPort(s, x, hosts, spread, candidates)
                          : ChainPort(level, in_cone, x, r, candidates, digit_mod);
  }

  // A destination leaf with fewer endpoints than the source leaf has uplinks: one parent
  // per destination (destination-mod-k) would leave cables down into that leaf idle and
  // put each destination's whole traffic on one. Instead the source leaves take turns over
  // `spread` = uplinks / endpoints disjoint parents per destination, the free digits of the
  // destination's block, so each cable down carries 1/spread of a destination. Above the
  // leaves the digits count leaves, the same for every turn, so the turns do not meet
  // again. (spread > 1 only at a leaf that climbs, so there is a level above.) The turn
  // moves with the destination's leaf (its block number), so that a source leaf's own
  // uplinks share its destinations evenly too.
  uint8_t SpreadPort(uint32_t s, Lid x, uint32_t hosts, uint32_t spread,
                     const std::vector<uint32_t>& candidates) const {
    const uint32_t* digits = &quotient_[x * width_];
    const uint32_t turn = (shape_.leaf_index[s] + digits[1]) % spread;
    const uint32_t e = candidates[(digits[0] + hosts * turn) % candidates.size()];
    return port_count_[e] == 1 ? first_port_[e] : g_.ports(e)[digits[0] % port_count_[e]];
  }

  // The chain switch of the next level wins when it is a neighbour (a child in the cone
  // when descending, a parent when climbing); else the destination's digit picks.
  uint8_t ChainPort(uint32_t level, bool in_cone, Lid x, const RowTables& r, const std::vector<uint32_t>& candidates,
                    Modulo& digit_mod) const {
    const uint32_t* digits = &quotient_[x * width_];
    const uint32_t next_level = in_cone ? level - 1 : level + 1;
    const uint32_t target = chain_[x * width_ + next_level];
    const uint8_t direct = r.port_of[target];
    if (direct != 0 && direct != kMulti) return direct;
    uint32_t e = r.group_of[target];
    if (e == kNone) e = candidates[digit_mod(digits[in_cone ? level - 1 : level])];
    const uint32_t cables = port_count_[e];
    return cables == 1 ? first_port_[e] : g_.ports(e)[digits[std::max(level, next_level)] % cables];
  }

  // Switch s's row: destinations leaf by leaf (what a switch does for a leaf's endpoints is
  // worked out once per leaf), then the switch LIDs. A row depends on read-only tables only.
  void FillRow(uint32_t s) const {
    uint8_t* row = &out_.lft[size_t{s} * lids_];
    const RowTables r = TablesFor(s);
    std::vector<uint32_t> candidates;
    for (size_t li = 0; li < t_.leaves.size(); ++li) FillLeaf(s, li, r, candidates, row);
    const uint32_t level = t_.level[s];
    for (uint32_t t = 0; t < g_.num_switches(); ++t) {
      const Lid lid = g_.switch_lid(t), x0 = via_[t];
      if (lid == 0 || x0 == 0 || t == s) continue;
      if (level < t_.level[t] && chain_[x0 * width_ + level] == s)
        row[lid] = first_port_[r.group_of[chain_[x0 * width_ + level + 1]]];
      else
        row[lid] = row[x0];
    }
  }

  const Tree& t_;
  const TreeShape& shape_;
  const SwitchGraph& g_;
  SubnetRoutes& out_;
  const size_t lids_;
  const uint32_t width_;                    // levels
  std::vector<uint32_t> chain_, quotient_;  // [lid * width + level]
  std::vector<uint32_t> port_count_;        // per group
  std::vector<uint8_t> first_port_;         // per group
  std::vector<Lid> via_;                    // x0 per switch, 0 when no chain passes it
  BitRows below_{0, 0};
};

class FtreeEngine final : public RoutingEngine {
 public:
  std::string_view name() const override { return "ftree"; }

  Outcome Route(const RouteRequest& request, SubnetRoutes& out) const override {
    const Fabric& f = request.fabric;
    SwitchGraph g(f, request.subnet, out);
    const uint32_t switches = g.num_switches();
    if (switches == 0) return Outcome::Ok();
    // The LFT fill dominates (a step per switch and LID): small trees on the calling thread.
    const unsigned threads = ThreadsFor(size_t{switches} * out.num_lids(), request.options.threads);
    const TreeShape shape = FindTree(f, g, threads);
    if (!shape.problem.empty()) return Outcome::NotApplicable(shape.problem);
    const Tree tree{g, shape.level, shape.up, shape.down, shape.leaves, shape.cone, shape.climb, shape.complete};
    const size_t levels = shape.top_level + 1;
    const ChannelCapacity capacity(f, request.subnet);
    const uint64_t bound = balanced::MakeSetup(g, ChannelRates{.fabric = f, .capacity = capacity}).bound;
    const bool regular = Regular(tree);
    const std::string uneven = regular && capacity.uniform() ? UnevenSwitch(f, tree, bound) : "";
    if (!capacity.uniform() || !regular || !uneven.empty()) {
      GreedyFill fill(tree, f, capacity, bound, out);
      fill.Run(threads, request.options.one_pass);
      // On leaf-spines, where the tables can still get lighter and more than one pass is
      // asked for: single flows off the busiest cables.
      const LeafSpineMoves moves =
          !request.options.one_pass && fill.AboveBound() ? MoveOffBusiestCables(f, g, capacity, out) : LeafSpineMoves{};
      RouteSwitchLids(g, shape.level, threads, out);
      const unsigned rounds = fill.rounds_kept();
      const std::string kind = !shape.complete  ? "degraded (some top switches miss some leaves)"
                               : !regular       ? "irregular"
                               : uneven.empty() ? "regular"
                                                : fmt::format("regular, destination-mod-k uneven ({})", uneven);
      out.reason = fmt::format(
          "fat tree: {} levels, {} leaf switches, {} top switches, {}{}; balanced per destination{}{}{}", levels,
          shape.leaves.size(), shape.tops, kind, capacity.uniform() ? "" : ", cables of several rates",
          fill.UsesLanes() ? ", first pass in two lanes" : "",
          rounds == 0 ? "" : fmt::format(", {} rerouting round{}", rounds, rounds == 1 ? "" : "s"),
          moves.moves == 0 ? "" : fmt::format(", {} flows moved off the busiest cables", moves.moves));
      return Outcome::Ok();
    }
    ChainFill(tree, shape, out).Run(threads);
    out.reason =
        fmt::format("fat tree: {} levels, {} leaf switches, {} top switches", levels, shape.leaves.size(), shape.tops);
    return Outcome::Ok();
  }
};

}  // namespace

std::unique_ptr<RoutingEngine> MakeFtreeEngine() { return std::make_unique<FtreeEngine>(); }

}  // namespace fabricctl
