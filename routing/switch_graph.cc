#include "routing/switch_graph.h"

#include <algorithm>

#include "routing/parallel.h"

namespace fabricctl {

SwitchGraph::SwitchGraph(const Fabric& fabric, const Subnet& subnet, const SubnetRoutes& routes)
    : switches_(subnet.switches) {
  const uint32_t count = num_switches();
  local_of_node_.assign(fabric.num_nodes(), kNone);
  for (uint32_t s = 0; s < count; ++s) local_of_node_[switches_[s]] = s;

  // Group each switch's switch-facing ports by neighbour, neighbours in first-port order.
  group_offsets_.assign(count + 1, 0);
  port_offsets_.push_back(0);
  std::vector<uint32_t> group_of_nbr(count, kNone);
  for (uint32_t s = 0; s < count; ++s) {
    group_offsets_[s] = static_cast<uint32_t>(group_nbr_.size());
    std::vector<uint32_t> order;  // neighbours of s in order of their first port
    std::vector<std::vector<std::pair<uint8_t, uint8_t>>> by_nbr;
    for (const Adjacency& a : fabric.neighbors(switches_[s])) {
      uint32_t t = local_of_node_[a.peer_node];
      if (t == kNone || t == s) continue;  // endpoint, or a loopback cable
      if (group_of_nbr[t] == kNone) {
        group_of_nbr[t] = static_cast<uint32_t>(order.size());
        order.push_back(t);
        by_nbr.emplace_back();
      }
      by_nbr[group_of_nbr[t]].emplace_back(fabric.port(a.local).number, fabric.port(a.peer_port).number);
    }
    for (size_t i = 0; i < order.size(); ++i) {
      group_nbr_.push_back(order[i]);
      for (auto [p, q] : by_nbr[i]) {
        ports_.push_back(p);
        peer_ports_.push_back(q);
      }
      port_offsets_.push_back(static_cast<uint32_t>(ports_.size()));
      group_of_nbr[order[i]] = kNone;
    }
  }
  group_offsets_[count] = static_cast<uint32_t>(group_nbr_.size());

  const size_t num_lids = routes.num_lids();
  lid_switch_.assign(num_lids, kNone);
  lid_port_.assign(num_lids, 0);
  lid_is_switch_.assign(num_lids, 0);
  switch_lid_.assign(count, 0);
  ep_offsets_.assign(count + 1, 0);
  for (Lid l = 1; l < num_lids; ++l) {
    PortId p = routes.lid_owner[l];
    if (p == kNone) continue;
    const Port& port = fabric.port(p);
    if (fabric.is_switch(port.node)) {
      uint32_t s = local(port.node);
      if (s == kNone) continue;
      lid_switch_[l] = s;
      lid_is_switch_[l] = 1;
      switch_lid_[s] = l;
    } else if (port.peer != kNone) {
      const Port& peer = fabric.port(port.peer);
      uint32_t s = local(peer.node);
      if (s == kNone) continue;
      lid_switch_[l] = s;
      lid_port_[l] = peer.number;
      ++ep_offsets_[s + 1];
    }
  }
  for (uint32_t s = 0; s < count; ++s) ep_offsets_[s + 1] += ep_offsets_[s];
  ep_lids_.resize(ep_offsets_[count]);
  std::vector<uint32_t> fill(ep_offsets_.begin(), ep_offsets_.end() - 1);
  for (Lid l = 1; l < num_lids; ++l)
    if (lid_switch_[l] != kNone && !lid_is_switch_[l]) ep_lids_[fill[lid_switch_[l]]++] = l;
}

uint32_t SwitchGraph::local(NodeId n) const { return n < local_of_node_.size() ? local_of_node_[n] : kNone; }

std::vector<uint8_t> AllPairsSwitchHops(const SwitchGraph& g, unsigned threads) {
  const uint32_t num_switches = g.num_switches();
  std::vector<uint8_t> dist(size_t{num_switches} * num_switches, kUnreachable);
  if (num_switches == 0) return dist;
  // Distances are symmetric, so a BFS from d fills row d, which equals column d.
  ParallelFor(num_switches, ThreadsFor(size_t{num_switches} * g.end(num_switches - 1), threads), [&](size_t d) {
    uint8_t* row = &dist[d * num_switches];
    std::vector<uint32_t> queue;
    std::vector<uint8_t> seen(num_switches, 0);
    queue.reserve(num_switches);
    queue.push_back(static_cast<uint32_t>(d));
    seen[d] = 1;
    row[d] = 0;
    // Past 254 hops the distance stays at 254: kUnreachable (255) means unreachable only.
    BreadthFirst(
        g, queue, seen, [&](uint32_t x) { return AllGroups(g, x); },
        [&](uint32_t y, uint32_t x) {
          row[y] = row[x] == kUnreachable - 1 ? row[x] : static_cast<uint8_t>(row[x] + 1);
        });
  });
  return dist;
}

void RouteSwitchLidShortest(const SwitchGraph& g, Lid lid, SubnetRoutes& out, std::vector<uint32_t>& scratch) {
  const uint32_t num_switches = g.num_switches();
  const size_t num_lids = out.num_lids();
  uint32_t d = g.lid_switch(lid);
  if (d == kNone) return;
  std::vector<uint8_t> seen(num_switches, 0);
  scratch.clear();
  scratch.push_back(d);
  seen[d] = 1;
  // Once every switch is seen the rest of the queue has nothing left to find.
  for (size_t head = 0; head < scratch.size() && scratch.size() < num_switches; ++head) {
    uint32_t x = scratch[head];
    for (uint32_t e = g.begin(x); e < g.end(x); ++e) {
      uint32_t y = g.nbr(e);
      if (seen[y]) continue;
      seen[y] = 1;
      scratch.push_back(y);
      // y reaches x through the peer side of this group.
      uint8_t& entry = out.lft[size_t{y} * num_lids + lid];
      if (entry == kNoRoute) entry = g.peer_ports(e).front();
    }
  }
}

}  // namespace fabricctl
