#include "routing/transition.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>

#include "routing/route_diff.h"

namespace fabricctl {
namespace {

// The channel dependency graph of a mix of two tables: channel = switch index * stride +
// port; row c holds one bit per output port of the switch channel c enters. Destinations
// whose entries are equal in both tables add the same dependencies to every mix, so they
// are walked once into `base`.
class MixedGraph {
 public:
  static Result<MixedGraph> Make(const Fabric& alive, const SubnetRoutes& before, const SubnetRoutes& after);

  // One dependency bit of a row: rows[word] & bit.
  struct Dependency {
    size_t word;
    uint64_t bit;
  };
  // The dependencies of the mix `choice`, over every destination.
  std::vector<uint64_t> Dependencies(const std::vector<TableChoice>& choice);
  // Adds to `rows` the dependencies of `lids` under `choice`, listing in `added` those that
  // were not there yet. Widening one switch's choice from old to either only adds
  // dependencies, and only for the LIDs whose entries differ there, so a mix one switch
  // wider is `rows` plus those LIDs walked again.
  void AddLids(const std::vector<Lid>& lids, const std::vector<TableChoice>& choice, std::vector<uint64_t>& rows,
               std::vector<Dependency>& added);
  static void Remove(const std::vector<Dependency>& added, std::vector<uint64_t>& rows) {
    for (const Dependency& d : added) rows[d.word] &= ~d.bit;
  }
  // Kahn's algorithm; when acyclic, the order found is kept for FollowsOrder.
  bool Acyclic(const std::vector<uint64_t>& rows);
  bool Acyclic(const std::vector<TableChoice>& choice) { return Acyclic(Dependencies(choice)); }
  // True when every dependency in `added` goes forward in the order of the last acyclic
  // graph: that graph plus `added` is then acyclic too, without a new search.
  bool FollowsOrder(const std::vector<Dependency>& added) const;
  const std::vector<Lid>& changed_lids() const { return changed_lids_; }
  size_t num_switches() const { return before_->switches.size(); }
  // Switch-to-switch hops of the new route from s to lid's switch; kNone when it breaks.
  uint32_t NewHops(uint32_t s, Lid lid) const;

 private:
  MixedGraph(const SubnetRoutes& before, const SubnetRoutes& after) : before_(&before), after_(&after) {}
  uint32_t next(uint32_t s, uint8_t port) const {
    return port < stride_ ? next_switch_[size_t{s} * stride_ + port] : kNone;
  }
  // The ports s may forward lid by: one, or two when the mix allows both tables and they differ.
  int Options(uint32_t s, Lid lid, TableChoice choice, uint8_t out[2]) const;
  void AddLid(Lid lid, const std::vector<TableChoice>& choice, std::vector<uint64_t>& rows,
              std::vector<Dependency>* added);

