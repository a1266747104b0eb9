#include "routing/fabric_health.h"

#include <fmt/format.h>

#include "fabric/fabric_subset.h"

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
  return SubsetOf(fabric, {.keep_link = [&](LinkId l) { return health.link_usable(fabric, l); }});
}

}  // namespace fabricctl
