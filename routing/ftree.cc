#include "routing/ftree.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <optional>
#include <span>

#include "routing/channel_capacity.h"
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
// Channels weigh routes by their cost (ChannelCapacity), so slower cables get fewer. Purely
// sequential: the result does not depend on the thread count.
class GreedyFill {
 public:
  GreedyFill(const Tree& t, const Fabric& f, const ChannelCapacity& capacity, SubnetRoutes& out)
      : t_(t), g_(t.g), out_(out), L_(out.num_lids()) {
    const uint32_t S = g_.num_switches();
    for (uint32_t e = 0; e < g_.end(S - 1); ++e)
      for (uint8_t p : g_.ports(e)) stride_ = std::max<uint32_t>(stride_, p + 1u);
    weight_.assign(size_t{S} * stride_, 1);
    if (!capacity.uniform())
      for (uint32_t s = 0; s < S; ++s)
        for (uint32_t e = g_.begin(s); e < g_.end(s); ++e)
          for (uint8_t p : g_.ports(e)) weight_[s * stride_ + p] = capacity.cost(f.port_id(g_.node(s), p));
    load_.assign(weight_.size(), 0);
    stamp_.assign(S, 0);
    chan_.assign(S, kNone);
    next_.assign(S, kNone);
  }

  void Run() {
    const uint32_t S = g_.num_switches();
    const size_t NL = t_.leaves.size();
    size_t widest = 0;
    for (uint32_t leaf : t_.leaves) widest = std::max(widest, g_.endpoint_lids(leaf).size());
    // Destinations interleaved over the leaves, so that early routes spread over the tree.
    for (size_t i = 0; i < widest; ++i)
      for (size_t li = 0; li < NL; ++li) {
        std::span<const Lid> lids = g_.endpoint_lids(t_.leaves[li]);
        if (i >= lids.size()) continue;
        RouteDestination(lids[i], li);
        for (uint32_t s = 0; s < S; ++s) {
          uint8_t& entry = out_.lft[size_t{s} * L_ + lids[i]];
          entry = s == dest_ ? g_.lid_port(lids[i]) : chan_[s] == kNone ? kNoRoute : uint8_t(chan_[s] % stride_);
        }
      }
  }

 private:
  struct Cost {
    uint64_t worst = 0, total = 0;
    bool operator<(const Cost& o) const { return worst != o.worst ? worst < o.worst : total < o.total; }
  };

  // Source leaves in turn, starting after the destination's own.
  void RouteDestination(Lid x, size_t li) {
    ++tick_;
    li_ = li;
    dest_ = t_.leaves[li];
    rotation_ = x;
    const size_t NL = t_.leaves.size();
    for (size_t k = 0; k < NL; ++k) {
      const uint32_t src = t_.leaves[(li + 1 + k) % NL];
      const uint64_t flow = g_.endpoint_lids(src).size();
      if (src == dest_ || flow == 0) continue;
      Decide(src, flow);
      for (uint32_t s = src; s != dest_ && chan_[s] != kNone; s = next_[s]) load_[chan_[s]] += flow * weight_[chan_[s]];
    }
    for (uint32_t s = 0; s < g_.num_switches(); ++s) Decide(s, 0);
  }

  // The path from t to the destination along choices made, with `flow` added to each
  // channel; nullopt when t has no route.
  std::optional<Cost> PathCost(uint32_t t, uint64_t flow) const {
    Cost c;
    for (; t != dest_; t = next_[t]) {
      if (chan_[t] == kNone) return std::nullopt;
      const uint64_t v = load_[chan_[t]] + flow * weight_[chan_[t]];
      c.worst = std::max(c.worst, v);
      c.total += v;
    }
    return c;
  }

