#include "routing/acyclic_dependencies.h"

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace fabricctl {
namespace {

// Channels numbered 0..n-1, each leaving its switch by a port of its own number, so any
// channel may follow any other (enough to exercise the graph's bookkeeping).
std::vector<uint8_t> OwnPorts(uint8_t channels) {
  std::vector<uint8_t> ports(channels);
  for (uint8_t c = 0; c < channels; ++c) ports[c] = c;
  return ports;
}

// Whether `edges` hold a directed cycle (Kahn's algorithm leaves nodes over).
bool HasCycle(size_t nodes, const std::set<std::pair<uint32_t, uint32_t>>& edges) {
  std::vector<std::vector<uint32_t>> out(nodes);
  std::vector<size_t> indegree(nodes, 0);
  for (auto [a, b] : edges) {
    out[a].push_back(b);
    ++indegree[b];
  }
  std::vector<uint32_t> ready;
  for (uint32_t n = 0; n < nodes; ++n)
    if (indegree[n] == 0) ready.push_back(n);
  size_t done = 0;
  while (!ready.empty()) {
    const uint32_t n = ready.back();
    ready.pop_back();
    ++done;
    for (uint32_t m : out[n])
      if (--indegree[m] == 0) ready.push_back(m);
  }
  return done != nodes;
}

TEST_CASE("acyclic dependencies: an edge closing a cycle is refused until its blocker's last user leaves") {
  const auto ports = OwnPorts(3);
  AcyclicDependencies g(ports, 3);
  REQUIRE(g.TryAdd(0, 1));
  REQUIRE(g.TryAdd(1, 2));
  g.Commit();
  g.Use(0, 1);
  g.Use(0, 1);  // two destinations route over 0 -> 1
  g.Use(1, 2);
  CHECK_FALSE(g.TryAdd(2, 0));  // 0 -> 1 -> 2 -> 0
  g.Commit();
  g.Release(0, 1);
  g.ForgetRefusals();
  CHECK_FALSE(g.TryAdd(2, 0));  // one user of 0 -> 1 is left
  g.Commit();
  g.Release(0, 1);
  CHECK_FALSE(g.TryAdd(2, 0));  // gone now, but the refusal is remembered
  g.ForgetRefusals();
  CHECK(g.TryAdd(2, 0));
  CHECK(g.TryAdd(1, 2));  // still there: its user stays
  CHECK_FALSE(g.TryAdd(0, 1));
}

TEST_CASE("acyclic dependencies: rollback takes back edges but keeps refusals, permanent edges never leave") {
  const auto ports = OwnPorts(4);
  AcyclicDependencies g(ports, 4);
  REQUIRE(g.AddPermanent(0, 1));
  g.Commit();
  g.Use(0, 1);
  g.Release(0, 1);
  g.Release(0, 1);
  CHECK_FALSE(g.TryAdd(1, 0));  // 0 -> 1 stays
  CHECK_FALSE(g.AddPermanent(1, 0));  // a permanent edge closing a cycle is refused too
  g.Rollback();
  REQUIRE(g.TryAdd(1, 2));
  REQUIRE(g.TryAdd(2, 3));
  CHECK_FALSE(g.TryAdd(3, 1));
  g.Rollback();  // 1 -> 2 and 2 -> 3 gone; the refusal of 3 -> 1 stays until forgotten
  CHECK_FALSE(g.TryAdd(3, 1));
  g.ForgetRefusals();
  CHECK(g.TryAdd(3, 1));
  CHECK_FALSE(g.TryAdd(1, 3));
}

TEST_CASE("acyclic dependencies: random adds, uses and releases never leave a cycle and match a model") {
  constexpr uint8_t kNodes = 24;
  const auto ports = OwnPorts(kNodes);
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    std::mt19937_64 rng(seed);
    AcyclicDependencies g(ports, kNodes);
    std::map<std::pair<uint32_t, uint32_t>, int> users;  // the model: edges in use, by count
    for (int step = 0; step < 3000; ++step) {
      const uint32_t a = uint32_t(rng() % kNodes), b = uint32_t(rng() % kNodes);
      if (rng() % 3 != 0) {
        if (g.TryAdd(a, b)) {
          g.Use(a, b);
          ++users[{a, b}];
        }
        g.Commit();
      } else if (!users.empty()) {
        auto it = std::next(users.begin(), long(rng() % users.size()));
        g.Release(it->first.first, it->first.second);
        if (--it->second == 0) users.erase(it);
      }
      if (step % 50 == 0) g.ForgetRefusals();
    }
    std::set<std::pair<uint32_t, uint32_t>> edges;
    for (const auto& [edge, count] : users) edges.insert(edge);
    CHECK_FALSE(HasCycle(kNodes, edges));
    // Every edge in use is there (TryAdd accepts it at once); an edge the model lacks and
    // that closes a cycle with the model's edges is refused.
    g.ForgetRefusals();
    for (uint32_t a = 0; a < kNodes; ++a)
      for (uint32_t b = 0; b < kNodes; ++b) {
        if (edges.contains({a, b})) {
          CHECK(g.TryAdd(a, b));
          continue;
        }
        auto with = edges;
        with.insert({a, b});
        if (HasCycle(kNodes, with)) CHECK_FALSE(g.TryAdd(a, b));
        g.Rollback();
        g.ForgetRefusals();
      }
  }
}

}  // namespace
}  // namespace fabricctl
