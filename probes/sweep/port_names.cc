#include "probes/sweep/port_names.h"

#include <charconv>

#include "probes/sweep/faults.h"

namespace fabricctl::sweep {

PortNames::PortNames(const Fabric& fabric) : fabric_(fabric) {
  nodes_.reserve(fabric.num_nodes());
  for (NodeId n = 0; n < fabric.num_nodes(); ++n) nodes_.emplace(fabric.description(n), n);
}

std::optional<NodeId> PortNames::FindNode(std::string_view description) const {
  auto it = nodes_.find(description);
  if (it == nodes_.end()) return std::nullopt;
  return it->second;
}

Result<PortId> PortNames::FindPort(std::string_view name) const {
  size_t open = name.rfind('[');
  if (open != std::string_view::npos && name.back() == ']') {
    std::string_view number = name.substr(open + 1, name.size() - open - 2);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), port);
    auto node = FindNode(name.substr(0, open));
    if (ec == std::errc() && end == number.data() + number.size() && node && port >= 1 &&
        port <= fabric_.node(*node).num_ports)
      return fabric_.port_id(*node, port);
  }
  // Not a port: the shared reader says why, in its words.
  return FindPortByName(fabric_, name);
}

}  // namespace fabricctl::sweep
