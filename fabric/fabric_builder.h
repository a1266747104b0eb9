#pragma once
// Builds a Fabric: add nodes, set port attributes, connect ports, then Build() freezes the
// CSR adjacency and the subnets and hands out a read-only Fabric.
#include <string>

#include "fabric/error.h"
#include "fabric/fabric.h"

namespace fabricctl {

struct NodeSpec {
  NodeType type = NodeType::kCa;
  unsigned num_ports = 1;  // 1..255
  uint64_t guid = 0;       // 0: none known (the builder does not invent one)
  uint64_t system_guid = 0;
  std::string description;
  Labels labels;
  uint32_t vendor_id = 0;
  uint32_t device_id = 0;
};

// Node n of `f` as a spec, to add it to another builder.
NodeSpec SpecOf(const Fabric& f, NodeId n);

// The state both ends of a trained cable report.
struct LinkRate {
  LinkWidth width = LinkWidth::k4x;
  LinkSpeed speed = LinkSpeed::kHDR;
};

class FabricBuilder {
 public:
  FabricBuilder() = default;
  void Reserve(size_t nodes, size_t port_slots);

  // Fails on num_ports outside 1..255.
  Result<NodeId> AddNode(NodeSpec spec);

  size_t num_nodes() const { return f_.nodes_.size(); }
  Node& node(NodeId n) { return f_.nodes_[n]; }
  const Node& node(NodeId n) const { return f_.nodes_[n]; }
  std::string& description(NodeId n) { return f_.descriptions_[n]; }
  // Port `number` (0..num_ports) of n; attributes may be set until Build().
  Port& port(NodeId n, unsigned number) { return f_.ports_[f_.nodes_[n].first_port + number]; }
  PortId port_id(NodeId n, unsigned number) const { return f_.nodes_[n].first_port + number; }
  // The peer port already recorded for (n, number), or kNone.
  PortId peer(NodeId n, unsigned number) const { return f_.ports_[f_.nodes_[n].first_port + number].peer; }

  // Cables two physical ports. Fails when a port is out of range, is port 0, is already
  // cabled, or when both ends are the same port.
  Result<LinkId> Connect(NodeId a, unsigned port_a, NodeId b, unsigned port_b);
  // Connect and mark both ends Active/LinkUp at `rate`, which is also enabled and supported.
  Result<LinkId> Connect(NodeId a, unsigned port_a, NodeId b, unsigned port_b, LinkRate rate);

  // Freezes. Fails on duplicate non-zero node GUIDs. The builder is left empty.
  Result<Fabric> Build();

 private:
  // The steps of Build(), on the fabric being frozen.
  static Result<void> IndexGuids(Fabric& f);
  static void FreezeAdjacency(Fabric& f);
  static void FindSubnets(Fabric& f);
  static void NameSubnets(Fabric& f);

  Fabric f_;
};

}  // namespace fabricctl
