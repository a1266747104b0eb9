#include "routing/route_walk.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <tuple>

#include "tests/routing/route_check.h"
#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

// What a packet-by-packet walk of every endpoint pair finds: per slot the routes that
// arrive over it, hops of the routes that arrive, and the turns (switch, in, out) they take.
struct PairWalk {
  uint64_t pairs = 0, delivered = 0, hop_sum = 0;
  uint32_t min_hops = 0, max_hops = 0;
  std::map<uint32_t, uint64_t> load;
  std::set<std::tuple<uint32_t, uint32_t, uint32_t>> turns;
};

PairWalk WalkEachPair(const Fabric& f, const SubnetRoutes& r, const PortSlots& slots) {
  PairWalk w;
  std::map<NodeId, uint32_t> index;
  for (uint32_t i = 0; i < r.switches.size(); ++i) index[r.switches[i]] = i;
  auto endpoint = [&](Lid l) { return r.lid_owner[l] != kNone && !f.is_switch(f.port(r.lid_owner[l]).node); };
  for (Lid src = 1; src < r.num_lids(); ++src) {
    if (!endpoint(src)) continue;
    for (Lid dst = 1; dst < r.num_lids(); ++dst) {
      if (dst == src || !endpoint(dst)) continue;
      ++w.pairs;
      std::vector<uint32_t> path;  // slots
      std::vector<std::tuple<uint32_t, uint32_t, uint32_t>> turns;
      PortId at = f.port(r.lid_owner[src]).peer;
      for (size_t guard = 0; guard <= r.switches.size(); ++guard) {
        const uint32_t s = index.at(f.port(at).node);
        const uint8_t out = r.out_port(s, dst);
        if (out == kNoRoute || out == 0 || out > f.node(r.switches[s]).num_ports) break;
        const PortId next = f.port(f.port_id(r.switches[s], out)).peer;
        if (next == kNone) break;
        if (next == r.lid_owner[dst]) {
          const uint32_t hops = uint32_t(path.size()) + 2;
          w.min_hops = w.delivered ? std::min(w.min_hops, hops) : hops;
          w.max_hops = std::max(w.max_hops, hops);
          w.hop_sum += hops;
          ++w.delivered;
          for (uint32_t slot : path) ++w.load[slot];
          w.turns.insert(turns.begin(), turns.end());
          break;
        }
        if (!f.is_switch(f.port(next).node)) break;
        // A turn between two switch-to-switch channels: the ones a credit loop is made of.
        if (!path.empty()) turns.emplace_back(s, f.port(at).number, out);
        path.push_back(slots.base[s] + out);
        at = next;
      }
    }
  }
  return w;
}

// Every endpoint LID a source and a destination, as the route summary counts them.
struct EndpointLids {
  std::vector<uint32_t> sources;
  WalkDestinations destinations;
};

EndpointLids EveryEndpointLid(const Fabric& f, const SubnetRoutes& r) {
  EndpointLids out;
  out.sources.assign(r.switches.size(), 0);
  for (Lid lid = 1; lid < r.num_lids(); ++lid) {
    const PortId owner = r.lid_owner[lid];
    if (owner == kNone || f.is_switch(f.port(owner).node)) continue;
    const Port& up = f.port(f.port(owner).peer);
    const uint32_t s = uint32_t(std::find(r.switches.begin(), r.switches.end(), up.node) - r.switches.begin());
    ++out.sources[s];
    out.destinations.Add(lid, s, uint8_t(up.number));
  }
  return out;
}

// Collects every turn it is handed.
class TurnSet final : public TurnSink {
 public:
  explicit TurnSet(const PortSlots& slots) : slots_(slots) {}
  void Record(std::span<const uint32_t> at, const uint64_t* in_ports, const uint8_t* out_ports) override {
    std::lock_guard lock(mutex_);
    for (uint32_t u : at)
      for (uint32_t in = 0; in < slots_.ports(u); ++in)
        if (in_ports[size_t{u} * 4 + in / 64] >> (in % 64) & 1) turns.emplace(u, in, out_ports[u]);
  }
  std::set<std::tuple<uint32_t, uint32_t, uint32_t>> turns;

 private:
  const PortSlots& slots_;
  std::mutex mutex_;
};

