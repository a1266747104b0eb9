#include "routing/repair.h"

#include <doctest/doctest.h>

#include <set>

#include "fabric/generator.h"
#include "routing/route_diff.h"
#include "routing/route_summary.h"
#include "routing/verifier.h"
#include "tests/routing/route_check.h"
#include "tests/routing/test_fabrics.h"

namespace fabricctl {
namespace {

// Switch-to-switch links whose two ends have the given tier labels.
std::vector<LinkId> LinksBetweenTiers(const Fabric& f, int32_t low, int32_t high) {
  std::vector<LinkId> out;
  for (LinkId l = 0; l < f.num_links(); ++l) {
    NodeId a = f.port(f.link(l).a).node, b = f.port(f.link(l).b).node;
    if (!f.is_switch(a) || !f.is_switch(b)) continue;
    int32_t ta = f.node(a).labels.tier, tb = f.node(b).labels.tier;
    if (std::min(ta, tb) == low && std::max(ta, tb) == high) out.push_back(l);
  }
  return out;
}

std::vector<LinkId> SwitchLinks(const Fabric& f) {
  std::vector<LinkId> out;
  for (LinkId l = 0; l < f.num_links(); ++l)
    if (f.is_switch(f.port(f.link(l).a).node) && f.is_switch(f.port(f.link(l).b).node)) out.push_back(l);
  return out;
}

void CheckSound(const Fabric& f, const RouteSet& routes);

// A 3-tier fat tree (k=8, 128 hosts) routed by ftree.
struct RoutedTree {
  Fabric fabric;
  RouteSet routes;
};
RoutedTree FtreeK8() {
  auto f = Generate("fat-tree", {{"k", "8"}, {"tiers", "3"}});
  REQUIRE(f);
  auto routed = testing::RouteWith(*f, "ftree");
  REQUIRE(routed);
  return {std::move(*f), std::move(routed->routes)};
}

NodeId FirstSwitchOfTier(const Fabric& f, int32_t tier) {
  for (NodeId n = 0; n < f.num_nodes(); ++n)
    if (f.is_switch(n) && f.node(n).labels.tier == tier) return n;
  return kNone;
}

FabricHealth SwitchDown(const Fabric& f, NodeId n) {
  FabricHealth h = FabricHealth::AllUp(f);
  h.node_down[n] = 1;
  return h;
}

// Repairs `tree` for switch n down; no endpoint switch may be left without a route, and
// the result is sound on the whole fabric.
RepairResult RepairSwitchDown(const RoutedTree& tree, NodeId n) {
  REQUIRE(n != kNone);
  auto result = RepairRoutes(tree.fabric, SwitchDown(tree.fabric, n), tree.routes);
  REQUIRE(result);
  CHECK(result->unreachable_lids == 0);
  CheckSound(tree.fabric, result->routes);
  return std::move(*result);
}

FabricHealth LinkDown(const Fabric& f, LinkId l) {
  FabricHealth h = FabricHealth::AllUp(f);
  h.link_down[l] = 1;
  return h;
}

// Every (switch index, LID) entry of `r` whose route from that switch crosses a port for
// which `dead_port(PortId)` is true: the entries a repair may move. Walked here, apart
// from the repair's own code.
std::set<std::pair<uint32_t, Lid>> EntriesCrossing(const Fabric& f, const SubnetRoutes& r, auto dead_port) {
  std::map<NodeId, uint32_t> index;
  for (uint32_t i = 0; i < r.switches.size(); ++i) index[r.switches[i]] = i;
  std::set<std::pair<uint32_t, Lid>> out;
  for (uint32_t s = 0; s < r.switches.size(); ++s)
    for (Lid lid = 1; lid < r.num_lids(); ++lid) {
      if (r.lid_owner[lid] == kNone) continue;
      NodeId at = r.switches[s];
      for (int guard = 0; guard < 64; ++guard) {
        uint8_t p = r.out_port(index.at(at), lid);
        if (p == kNoRoute || p == 0) break;
        PortId out_port = f.port_id(at, p);
        if (dead_port(out_port)) {
          out.insert({s, lid});
          break;
        }
        PortId peer = f.port(out_port).peer;
        if (peer == kNone || !f.is_switch(f.port(peer).node)) break;
        at = f.port(peer).node;
      }
    }
  return out;
}

// Blocks (switch, LID / 64) that differ between two tables of one subnet.
uint64_t BlocksDiffering(const SubnetRoutes& a, const SubnetRoutes& b) {
  std::set<std::pair<size_t, size_t>> blocks;
  for (size_t i = 0; i < a.lft.size(); ++i)
    if (a.lft[i] != b.lft[i]) blocks.insert({i / a.num_lids(), (i % a.num_lids()) / kLftBlock});
  return blocks.size();
}

void CheckSound(const Fabric& f, const RouteSet& routes) {
  auto report = Verify(f, routes);
  REQUIRE(report);
  INFO((report->violations.empty() ? std::string() : report->violations.front().text));
  CHECK(report->sound());
}

void CheckSoundWithout(const Fabric& f, const FabricHealth& health, const RouteSet& routes) {
  auto alive = WithoutDown(f, health);
  REQUIRE(alive);
  CheckSound(*alive, routes);
}

TEST_CASE("repair: a leaf-spine link down on a 3-tier fat tree moves only the entries that crossed it") {
  const RoutedTree tree = FtreeK8();
  const Fabric* f = &tree.fabric;
  const RouteSet& previous = tree.routes;
  auto repairer = RouteRepairer::Prepare(*f, previous);
  REQUIRE(repairer);
  REQUIRE(repairer->not_repairable()[0].empty());
  // The prepared load is the summary's figure.
  CHECK(SummarizeRoutes(*f, f->subnets()[0], previous.subnets[0], 1).max_load_per_capacity ==
        doctest::Approx(repairer->Repair(FabricHealth::AllUp(*f))->load_before));

  const std::vector<LinkId> leaf_links = LinksBetweenTiers(*f, 1, 2);
  REQUIRE(leaf_links.size() > 3);
  for (LinkId l : {leaf_links[0], leaf_links[leaf_links.size() / 2], leaf_links.back()}) {
    INFO("link " << f->LinkName(l));
    const FabricHealth health = LinkDown(*f, l);
    auto result = repairer->Repair(health);
    REQUIRE(result);
    CheckSoundWithout(*f, health, result->routes);
    CHECK(result->unreachable_lids == 0);

    const SubnetRoutes& before = previous.subnets[0];
    const SubnetRoutes& after = result->routes.subnets[0];
    const Link& link = f->link(l);
    const auto crossing = EntriesCrossing(*f, before, [&](PortId p) { return p == link.a || p == link.b; });
    uint64_t changed = 0;
    for (uint32_t s = 0; s < before.switches.size(); ++s)
      for (Lid lid = 1; lid < before.num_lids(); ++lid) {
        if (before.out_port(s, lid) == after.out_port(s, lid)) continue;
        ++changed;
        CHECK(crossing.count({s, lid}) == 1);  // an entry whose route did not cross the link moved
      }
    CHECK(changed == result->entries_changed);
    CHECK(BlocksDiffering(before, after) == result->blocks_changed);
    CHECK(result->blocks_changed >= result->blocks_minimum);
    // The spine that lost its cable reaches the leaf's hosts down through another leaf and
    // up again; everything above it keeps its entries.
    CHECK(result->turn_lids > 0);
    CHECK(result->turns_refused == 0);
    // The incremental load is the summary's figure for the repaired tables.
    auto alive = WithoutDown(*f, health);
    REQUIRE(alive);
    CHECK(SummarizeRoutes(*alive, alive->subnets()[0], after, 1).max_load_per_capacity ==
          doctest::Approx(result->load_after));
  }
}

TEST_CASE("repair: a leaf-spine link down on a 3-tier fat tree writes within 1.2x the minimum blocks") {
  // k=16: 1024 hosts, 8 spines per pod. A few blocks beyond the minimum are inherent: where
  // every neighbour of a seed forwards into it (all spines of the pod reach the leaf's own
  // LID through it), one of them moves as well; on a smaller tree they weigh more.
  auto f = Generate("fat-tree", {{"k", "16"}, {"tiers", "3"}});
  REQUIRE(f);
  auto routed = testing::RouteWith(*f, "ftree");
  REQUIRE(routed);
  auto repairer = RouteRepairer::Prepare(*f, routed->routes);
  REQUIRE(repairer);
  REQUIRE(repairer->not_repairable()[0].empty());
  const std::vector<LinkId> leaf_links = LinksBetweenTiers(*f, 1, 2);
  for (LinkId l : {leaf_links[0], leaf_links[leaf_links.size() / 3], leaf_links.back()}) {
    INFO("link " << f->LinkName(l));
    const FabricHealth health = LinkDown(*f, l);
    auto result = repairer->Repair(health);
    REQUIRE(result);
    CheckSoundWithout(*f, health, result->routes);
    CHECK(result->unreachable_lids == 0);
    CHECK(result->turn_lids > 0);
    CHECK(result->blocks_changed >= result->blocks_minimum);
    CHECK(static_cast<double>(result->blocks_changed) <= 1.2 * static_cast<double>(result->blocks_minimum));
    CHECK(BlocksDiffering(routed->routes.subnets[0], result->routes.subnets[0]) == result->blocks_changed);
    // Up*/Down* routes only: the switches above the spine move too.
    auto strict = RepairRoutes(*f, health, routed->routes, {.turns = false});
    REQUIRE(strict);
    CheckSoundWithout(*f, health, strict->routes);
    CHECK(strict->turn_lids == 0);
    CHECK(static_cast<double>(strict->blocks_changed) > 1.2 * static_cast<double>(strict->blocks_minimum));
  }
}

TEST_CASE("repair: one cable of a parallel pair down: routes move to its twin, blocks within 1.2x the minimum") {
  Fabric f = testing::TwoTierFatTree({.leaves = 4, .spines = 2, .hosts = 3, .parallel = 2, .tier_labels = true});
  auto routed = testing::RouteWith(f, "updn");
  REQUIRE(routed);
  auto repairer = RouteRepairer::Prepare(f, routed->routes);
  REQUIRE(repairer);
  for (LinkId l : SwitchLinks(f)) {
    INFO("link " << f.LinkName(l));
    const FabricHealth health = LinkDown(f, l);
    auto result = repairer->Repair(health);
    REQUIRE(result);
    CheckSoundWithout(f, health, result->routes);
    CHECK(result->entries_changed > 0);
    CHECK(result->blocks_changed >= result->blocks_minimum);
    CHECK(static_cast<double>(result->blocks_changed) <= 1.2 * static_cast<double>(result->blocks_minimum));
    CHECK(result->unreachable_lids == 0);
  }
}

// A jellyfish of 24 switches routed by updn.
RoutedTree UpdnJellyfish(const std::string& seed) {
  auto f = Generate("jellyfish", {{"switches", "24"}, {"degree", "5"}, {"hosts", "2"}, {"seed", seed}});
  REQUIRE(f);
  auto routed = testing::RouteWith(*f, "updn");
  REQUIRE(routed);
  return {std::move(*f), std::move(routed->routes)};
}

TEST_CASE("repair: updn tables on a jellyfish stay sound after any single switch link fails") {
  const RoutedTree jellyfish = UpdnJellyfish("3");
  const Fabric* f = &jellyfish.fabric;
  auto repairer = RouteRepairer::Prepare(*f, jellyfish.routes);
  REQUIRE(repairer);
  REQUIRE(repairer->not_repairable()[0].empty());
  uint64_t repaired = 0;
  for (LinkId l : SwitchLinks(*f)) {
    INFO("link " << f->LinkName(l));
    const FabricHealth health = LinkDown(*f, l);
    auto alive = WithoutDown(*f, health);
    REQUIRE(alive);
    if (alive->subnets().size() != f->subnets().size()) continue;  // a bridge: the fabric splits
    auto result = repairer->Repair(health);
    REQUIRE(result);
    if (result->unreachable_lids > 0) {
      CHECK(result->full_reroute_advised);
      continue;
    }
    CheckSoundWithout(*f, health, result->routes);
    ++repaired;
  }
  CHECK(repaired > 0);
}

TEST_CASE("repair: updn tables on a jellyfish stay sound after two switch links fail at once") {
  // Two failures give turns of several seeds that can meet in a cycle: the dependency
  // check must refuse those, so the verifier finds no credit loop in any repaired table.
  const RoutedTree jellyfish = UpdnJellyfish("5");
  const Fabric* f = &jellyfish.fabric;
  auto repairer = RouteRepairer::Prepare(*f, jellyfish.routes);
  REQUIRE(repairer);
  REQUIRE(repairer->not_repairable()[0].empty());
  const std::vector<LinkId> links = SwitchLinks(*f);
  uint64_t repaired = 0, turns = 0, refused = 0;
  for (size_t i = 0; i < links.size(); i += 3)
    for (size_t j = i + 1; j < links.size(); j += 7) {
      FabricHealth health = LinkDown(*f, links[i]);
      health.link_down[links[j]] = 1;
      auto alive = WithoutDown(*f, health);
      REQUIRE(alive);
      if (alive->subnets().size() != f->subnets().size()) continue;
      auto result = repairer->Repair(health);
      REQUIRE(result);
      if (result->unreachable_lids > 0) continue;
      INFO("links " << f->LinkName(links[i]) << " and " << f->LinkName(links[j]));
      CheckSound(*alive, result->routes);
      ++repaired;
      turns += result->turn_lids;
      refused += result->turns_refused;
    }
  CHECK(repaired > 20);
  CHECK(turns > 0);
  CHECK(refused > 0);  // on this graph most turns would close a cycle
}

TEST_CASE("repair: a spine switch down moves the routes through it; nothing enters the dead switch") {
  const RoutedTree tree = FtreeK8();
  const Fabric& f = tree.fabric;
  const NodeId spine = FirstSwitchOfTier(f, 2);
  const RepairResult result = RepairSwitchDown(tree, spine);
  CHECK(result.entries_changed > 0);
  // Sound on the full fabric, and no route uses a port of the dead switch: so sound without it.
  const SubnetRoutes& after = result.routes.subnets[0];
  const auto entering = EntriesCrossing(f, after, [&](PortId p) {
    const PortId peer = f.port(p).peer;
    return f.port(p).node == spine || (peer != kNone && f.port(peer).node == spine);
  });
  // Only the dead switch's own entries (which nothing forwards to), and routes to its own
  // LID, may still name its ports.
  uint32_t spine_index = 0;
  while (after.switches[spine_index] != spine) ++spine_index;
  for (const auto& [s, lid] : entering)
    if (after.lid_owner[lid] != f.port_id(spine, 0)) CHECK(s == spine_index);
}

// Routes per switch-to-switch channel over all endpoint pairs that avoid `gone`: the
// busiest count, walked here apart from the repair's own accounting.
uint64_t BusiestAvoiding(const Fabric& f, const SubnetRoutes& r, NodeId gone) {
  std::map<NodeId, uint32_t> index;
  for (uint32_t i = 0; i < r.switches.size(); ++i) index[r.switches[i]] = i;
  std::map<PortId, uint64_t> load;
  for (Lid src = 1; src < r.num_lids(); ++src) {
    const PortId sp = r.lid_owner[src];
    if (sp == kNone || f.is_switch(f.port(sp).node) || f.port(f.port(sp).peer).node == gone) continue;
    for (Lid dst = 1; dst < r.num_lids(); ++dst) {
      const PortId dp = r.lid_owner[dst];
      if (dst == src || dp == kNone || f.is_switch(f.port(dp).node) || f.port(f.port(dp).peer).node == gone) continue;
      for (NodeId at = f.port(f.port(sp).peer).node; at != f.port(f.port(dp).peer).node;) {
        const PortId out = f.port_id(at, r.out_port(index.at(at), dst));
        ++load[out];
        at = f.port(f.port(out).peer).node;
      }
    }
  }
  uint64_t busiest = 0;
  for (const auto& [port, n] : load) busiest = std::max(busiest, n);
  return busiest;
}

TEST_CASE("repair: a leaf switch down: its hosts are gone, not unreachable; the load counts the others only") {
  const RoutedTree tree = FtreeK8();
  const NodeId leaf = FirstSwitchOfTier(tree.fabric, 1);
  const RepairResult result = RepairSwitchDown(tree, leaf);
  CHECK(static_cast<double>(BusiestAvoiding(tree.fabric, result.routes.subnets[0], leaf)) ==
        doctest::Approx(result.load_after));
}

TEST_CASE("repair: a leaf's only uplink down leaves its hosts unreachable and counted; its return routes them") {
  Fabric f = testing::TwoTierFatTree({.leaves = 3, .spines = 1, .hosts = 2, .tier_labels = true});
  auto routed = testing::RouteWith(f, "updn");
  REQUIRE(routed);
  LinkId uplink = kNone;
  for (const Adjacency& a : f.neighbors(*f.FindByDescription("leaf0")))
    if (f.is_switch(a.peer_node)) uplink = a.link;
  REQUIRE(uplink != kNone);
  const FabricHealth down = LinkDown(f, uplink);
  auto result = RepairRoutes(f, down, routed->routes);
  REQUIRE(result);
  // leaf0 towards the 4 other hosts, and leaf1 and leaf2 towards leaf0's 2 hosts.
  CHECK(result->unreachable_lids == 8);
  CHECK(result->full_reroute_advised);
  CHECK(result->why.find("have no route") != std::string::npos);

  // The uplink returns: what had no route gets one, and a full reroute is advised.
  auto back = RepairRoutes(f, FabricHealth::AllUp(f), result->routes, {.routed_for = &down});
  REQUIRE(back);
  CHECK(back->returned_links == 1);
  CHECK(back->unreachable_lids == 0);
  CHECK(back->full_reroute_advised);
  CheckSound(f, back->routes);
}

TEST_CASE("repair: tables that are not Up*/Down* routes are not repaired; a full reroute is advised") {
  Fabric ring = testing::Ring(6);
  auto routed = testing::RouteWith(ring, "dfsssp", EngineOptions{.max_vls = 4});
  REQUIRE(routed);
  auto repairer = RouteRepairer::Prepare(ring, routed->routes);
  REQUIRE(repairer);
  const std::vector<LinkId> links = SwitchLinks(ring);
  auto result = repairer->Repair(LinkDown(ring, links[0]));
  REQUIRE(result);
  if (routed->routes.subnets[0].num_vls > 1) {
    CHECK(repairer->not_repairable()[0].find("VLs") != std::string::npos);
  } else {
    CHECK(repairer->not_repairable()[0].find("not Up*/Down*") != std::string::npos);
  }
  CHECK(result->full_reroute_advised);
  CHECK(result->entries_changed == 0);
  CHECK(result->routes.subnets[0].lft == routed->routes.subnets[0].lft);
}

TEST_CASE("repair: a returned link on a fat tree: dead ends get their routes back, a full reroute is advised") {
  auto f = Generate("fat-tree", {{"k", "8"}, {"tiers", "2"}});
  REQUIRE(f);
  auto routed = testing::RouteWith(*f, "ftree");
  REQUIRE(routed);
  const FabricHealth down = LinkDown(*f, LinksBetweenTiers(*f, 1, 2).front());
  // Up*/Down* only: the spine that lost its cable is left without a route to the leaf's hosts.
  auto repaired = RepairRoutes(*f, down, routed->routes, {.turns = false});
  REQUIRE(repaired);
  CHECK(repaired->unreachable_lids == 0);
  CheckSoundWithout(*f, down, repaired->routes);
  auto back = RepairRoutes(*f, FabricHealth::AllUp(*f), repaired->routes, {.routed_for = &down});
  REQUIRE(back);
  // The spine that lost its cable to the leaf was a dead end for the leaf's hosts.
  CHECK(back->entries_changed == 4);
  CHECK(back->returned_links == 1);
  CHECK(back->full_reroute_advised);
  testing::CheckEveryLidRouted(*f, back->routes.subnets[0]);
  CheckSound(*f, back->routes);
}

// Sets the entry of switch `sw` towards `host`'s LID to `port`.
void SetEntry(const Fabric& f, SubnetRoutes& r, std::string_view sw, std::string_view host, uint8_t port) {
  const NodeId s = *f.FindByDescription(std::string(sw));
  const PortId target = f.port_id(*f.FindByDescription(std::string(host)), 1);
  size_t index = 0;
  while (r.switches[index] != s) ++index;
  Lid lid = 1;
  while (r.lid_owner[lid] != target) ++lid;
  r.lft[index * r.num_lids() + lid] = port;
}

TEST_CASE("repair: a down-then-up turn that would close a dependency cycle is refused; Up*/Down* instead") {
  // Leaves A=leaf0, B1=leaf1, B2=leaf2, C=leaf3 (one host each), spines S=spine0, T=spine1,
  // U=spine2; leaf uplink ports 2, 3, 4 go to S, T, U; spine port i+1 goes to leaf i.
  // Cables A-S and C-T fail. For A's host, S can only reach it as S -> B1 -> T -> A (B2 and
  // C forward it into S); for C's host, T only as T -> B2 -> S -> C (A and B1 forward it
  // into T). B1 sends B2's host by T and B2 sends B1's host by S, so the two turns would
  // close S->B1 -> B1->T -> T->B2 -> B2->S -> S->B1: the second is refused.
  Fabric f = testing::TwoTierFatTree({.leaves = 4, .spines = 3, .hosts = 1, .tier_labels = true});
  auto routed = testing::RouteWith(f, "updn");
  REQUIRE(routed);
  SubnetRoutes& r = routed->routes.subnets[0];
  SetEntry(f, r, "leaf1", "h0-0", 3), SetEntry(f, r, "leaf2", "h0-0", 2), SetEntry(f, r, "leaf3", "h0-0", 2);
  SetEntry(f, r, "leaf0", "h3-0", 3), SetEntry(f, r, "leaf1", "h3-0", 3), SetEntry(f, r, "leaf2", "h3-0", 2);
  SetEntry(f, r, "leaf1", "h2-0", 3), SetEntry(f, r, "leaf2", "h1-0", 2);
  CheckSound(f, routed->routes);
  auto link_of = [&](std::string_view leaf, uint8_t port) {
    for (const Adjacency& a : f.neighbors(*f.FindByDescription(std::string(leaf))))
      if (f.port(a.local).number == port) return a.link;
    return kNone;
  };
  FabricHealth health = FabricHealth::AllUp(f);
  health.link_down[link_of("leaf0", 2)] = 1;
  health.link_down[link_of("leaf3", 3)] = 1;

  auto result = RepairRoutes(f, health, routed->routes);
  REQUIRE(result);
  CHECK(result->turn_lids == 1);
  CHECK(result->turns_refused == 1);
  CHECK(result->unreachable_lids == 0);
  CheckSoundWithout(f, health, result->routes);

  // Both turns, with the switches that forward into them kept: the verifier finds the cycle.
  RouteSet both = result->routes;
  SubnetRoutes& b = both.subnets[0];
  SetEntry(f, b, "spine0", "h0-0", 2), SetEntry(f, b, "leaf1", "h0-0", 3), SetEntry(f, b, "leaf2", "h0-0", 2);
  SetEntry(f, b, "leaf3", "h0-0", 2);
  SetEntry(f, b, "spine1", "h3-0", 3), SetEntry(f, b, "leaf0", "h3-0", 3), SetEntry(f, b, "leaf1", "h3-0", 3);
  SetEntry(f, b, "leaf2", "h3-0", 2);
  auto alive = WithoutDown(f, health);
  REQUIRE(alive);
  auto report = Verify(*alive, both);
  REQUIRE(report);
  CHECK(report->cdg_cycles > 0);
  CHECK(report->unreachable_pairs == 0);
  CHECK(report->loop_pairs == 0);
}

TEST_CASE("repair: a result reused across repairs holds exactly what a fresh repair gives") {
  const RoutedTree tree = FtreeK8();
  auto repairer = RouteRepairer::Prepare(tree.fabric, tree.routes);
  REQUIRE(repairer);
  const std::vector<LinkId> links = LinksBetweenTiers(tree.fabric, 1, 2);
  RepairResult reused;
  for (LinkId l : {links.front(), links.back(), links.front()}) {
    const FabricHealth health = LinkDown(tree.fabric, l);
    REQUIRE(repairer->Repair(health, reused));
    CHECK(reused.changed.size() == reused.entries_changed);
    auto fresh = repairer->Repair(health);
    REQUIRE(fresh);
    CHECK(reused.routes.subnets[0].lft == fresh->routes.subnets[0].lft);
    CHECK(reused.entries_changed == fresh->entries_changed);
    CHECK(reused.blocks_changed == fresh->blocks_changed);
    CHECK(reused.why == fresh->why);
  }
  // Back to everything up: only the entries the last repair changed were put back.
  REQUIRE(repairer->Repair(FabricHealth::AllUp(tree.fabric), reused));
  CHECK(reused.routes.subnets[0].lft == tree.routes.subnets[0].lft);
  CHECK(reused.changed.empty());
}

TEST_CASE("repair: a health mask sized for another fabric is an error") {
  Fabric f = testing::TwoTierFatTree({});
  auto routed = testing::RouteWith(f, "updn");
  REQUIRE(routed);
  FabricHealth h;
  h.link_down.assign(f.num_links() + 1, 0);
  CHECK_FALSE(RepairRoutes(f, h, routed->routes));
}

}  // namespace
}  // namespace fabricctl
