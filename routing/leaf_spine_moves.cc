#include "routing/leaf_spine_moves.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "routing/cut_bound.h"

namespace fabricctl {
namespace {

// The most LFT entries handled (the spines' flows take 4 bytes per spine and LID), the
// most steps of the search in all (a move weighed, or a LID looked at for one), and how
// many moves deep a chain may go past its first.
constexpr size_t kMostEntries = size_t{1} << 22;
constexpr size_t kMostSteps = size_t{1} << 24;
constexpr unsigned kChainDepth = 2;

// A leaf-spine's cables and their loads, named by switch * stride + port; the routes per
// spine and destination; and the moves that take a flow off a cable.
class LeafSpine {
 public:
  LeafSpine(const Fabric& f, const SwitchGraph& g, const ChannelCapacity& capacity, SubnetRoutes& out)
      : g_(g), out_(out), lids_(out.num_lids()), group_of_(f, g), stride_(group_of_.stride()) {
    const uint32_t switches = g.num_switches();
    cost_.assign(group_of_.size(), 0);
    load_.assign(group_of_.size(), 0);
    visiting_.assign(group_of_.size(), 0);
    spine_of_.assign(switches, kNone);
    for (uint32_t s = 0; s < switches; ++s) {
      if (g.endpoint_lids(s).empty()) spine_of_[s] = spines_++;
      for (uint32_t grp = g.begin(s); grp < g.end(s); ++grp)
        for (uint8_t p : g.ports(grp)) cost_[Cable(s, p)] = capacity.cost(f.port_id(g.node(s), p));
    }
  }

  // Every switch cable joins a leaf (a switch with endpoints) and a spine.
  bool Shaped() const {
    if (spines_ == 0) return false;
    for (uint32_t s = 0; s < g_.num_switches(); ++s)
      for (uint32_t grp = g_.begin(s); grp < g_.end(s); ++grp)
        if (IsLeaf(s) == IsLeaf(g_.nbr(grp))) return false;
    return true;
  }

  // The cables' loads and the spines' flows from the tables; false when some endpoint
  // route is not leaf - spine - leaf.
  bool Load() {
    flow_.assign(size_t{spines_} * lids_, 0);
    for (Lid x = 1; x < g_.num_lids(); ++x) {
      const uint32_t dest = Destination(x);
      if (dest == kNone) continue;
      for (uint32_t s = 0; s < g_.num_switches(); ++s) {
        if (!IsLeaf(s) || s == dest) continue;
        const uint32_t up = Cable(s, Entry(s, x));
        if (group_of_[up] == kNone) return false;
        load_[up] += Sources(s);
        Flow(Next(up), x) += Sources(s);
      }
      for (uint32_t s = 0; s < g_.num_switches(); ++s) {
        if (IsLeaf(s) || Flow(s, x) == 0) continue;
        const uint32_t down = Cable(s, Entry(s, x));
        if (group_of_[down] == kNone || Next(down) != dest) return false;
        load_[down] += Flow(s, x);
      }
    }
    return true;
  }

  // The least the busiest cable can carry: the step bound (routing/cut_bound.h) of every
  // leaf's up cables, in the loads' cost units (a cable's weight is 1 / its cost).
  uint64_t LeafStepBound() const {
    uint64_t endpoints = 0, bound = 0;
    for (uint32_t s = 0; s < g_.num_switches(); ++s) endpoints += IsLeaf(s) ? Sources(s) : 0;
    std::vector<double> weights;
    for (uint32_t s = 0; s < g_.num_switches(); ++s) {
      if (!IsLeaf(s)) continue;
      weights.clear();
      for (uint32_t grp = g_.begin(s); grp < g_.end(s); ++grp)
        for (uint8_t p : g_.ports(grp)) weights.push_back(1.0 / cost_[Cable(s, p)]);
      const double least = StepBound(Sources(s), endpoints - Sources(s), weights);
      bound = std::max(bound, uint64_t(std::llround(least)));
    }
    return bound;
  }

  uint64_t Weighed(uint32_t cable, uint64_t more = 0) const { return (load_[cable] + more) * cost_[cable]; }

