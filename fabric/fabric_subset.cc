#include "fabric/fabric_subset.h"

#include <vector>

#include "fabric/fabric_builder.h"

namespace fabricctl {

namespace {

// A port whose cable is gone, as a port with nothing plugged in reads: Down, Polling, no
// active width or speed.
Port Unplugged(Port port) {
  port.state = PortState::kDown;
  port.phys_state = PhysState::kPolling;
  port.width_active = LinkWidth::kNone;
  port.speed_active = LinkSpeed::kNone;
  return port;
}

// The kept nodes with their ports, none cabled yet; id[n] is n's new id (kNone: left out).
Result<void> CopyNodes(const Fabric& f, const SubsetRules& rules, FabricBuilder& b, std::vector<NodeId>& id) {
  id.assign(f.num_nodes(), kNone);
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    if (rules.keep_node && !rules.keep_node(n)) continue;
    auto added = b.AddNode(SpecOf(f, n));
    if (!added) return std::unexpected(added.error());
    id[n] = *added;
    for (unsigned p = 0; p <= f.node(n).num_ports; ++p) {
      Port copy = f.port(f.port_id(n, p));
      if (copy.peer != kNone) copy = Unplugged(copy);
      copy.node = id[n];
      copy.peer = copy.link = kNone;
      b.port(id[n], p) = copy;
    }
  }
  return {};
}

// The kept cables, each end's attributes as they were.
Result<void> CopyLinks(const Fabric& f, const SubsetRules& rules, const std::vector<NodeId>& id, FabricBuilder& b) {
  for (LinkId l = 0; l < f.num_links(); ++l) {
    const Port& pa = f.port(f.link(l).a);
    const Port& pb = f.port(f.link(l).b);
    if (id[pa.node] == kNone || id[pb.node] == kNone || (rules.keep_link && !rules.keep_link(l))) continue;
    if (auto c = b.Connect(id[pa.node], pa.number, id[pb.node], pb.number); !c) return std::unexpected(c.error());
    for (const Port* old : {&pa, &pb}) {
      Port& now = b.port(id[old->node], old->number);
      const PortId peer = now.peer, link = now.link;
      now = *old;
      now.node = id[old->node];
      now.peer = peer;
      now.link = link;
      if (rules.adjust) rules.adjust(l, now);
    }
  }
  return {};
}

}  // namespace

Result<Fabric> SubsetOf(const Fabric& fabric, const SubsetRules& rules) {
  FabricBuilder b;
  b.Reserve(fabric.num_nodes(), fabric.num_port_slots());
  std::vector<NodeId> id;
  if (auto ok = CopyNodes(fabric, rules, b, id); !ok) return std::unexpected(ok.error());
  if (auto ok = CopyLinks(fabric, rules, id, b); !ok) return std::unexpected(ok.error());
  return b.Build();
}

}  // namespace fabricctl
