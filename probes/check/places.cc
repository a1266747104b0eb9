#include "probes/check/places.h"

#include <fmt/format.h>

namespace fabricctl::check {

std::string GuidText(uint64_t guid) { return fmt::format("0x{:016x}", guid); }

Places::Places(const Fabric& fabric) : fabric_(fabric) {
  for (NodeId n = 0; n < fabric.num_nodes(); ++n) ++description_count_[fabric.description(n)];
}

std::string Places::Node(NodeId n) const {
  const std::string& d = fabric_.description(n);
  auto it = description_count_.find(d);
  if (it == description_count_.end() || it->second < 2) return d;
  return fmt::format("{} ({})", d, GuidText(fabric_.node(n).guid));
}

std::string Places::Port(PortId p) const {
  const fabricctl::Port& port = fabric_.port(p);
  return fmt::format("{}[{}]", Node(port.node), port.number);
}

std::string Places::Link(LinkId l) const {
  const fabricctl::Link& link = fabric_.link(l);
  return Port(link.a) + " -- " + Port(link.b);
}

nlohmann::json Places::PortJson(PortId p) const {
  const fabricctl::Port& port = fabric_.port(p);
  return {{"node", fabric_.description(port.node)},
          {"guid", GuidText(fabric_.node(port.node).guid)},
          {"port", port.number}};
}

}  // namespace fabricctl::check
