#pragma once
// Names of links, ports and nodes in findings, as the sweep report names them
// ("desc[port] -- desc[port]"), with the node GUID added where a description is not
// unique in the fabric (unmanaged switches all say "SwitchIB Mellanox Technologies").
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

#include "fabric/fabric.h"

namespace fabricctl::check {

class Places {
 public:
  explicit Places(const Fabric& fabric);
  std::string Node(NodeId n) const;  // "leaf01", or "SwitchIB (0x7cfe900300a0c0c0)"
  std::string Port(PortId p) const;  // Node + "[port]"
  std::string Link(LinkId l) const;  // Port(a) + " -- " + Port(b)
  // {"node": description, "guid": "0x...", "port": number} for evidence.
  nlohmann::json PortJson(PortId p) const;

 private:
  const Fabric& fabric_;
  std::unordered_map<std::string_view, uint32_t> description_count_;
};

std::string GuidText(uint64_t guid);  // "0x0002c90300001234"

}  // namespace fabricctl::check
