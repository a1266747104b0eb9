#include "routing/dynamic_topological_order.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

namespace fabricctl {
namespace {

using Journal = DynamicTopologicalOrder::Journal;

// A graph as adjacency lists that adds an edge only once the order has room for it.
struct Graph {
  explicit Graph(uint32_t nodes, Journal journal = Journal::kOff) : out(nodes), in(nodes), order(nodes, journal) {}
  Graph(std::vector<uint32_t> ranks, Journal journal)
      : out(ranks.size()), in(ranks.size()), order(std::move(ranks), journal) {}

  bool Add(uint32_t from, uint32_t to, size_t budget = DynamicTopologicalOrder::kUnbounded) {
    auto successors = [this](uint32_t n, const auto& visit) {
      for (uint32_t m : out[n]) visit(m);
    };
    auto predecessors = [this](uint32_t n, const auto& visit) {
      for (uint32_t m : in[n]) visit(m);
    };
    if (!order.MakeRoom(from, to, successors, predecessors, budget)) return false;
    out[from].push_back(to);
    in[to].push_back(from);
    return true;
  }
  // Every edge goes to a higher rank.
  bool Agrees() const {
    for (uint32_t n = 0; n < out.size(); ++n)
      for (uint32_t m : out[n])
        if (order.rank(n) >= order.rank(m)) return false;
    return true;
  }
  std::vector<uint32_t> Ranks() const {
    std::vector<uint32_t> ranks;
    for (uint32_t n = 0; n < out.size(); ++n) ranks.push_back(order.rank(n));
    return ranks;
  }

