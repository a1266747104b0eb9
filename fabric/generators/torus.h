#pragma once
// 2D/3D torus or mesh of switches with hosts attached, shared by the torus generator and
// the direct scale-up fabric of supernode.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fabric/generators/gen_builder.h"

namespace fabricctl::gen {

struct TorusShape {
  std::vector<int> dims;  // 2 or 3 sizes
  bool wrap = true;       // false: mesh
  unsigned links = 1;     // parallel links to each neighbour
  unsigned hosts_per_switch = 1;
  unsigned host_ports = 1;  // links from a host to its switch
  size_t switches() const;
  // Host ports first, then per dimension the + links and the - links.
  unsigned radix() const { return hosts_per_switch * host_ports + 2 * static_cast<unsigned>(dims.size()) * links; }
};

// "x01-y02-z03" for switch s (x varies fastest).
std::string TorusCoordName(const TorusShape& shape, size_t s);

// Adds the switches "<prefix>-<coords>" with `switch_labels`, cables host h of switch s
// (hosts[s * hosts_per_switch + h], ports 1..host_ports) to it and switches to their
// neighbours. A dimension of size 2 is cabled once, as wrapping would double the link.
void BuildTorus(GenBuilder& b, const TorusShape& shape, std::span<const NodeId> hosts, std::string_view prefix,
                Labels switch_labels, LinkRate rate);

}  // namespace fabricctl::gen