  // Makes switch s's choice for the current destination (once), weighing `flow` routes.
  void Decide(uint32_t s, uint64_t flow) {
    if (stamp_[s] == tick_) return;
    stamp_[s] = tick_;
    chan_[s] = next_[s] = kNone;
    if (s == dest_) return;
    const bool in_cone = t_.cone.test(li_, s);
    bool any_in_cone = false;
    if (!in_cone)
      for (uint32_t e : t_.up[s]) any_in_cone = any_in_cone || t_.cone.test(li_, g_.nbr(e));
    const std::vector<uint32_t>& groups = in_cone ? t_.down[s] : t_.up[s];
    std::optional<Cost> best;
    const size_t n = groups.size();
    for (size_t k = 0; k < n; ++k) {
      const uint32_t e = groups[(rotation_ + k) % n], t = g_.nbr(e);
      const bool legal = in_cone || any_in_cone ? t_.cone.test(li_, t) : t_.can_climb(li_, t);
      if (!legal) continue;
      Decide(t, flow);
      std::optional<Cost> rest = PathCost(t, flow);
      if (!rest) continue;
      for (uint8_t p : g_.ports(e)) {
        const uint32_t c = s * stride_ + p;
        const uint64_t v = load_[c] + flow * weight_[c];
        Cost here{std::max(rest->worst, v), rest->total + v};
        if (!best || here < *best) best = here, chan_[s] = c, next_[s] = t;
      }
    }
  }

  const Tree& t_;
  const SwitchGraph& g_;
  SubnetRoutes& out_;
  const size_t L_;
  uint32_t stride_ = 1;
  std::vector<uint32_t> weight_;  // per channel (switch * stride + port): cost of one route
  std::vector<uint64_t> load_;    // per channel: routes so far times their weight
  // Per switch, for the destination being routed: decided when stamp == tick_, the channel
  // taken (kNone: no route) and the switch it reaches.
  std::vector<uint32_t> stamp_, chan_, next_;
  uint32_t tick_ = 0, dest_ = kNone;
  size_t li_ = 0, rotation_ = 0;
};

// Switch LIDs: a leaf's LID follows the routes of its first endpoint (legal Up*/Down*
// paths, and no search); other switches' LIDs take shortest paths.
void RouteSwitchLids(const SwitchGraph& g, const std::vector<uint32_t>& level, unsigned threads, SubnetRoutes& out) {
  const uint32_t S = g.num_switches();
  const size_t L = out.num_lids();
  ParallelFor(
      S, threads,
      [&](size_t si) {
        const uint32_t t = static_cast<uint32_t>(si);
        const Lid lid = g.switch_lid(t);
        if (lid == 0) return;
        if (level[t] == 0 && !g.endpoint_lids(t).empty()) {
          const Lid x0 = g.endpoint_lids(t).front();
          for (uint32_t s = 0; s < S; ++s)
            if (s != t) out.lft[size_t{s} * L + lid] = out.lft[size_t{s} * L + x0];
          return;
        }
        std::vector<uint32_t> scratch;
        RouteSwitchLidShortest(g, lid, out, scratch);
      },
      16);
}

// True when every switch of a level has as many parents, children and cables to each as the
// others, and every top switch reaches every leaf: destination-mod-k balances such trees.
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

class FtreeEngine final : public RoutingEngine {
 public:
  std::string_view name() const override { return "ftree"; }