  std::vector<std::vector<uint32_t>> out, in;
  DynamicTopologicalOrder order;
};

TEST_CASE("dynamic topological order: an edge that agrees with the order changes no rank") {
  Graph g(4);
  CHECK(g.Add(0, 3));
  CHECK(g.Add(1, 2));
  CHECK(g.Ranks() == std::vector<uint32_t>{0, 1, 2, 3});
}

TEST_CASE("dynamic topological order: an edge against the order moves only the nodes between its ends") {
  Graph g(6);
  REQUIRE(g.Add(1, 2));
  REQUIRE(g.Add(3, 4));
  CHECK(g.Add(4, 1));  // 1 and what follows it (2) go after 3 -> 4; 0 and 5 stay
  CHECK(g.Agrees());
  CHECK(g.order.rank(0) == 0);
  CHECK(g.order.rank(5) == 5);
  CHECK(g.order.rank(3) < g.order.rank(4));
  CHECK(g.order.rank(4) < g.order.rank(1));
  CHECK(g.order.rank(1) < g.order.rank(2));
}

TEST_CASE("dynamic topological order: an edge that closes a cycle is refused and leaves the ranks alone") {
  Graph g(5);
  REQUIRE(g.Add(0, 1));
  REQUIRE(g.Add(1, 2));
  REQUIRE(g.Add(2, 3));
  const std::vector<uint32_t> before = g.Ranks();
  CHECK_FALSE(g.Add(3, 0));
  CHECK_FALSE(g.Add(2, 1));
  CHECK_FALSE(g.Add(2, 2));  // an edge from a node to itself
  CHECK_FALSE(g.Add(4, 4));
  CHECK(g.Ranks() == before);
  CHECK(g.Add(3, 4));
}

TEST_CASE("dynamic topological order: a search past its budget is refused, within it the edge is taken") {
  Graph g(8);
  for (uint32_t n = 1; n + 1 < 7; ++n) REQUIRE(g.Add(n, n + 1));  // a chain 1 -> ... -> 6
  const std::vector<uint32_t> before = g.Ranks();
  CHECK_FALSE(g.Add(7, 1, 5));  // six nodes between them
  CHECK(g.Ranks() == before);
  CHECK(g.Add(7, 1, 6));
  CHECK(g.Agrees());
}

TEST_CASE("dynamic topological order: ranks that are not 0..n-1 keep their set of numbers") {
  Graph g({10, 20, 30, 40}, Journal::kOff);
  REQUIRE(g.Add(3, 0));
  CHECK(g.Agrees());
  std::vector<uint32_t> ranks = g.Ranks();
  std::sort(ranks.begin(), ranks.end());
  CHECK(ranks == std::vector<uint32_t>{10, 20, 30, 40});
}

TEST_CASE("dynamic topological order: RollBack returns to the ranks of the last Checkpoint") {
  Graph g(6, Journal::kOn);
  REQUIRE(g.Add(4, 1));
  g.order.Checkpoint();
  const std::vector<uint32_t> checkpoint = g.Ranks();
  REQUIRE(g.Add(5, 0));
  REQUIRE(g.Add(3, 2));
  REQUIRE(g.Ranks() != checkpoint);
  g.order.RollBack();
  CHECK(g.Ranks() == checkpoint);
}

TEST_CASE("dynamic topological order: random edges keep the order topological; exactly the cycles are refused") {
  std::mt19937 rng(7);
  const uint32_t nodes = 40;
  Graph g(nodes);
  // Reference: reachability by search over the edges taken so far.
  auto reaches = [&](uint32_t from, uint32_t to) {
    std::vector<uint8_t> seen(nodes, 0);
    std::vector<uint32_t> stack{from};
    seen[from] = 1;
    while (!stack.empty()) {
      const uint32_t n = stack.back();
      stack.pop_back();
      if (n == to) return true;
      for (uint32_t m : g.out[n]) {
        if (seen[m]) continue;
        seen[m] = 1;
        stack.push_back(m);
      }
    }
    return false;
  };
  for (int i = 0; i < 400; ++i) {
    const uint32_t a = rng() % nodes, b = rng() % nodes;
    if (a == b) continue;
    const bool cycle = reaches(b, a);
    CHECK(g.Add(a, b) == !cycle);
  }
  CHECK(g.Agrees());
}

TEST_CASE(
    "dynamic topological order: with a budget, refused are exactly the cycles and the edges whose region ahead "
    "outgrows it") {
  // The region ahead of a new edge a -> b: b and the nodes it reaches through nodes ranked
  // strictly between b and a. The edge closes a cycle when that region reaches a.
  std::mt19937 rng(11);
  const uint32_t nodes = 120;
  const size_t budget = 12;
  Graph g(nodes, Journal::kOn);
  auto region = [&](uint32_t a, uint32_t b, bool& cycle) {
    const uint32_t lower = g.order.rank(b), upper = g.order.rank(a);
    std::vector<uint8_t> seen(nodes, 0);
    std::vector<uint32_t> stack{b};
    seen[b] = 1;
    size_t found = 0;
    cycle = false;
    while (!stack.empty()) {
      const uint32_t n = stack.back();
      stack.pop_back();
      ++found;
      for (uint32_t m : g.out[n]) {
        if (m == a) cycle = true;
        if (seen[m] || g.order.rank(m) <= lower || g.order.rank(m) >= upper) continue;
        seen[m] = 1;
        stack.push_back(m);
      }
    }
    return found;
  };
  size_t cycles = 0, over_budget = 0, against_order = 0;
  for (int i = 0; i < 6000; ++i) {
    const uint32_t a = rng() % nodes, b = rng() % nodes;
    if (a == b) continue;
    const bool against = g.order.rank(b) < g.order.rank(a);
    bool cycle = false;
    const size_t ahead = against ? region(a, b, cycle) : 0;
    const bool refuse = against && (cycle || ahead > budget);
    g.order.Checkpoint();
    const std::vector<uint32_t> before = g.Ranks();
    const bool added = g.Add(a, b, budget);
    CHECK(added == !refuse);
    if (!added) CHECK(g.Ranks() == before);
    cycles += cycle;
    over_budget += against && !cycle && ahead > budget;
    against_order += against && !refuse;
  }
  CHECK(g.Agrees());
  // The three outcomes all occurred, so each was checked.
  CHECK(cycles > 100);
  CHECK(over_budget > 0);
  CHECK(against_order > 100);
}

TEST_CASE("dynamic topological order: sparse ranks end in the same order as dense ones") {
  // Ranks 0..n-1 and the same ranks times 1,000 (far more ranks than nodes between the ends
  // of an edge, which the reordering handles another way) must order the nodes alike
  // after every insertion, and refuse the same edges.
  std::mt19937 rng(5);
  const uint32_t nodes = 60;
  std::vector<uint32_t> sparse_ranks(nodes);
  for (uint32_t n = 0; n < nodes; ++n) sparse_ranks[n] = n * 1000;
  Graph dense(nodes), sparse(sparse_ranks, Journal::kOff);
  auto order_of = [&](const Graph& g) {
    std::vector<uint32_t> order(nodes);
    for (uint32_t n = 0; n < nodes; ++n) order[n] = n;
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return g.order.rank(a) < g.order.rank(b); });
    return order;
  };
  size_t moved = 0;
  for (int i = 0; i < 1500; ++i) {
    const uint32_t a = rng() % nodes, b = rng() % nodes;
    if (a == b) continue;
    moved += dense.order.rank(b) < dense.order.rank(a);
    const bool added = dense.Add(a, b);
    CHECK(sparse.Add(a, b) == added);
    if (added) CHECK(order_of(dense) == order_of(sparse));
  }
  CHECK(dense.Agrees());
  CHECK(sparse.Agrees());
  CHECK(moved > 100);
}

}  // namespace
}  // namespace fabricctl
