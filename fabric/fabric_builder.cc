#include "fabric/fabric_builder.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <unordered_map>

namespace fabricctl {
namespace {

class UnionFind {
 public:
  explicit UnionFind(size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), 0u); }
  uint32_t Find(uint32_t x) {
    while (parent_[x] != x) {
      parent_[x] = parent_[parent_[x]];
      x = parent_[x];
    }
    return x;
  }
  void Union(uint32_t a, uint32_t b) {
    a = Find(a);
    b = Find(b);
    if (a == b) return;
    if (a > b) std::swap(a, b);
    parent_[b] = a;  // the smaller id is the root, so roots order like their first port
  }

 private:
  std::vector<uint32_t> parent_;
};

// Name from the labels its switches share: "scale-up/sn3", "scale-up/sn3/p1", "scale-out".
std::string SubnetName(const Subnet& s, const std::vector<Node>& nodes, size_t index) {
  if (s.switches.empty() || s.level == FabricLevel::kUnknown) return fmt::format("subnet{}", index);
  int32_t plane = nodes[s.switches.front()].labels.plane;
  for (NodeId sw : s.switches)
    if (nodes[sw].labels.plane != plane) plane = -1;
  std::string name(s.level == FabricLevel::kScaleUp ? "scale-up" : "scale-out");
  if (s.super_node >= 0) name += fmt::format("/sn{}", s.super_node);
  if (plane >= 0) name += fmt::format("/p{}", plane);
  return name;
}

}  // namespace

void FabricBuilder::Reserve(size_t nodes, size_t port_slots) {
  f_.nodes_.reserve(nodes);
  f_.descriptions_.reserve(nodes);
  f_.ports_.reserve(port_slots);
}

NodeSpec SpecOf(const Fabric& f, NodeId n) {
  const Node& node = f.node(n);
  return {.type = node.type,
          .num_ports = node.num_ports,
          .guid = node.guid,
          .system_guid = node.system_guid,
          .description = std::string(f.description(n)),
          .labels = node.labels,
          .vendor_id = node.vendor_id,
          .device_id = node.device_id};
}

Result<NodeId> FabricBuilder::AddNode(NodeSpec spec) {
  if (spec.num_ports < 1 || spec.num_ports > 255)
    return MakeError(fmt::format("node '{}': {} ports, expected 1..255", spec.description, spec.num_ports));
  if (f_.nodes_.size() >= kNone - 1) return MakeError("too many nodes");
  NodeId id = static_cast<NodeId>(f_.nodes_.size());
  Node n;
  n.type = spec.type;
  n.num_ports = static_cast<uint16_t>(spec.num_ports);
  n.first_port = static_cast<PortId>(f_.ports_.size());
  n.guid = spec.guid;
  n.system_guid = spec.system_guid;
  n.vendor_id = spec.vendor_id;
  n.device_id = spec.device_id;
  n.labels = spec.labels;
  f_.nodes_.push_back(n);
  f_.descriptions_.push_back(std::move(spec.description));
  for (unsigned p = 0; p <= spec.num_ports; ++p) {
    Port port;
    port.node = id;
    port.number = static_cast<uint8_t>(p);
    // Switch ports share the switch's port GUID; port 0 is its always-up management port.
    if (spec.type == NodeType::kSwitch) {
      port.guid = spec.guid;
      if (p == 0) {
        port.state = PortState::kActive;
        port.phys_state = PhysState::kLinkUp;
      }
    }
    f_.ports_.push_back(port);
  }
  return id;
}

Result<LinkId> FabricBuilder::Connect(NodeId a, unsigned port_a, NodeId b, unsigned port_b) {
  auto check = [&](NodeId n, unsigned p) -> Result<PortId> {
    if (n >= f_.nodes_.size()) return MakeError(fmt::format("node id {} does not exist", n));
    const Node& node = f_.nodes_[n];
    if (p < 1 || p > node.num_ports)
      return MakeError(fmt::format("'{}' has ports 1..{}, not {}", f_.descriptions_[n], node.num_ports, p));
    PortId id = node.first_port + p;
    if (f_.ports_[id].peer != kNone)
      return MakeError(
          fmt::format("'{}'[{}] is already cabled to {}", f_.descriptions_[n], p, f_.PortName(f_.ports_[id].peer)));
    return id;
  };
  auto pa = check(a, port_a);
  if (!pa) return std::unexpected(pa.error());
  auto pb = check(b, port_b);
  if (!pb) return std::unexpected(pb.error());
  if (*pa == *pb) return MakeError(fmt::format("'{}'[{}] cannot be cabled to itself", f_.descriptions_[a], port_a));
  LinkId id = static_cast<LinkId>(f_.links_.size());
  f_.links_.push_back(Link{.a = std::min(*pa, *pb), .b = std::max(*pa, *pb)});
  f_.ports_[*pa].peer = *pb;
  f_.ports_[*pb].peer = *pa;
  f_.ports_[*pa].link = id;
  f_.ports_[*pb].link = id;
  return id;
}

Result<LinkId> FabricBuilder::Connect(NodeId a, unsigned port_a, NodeId b, unsigned port_b, LinkRate rate) {
  auto link = Connect(a, port_a, b, port_b);
  if (!link) return link;
  for (PortId p : {f_.links_[*link].a, f_.links_[*link].b}) {
    Port& port = f_.ports_[p];
    port.state = PortState::kActive;
    port.phys_state = PhysState::kLinkUp;
    port.width_active = rate.width;
    port.width_enabled = port.width_supported = WidthBit(rate.width);
    port.speed_active = rate.speed;
    port.speed_enabled = port.speed_supported = SpeedBit(rate.speed);
  }
  return link;
}

