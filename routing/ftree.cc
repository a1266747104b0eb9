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
        if (level[t] == level[s] + 1) up[s].push_back(e);
        else if (level[t] + 1 == level[s]) down[s].push_back(e);
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
    const unsigned threads = request.options.threads;
    std::vector<uint8_t> full(NL, 0);
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
    const size_t W = H + 1;
    std::vector<uint32_t> chain(L * W, kNone), quot(L * W, 0);
    uint32_t ordinal = 0;
    for (uint32_t leaf : leaves) {
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

    // Fill each switch's row; a row depends on read-only tables only.
    ParallelFor(
        S, threads,
        [&](size_t si) {
          const uint32_t s = static_cast<uint32_t>(si);
          const uint32_t l = level[s];
          uint8_t* row = &out.lft[si * L];
          std::vector<uint32_t> group_of(S, kNone);
          for (uint32_t e = g.begin(s); e < g.end(s); ++e) group_of[g.nbr(e)] = e;
          std::vector<uint32_t> cand;
          uint32_t cached = kNone;
          bool in_cone = false;
          for (Lid x = 1; x < L; ++x) {
            const uint32_t d = g.lid_switch(x);
            if (d == kNone || g.lid_is_switch(x)) continue;
            if (d == s) {
              row[x] = g.lid_port(x);
              continue;
            }
            const uint32_t li = leaf_index[d];
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
            }
            if (cand.empty()) continue;  // cannot happen on an accepted tree
            uint32_t e = kNone;
            uint32_t link_q;  // digit quotient of the upper end of the link used
            if (in_cone) {
              uint32_t target = chain[x * W + l - 1];
              e = group_of[target];
              if (e == kNone || level[target] + 1 != l || !cone.test(li, target))
                e = cand[quot[x * W + l - 1] % cand.size()];
              link_q = quot[x * W + l];
            } else {
              uint32_t target = chain[x * W + l + 1];
              e = group_of[target];
              if (e == kNone || level[target] != l + 1) e = cand[quot[x * W + l] % cand.size()];
              link_q = quot[x * W + l + 1];
            }
            auto ports = g.ports(e);
            row[x] = ports[link_q % ports.size()];
          }
        },
        4);

    // Switch LIDs: shortest paths.
    ParallelFor(S, threads, [&](size_t s) {
      std::vector<uint32_t> scratch;
      if (Lid lid = g.switch_lid(static_cast<uint32_t>(s)); lid != 0) RouteSwitchLidShortest(g, lid, out, scratch);
    }, 16);
    out.reason = fmt::format("fat tree: {} levels, {} leaf switches, {} top switches{}", H + 1, NL, tops,
                             complete ? "" : ", degraded (some top switches miss some leaves)");
    return Outcome::Ok();
  }
};

}  // namespace

std::unique_ptr<RoutingEngine> MakeFtreeEngine() { return std::make_unique<FtreeEngine>(); }

}  // namespace fabricctl