  Outcome Route(const RouteRequest& request, SubnetRoutes& out) const override {
    const Fabric& f = request.fabric;
    SwitchGraph g(f, request.subnet, out);
    const uint32_t S = g.num_switches();
    const size_t L = out.num_lids();
    if (S == 0) return Outcome::Ok();
    auto name = [&](uint32_t s) { return f.description(g.node(s)); };

    // Levels: tier labels when every switch has one, else hops from the nearest leaf.
    std::vector<uint32_t> level(S, kNone);
    bool labelled = true;
    for (uint32_t s = 0; s < S; ++s) labelled = labelled && f.node(g.node(s)).labels.tier >= 1;
    if (labelled) {
      for (uint32_t s = 0; s < S; ++s) level[s] = static_cast<uint32_t>(f.node(g.node(s)).labels.tier - 1);
    } else {
      std::vector<uint32_t> queue;
      for (uint32_t s = 0; s < S; ++s)
        if (!g.endpoint_lids(s).empty()) level[s] = 0, queue.push_back(s);
      if (queue.empty()) return Outcome::NotApplicable("no endpoints, so no leaf switches");
      for (size_t head = 0; head < queue.size(); ++head) {
        uint32_t x = queue[head];
        for (uint32_t e = g.begin(x); e < g.end(x); ++e)
          if (uint32_t y = g.nbr(e); level[y] == kNone) level[y] = level[x] + 1, queue.push_back(y);
      }
    }
    uint32_t H = 0;
    for (uint32_t s = 0; s < S; ++s) {
      H = std::max(H, level[s]);
      if (level[s] != 0 && !g.endpoint_lids(s).empty())
        return Outcome::NotApplicable(fmt::format("endpoints on '{}', a level-{} switch", name(s), level[s]));
    }
    if (H > 16) return Outcome::NotApplicable(fmt::format("{} levels: not a fat tree", H + 1));
    // Parents before children in each switch's neighbour list order.
    std::vector<std::vector<uint32_t>> up(S), down(S);  // neighbour groups
    for (uint32_t s = 0; s < S; ++s) {
      for (uint32_t e = g.begin(s); e < g.end(s); ++e) {
        uint32_t t = g.nbr(e);
        if (level[t] == level[s] + 1)
          up[s].push_back(e);
        else if (level[t] + 1 == level[s])
          down[s].push_back(e);
        else
          return Outcome::NotApplicable(fmt::format("'{}' (level {}) is cabled to '{}' (level {}): not a fat tree",
                                                    name(s), level[s], name(t), level[t]));
      }
      if (up[s].empty() && level[s] != H)
        return Outcome::NotApplicable(
            fmt::format("'{}' at level {} has no up-links but the tree has {} levels", name(s), level[s], H + 1));
      if (level[s] > 0 && down[s].empty())
        return Outcome::NotApplicable(fmt::format("'{}' at level {} has no down-links", name(s), level[s]));
    }

    // Leaves, cones (a leaf's ancestors, itself included) and, on a degraded tree, the
    // switches that can climb into a cone.
    std::vector<uint32_t> leaves, leaf_index(S, kNone);
    for (uint32_t s = 0; s < S; ++s)
      if (level[s] == 0) leaf_index[s] = static_cast<uint32_t>(leaves.size()), leaves.push_back(s);
    const size_t NL = leaves.size();
    size_t tops = 0;
    for (uint32_t s = 0; s < S; ++s) tops += level[s] == H;
    BitRows cone(NL, S);
    std::vector<uint8_t> full(NL, 0);
    // The LFT fill dominates (a step per switch and LID): small trees on the calling thread.
    const unsigned threads = ThreadsFor(size_t{S} * L, request.options.threads);
    ParallelFor(
        NL, threads,
        [&](size_t li) {
          std::vector<uint32_t> queue{leaves[li]};
          std::vector<uint8_t> seen(S, 0);
          seen[leaves[li]] = 1;
          size_t top_count = 0;
          for (size_t head = 0; head < queue.size(); ++head) {
            uint32_t x = queue[head];
            if (level[x] == H) ++top_count;
            for (uint32_t e : up[x])
              if (uint32_t y = g.nbr(e); !seen[y]) seen[y] = 1, queue.push_back(y);
          }
          full[li] = top_count == tops;
          // Bits of one row are written by one thread only; rows are word-aligned.
          for (uint32_t x : queue) cone.set(li, x);
        },
        16);
    const bool complete = std::all_of(full.begin(), full.end(), [](uint8_t v) { return v != 0; });
    // reach(li, s): s can climb into the cone of leaf li (every switch can when every top
    // switch reaches every leaf).
    BitRows climb(complete ? 0 : NL, S);
    if (!complete) {
      std::vector<std::string> problems(NL);
      ParallelFor(NL, threads, [&](size_t li) {
        std::vector<uint32_t> queue;
        std::vector<uint8_t> seen(S, 0);
        for (uint32_t s = 0; s < S; ++s)
          if (cone.test(li, s)) seen[s] = 1, queue.push_back(s);
        for (size_t head = 0; head < queue.size(); ++head)
          for (uint32_t e : down[queue[head]])
            if (uint32_t y = g.nbr(e); !seen[y]) seen[y] = 1, queue.push_back(y);
        for (uint32_t s : queue) climb.set(li, s);
        for (uint32_t other : leaves)
          if (!seen[other]) {
            problems[li] = fmt::format("leaves '{}' and '{}' have no common ancestor", name(leaves[li]), name(other));
            break;
          }
      });
      for (const std::string& p : problems)
        if (!p.empty()) return Outcome::NotApplicable(p);
    }
    auto can_climb = [&](size_t li, uint32_t s) { return complete || climb.test(li, s); };
    const Tree tree{g, level, up, down, leaves, cone, climb, complete};
    if (ChannelCapacity capacity(f, request.subnet); !capacity.uniform() || !Regular(tree)) {
      GreedyFill(tree, f, capacity, out).Run();
      RouteSwitchLids(g, level, threads, out);
      out.reason =
          fmt::format("fat tree: {} levels, {} leaf switches, {} top switches, {}{}; balanced per destination", H + 1,
                      NL, tops, complete ? "irregular" : "degraded (some top switches miss some leaves)",
                      capacity.uniform() ? "" : ", cables of several rates");
      return Outcome::Ok();
    }

    // Chains: per endpoint LID, a_0..a_H and the digit quotients q_0..q_H of its ordinal.
    // Each leaf takes a block of ordinals as wide as its endpoints rounded up to a multiple
    // of its uplinks, so that every leaf's first endpoint has digit 0 at its own level and
    // the digits above count leaves, whatever the leaves before it hold (on a full tree the
    // blocks are exactly the endpoints).
    const size_t W = H + 1;
    std::vector<uint32_t> chain(L * W, kNone), quot(L * W, 0);
    uint32_t block_start = 0;
    for (uint32_t leaf : leaves) {
      const uint32_t hosts = static_cast<uint32_t>(g.endpoint_lids(leaf).size());
      const uint32_t ups = std::max<uint32_t>(1, static_cast<uint32_t>(up[leaf].size()));
      uint32_t ordinal = block_start;
      block_start += (std::max(hosts, ups) + ups - 1) / ups * ups;
      for (Lid x : g.endpoint_lids(leaf)) {
        uint32_t a = leaf, q = ordinal++;
        chain[x * W] = a;
        quot[x * W] = q;
        for (uint32_t l = 0; l < H; ++l) {
          const std::vector<uint32_t>& ps = up[a];
          a = g.nbr(ps[q % ps.size()]);
          q /= static_cast<uint32_t>(ps.size());
          chain[x * W + l + 1] = a;
          quot[x * W + l + 1] = q;
        }
      }
    }

    std::vector<uint32_t> port_count(g.end(S - 1));
    std::vector<uint8_t> first_port(g.end(S - 1));
    for (uint32_t e = 0; e < port_count.size(); ++e)
      port_count[e] = uint32_t(g.ports(e).size()), first_port[e] = g.ports(e)[0];

    // Switch LIDs carry management traffic only. Switch t's LID follows the routes of an
    // endpoint x0 whose chain passes t (a leaf: its first endpoint), and the chain switches
    // below t climb the chain to t instead of going down: every route towards x0 reaches
    // x0's chain (at its leaf at the latest), so it reaches t, without a search per LID and
    // within the rows (a search per LID writes a column: one cache miss per switch).
    std::vector<Lid> via(S, 0);  // x0 per switch, 0 when no chain passes it
    // below.test(s, li): leaf li is below switch s (s is in its cone), so that a row sees
    // at once which of its neighbours lead to a leaf without testing each per leaf.
    BitRows below(S, NL);
    for (size_t li = 0; li < NL; ++li)
      for (uint32_t s = 0; s < S; ++s)
        if (cone.test(li, s)) below.set(s, li);
    for (uint32_t leaf : leaves)
      for (Lid x : g.endpoint_lids(leaf))
        for (uint32_t l = 0; l < W; ++l)
          if (uint32_t a = chain[x * W + l]; via[a] == 0) via[a] = x;
    // Fill each switch's row; a row depends on read-only tables only. Destinations go
    // leaf by leaf: what a switch does for a leaf's endpoints is worked out once per leaf.
    ParallelFor(
        S, threads,
        [&](size_t si) {
          const uint32_t s = static_cast<uint32_t>(si);
          const uint32_t l = level[s];
          uint8_t* row = &out.lft[si * L];
          // port_of[t]: the port to neighbour t when a single cable joins them, kMulti for
          // parallel cables, 0 for no neighbour: one load per entry in the common case.
          constexpr uint8_t kMulti = 0xFF;
          std::vector<uint32_t> group_of(S, kNone);
          std::vector<uint8_t> port_of(S, 0);
          for (uint32_t e = g.begin(s); e < g.end(s); ++e) {
            group_of[g.nbr(e)] = e;
            port_of[g.nbr(e)] = port_count[e] == 1 ? first_port[e] : kMulti;
          }
          std::vector<uint32_t> cand;
          // Leaves below any (every) parent of s, and the only child of s above each leaf
          // (kNone: none; kSeveral: several).
          constexpr uint32_t kSeveral = kNone - 1;
          const size_t words = below.words();
          std::vector<uint64_t> under_any(words, 0), under_all(words, up[s].empty() ? 0 : ~uint64_t{0});
          for (uint32_t e : up[s])
            for (size_t w = 0; w < words; ++w) {
              under_any[w] |= below.row(g.nbr(e))[w];
              under_all[w] &= below.row(g.nbr(e))[w];
            }
          std::vector<uint32_t> only_child(NL, kNone);
          for (uint32_t e : down[s])
            for (size_t w = 0; w < words; ++w)
              for (uint64_t bits = below.row(g.nbr(e))[w]; bits != 0; bits &= bits - 1) {
                uint32_t& c = only_child[w * 64 + static_cast<size_t>(__builtin_ctzll(bits))];
                c = c == kNone ? e : kSeveral;
              }
          auto has = [](const std::vector<uint64_t>& set, size_t li) { return (set[li / 64] >> (li % 64)) & 1; };
          for (size_t li = 0; li < NL; ++li) {
            const uint32_t d = leaves[li];
            const std::span<const Lid> lids = g.endpoint_lids(d);
            if (lids.empty()) continue;
            if (d == s) {
              for (Lid x : lids) row[x] = g.lid_port(x);
              continue;
            }
            const bool in_cone = cone.test(li, s);
            bool blind = false;  // climbing, and no parent is an ancestor of d
            cand.clear();
            if (in_cone) {
              if (only_child[li] != kSeveral) {
                if (only_child[li] != kNone) cand.push_back(only_child[li]);
              } else {
                for (uint32_t e : down[s])
                  if (cone.test(li, g.nbr(e))) cand.push_back(e);
              }
            } else if (has(under_all, li)) {
              cand = up[s];
            } else {
              if (has(under_any, li))
                for (uint32_t e : up[s])
                  if (cone.test(li, g.nbr(e))) cand.push_back(e);
              blind = cand.empty();
              if (blind)
                for (uint32_t e : up[s])
                  if (can_climb(li, g.nbr(e))) cand.push_back(e);
            }
            if (cand.empty()) continue;  // no legal route from here; no route passes here either
            const uint32_t hosts = static_cast<uint32_t>(lids.size());
            // Turns over spare uplinks (below), per destination.
            const uint32_t spread = l == 0 && !in_cone ? static_cast<uint32_t>(cand.size()) / hosts : 1;
            if (spread <= 1 && cand.size() == 1 && port_count[cand[0]] == 1) {
              // One way on: the chain switch, when a neighbour, is that way too.
              for (Lid x : lids) row[x] = first_port[cand[0]];
              continue;
            }
            const bool single = std::all_of(cand.begin(), cand.end(), [&](uint32_t e) { return port_count[e] == 1; });
            Modulo digit_mod(static_cast<uint32_t>(cand.size()));
            if (spread <= 1 && blind && single) {
              // No parent is the destination's ancestor, so no chain switch is a neighbour:
              // the destination's digit alone picks the parent.
              for (Lid x : lids) row[x] = first_port[cand[digit_mod(quot[x * W + l])]];
              continue;
            }
            for (Lid x : lids) {
              const uint32_t* xq = &quot[x * W];
              // A destination leaf with fewer endpoints than the source leaf has uplinks: one
              // parent per destination (destination-mod-k) would leave cables down into that
              // leaf idle and put each destination's whole traffic on one. Instead the source
              // leaves take turns over `spread` = uplinks / endpoints disjoint parents per
              // destination, the free digits of the destination's block, so each cable down
              // carries 1/spread of a destination. Above the leaves the digits count leaves,
              // the same for every turn, so the turns do not meet again.
              // (spread > 1 only at a leaf that climbs, so there is a level above: xq[1].)
              if (spread > 1) {
                // The turn moves with the destination's leaf (its block number, xq[1]), so
                // that a source leaf's own uplinks share its destinations evenly too.
                const uint32_t turn = (leaf_index[s] + xq[1]) % spread;
                const uint32_t e = cand[(xq[0] + hosts * turn) % cand.size()];
                row[x] = port_count[e] == 1 ? first_port[e] : g.ports(e)[xq[0] % port_count[e]];
                continue;
              }
              // The chain switch of the next level wins when it is a neighbour (a child in
              // the cone when descending, a parent when climbing); else the destination's digit.
              const uint32_t next_level = in_cone ? l - 1 : l + 1;
              const uint32_t target = chain[x * W + next_level];
              const uint8_t direct = port_of[target];
              if (direct != 0 && direct != kMulti) {
                row[x] = direct;
                continue;
              }
              uint32_t e = group_of[target];
              if (e == kNone) {
                e = cand[digit_mod(xq[in_cone ? l - 1 : l])];
              }
              const uint32_t m = port_count[e];
              row[x] = m == 1 ? first_port[e] : g.ports(e)[xq[std::max(l, next_level)] % m];
            }
          }
          for (uint32_t t = 0; t < S; ++t) {
            const Lid lid = g.switch_lid(t), x0 = via[t];
            if (lid == 0 || x0 == 0 || t == s) continue;
            if (l < level[t] && chain[x0 * W + l] == s) {
              const uint32_t e = group_of[chain[x0 * W + l + 1]];
              row[lid] = first_port[e];
            } else {
              row[lid] = row[x0];
            }
          }
        },
        4);
    // Switches no chain passes (parents a leaf with few endpoints leaves spare): shortest paths.
    ParallelFor(S, threads, [&](size_t t) {
      std::vector<uint32_t> scratch;
      if (const Lid lid = g.switch_lid(static_cast<uint32_t>(t)); lid != 0 && via[t] == 0)
        RouteSwitchLidShortest(g, lid, out, scratch);
    });
    out.reason = fmt::format("fat tree: {} levels, {} leaf switches, {} top switches", H + 1, NL, tops);
    return Outcome::Ok();
  }
};

}  // namespace

std::unique_ptr<RoutingEngine> MakeFtreeEngine() { return std::make_unique<FtreeEngine>(); }

}  // namespace fabricctl
