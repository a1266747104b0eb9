#include "routing/ftree.h"

#include <fmt/format.h>

#include <algorithm>

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
  size_t count(size_t r) const {
    size_t n = 0;
    for (size_t w = 0; w < words_; ++w) n += static_cast<size_t>(__builtin_popcountll(data_[r * words_ + w]));
    return n;
  }

 private:
  size_t words_;
  std::vector<uint64_t> data_;
};

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

    std::vector<uint32_t> dest_leaf(L, kNone);  // leaf index of each endpoint LID
    for (Lid x = 1; x < L; ++x)
      if (uint32_t d = g.lid_switch(x); d != kNone && !g.lid_is_switch(x)) dest_leaf[x] = leaf_index[d];
    std::vector<uint32_t> port_count(g.end(S - 1));
    std::vector<uint8_t> first_port(g.end(S - 1));
    for (uint32_t e = 0; e < port_count.size(); ++e)
      port_count[e] = uint32_t(g.ports(e).size()), first_port[e] = g.ports(e)[0];

    // Fill each switch's row; a row depends on read-only tables only.
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
          uint32_t cached = kNone;
          bool in_cone = false;
          uint32_t spread = 1, hosts = 1;  // turns over spare uplinks (below), per destination
          for (Lid x = 1; x < L; ++x) {
            const uint32_t li = dest_leaf[x];
            if (li == kNone) continue;
            const uint32_t d = leaves[li];
            if (d == s) {
              row[x] = g.lid_port(x);
              continue;
            }
            if (d != cached) {
              cached = d;
              in_cone = cone.test(li, s);
              cand.clear();
              if (in_cone) {
                for (uint32_t e : down[s])
                  if (cone.test(li, g.nbr(e))) cand.push_back(e);
              } else {
                for (uint32_t e : up[s])
                  if (cone.test(li, g.nbr(e))) cand.push_back(e);
                if (cand.empty())
                  for (uint32_t e : up[s])
                    if (can_climb(li, g.nbr(e))) cand.push_back(e);
              }
              hosts = static_cast<uint32_t>(g.endpoint_lids(d).size());
              spread = l == 0 && !in_cone ? static_cast<uint32_t>(cand.size()) / std::max(hosts, 1u) : 1;
            }
            if (cand.empty()) continue;  // no legal route from here; no route passes here either
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
              uint32_t digit = xq[in_cone ? l - 1 : l];
              e = cand.size() == 1 ? cand[0] : cand[digit % cand.size()];
            }
            const uint32_t m = port_count[e];
            row[x] = m == 1 ? first_port[e] : g.ports(e)[xq[std::max(l, next_level)] % m];
          }
        },
        4);

    // Switch LIDs: a leaf's LID follows the routes of its first endpoint (legal Up*/Down*
    // paths, and no search); other switches' LIDs take shortest paths.
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
    out.reason = fmt::format("fat tree: {} levels, {} leaf switches, {} top switches{}", H + 1, NL, tops,
                             complete ? "" : ", degraded (some top switches miss some leaves)");
    return Outcome::Ok();
  }
};

}  // namespace

std::unique_ptr<RoutingEngine> MakeFtreeEngine() { return std::make_unique<FtreeEngine>(); }

}  // namespace fabricctl