  uint64_t Busiest() const {
    uint64_t busiest = 0;
    for (uint32_t c = 0; c < load_.size(); ++c) busiest = std::max(busiest, Weighed(c));
    return busiest;
  }

  std::vector<uint32_t> CablesAt(uint64_t load) const {
    std::vector<uint32_t> at;
    for (uint32_t c = 0; c < load_.size(); ++c)
      if (load_[c] != 0 && Weighed(c) == load) at.push_back(c);
    return at;
  }

  // Takes one flow off `cable` (at `busiest`): a move whose cables all stay below it, else,
  // `depth` moves deep, one that brings a single other cable up to it and then relieves
  // that one in turn; false (and nothing changed) when neither is found within the budget.
  bool Relieve(uint32_t cable, uint64_t busiest, unsigned depth) {
    for (const bool chain : {false, true}) {
      if (chain && depth == 0) break;
      bool found = false;
      ForEachMove(cable, [&](const Move& move) {
        if (!Step()) return true;
        const Gain gain = Evaluate(move);
        if (gain.worst < busiest) {
          Apply(move);
          return found = true;
        }
        if (!chain || gain.worst > busiest || gain.second >= busiest || visiting_[gain.cable]) return false;
        const size_t mark = journal_.size(), moves = moves_;
        Apply(move);
        visiting_[cable] = 1;
        found = Relieve(gain.cable, busiest, depth - 1);
        visiting_[cable] = 0;
        if (!found) {
          Undo(mark);
          moves_ = moves;
        }
        return found;
      });
      if (found) return true;
    }
    return false;
  }

  // Forget the undo journal (the moves so far stand).
  void Settle() {
    journal_.clear();
    settled_moves_ = moves_;
  }

  // Undoes every move since the last Settle.
  void Revert() {
    Undo(0);
    moves_ = settled_moves_;
  }

  // Moves made (and not undone).
  size_t moves() const { return moves_; }

 private:
  // A change of one LFT entry: leaf s's towards x up cable `up` (and, when that reaches
  // another spine, that spine's cable `down` towards x's leaf), or spine s's down cable
  // `down` (up kNone), possibly in exchange for a lighter destination y there.
  struct Move {
    uint32_t s;
    Lid x;
    uint32_t up, down;
    Lid y = 0;  // a spine's move: the destination on `down` that takes x's cable in exchange
  };

  // The cables a move adds to: the heavier one's load after it (worst, and that cable),
  // and the other's (0 when none).
  struct Gain {
    uint64_t worst = 0, second = 0;
    uint32_t cable = kNone;
  };

  // visit(move) for every move that takes a flow off `cable`, until visit returns true.
  template <class Visit>
  void ForEachMove(uint32_t cable, const Visit& visit) {
    const uint32_t s = cable / stride_;
    const uint8_t port = uint8_t(cable % stride_);
    for (Lid x = 1; x < g_.num_lids() && Step(); ++x) {
      const uint32_t dest = Destination(x);
      if (dest == kNone || dest == s || Entry(s, x) != port) continue;
      if (IsLeaf(s)) {
        if (ForEachMoveUp(s, x, false, visit)) return;
        continue;
      }
      if (Flow(s, x) == 0) continue;
      for (uint8_t p : g_.ports(group_of_[cable]))
        if (p != port && visit(Move{s, x, kNone, Cable(s, p)})) return;
      for (uint8_t p : g_.ports(group_of_[cable]))
        for (Lid y = 1; p != port && y < g_.num_lids() && Step(); ++y)
          if (Entry(s, y) == p && Destination(y) == dest && Flow(s, y) != 0 && Flow(s, y) < Flow(s, x) &&
              visit(Move{s, x, kNone, Cable(s, p), y}))
            return;
      for (uint32_t leaf = 0; leaf < g_.num_switches(); ++leaf)
        if (IsLeaf(leaf) && leaf != dest && Next(Cable(leaf, Entry(leaf, x))) == s &&
            ForEachMoveUp(leaf, x, true, visit))
          return;
    }
  }

