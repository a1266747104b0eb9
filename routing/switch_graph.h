#pragma once
// The switch graph of one subnet, frozen for routing engines: switches get dense local
// indices (Subnet::switches order), neighbours are grouped by neighbour switch with the
// parallel ports of each group, and every LID knows the switch it hangs off and the port
// there. Engines build one per Route() call; it is their working state, not the model's.
#include <cstdint>
#include <ranges>
#include <span>
#include <type_traits>
#include <vector>

#include "fabric/fabric.h"
#include "routing/routes.h"

namespace fabricctl {

inline constexpr uint8_t kUnreachable = 0xFF;  // hop-table entry without a path

class SwitchGraph {
 public:
  SwitchGraph(const Fabric& fabric, const Subnet& subnet, const SubnetRoutes& routes);

  uint32_t num_switches() const { return static_cast<uint32_t>(switches_.size()); }
  NodeId node(uint32_t s) const { return switches_[s]; }
  // Local index of a fabric node, kNone when it is not a switch of this subnet.
  uint32_t local(NodeId n) const;

  // Neighbour groups of s: group g in [begin(s), end(s)) reaches switch nbr(g) through
  // ports(g) on s (peer_ports(g) are the matching ports on nbr(g)).
  uint32_t begin(uint32_t s) const { return group_offsets_[s]; }
  uint32_t end(uint32_t s) const { return group_offsets_[s + 1]; }
  uint32_t nbr(uint32_t g) const { return group_nbr_[g]; }
  std::span<const uint8_t> ports(uint32_t g) const {
    return std::span<const uint8_t>(ports_).subspan(port_offsets_[g], port_offsets_[g + 1] - port_offsets_[g]);
  }
  std::span<const uint8_t> peer_ports(uint32_t g) const {
    return std::span<const uint8_t>(peer_ports_).subspan(port_offsets_[g], port_offsets_[g + 1] - port_offsets_[g]);
  }
  uint32_t degree(uint32_t s) const { return end(s) - begin(s); }

  // Per LID: the switch it is attached to (kNone for LID 0 or an endpoint cabled to an
  // endpoint), the port on that switch (0 for the switch's own LID), and whether it is a
  // switch LID.
  size_t num_lids() const { return lid_switch_.size(); }
  uint32_t lid_switch(Lid l) const { return lid_switch_[l]; }
  uint8_t lid_port(Lid l) const { return lid_port_[l]; }
  bool lid_is_switch(Lid l) const { return lid_is_switch_[l] != 0; }
  // Endpoint LIDs attached to switch s, ascending.
  std::span<const Lid> endpoint_lids(uint32_t s) const {
    return std::span<const Lid>(ep_lids_).subspan(ep_offsets_[s], ep_offsets_[s + 1] - ep_offsets_[s]);
  }
  // Own LID of switch s (0 when it has none).
  Lid switch_lid(uint32_t s) const { return switch_lid_[s]; }

 private:
  void GroupNeighbours(const Fabric& fabric);
  void IndexLids(const Fabric& fabric, const SubnetRoutes& routes);

  std::vector<NodeId> switches_;
  std::vector<uint32_t> local_of_node_;
  std::vector<uint32_t> group_offsets_, group_nbr_, port_offsets_;
  std::vector<uint8_t> ports_, peer_ports_;
  std::vector<uint32_t> lid_switch_;
  std::vector<uint8_t> lid_port_, lid_is_switch_;
  std::vector<uint32_t> ep_offsets_;
  std::vector<Lid> ep_lids_;
  std::vector<Lid> switch_lid_;
};

// The neighbour group of every switch port, ports numbered s * stride() + p (so per-port
// arrays can follow the same numbering): [port] is the group of switch s that port p cables
// to another switch, kNone for a port without one.
class PortGroups {
 public:
  PortGroups(const Fabric& fabric, const SwitchGraph& g);
  uint32_t stride() const { return stride_; }
  size_t size() const { return group_.size(); }
  uint32_t operator[](size_t port) const { return group_[port]; }

 private:
  uint32_t stride_ = 1;
  std::vector<uint32_t> group_;
};

// Breadth-first search over switches. `queue` holds the start switches (marked in `seen`);
// from each switch x it follows the neighbour groups `groups(x)` returns (a range of group
// ids), marks every switch first reached, calls reached(y, x) (or reached(y, x, e) with the
// group e of x that reached y) and appends y, so `queue` ends as the visit order.
template <class Groups, class Reached>
void BreadthFirst(const SwitchGraph& g, std::vector<uint32_t>& queue, std::vector<uint8_t>& seen, Groups groups,
                  Reached reached) {
  for (size_t head = 0; head < queue.size(); ++head) {
    const uint32_t x = queue[head];
    for (uint32_t e : groups(x)) {
      const uint32_t y = g.nbr(e);
      if (seen[y]) continue;
      seen[y] = 1;
      if constexpr (std::is_invocable_v<Reached&, uint32_t, uint32_t, uint32_t>)
        reached(y, x, e);
      else
        reached(y, x);
      queue.push_back(y);
    }
  }
}

// Every neighbour group of s, for BreadthFirst.
inline std::ranges::iota_view<uint32_t, uint32_t> AllGroups(const SwitchGraph& g, uint32_t s) {
  return std::views::iota(g.begin(s), g.end(s));
}

// Hop distances from every switch to every destination switch by breadth-first search,
// dist[s * num_switches + d], kUnreachable when none; threads over destinations.
std::vector<uint8_t> AllPairsSwitchHops(const SwitchGraph& g, unsigned threads);

// Fills the LFT entries of every switch towards switch LID `lid` (owned by switch d) along
// shortest paths (first-found port, no balancing), only where the entry is still kNoRoute.
// Used for switch LIDs, which carry management traffic only.
void RouteSwitchLidShortest(const SwitchGraph& g, Lid lid, SubnetRoutes& out, std::vector<uint32_t>& scratch);

}  // namespace fabricctl