Result<Fabric> FabricBuilder::Build() {
  Fabric f = std::move(f_);
  f_ = Fabric();
  if (auto ok = IndexGuids(f); !ok) return std::unexpected(ok.error());
  FreezeAdjacency(f);
  FindSubnets(f);
  NameSubnets(f);
  return f;
}

// Node GUIDs (0: none) are unique.
Result<void> FabricBuilder::IndexGuids(Fabric& f) {
  const size_t n_nodes = f.nodes_.size();
  f.by_guid_.reserve(n_nodes);
  for (NodeId n = 0; n < n_nodes; ++n) {
    uint64_t guid = f.nodes_[n].guid;
    if (guid == 0) continue;
    auto [it, inserted] = f.by_guid_.emplace(guid, n);
    if (!inserted)
      return MakeError(fmt::format("duplicate node GUID 0x{:016x}: '{}' and '{}'", guid, f.descriptions_[it->second],
                                   f.descriptions_[n]));
  }
  return {};
}

// The frozen CSR of connected ports.
void FabricBuilder::FreezeAdjacency(Fabric& f) {
  const size_t n_nodes = f.nodes_.size();
  f.adjacency_offsets_.assign(n_nodes + 1, 0);
  for (NodeId n = 0; n < n_nodes; ++n) {
    uint32_t count = 0;
    for (const Port& p : f.physical_ports(n)) count += p.peer != kNone;
    f.adjacency_offsets_[n + 1] = f.adjacency_offsets_[n] + count;
  }
  f.adjacency_.resize(f.adjacency_offsets_[n_nodes]);
  for (NodeId n = 0; n < n_nodes; ++n) {
    uint32_t at = f.adjacency_offsets_[n];
    const Node& node = f.nodes_[n];
    for (unsigned num = 1; num <= node.num_ports; ++num) {
      PortId pid = node.first_port + num;
      const Port& p = f.ports_[pid];
      if (p.peer == kNone) continue;
      f.adjacency_[at++] =
          Adjacency{.local = pid, .peer_node = f.ports_[p.peer].node, .peer_port = p.peer, .link = p.link};
    }
  }
}

// Subnets: union the ends of every link and all ports of every switch.
void FabricBuilder::FindSubnets(Fabric& f) {
  const size_t n_nodes = f.nodes_.size();
  UnionFind uf(f.ports_.size());
  for (const Link& l : f.links_) uf.Union(l.a, l.b);
  for (NodeId n = 0; n < n_nodes; ++n) {
    const Node& node = f.nodes_[n];
    if (node.type != NodeType::kSwitch) continue;
    for (unsigned num = 1; num <= node.num_ports; ++num) uf.Union(node.first_port, node.first_port + num);
  }
  f.subnet_of_port_.assign(f.ports_.size(), kNone);
  auto in_subnet = [&](PortId p) {
    const Port& port = f.ports_[p];
    const Node& node = f.nodes_[port.node];
    if (node.type == NodeType::kSwitch) return true;
    return port.number != 0 && port.peer != kNone;
  };
  // Subnets are numbered in the order of their smallest port id. Every port of a subnet's
  // component is in_subnet and the root is the component's smallest port, so the first
  // port met in ascending order is the root: numbering on first sight is that order. A
  // root's subnet is kept in subnet_of_port_[root] itself, so no map is needed.
  for (PortId p = 0; p < f.ports_.size(); ++p) {
    if (!in_subnet(p)) continue;
    const PortId root = uf.Find(p);
    if (root == p) {
      f.subnet_of_port_[p] = static_cast<SubnetId>(f.subnets_.size());
      f.subnets_.emplace_back();
    }
    const SubnetId s = f.subnet_of_port_[root];
    f.subnet_of_port_[p] = s;
    const Port& port = f.ports_[p];
    const Node& node = f.nodes_[port.node];
    if (node.type == NodeType::kSwitch) {
      if (port.number == 0) f.subnets_[s].switches.push_back(port.node);
    } else {
      f.subnets_[s].endpoint_ports.push_back(p);
    }
  }
}

// A subnet's level and super node are its switches' when they all agree; names are unique
// for --engine NAME=... and reports (repeats get a suffix).
void FabricBuilder::NameSubnets(Fabric& f) {
  for (SubnetId s = 0; s < f.subnets_.size(); ++s) {
    Subnet& sub = f.subnets_[s];
    sub.id = s;
    if (!sub.switches.empty()) {
      const Labels& first = f.nodes_[sub.switches.front()].labels;
      sub.level = first.level;
      sub.super_node = first.super_node;
      for (NodeId sw : sub.switches) {
        const Labels& l = f.nodes_[sw].labels;
        if (l.level != sub.level) sub.level = FabricLevel::kUnknown;
        if (l.super_node != sub.super_node) sub.super_node = -1;
      }
    }
    sub.name = SubnetName(sub, f.nodes_, s);
  }
  std::unordered_map<std::string, int> seen;
  for (Subnet& sub : f.subnets_) {
    int k = seen[sub.name]++;
    if (k > 0) sub.name += fmt::format("#{}", k);
  }
}

}  // namespace fabricctl
