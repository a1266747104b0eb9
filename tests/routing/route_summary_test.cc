#include "routing/route_summary.h"

#include <doctest/doctest.h>

#include <random>

#include "routing/verifier.h"
#include "tests/routing/rate_fabrics.h"
#include "tests/routing/route_check.h"
#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

TEST_CASE("route summary agrees with a hop-by-hop walk") {
  for (std::string_view engine : {"minhop", "updn", "ftree"}) {
    for (const Fabric& f :
         {testing::TwoTierFatTree({.leaves = 6, .spines = 3, .hosts = 5}), testing::Ring(5, 3), testing::Mesh(3, 4)}) {
      auto r = testing::RouteWith(f, std::string(engine) + ",updn");
      REQUIRE(r);
      const SubnetRoutes& routes = r->routes.subnets[0];
      testing::Walk w = testing::WalkAllPairs(f, routes);
      RouteSummary s = SummarizeRoutes(f, f.subnets()[0], routes, 2);
      INFO(engine << " on " << f.description(0));
      CHECK(s.pairs == w.pairs);
      CHECK(s.unreachable_pairs == w.pairs - w.delivered);
      CHECK(s.max_hops == w.max_links);
      uint64_t max_load = 0;
      for (const auto& [c, load] : w.channel_load) max_load = std::max(max_load, load);
      CHECK(s.max_channel_load == max_load);
    }
  }
}

TEST_CASE("route summary without its credit-loop check gives the same figures and no verdict") {
  // minhop on a ring closes a cycle of channel dependencies; updn does not.
  Fabric ring = testing::Ring(6, 2);
  for (std::string_view engine : {"minhop", "updn"}) {
    auto r = testing::RouteWith(ring, engine);
    REQUIRE(r);
    const SubnetRoutes& routes = r->routes.subnets[0];
    const RouteSummary checked = SummarizeRoutes(ring, ring.subnets()[0], routes, 1);
    const RouteSummary skipped = SummarizeRoutes(ring, ring.subnets()[0], routes, 1, SummaryCreditLoops::kSkip);
    INFO(engine);
    REQUIRE(checked.deadlock_free.has_value());
    CHECK(*checked.deadlock_free == (engine == "updn"));
    CHECK_FALSE(skipped.deadlock_free.has_value());
    CHECK(skipped.pairs == checked.pairs);
    CHECK(skipped.max_channel_load == checked.max_channel_load);
    CHECK(skipped.max_hops == checked.max_hops);
    CHECK(skipped.avg_hops == checked.avg_hops);
  }
}

TEST_CASE("route summary counts a broken entry as unreachable pairs and a loop as well") {
  Fabric ring = testing::Ring(4);
  auto r = testing::RouteWith(ring, "updn");
  REQUIRE(r);
  SubnetRoutes routes = r->routes.subnets[0];
  const size_t L = routes.num_lids();
  // LIDs: ring0=1, r0-0=2, ring1=3, r1-0=4, ... Break ring1's entry for r3-0 (LID 8).
  routes.lft[1 * L + 8] = kNoRoute;
  RouteSummary s = SummarizeRoutes(ring, ring.subnets()[0], routes, 1);
  CHECK(s.unreachable_pairs >= 1);
  // A two-switch loop: ring0 and ring1 send LID 6 (r2-0) to each other.
  routes = r->routes.subnets[0];
  routes.lft[0 * L + 6] = 2;  // ring0 port 2 -> ring1
  routes.lft[1 * L + 6] = 1;  // ring1 port 1 -> ring0
  s = SummarizeRoutes(ring, ring.subnets()[0], routes, 1);
  CHECK(s.unreachable_pairs == 2);  // r0-0 and r1-0 to r2-0
}

TEST_CASE("route summary weighs a route over a slow cable by the rate it lacks") {
  const Fabric fabric = testing::TwoSwitchesOneSlowCable();
  const NodeId h0 = 2, h1 = 3;  // s0, s1, h0, h1 in build order
  auto r = testing::RouteWith(fabric, "minhop");
  REQUIRE(r);
  SubnetRoutes routes = r->routes.subnets[0];
  const Lid h1_lid = static_cast<Lid>(r->routes.port_lid[fabric.port_id(h1, 1)]);
  const Lid h0_lid = static_cast<Lid>(r->routes.port_lid[fabric.port_id(h0, 1)]);
  const size_t L = routes.num_lids();
  routes.lft[0 * L + h1_lid] = 1;  // h0 -> h1 over the 4xEDR cable
  routes.lft[1 * L + h0_lid] = 2;  // h1 -> h0 over the 4xDDR cable
  RouteSummary s = SummarizeRoutes(fabric, fabric.subnets()[0], routes, 1);
  CHECK(s.max_channel_load == 1);
  CHECK(s.max_load_per_capacity == doctest::Approx(6.25));  // 100 Gb/s over 16 Gb/s
}

