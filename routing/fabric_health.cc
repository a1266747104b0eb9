#include "routing/fabric_health.h"

#include <fmt/format.h>

#include "fabric/fabric_builder.h"

namespace fabricctl {

FabricHealth FabricHealth::AllUp(const Fabric& fabric) {
  return {.link_down = std::vector<uint8_t>(fabric.num_links(), 0),
          .node_down = std::vector<uint8_t>(fabric.num_nodes(), 0)};
}

bool FabricHealth::link_usable(const Fabric& fabric, LinkId l) const {
  if (l < link_down.size() && link_down[l]) return false;
  const Link& link = fabric.link(l);
  return node_usable(fabric.port(link.a).node) && node_usable(fabric.port(link.b).node);
}

Result<Fabric> WithoutDown(const Fabric& fabric, const FabricHealth& health) {
  if (health.link_down.size() > fabric.num_links() || health.node_down.size() > fabric.num_nodes())
    return MakeError(fmt::format("health mask covers {} links and {} nodes, the fabric has {} and {}",
                                 health.link_down.size(), health.node_down.size(), fabric.num_links(),
                                 fabric.num_nodes()));
  FabricBuilder b;
  b.Reserve(fabric.num_nodes(), fabric.num_port_slots());
  for (NodeId n = 0; n < fabric.num_nodes(); ++n) {
    const Node& node = fabric.node(n);
    auto added = b.AddNode({.type = node.type,
                            .num_ports = node.num_ports,
                            .guid = node.guid,
                            .system_guid = node.system_guid,
                            .description = fabric.description(n),
                            .labels = node.labels,
                            .vendor_id = node.vendor_id,
                            .device_id = node.device_id});
    if (!added) return std::unexpected(added.error());
    for (unsigned p = 0; p <= node.num_ports; ++p) {
      Port copy = fabric.port(fabric.port_id(n, p));
      copy.peer = copy.link = kNone;
      if (fabric.port(fabric.port_id(n, p)).peer != kNone) {
        // Until the link is connected again below, it reads as a port with nothing plugged in.
        copy.state = PortState::kDown;
        copy.phys_state = PhysState::kPolling;
        copy.width_active = LinkWidth::kNone;
        copy.speed_active = LinkSpeed::kNone;
      }
      b.port(n, p) = copy;
    }
  }
  for (LinkId l = 0; l < fabric.num_links(); ++l) {
    if (!health.link_usable(fabric, l)) continue;
    const Port& pa = fabric.port(fabric.link(l).a);
    const Port& pb = fabric.port(fabric.link(l).b);
    if (auto c = b.Connect(pa.node, pa.number, pb.node, pb.number); !c) return std::unexpected(c.error());
    for (const Port* old : {&pa, &pb}) {
      Port& now = b.port(old->node, old->number);
      const PortId peer = now.peer, link = now.link;
      now = *old;
      now.peer = peer;
      now.link = link;
    }
  }
  return b.Build();
}

}  // namespace fabricctl
