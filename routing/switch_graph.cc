#include "routing/switch_graph.h"

#include <algorithm>

#include "routing/parallel.h"

namespace fabricctl {

// Above this many switches the hop table is filled by searches only (the sets would take
// 2 * switches^2 / 8 bytes).
constexpr uint32_t kMaxSetSwitches = 8192;

SwitchGraph::SwitchGraph(const Fabric& fabric, const Subnet& subnet, const SubnetRoutes& routes)
    : switches_(subnet.switches) {
  const uint32_t count = num_switches();
  local_of_node_.assign(fabric.num_nodes(), kNone);
  for (uint32_t s = 0; s < count; ++s) local_of_node_[switches_[s]] = s;

  GroupNeighbours(fabric);
  IndexLids(fabric, routes);
}

void SwitchGraph::GroupNeighbours(const Fabric& fabric) {
  const uint32_t count = num_switches();
  // Group each switch's switch-facing ports by neighbour, neighbours in first-port order:
  // a counting pass numbers the groups, a second one writes the ports in place.
  group_offsets_.assign(count + 1, 0);
  port_offsets_.push_back(0);
  std::vector<uint32_t> group_of_nbr(count, kNone), slots;
  size_t adjacencies = 0;
  for (uint32_t s = 0; s < count; ++s) adjacencies += fabric.neighbors(switches_[s]).size();
  group_nbr_.reserve(adjacencies);
  port_offsets_.reserve(adjacencies + 1);
  ports_.reserve(adjacencies);
  peer_ports_.reserve(adjacencies);
  for (uint32_t s = 0; s < count; ++s) {
    const uint32_t first_group = static_cast<uint32_t>(group_nbr_.size());
    const uint32_t first_port = static_cast<uint32_t>(ports_.size());
    group_offsets_[s] = first_group;
    slots.clear();  // per group of s: ports so far, then where its next port goes
    for (const Adjacency& a : fabric.neighbors(switches_[s])) {
      const uint32_t t = local_of_node_[a.peer_node];
      if (t == kNone || t == s) continue;  // endpoint, or a loopback cable
      if (group_of_nbr[t] == kNone) {
        group_of_nbr[t] = static_cast<uint32_t>(slots.size());
        group_nbr_.push_back(t);
        slots.push_back(0);
      }
      ++slots[group_of_nbr[t]];
    }
    uint32_t at = first_port;
    for (uint32_t& n : slots) {
      at += n;
      port_offsets_.push_back(at);
      n = at - n;
    }
    ports_.resize(at);
    peer_ports_.resize(at);
    for (const Adjacency& a : fabric.neighbors(switches_[s])) {
      const uint32_t t = local_of_node_[a.peer_node];
      if (t == kNone || t == s) continue;
      const uint32_t slot = slots[group_of_nbr[t]]++;
      ports_[slot] = fabric.port(a.local).number;
      peer_ports_[slot] = fabric.port(a.peer_port).number;
    }
    for (uint32_t g = first_group; g < group_nbr_.size(); ++g) group_of_nbr[group_nbr_[g]] = kNone;
  }
  group_offsets_[count] = static_cast<uint32_t>(group_nbr_.size());
}

void SwitchGraph::IndexLids(const Fabric& fabric, const SubnetRoutes& routes) {
  const uint32_t count = num_switches();
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

namespace {

// Rows of the hop table by breadth-first search from every switch, in blocks of
// destinations with one queue each. A row's own entries say what is seen.
void HopsByBreadthFirst(const SwitchGraph& g, unsigned threads, std::vector<uint8_t>& dist) {
  const uint32_t num_switches = g.num_switches();
  constexpr size_t kBlock = 64;
  const size_t blocks = (num_switches + kBlock - 1) / kBlock;
  ParallelFor(blocks, ThreadsFor(size_t{num_switches} * g.end(num_switches - 1), threads), [&](size_t block) {
    std::vector<uint32_t> queue(num_switches);
    const size_t last = std::min<size_t>(num_switches, (block + 1) * kBlock);
    for (size_t d = block * kBlock; d < last; ++d) {
      uint8_t* row = &dist[d * num_switches];
      queue[0] = static_cast<uint32_t>(d);
      row[d] = 0;
      // Past 254 hops the distance stays at 254: kUnreachable (255) means unreachable only.
      for (uint32_t head = 0, tail = 1; head < tail; ++head) {
        const uint32_t x = queue[head];
        const uint8_t next = row[x] == kUnreachable - 1 ? row[x] : static_cast<uint8_t>(row[x] + 1);
        for (uint32_t e = g.begin(x); e < g.end(x); ++e) {
          const uint32_t y = g.nbr(e);
          if (row[y] != kUnreachable) continue;
          row[y] = next;
          queue[tail++] = y;
        }
      }
    }
  });
}

// The same table by sets: reach[s] holds the switches at most h hops from s, and one more
// hop is the union of reach over s's neighbours, a word per 64 switches. A round costs what
// one search from every switch costs per 64 switches, so this wins while the diameter is
// small against the switch count; past `max_rounds` it gives up (false) and leaves the rest
// to HopsByBreadthFirst.
bool HopsBySets(const SwitchGraph& g, unsigned threads, uint32_t max_rounds, std::vector<uint8_t>& dist) {
  const uint32_t num_switches = g.num_switches();
  const size_t words = (num_switches + 63) / 64;
  std::vector<uint64_t> reach(num_switches * words, 0), next(num_switches * words);
  for (uint32_t s = 0; s < num_switches; ++s) {
    reach[s * words + s / 64] |= uint64_t{1} << (s % 64);
    dist[size_t{s} * num_switches + s] = 0;
  }
  constexpr size_t kBlock = 64;
  const size_t blocks = (num_switches + kBlock - 1) / kBlock;
  // Threads start anew every round: worth it only when one round is a big job (a word
  // operation counted as a few simple steps).
  const unsigned round_threads = ThreadsFor(size_t{g.end(num_switches - 1)} * words * 8, threads);
  std::vector<uint8_t> grew(blocks);
  for (uint32_t hops = 1; hops <= max_rounds; ++hops) {
    ParallelFor(blocks, round_threads, [&](size_t block) {
      bool any = false;
      const uint32_t last = static_cast<uint32_t>(std::min<size_t>(num_switches, (block + 1) * kBlock));
      for (uint32_t s = static_cast<uint32_t>(block * kBlock); s < last; ++s) {
        const uint64_t* own = &reach[s * words];
        uint64_t* out = &next[s * words];
        std::copy_n(own, words, out);
        for (uint32_t e = g.begin(s); e < g.end(s); ++e) {
          const uint64_t* theirs = &reach[size_t{g.nbr(e)} * words];
          for (size_t w = 0; w < words; ++w) out[w] |= theirs[w];
        }
        uint8_t* row = &dist[size_t{s} * num_switches];
        for (size_t w = 0; w < words; ++w)
          for (uint64_t fresh = out[w] & ~own[w]; fresh; fresh &= fresh - 1) {
            row[w * 64 + static_cast<size_t>(__builtin_ctzll(fresh))] = static_cast<uint8_t>(hops);
            any = true;
          }
      }
      grew[block] = any;
    });
    reach.swap(next);
    if (std::find(grew.begin(), grew.end(), 1) == grew.end()) return true;
  }
  return false;
}

}  // namespace

std::vector<uint8_t> AllPairsSwitchHops(const SwitchGraph& g, unsigned threads) {
  const uint32_t num_switches = g.num_switches();
  std::vector<uint8_t> dist(size_t{num_switches} * num_switches, kUnreachable);
  if (num_switches == 0) return dist;
  // Distances are symmetric, so row d (from d) is also column d (to d). Sets beat searches
  // while rounds * words < switches; a round past that bound means a long, thin fabric.
  const uint32_t words = (num_switches + 63) / 64;
  const uint32_t max_rounds = std::min<uint32_t>(kUnreachable - 2, num_switches / words / 2);
  if (num_switches <= kMaxSetSwitches && HopsBySets(g, threads, max_rounds, dist)) return dist;
  std::fill(dist.begin(), dist.end(), kUnreachable);
  HopsByBreadthFirst(g, threads, dist);
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

PortGroups::PortGroups(const Fabric& fabric, const SwitchGraph& g) {
  for (uint32_t s = 0; s < g.num_switches(); ++s)
    stride_ = std::max<uint32_t>(stride_, fabric.node(g.node(s)).num_ports + 1u);
  group_.assign(size_t{g.num_switches()} * stride_, kNone);
  for (uint32_t s = 0; s < g.num_switches(); ++s)
    for (uint32_t grp = g.begin(s); grp < g.end(s); ++grp)
      for (uint8_t p : g.ports(grp)) group_[size_t{s} * stride_ + p] = grp;
}

}  // namespace fabricctl