// A hop-by-hop walk of every pair that, unlike testing::WalkAllPairs, puts load on a
// channel only for pairs that arrive: the summary counts routes, not partial paths.
struct DeliveredWalk {
  uint64_t pairs = 0, delivered = 0, max_load = 0;
  uint32_t max_links = 0;
};

DeliveredWalk WalkDelivered(const Fabric& f, const SubnetRoutes& r) {
  DeliveredWalk w;
  std::map<NodeId, size_t> index;
  for (size_t i = 0; i < r.switches.size(); ++i) index[r.switches[i]] = i;
  std::map<PortId, uint64_t> load;
  auto endpoint = [&](Lid l) { return r.lid_owner[l] != kNone && !f.is_switch(f.port(r.lid_owner[l]).node); };
  for (Lid src = 1; src < r.num_lids(); ++src) {
    if (!endpoint(src)) continue;
    for (Lid dst = 1; dst < r.num_lids(); ++dst) {
      if (dst == src || !endpoint(dst)) continue;
      ++w.pairs;
      std::vector<PortId> path;
      PortId at = f.port(r.lid_owner[src]).peer;
      for (size_t guard = 0; guard <= r.switches.size(); ++guard) {
        NodeId sw = f.port(at).node;
        uint8_t out = r.out_port(index.at(sw), dst);
        if (out == kNoRoute || out == 0 || out > f.node(sw).num_ports) break;
        PortId next = f.port(f.port_id(sw, out)).peer;
        if (next == kNone) break;
        if (next == r.lid_owner[dst]) {
          ++w.delivered;
          w.max_links = std::max(w.max_links, uint32_t(path.size()) + 2);
          for (PortId p : path) w.max_load = std::max(w.max_load, ++load[p]);
          break;
        }
        if (!f.is_switch(f.port(next).node)) break;
        path.push_back(f.port_id(sw, out));
        at = next;
      }
    }
  }
  return w;
}

TEST_CASE("route summary agrees with a hop-by-hop walk on damaged tables, on any number of threads") {
  std::mt19937 rng(7);
  for (std::string_view engine : {"minhop", "updn"}) {
    for (const Fabric& f : {testing::TwoTierFatTree({.leaves = 5, .spines = 3, .hosts = 4}),
                            testing::ThreeTierFatTree({.pods = 3, .leaves = 2, .aggs = 2, .cores = 2, .hosts = 3}),
                            testing::Ring(6, 2), testing::Mesh(3, 3)}) {
      auto r = testing::RouteWith(f, engine);
      REQUIRE(r);
      for (int round = 0; round < 6; ++round) {
        SubnetRoutes routes = r->routes.subnets[0];
        // Round 0 keeps the tables; later ones overwrite a few entries with anything at all:
        // no route, port 0, a port out of range, or a real port that may start a loop.
        for (int n = 0; n < 3 * round; ++n) {
          size_t i = rng() % routes.lft.size();
          unsigned ports = f.node(routes.switches[i / routes.num_lids()]).num_ports;
          uint32_t pick = rng() % (ports + 3);
          routes.lft[i] = pick == ports + 1 ? kNoRoute : pick == ports + 2 ? uint8_t(ports + 1) : uint8_t(pick);
        }
        DeliveredWalk w = WalkDelivered(f, routes);
        INFO(engine << " on " << f.description(0) << ", round " << round);
        for (unsigned threads : {1u, 3u}) {
          RouteSummary s = SummarizeRoutes(f, f.subnets()[0], routes, threads);
          CHECK(s.pairs == w.pairs);
          CHECK(s.unreachable_pairs == w.pairs - w.delivered);
          if (w.delivered) CHECK(s.max_hops == w.max_links);
          CHECK(s.max_channel_load == w.max_load);
          if (round == 0) {
            auto v = Verify(f, r->routes);
            REQUIRE(v);
            CHECK(s.deadlock_free == v->deadlock_free());
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace fabricctl
