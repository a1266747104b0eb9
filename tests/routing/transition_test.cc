#include "routing/transition.h"

#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <set>

#include "fabric/generator.h"
#include "routing/fabric_health.h"
#include "routing/repair.h"
#include "tests/routing/route_check.h"
#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

using Channel = std::pair<NodeId, unsigned>;  // switch, output port

// The mixed dependency graph built here independently of routing/transition.cc: for every
// endpoint LID, every switch reachable from an endpoint's switch by any allowed entry, and
// every (in channel, out channel) pair at it; then a depth-first search for a cycle.
bool IndependentAcyclic(const Fabric& f, const SubnetRoutes& before, const SubnetRoutes& after,
                        const std::vector<TableChoice>& choice) {
  std::map<NodeId, size_t> index;
  for (size_t i = 0; i < before.switches.size(); ++i) index[before.switches[i]] = i;
  auto options = [&](size_t s, Lid lid) {
    std::set<uint8_t> out;
    if (choice[s] != TableChoice::kNew) out.insert(before.out_port(s, lid));
    if (choice[s] != TableChoice::kOld) out.insert(after.out_port(s, lid));
    return out;
  };
  auto next_switch = [&](NodeId sw, uint8_t p) -> std::optional<NodeId> {
    if (p == 0 || p > f.node(sw).num_ports) return std::nullopt;
    PortId peer = f.port(f.port_id(sw, p)).peer;
    if (peer == kNone || !f.is_switch(f.port(peer).node)) return std::nullopt;
    return f.port(peer).node;
  };
  std::map<Channel, std::set<Channel>> deps;
  for (Lid lid = 1; lid < before.num_lids(); ++lid) {
    PortId owner = before.lid_owner[lid];
    if (owner == kNone || f.is_switch(f.port(owner).node) || f.port(owner).peer == kNone) continue;
    std::set<NodeId> seen;
    std::vector<NodeId> todo;
    for (NodeId sw : before.switches)
      for (const Adjacency& a : f.neighbors(sw))
        if (!f.is_switch(a.peer_node) && seen.insert(sw).second) todo.push_back(sw);
    while (!todo.empty()) {
      NodeId x = todo.back();
      todo.pop_back();
      for (uint8_t p : options(index.at(x), lid)) {
        auto y = next_switch(x, p);
        if (!y) continue;
        for (uint8_t q : options(index.at(*y), lid))
          if (next_switch(*y, q)) deps[{x, p}].insert({*y, q});
        if (seen.insert(*y).second) todo.push_back(*y);
      }
    }
  }
  std::map<Channel, int> colour;  // 1 on the stack, 2 done
  std::function<bool(const Channel&)> has_cycle = [&](const Channel& c) {
    colour[c] = 1;
    for (const Channel& d : deps[c]) {
      if (colour[d] == 1) return true;
      if (colour[d] == 0 && has_cycle(d)) return true;
    }
    colour[c] = 2;
    return false;
  };
  for (const auto& [c, unused] : deps)
    if (colour[c] == 0 && has_cycle(c)) return false;
  return true;
}

// Every step's mix (earlier steps new, this step either, later ones old) is acyclic.
void CheckPlan(const Fabric& alive, const SubnetRoutes& before, const SubnetRoutes& after, const TransitionPlan& plan) {
  std::vector<TableChoice> choice(before.switches.size(), TableChoice::kOld);
  std::set<size_t> planned;
  for (const auto& step : plan.steps) {
    for (size_t s : step) choice[s] = TableChoice::kEither, planned.insert(s);
    CHECK(IndependentAcyclic(alive, before, after, choice));
    for (size_t s : step) choice[s] = TableChoice::kNew;
  }
  // Every switch with a changed entry is in some step.
  for (size_t s = 0; s < before.switches.size(); ++s)
    for (Lid lid = 1; lid < before.num_lids(); ++lid)
      if (before.out_port(s, lid) != after.out_port(s, lid)) CHECK(planned.count(s) == 1);
}

// Plans the change from `before` to a repair of it for `health` and checks every step.
TransitionPlan CheckRepairPlan(const Fabric& f, const FabricHealth& health, const RouteSet& before,
                               const RepairResult& repaired) {
  auto alive = WithoutDown(f, health);
  REQUIRE(alive);
  auto plan = PlanTransition(*alive, before.subnets[0], repaired.routes.subnets[0]);
  REQUIRE(plan);
  CHECK(plan->union_deadlock_free);
  CHECK(plan->blocks == repaired.blocks_changed);
  CheckPlan(*alive, before.subnets[0], repaired.routes.subnets[0], *plan);
  return *plan;
}

TEST_CASE("transition: the repair of a leaf-spine link on a fat tree installs in checked steps") {
  auto f = Generate("fat-tree", {{"k", "8"}, {"tiers", "3"}});
  REQUIRE(f);
  auto routed = testing::RouteWith(*f, "ftree");
  REQUIRE(routed);
  FabricHealth health = FabricHealth::AllUp(*f);
  for (LinkId l = 0; l < f->num_links(); ++l) {
    NodeId a = f->port(f->link(l).a).node, b = f->port(f->link(l).b).node;
    if (f->is_switch(a) && f->is_switch(b) && std::min(f->node(a).labels.tier, f->node(b).labels.tier) == 1) {
      health.link_down[l] = 1;
      break;
    }
  }
  auto repaired = RepairRoutes(*f, health, routed->routes);
  REQUIRE(repaired);
  CHECK_FALSE(CheckRepairPlan(*f, health, routed->routes, *repaired).steps.empty());
}