  const SubnetRoutes* before_;
  const SubnetRoutes* after_;
  uint32_t stride_ = 1;
  size_t words_ = 1;                   // bitmap words per row
  std::vector<uint32_t> next_switch_;  // by channel
  std::vector<uint8_t> has_endpoint_;  // by switch: an endpoint is cabled to it (a traffic source)
  std::vector<uint32_t> dest_switch_;  // by LID, for endpoint LIDs; kNone otherwise
  std::vector<Lid> changed_lids_;      // endpoint LIDs with an entry that differs
  std::vector<uint64_t> base_;
  std::vector<uint32_t> stamp_, stack_, reached_;
  uint32_t tick_ = 0;
  std::vector<uint32_t> indegree_;  // Kahn's algorithm, kept between calls
  std::vector<size_t> queue_;
  std::vector<uint32_t> rank_;  // by channel: its place in the last acyclic graph's order
};

Result<MixedGraph> MixedGraph::Make(const Fabric& alive, const SubnetRoutes& before, const SubnetRoutes& after) {
  if (before.switches != after.switches || before.lid_owner != after.lid_owner ||
      before.lft.size() != after.lft.size() || before.lft.size() != before.switches.size() * before.num_lids())
    return MakeError("the two route tables are not over the same switches and LIDs");
  if (before.num_vls > 1 || after.num_vls > 1) return MakeError("transition planning checks single-VL tables only");
  MixedGraph g(before, after);
  const uint32_t S = static_cast<uint32_t>(before.switches.size());
  std::vector<uint32_t> index(alive.num_nodes(), kNone);
  for (uint32_t s = 0; s < S; ++s) {
    if (before.switches[s] >= alive.num_nodes() || !alive.is_switch(before.switches[s]))
      return MakeError(fmt::format("route tables name node {}, not a switch of the fabric", before.switches[s]));
    index[before.switches[s]] = s;
    g.stride_ = std::max<uint32_t>(g.stride_, alive.node(before.switches[s]).num_ports + 1u);
  }
  g.words_ = (g.stride_ + 63) / 64;
  g.next_switch_.assign(size_t{S} * g.stride_, kNone);
  g.has_endpoint_.assign(S, 0);
  for (uint32_t s = 0; s < S; ++s)
    for (const Adjacency& a : alive.neighbors(before.switches[s])) {
      if (alive.is_switch(a.peer_node))
        g.next_switch_[size_t{s} * g.stride_ + alive.port(a.local).number] = index[a.peer_node];
      else
        g.has_endpoint_[s] = 1;
    }
  const size_t L = before.num_lids();
  g.dest_switch_.assign(L, kNone);
  for (Lid lid = 1; lid < L; ++lid) {
    const PortId owner = before.lid_owner[lid];
    if (owner == kNone || owner >= alive.num_port_slots() || alive.is_switch(alive.port(owner).node)) continue;
    const PortId peer = alive.port(owner).peer;
    if (peer != kNone) g.dest_switch_[lid] = index[alive.port(peer).node];
  }
  g.stamp_.assign(S, 0);
  g.base_.assign(size_t{S} * g.stride_ * g.words_, 0);
  const std::vector<TableChoice> old_only(S, TableChoice::kOld);
  for (Lid lid = 1; lid < L; ++lid) {
    if (g.dest_switch_[lid] == kNone) continue;
    bool differs = false;
    for (uint32_t s = 0; s < S && !differs; ++s)
      differs = before.lft[size_t{s} * L + lid] != after.lft[size_t{s} * L + lid];
    if (differs)
      g.changed_lids_.push_back(lid);
    else
      g.AddLid(lid, old_only, g.base_, nullptr);
  }
  return g;
}

int MixedGraph::Options(uint32_t s, Lid lid, TableChoice choice, uint8_t out[2]) const {
  const size_t at = size_t{s} * before_->num_lids() + lid;
  int n = 0;
  if (choice != TableChoice::kNew) out[n++] = before_->lft[at];
  if (choice != TableChoice::kOld && (n == 0 || after_->lft[at] != out[0])) out[n++] = after_->lft[at];
  return n;
}

// Every dependency a packet towards lid can form from any endpoint switch, at each switch
// taking any entry the mix allows.
void MixedGraph::AddLid(Lid lid, const std::vector<TableChoice>& choice, std::vector<uint64_t>& rows,
                        std::vector<Dependency>* added) {
  const uint32_t dest = dest_switch_[lid];
  ++tick_;
  stack_.clear();
  reached_.clear();
  for (uint32_t s = 0; s < has_endpoint_.size(); ++s)
    if (has_endpoint_[s] && s != dest) {
      stamp_[s] = tick_;
      stack_.push_back(s);
    }
  uint8_t ports[2], later[2];
  while (!stack_.empty()) {
    const uint32_t x = stack_.back();
    stack_.pop_back();
    reached_.push_back(x);
    for (int i = 0, n = Options(x, lid, choice[x], ports); i < n; ++i) {
      const uint32_t y = next(x, ports[i]);
      if (y == kNone || stamp_[y] == tick_) continue;
      stamp_[y] = tick_;
      stack_.push_back(y);
    }
  }
  for (uint32_t x : reached_)
    for (int i = 0, n = Options(x, lid, choice[x], ports); i < n; ++i) {
      const uint32_t y = next(x, ports[i]);
      if (y == kNone) continue;
      const size_t row = (size_t{x} * stride_ + ports[i]) * words_;
      for (int j = 0, m = Options(y, lid, choice[y], later); j < m; ++j) {
        if (next(y, later[j]) == kNone) continue;
        const Dependency dependency{.word = row + later[j] / 64, .bit = uint64_t{1} << (later[j] % 64)};
        if (added != nullptr && (rows[dependency.word] & dependency.bit) == 0) added->push_back(dependency);
        rows[dependency.word] |= dependency.bit;
      }
    }
}

std::vector<uint64_t> MixedGraph::Dependencies(const std::vector<TableChoice>& choice) {
  std::vector<uint64_t> rows = base_;
  for (Lid lid : changed_lids_) AddLid(lid, choice, rows, nullptr);
  return rows;
}

void MixedGraph::AddLids(const std::vector<Lid>& lids, const std::vector<TableChoice>& choice,
                         std::vector<uint64_t>& rows, std::vector<Dependency>& added) {
  for (Lid lid : lids) AddLid(lid, choice, rows, &added);
}

bool MixedGraph::FollowsOrder(const std::vector<Dependency>& added) const {
  if (rank_.size() != next_switch_.size()) return false;
  for (const Dependency& d : added) {
    const size_t from = d.word / words_;
    const size_t to =
        size_t{next_switch_[from]} * stride_ + (d.word % words_) * 64 + static_cast<size_t>(std::countr_zero(d.bit));
    if (rank_[from] >= rank_[to]) return false;
  }
  return true;
}

// Kahn's algorithm: acyclic iff every channel is removed.
bool MixedGraph::Acyclic(const std::vector<uint64_t>& rows) {
  const size_t channels = next_switch_.size();
  auto for_each_succ = [&](size_t c, auto&& fn) {
    const uint32_t y = next_switch_[c];
    if (y == kNone) return;
    for (size_t w = 0; w < words_; ++w)
      for (uint64_t bits = rows[c * words_ + w]; bits; bits &= bits - 1)
        fn(size_t{y} * stride_ + w * 64 + static_cast<size_t>(std::countr_zero(bits)));
  };
  indegree_.assign(channels, 0);
  for (size_t c = 0; c < channels; ++c) for_each_succ(c, [&](size_t d) { ++indegree_[d]; });
  queue_.clear();
  for (size_t c = 0; c < channels; ++c)
    if (indegree_[c] == 0) queue_.push_back(c);
  for (size_t head = 0; head < queue_.size(); ++head)
    for_each_succ(queue_[head], [&](size_t d) {
      if (--indegree_[d] == 0) queue_.push_back(d);
    });
  if (queue_.size() != channels) return false;
  rank_.resize(channels);
  for (size_t at = 0; at < channels; ++at) rank_[queue_[at]] = static_cast<uint32_t>(at);
  return true;
}

uint32_t MixedGraph::NewHops(uint32_t s, Lid lid) const {
  const uint32_t dest = dest_switch_[lid];
  uint32_t hops = 0;
  for (uint32_t x = s; x != dest; ++hops) {
    x = next(x, after_->lft[size_t{x} * after_->num_lids() + lid]);
    if (x == kNone || hops > num_switches()) return kNone;
  }
  return hops;
}

struct Changes {
  std::vector<uint32_t> switches;         // with any differing entry, destination side first
  std::vector<std::vector<Lid>> lids_at;  // by switch: the endpoint LIDs whose entries differ there
  uint64_t blocks = 0;
};

// Switches to update, those whose changed routes end closest to the destination first: a
// new route is then installed behind switches that already forward by the new tables.
Changes FindChanges(const SubnetRoutes& before, const SubnetRoutes& after, const MixedGraph& graph) {
  Changes out;
  const size_t L = before.num_lids();
  std::vector<uint32_t> nearest(before.switches.size(), kNone);
  std::vector<uint8_t> changed(before.switches.size(), 0);
  out.lids_at.resize(before.switches.size());
  for (uint32_t s = 0; s < before.switches.size(); ++s)
    for (size_t block = 0; block * kLftBlock < L; ++block) {
      const size_t lo = size_t{s} * L + block * kLftBlock, hi = size_t{s} * L + std::min(L, (block + 1) * kLftBlock);
      if (std::equal(before.lft.begin() + lo, before.lft.begin() + hi, after.lft.begin() + lo)) continue;
      ++out.blocks;
      changed[s] = 1;
    }
  for (Lid lid : graph.changed_lids())
    for (uint32_t s = 0; s < before.switches.size(); ++s)
      if (before.lft[size_t{s} * L + lid] != after.lft[size_t{s} * L + lid]) {
        nearest[s] = std::min(nearest[s], graph.NewHops(s, lid));
        out.lids_at[s].push_back(lid);
      }
  for (uint32_t s = 0; s < before.switches.size(); ++s)
    if (changed[s]) out.switches.push_back(s);
  std::stable_sort(out.switches.begin(), out.switches.end(),
                   [&](uint32_t a, uint32_t b) { return nearest[a] < nearest[b]; });
  return out;
}

// One step of the greedy order: every remaining switch, in order, whose widening to either
// table keeps the mix acyclic (earlier steps' switches forward by their new tables in
// `choice`). The mix only grows within a step, so each trial adds the LIDs that differ at
// that switch to the step's dependencies so far, and needs a new search for a cycle only
// when one of the dependencies it adds goes against the order found last. Leaves the
// switches that did not fit in `remaining`.
std::vector<size_t> GreedyStep(MixedGraph& graph, const Changes& changes, std::vector<uint32_t>& remaining,
                               std::vector<TableChoice>& choice) {
  std::vector<uint64_t> rows = graph.Dependencies(choice);
  // A mix that is already cyclic stays so however it widens.
  if (!graph.Acyclic(rows)) return {};
  std::vector<size_t> step;
  std::vector<uint32_t> left;
  std::vector<MixedGraph::Dependency> added;
  for (uint32_t s : remaining) {
    choice[s] = TableChoice::kEither;
    added.clear();
    graph.AddLids(changes.lids_at[s], choice, rows, added);
    if (graph.FollowsOrder(added) || graph.Acyclic(rows)) {
      step.push_back(s);
      continue;
    }
    MixedGraph::Remove(added, rows);
    choice[s] = TableChoice::kOld;
    left.push_back(s);
  }
  remaining = std::move(left);
  return step;
}

}  // namespace

Result<bool> MixedDependenciesAcyclic(const Fabric& alive, const SubnetRoutes& before, const SubnetRoutes& after,
                                      const std::vector<TableChoice>& choice) {
  auto graph = MixedGraph::Make(alive, before, after);
  if (!graph) return std::unexpected(graph.error());
  if (choice.size() != before.switches.size())
    return MakeError(fmt::format("{} table choices for {} switches", choice.size(), before.switches.size()));
  return graph->Acyclic(choice);
}

Result<TransitionPlan> PlanTransition(const Fabric& alive, const SubnetRoutes& before, const SubnetRoutes& after) {
  auto graph = MixedGraph::Make(alive, before, after);
  if (!graph) return std::unexpected(graph.error());
  const Changes changes = FindChanges(before, after, *graph);
  TransitionPlan plan{.blocks = changes.blocks};
  if (changes.switches.empty()) return plan;
  std::vector<TableChoice> choice(before.switches.size(), TableChoice::kOld);
  for (uint32_t s : changes.switches) choice[s] = TableChoice::kEither;
  if (graph->Acyclic(choice)) {
    plan.steps.emplace_back(changes.switches.begin(), changes.switches.end());
    return plan;
  }
  for (uint32_t s : changes.switches) choice[s] = TableChoice::kOld;
  std::vector<uint32_t> remaining = changes.switches;
  while (!remaining.empty()) {
    std::vector<size_t> step = GreedyStep(*graph, changes, remaining, choice);
    if (step.empty()) {
      plan.union_deadlock_free = false;
      plan.why =
          fmt::format("{} switches cannot be updated without a possible credit loop in some step", remaining.size());
      plan.steps.emplace_back(remaining.begin(), remaining.end());
      return plan;
    }
    for (size_t s : step) choice[s] = TableChoice::kNew;
    plan.steps.push_back(std::move(step));
  }
  return plan;
}

}  // namespace fabricctl
