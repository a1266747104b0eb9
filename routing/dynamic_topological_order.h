#pragma once

// A topological order of a growing directed acyclic graph, kept up to date as edges are
// added (Pearce and Kelly, "A dynamic topological sort algorithm for directed acyclic
// graphs", 2007). A new edge that agrees with the order costs nothing; one that goes
// against it reorders only the nodes whose rank lies between its two ends, and is refused
// when its head already reaches its tail (the edge would close a cycle).
//
// The class holds only the ranks and its scratch: the graph stays with the caller, which
// hands in how to walk it (see MakeRoom), so graphs stored as adjacency lists and graphs
// derived from counts share one implementation.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace fabricctl {

class DynamicTopologicalOrder {
 public:
  // Whether rank changes are remembered, so that RollBack() can take them back.
  enum class Journal { kOff, kOn };
  static constexpr size_t kUnbounded = std::numeric_limits<size_t>::max();

  // Nodes 0..nodes-1 ranked in node order: the order of a graph with no edges yet.
  DynamicTopologicalOrder(uint32_t nodes, Journal journal) : rank_(nodes), mark_(nodes, 0), journal_on_(journal) {
    for (uint32_t n = 0; n < nodes; ++n) rank_[n] = n;
  }
  // `ranks[n]` is the rank of node n: distinct numbers (not necessarily 0..size-1) that
  // the caller's graph already agrees with, every edge going to a higher rank.
  DynamicTopologicalOrder(std::vector<uint32_t> ranks, Journal journal)
      : rank_(std::move(ranks)), mark_(rank_.size(), 0), journal_on_(journal) {}

  uint32_t rank(uint32_t node) const { return rank_[node]; }

  // Makes the order agree with a new edge from -> to, which the caller then adds to its
  // graph. `successors(node, visit)` calls visit(next) for every edge node -> next of the
  // graph as it is (without the new edge); `predecessors(node, visit)` calls visit(previous)
  // for every edge previous -> node. False, with the ranks unchanged, when `to` reaches
  // `from` (a cycle), or when more than `budget` nodes reachable from `to` lie between the
  // two: a caller that may refuse edges bounds the time of one insertion that way.
  template <class Successors, class Predecessors>
  bool MakeRoom(uint32_t from, uint32_t to, const Successors& successors, const Predecessors& predecessors,
                size_t budget = kUnbounded) {
    const uint32_t lower = rank_[to], upper = rank_[from];
    if (lower > upper) return true;
    NextEpoch();
    // Only nodes ranked strictly between the two ends can be out of order after the edge.
    if (!Collect(to, from, lower, upper, successors, budget, ahead_)) return false;
    Collect(from, to, lower, upper, predecessors, kUnbounded, behind_);
    Reassign();
    return true;
  }

  // Forgets the recorded changes: RollBack() returns to the ranks as they are now.
  void Checkpoint() { journal_.clear(); }
  // Restores the ranks of the last Checkpoint() (or of construction). Needs Journal::kOn.
  void RollBack() {
    for (auto it = journal_.rbegin(); it != journal_.rend(); ++it) rank_[it->first] = it->second;
    journal_.clear();
  }

 private:
  // A fresh mark for one insertion. Both searches share it: when the forward one succeeds
  // the two sets are disjoint, since a node in both would mean that `to` reaches `from`,
  // which the forward search reports as a cycle.
  void NextEpoch() {
    if (++epoch_ != 0) return;
    std::fill(mark_.begin(), mark_.end(), 0);  // wrapped: old marks could match again
    epoch_ = 1;
  }

  // `start` and every node reachable from it through `step` whose rank lies strictly
  // between lower and upper, into `found`; false when that reaches `target` or finds more
  // than `budget` nodes. Depth first: a path to `target`, when there is one, tends to be
  // found before the whole region is.
  template <class Step>
  bool Collect(uint32_t start, uint32_t target, uint32_t lower, uint32_t upper, const Step& step, size_t budget,
               std::vector<uint32_t>& found) {
    found.clear();
    stack_.assign(1, start);
    mark_[start] = epoch_;
    bool cycle = false;
    while (!stack_.empty() && !cycle) {
      const uint32_t node = stack_.back();
      stack_.pop_back();
      found.push_back(node);
      if (found.size() > budget) return false;
      step(node, [&](auto next_node) {
        const uint32_t next = static_cast<uint32_t>(next_node);
        if (next == target) cycle = true;
        if (mark_[next] == epoch_ || rank_[next] <= lower || rank_[next] >= upper) return;
        mark_[next] = epoch_;
        stack_.push_back(next);
      });
    }
    return !cycle;
  }

  // The nodes behind `from` take the lowest of the ranks the two sets hold, in their old
  // order, then the nodes ahead of `to`: every other node keeps its rank.
  void Reassign() {
    SortByRank(ahead_, ahead_keys_);
    SortByRank(behind_, behind_keys_);
    // Both sets' ranks, ascending: one merge of the two sorted lists (ranks are distinct).
    merged_.resize(ahead_keys_.size() + behind_keys_.size());
    std::merge(behind_keys_.begin(), behind_keys_.end(), ahead_keys_.begin(), ahead_keys_.end(), merged_.begin());
    size_t next_rank = 0;
    for (const std::vector<uint32_t>* set : {&behind_, &ahead_})
      for (uint32_t n : *set) {
        if (journal_on_ == Journal::kOn) journal_.push_back({n, rank_[n]});
        rank_[n] = static_cast<uint32_t>(merged_[next_rank++] >> 32);
      }
  }

  // Orders `nodes` by rank, keeping each as rank << 32 | node in `keys`, ascending: sorting
  // whole numbers is much quicker than comparing through rank_ (ranks are distinct, so the
  // order is the same).
  void SortByRank(std::vector<uint32_t>& nodes, std::vector<uint64_t>& keys) const {
    keys.resize(nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i) keys[i] = uint64_t{rank_[nodes[i]]} << 32 | nodes[i];
    std::sort(keys.begin(), keys.end());
    for (size_t i = 0; i < nodes.size(); ++i) nodes[i] = static_cast<uint32_t>(keys[i]);
  }

  std::vector<uint32_t> rank_;
  std::vector<uint32_t> mark_;  // == epoch_: collected by the current insertion
  uint32_t epoch_ = 0;
  Journal journal_on_;
  std::vector<std::pair<uint32_t, uint32_t>> journal_;  // (node, rank before the change)
  std::vector<uint32_t> stack_, ahead_, behind_;
  std::vector<uint64_t> ahead_keys_, behind_keys_, merged_;
};

}  // namespace fabricctl