TEST_CASE("transition: repairs of updn tables on a jellyfish install in checked steps") {
  auto f = Generate("jellyfish", {{"switches", "16"}, {"degree", "4"}, {"hosts", "2"}, {"seed", "5"}});
  REQUIRE(f);
  auto routed = testing::RouteWith(*f, "updn");
  REQUIRE(routed);
  auto repairer = RouteRepairer::Prepare(*f, routed->routes);
  REQUIRE(repairer);
  int planned = 0;
  for (LinkId l = 0; l < f->num_links() && planned < 6; ++l) {
    if (!f->is_switch(f->port(f->link(l).a).node) || !f->is_switch(f->port(f->link(l).b).node)) continue;
    FabricHealth health = FabricHealth::AllUp(*f);
    health.link_down[l] = 1;
    auto repaired = repairer->Repair(health);
    REQUIRE(repaired);
    if (repaired->unreachable_lids > 0) continue;
    CheckRepairPlan(*f, health, routed->routes, *repaired);
    ++planned;
  }
  CHECK(planned > 0);
}

// A ring of four switches and two Up*/Down* tables, rooted at ring0 and at ring2: each is
// acyclic, but a packet meeting ring3 and ring0 old and ring1 and ring2 new can go all the
// way round clockwise.
struct RingChange {
  Fabric ring = testing::Ring(4);
  SubnetRoutes before, after;
};

RingChange MakeRingChange() {
  RingChange c;
  auto routed = testing::RouteWith(c.ring, "updn");
  REQUIRE(routed);
  c.before = c.after = routed->routes.subnets[0];
  // Ring(4): port 2 leads to the next switch (i + 1), port 1 to the previous one.
  auto port_to = [](unsigned from, unsigned to) -> uint8_t { return to == (from + 1) % 4 ? 2 : 1; };
  // next hop [destination switch][switch], kNone for the destination itself.
  constexpr unsigned X = kNone;
  const unsigned old_next[4][4] = {{X, 0, 1, 0}, {1, X, 1, 0}, {1, 2, X, 2}, {3, 0, 3, X}};
  const unsigned new_next[4][4] = {{X, 0, 3, 0}, {1, X, 1, 2}, {3, 2, X, 2}, {3, 2, 3, X}};
  for (Lid lid = 1; lid < c.before.num_lids(); ++lid) {
    PortId owner = c.before.lid_owner[lid];
    if (owner == kNone || c.ring.is_switch(c.ring.port(owner).node)) continue;
    const unsigned dest = c.ring.port(c.ring.port(owner).peer).node;  // ring switches are nodes 0..3
    REQUIRE(dest < 4);
    for (unsigned s = 0; s < 4; ++s) {
      if (s == dest) continue;
      c.before.lft[s * c.before.num_lids() + lid] = port_to(s, old_next[dest][s]);
      c.after.lft[s * c.after.num_lids() + lid] = port_to(s, new_next[dest][s]);
    }
  }
  return c;
}

TEST_CASE("transition: a change whose all-at-once mix has a credit loop is staged so that no step has one") {
  RingChange c = MakeRingChange();
  const std::vector<TableChoice> old_only(4, TableChoice::kOld), new_only(4, TableChoice::kNew),
      all_either(4, TableChoice::kEither);
  REQUIRE(IndependentAcyclic(c.ring, c.before, c.after, old_only));
  REQUIRE(IndependentAcyclic(c.ring, c.before, c.after, new_only));
  REQUIRE_FALSE(IndependentAcyclic(c.ring, c.before, c.after, all_either));
  CHECK(*MixedDependenciesAcyclic(c.ring, c.before, c.after, old_only));
  CHECK(*MixedDependenciesAcyclic(c.ring, c.before, c.after, new_only));
  CHECK_FALSE(*MixedDependenciesAcyclic(c.ring, c.before, c.after, all_either));

  auto plan = PlanTransition(c.ring, c.before, c.after);
  REQUIRE(plan);
  CHECK(plan->union_deadlock_free);
  CHECK(plan->steps.size() >= 2);
  CheckPlan(c.ring, c.before, c.after, *plan);
}

TEST_CASE("transition: when no order avoids a credit loop the plan says so") {
  RingChange c = MakeRingChange();
  // Tables that are themselves cyclic: every destination two hops away goes clockwise.
  SubnetRoutes cyclic = c.after;
  for (Lid lid = 1; lid < cyclic.num_lids(); ++lid) {
    PortId owner = cyclic.lid_owner[lid];
    if (owner == kNone || c.ring.is_switch(c.ring.port(owner).node)) continue;
    for (unsigned s = 0; s < 4; ++s)
      if (cyclic.lft[s * cyclic.num_lids() + lid] != 3) cyclic.lft[s * cyclic.num_lids() + lid] = 2;
  }
  auto plan = PlanTransition(c.ring, c.before, cyclic);
  REQUIRE(plan);
  CHECK_FALSE(plan->union_deadlock_free);
  CHECK_FALSE(plan->why.empty());
}

TEST_CASE("transition: tables over different switches are an error; equal tables need no step") {
  RingChange c = MakeRingChange();
  auto same = PlanTransition(c.ring, c.before, c.before);
  REQUIRE(same);
  CHECK(same->steps.empty());
  CHECK(same->blocks == 0);
  SubnetRoutes other = c.after;
  other.switches.pop_back();
  CHECK_FALSE(PlanTransition(c.ring, c.before, other));
}

}  // namespace
}  // namespace fabricctl