  // The moves of leaf's routes to x onto another up cable (to another spine only when
  // `other_spine`); true when visit returned true.
  template <class Visit>
  bool ForEachMoveUp(uint32_t leaf, Lid x, bool other_spine, const Visit& visit) {
    const uint32_t from = Cable(leaf, Entry(leaf, x)), spine = Next(from);
    for (uint32_t grp = g_.begin(leaf); grp < g_.end(leaf); ++grp) {
      const uint32_t other = g_.nbr(grp);
      if (other_spine && other == spine) continue;
      uint32_t down = kNone;
      if (other != spine) {
        down = Flow(other, x) != 0 ? Cable(other, Entry(other, x)) : LightestTo(other, Destination(x));
        if (down == kNone) continue;
      }
      for (uint8_t p : g_.ports(grp))
        if (Cable(leaf, p) != from && visit(Move{leaf, x, Cable(leaf, p), down})) return true;
    }
    return false;
  }

  Gain Evaluate(const Move& m) const {
    const uint64_t flow = m.up != kNone ? Sources(m.s) : Flow(m.s, m.x) - (m.y == 0 ? 0 : Flow(m.s, m.y));
    Gain gain;
    for (const uint32_t c : {m.up, m.down}) {
      if (c == kNone) continue;
      const uint64_t after = Weighed(c, flow);
      if (after > gain.worst) {
        gain.second = gain.worst;
        gain.worst = after;
        gain.cable = c;
      } else {
        gain.second = std::max(gain.second, after);
      }
    }
    return gain;
  }

  void Apply(const Move& m) {
    ++moves_;
    if (m.up == kNone) {  // a spine's destination onto another cable to its leaf
      const uint32_t from = Cable(m.s, Entry(m.s, m.x));
      const int64_t flow = int64_t{Flow(m.s, m.x)} - (m.y == 0 ? 0 : int64_t{Flow(m.s, m.y)});
      AddLoad(from, -flow);
      AddLoad(m.down, flow);
      SetEntry(m.s, m.x, m.down);
      if (m.y != 0) SetEntry(m.s, m.y, from);
      return;
    }
    const uint32_t flow = Sources(m.s);
    const uint32_t from = Cable(m.s, Entry(m.s, m.x)), spine = Next(from);
    AddLoad(from, -int64_t{flow});
    AddLoad(m.up, flow);
    SetEntry(m.s, m.x, m.up);
    if (m.down == kNone) return;
    const uint32_t other = Next(m.up);
    AddLoad(Cable(spine, Entry(spine, m.x)), -int64_t{flow});
    AddFlow(spine, m.x, -int64_t{flow});
    if (Flow(other, m.x) == 0) SetEntry(other, m.x, m.down);
    AddFlow(other, m.x, flow);
    AddLoad(m.down, flow);
  }

  // The journal of changes since the last Settle, for Undo: what changed and its old value.
  enum class Kind : uint8_t { kEntry, kLoad, kFlow };
  struct Change {
    Kind kind;
    size_t index;
    uint64_t old;
  };

  void SetEntry(uint32_t s, Lid x, uint32_t cable) {
    const size_t i = size_t{s} * lids_ + x;
    journal_.push_back({Kind::kEntry, i, out_.lft[i]});
    out_.lft[i] = uint8_t(cable % stride_);
  }
  void AddLoad(uint32_t cable, int64_t delta) {
    journal_.push_back({Kind::kLoad, cable, load_[cable]});
    load_[cable] += uint64_t(delta);
  }
  void AddFlow(uint32_t spine, Lid x, int64_t delta) {
    const size_t i = size_t{spine_of_[spine]} * lids_ + x;
    journal_.push_back({Kind::kFlow, i, flow_[i]});
    flow_[i] += uint32_t(delta);
  }

  void Undo(size_t mark) {
    for (size_t i = journal_.size(); i-- > mark;) {
      const Change& c = journal_[i];
      if (c.kind == Kind::kEntry)
        out_.lft[c.index] = uint8_t(c.old);
      else if (c.kind == Kind::kLoad)
        load_[c.index] = c.old;
      else
        flow_[c.index] = uint32_t(c.old);
    }
    journal_.resize(mark);
  }