void CheckAgainstPairWalk(const Fabric& f, const SubnetRoutes& routes, unsigned threads) {
  const PortSlots slots = MakePortSlots(f, f.subnets()[0].switches);
  const EndpointLids lids = EveryEndpointLid(f, routes);
  TurnSet turns(slots);
  const RouteWalkTotals totals = WalkRoutes({.slots = slots,
                                             .routes = routes,
                                             .destinations = lids.destinations,
                                             .sources = lids.sources,
                                             .threads = threads,
                                             .turns = &turns});
  const PairWalk w = WalkEachPair(f, routes, slots);
  CHECK(totals.pairs == w.pairs);
  CHECK(totals.unreachable == w.pairs - w.delivered);
  CHECK(totals.hop_sum == w.hop_sum);
  CHECK(totals.min_hops == w.min_hops);
  CHECK(totals.max_hops == w.max_hops);
  for (uint32_t slot = 0; slot < slots.num_slots(); ++slot) {
    INFO("slot " << slot);
    CHECK(totals.load[slot] == (w.load.contains(slot) ? w.load.at(slot) : 0));
  }
  CHECK(turns.turns == w.turns);
}

TEST_CASE("route walk finds the hops, channel loads and turns a walk of every pair finds") {
  for (const Fabric& f : {testing::TwoTierFatTree({.leaves = 5, .spines = 3, .hosts = 3, .parallel = 2}),
                          testing::Ring(5, 2), testing::Mesh(3, 3)}) {
    auto r = testing::RouteWith(f, "minhop,updn");
    REQUIRE(r);
    INFO(f.description(0));
    for (unsigned threads : {1u, 3u}) CheckAgainstPairWalk(f, r->routes.subnets[0], threads);
  }
}

TEST_CASE("route walk counts routes that break or loop as unreachable and loads none of their channels") {
  std::mt19937 rng(3);
  const Fabric f = testing::ThreeTierFatTree({.pods = 2, .leaves = 2, .aggs = 2, .cores = 2, .hosts = 2});
  auto r = testing::RouteWith(f, "updn");
  REQUIRE(r);
  for (int round = 1; round <= 8; ++round) {
    SubnetRoutes routes = r->routes.subnets[0];
    // No route, port 0, a port out of range, or a real port that may start a loop.
    for (int n = 0; n < 4 * round; ++n) {
      const size_t i = rng() % routes.lft.size();
      const unsigned ports = f.node(routes.switches[i / routes.num_lids()]).num_ports;
      const uint32_t pick = rng() % (ports + 3);
      routes.lft[i] = pick == ports + 1 ? kNoRoute : pick == ports + 2 ? uint8_t(ports + 1) : uint8_t(pick);
    }
    INFO("round " << round);
    CheckAgainstPairWalk(f, routes, 2);
  }
}

TEST_CASE("route walk weighs each switch's routes by its sources, less the destination's own") {
  const Fabric f = testing::TwoTierFatTree({.leaves = 3, .spines = 1, .hosts = 2});
  auto r = testing::RouteWith(f, "minhop");
  REQUIRE(r);
  const SubnetRoutes& routes = r->routes.subnets[0];
  const PortSlots slots = MakePortSlots(f, f.subnets()[0].switches);
  EndpointLids lids = EveryEndpointLid(f, routes);
  for (uint32_t& n : lids.sources) n *= 5;  // say five sources per endpoint
  const RouteWalkTotals totals =
      WalkRoutes({.slots = slots, .routes = routes, .destinations = lids.destinations, .sources = lids.sources});
  // 30 sources, 6 destinations: 29 pairs each. A leaf's uplink carries its 10 sources to
  // the 4 destinations elsewhere.
  CHECK(totals.pairs == 6 * 29);
  CHECK(totals.unreachable == 0);
  CHECK(*std::max_element(totals.load.begin(), totals.load.end()) == 40);
  CHECK(totals.min_hops == 2);
  CHECK(totals.max_hops == 4);
}

TEST_CASE("port slots lead to the switch at the other end of each cable and nowhere else") {
  const Fabric f = testing::TwoTierFatTree({.leaves = 2, .spines = 2, .hosts = 1});
  const Subnet& subnet = f.subnets()[0];
  const PortSlots slots = MakePortSlots(f, subnet.switches);
  REQUIRE(slots.num_switches() == 4);
  for (uint32_t s = 0; s < slots.num_switches(); ++s) {
    CHECK(slots.ports(s) == f.node(subnet.switches[s]).num_ports + 1u);
    CHECK(slots.next_switch[slots.base[s]] == kNoSwitch);  // port 0: the switch itself
    for (uint32_t p = 1; p < slots.ports(s); ++p) {
      const PortId peer = f.port(f.port_id(subnet.switches[s], p)).peer;
      const uint32_t next = slots.next_switch[slots.base[s] + p];
      if (peer == kNone || !f.is_switch(f.port(peer).node)) {
        CHECK(next == kNoSwitch);
        continue;
      }
      REQUIRE(next != kNoSwitch);
      CHECK(subnet.switches[next] == f.port(peer).node);
      CHECK(slots.peer_port[slots.base[s] + p] == f.port(peer).number);
    }
  }
}

}  // namespace
}  // namespace fabricctl