  // One step of the search from the budget; false when it is spent.
  bool Step() {
    if (budget_ == 0) return false;
    --budget_;
    return true;
  }

  bool IsLeaf(uint32_t s) const { return spine_of_[s] == kNone; }
  uint32_t Cable(uint32_t s, uint8_t port) const { return s * stride_ + (port < stride_ ? port : 0); }
  uint8_t Entry(uint32_t s, Lid x) const { return out_.lft[size_t{s} * lids_ + x]; }
  uint32_t Next(uint32_t cable) const { return g_.nbr(group_of_[cable]); }
  uint32_t Sources(uint32_t leaf) const { return uint32_t(g_.endpoint_lids(leaf).size()); }
  uint32_t& Flow(uint32_t spine, Lid x) { return flow_[size_t{spine_of_[spine]} * lids_ + x]; }
  uint32_t Flow(uint32_t spine, Lid x) const { return flow_[size_t{spine_of_[spine]} * lids_ + x]; }
  // The leaf of endpoint LID x (kNone for a switch LID or none).
  uint32_t Destination(Lid x) const { return g_.lid_is_switch(x) ? kNone : g_.lid_switch(x); }

  // Spine s's least loaded cable to leaf `dest` (kNone: none).
  uint32_t LightestTo(uint32_t s, uint32_t dest) const {
    for (uint32_t grp = g_.begin(s); grp < g_.end(s); ++grp) {
      if (g_.nbr(grp) != dest) continue;
      uint32_t best = kNone;
      for (uint8_t p : g_.ports(grp))
        if (best == kNone || Weighed(Cable(s, p)) < Weighed(best)) best = Cable(s, p);
      return best;
    }
    return kNone;
  }

  const SwitchGraph& g_;
  SubnetRoutes& out_;
  const size_t lids_;
  const PortGroups group_of_;  // per cable: its neighbour group (kNone: not a switch cable)
  const uint32_t stride_;
  uint32_t spines_ = 0;
  std::vector<uint32_t> cost_;      // per cable
  std::vector<uint64_t> load_;      // per cable: routes
  std::vector<uint32_t> spine_of_;  // per switch: its index among the spines (kNone: a leaf)
  std::vector<uint32_t> flow_;      // per spine and LID: routes through the spine to it
  std::vector<Change> journal_;
  std::vector<uint8_t> visiting_;  // per cable: being relieved further up a chain
  size_t budget_ = kMostSteps;     // steps of the search left
  size_t moves_ = 0, settled_moves_ = 0;
};

}  // namespace

LeafSpineMoves MoveOffBusiestCables(const Fabric& f, const SwitchGraph& g, const ChannelCapacity& capacity,
                                    SubnetRoutes& out) {
  LeafSpineMoves result;
  if (g.num_switches() == 0 || out.lft.size() > kMostEntries) return result;
  LeafSpine tree(f, g, capacity, out);
  if (!tree.Shaped() || !tree.Load()) return result;
  result.applied = true;
  result.before = result.after = tree.Busiest();
  const uint64_t least = tree.LeafStepBound();
  // Each round relieves every cable at the busiest load, so the busiest drops; a cable
  // that cannot be relieved ends the rounds, and its round is undone.
  for (uint64_t busiest = result.before; busiest > least;) {
    bool relieved = true;
    for (uint32_t cable : tree.CablesAt(busiest)) {
      if (tree.Weighed(cable) < busiest) continue;
      relieved = tree.Relieve(cable, busiest, kChainDepth);
      if (!relieved) break;
    }
    // A round that leaves some cable at the busiest load gains nothing: its moves go.
    if (!relieved || tree.Busiest() >= busiest) {
      tree.Revert();
      break;
    }
    tree.Settle();
    busiest = tree.Busiest();
  }
  result.after = tree.Busiest();
  result.moves = tree.moves();
  return result;
}

}  // namespace fabricctl
