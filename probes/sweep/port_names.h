#pragma once
// Nodes by description and ports by "desc[port]" in constant time, for readers of files
// that name every endpoint of a fabric (sweep plans, agents files): Fabric's own lookup
// scans every node, which made a 150,000-probe plan take seconds per thousand names.
#include <optional>
#include <string_view>
#include <unordered_map>

#include "fabric/error.h"
#include "fabric/fabric.h"

namespace fabricctl::sweep {

class PortNames {
 public:
  explicit PortNames(const Fabric& fabric);
  // The first node with this description, as Fabric::FindByDescription.
  std::optional<NodeId> FindNode(std::string_view description) const;
  // As FindPortByName (faults.h), with its error messages.
  Result<PortId> FindPort(std::string_view name) const;

 private:
  const Fabric& fabric_;
  std::unordered_map<std::string_view, NodeId> nodes_;  // views into the fabric's descriptions
};

}  // namespace fabricctl::sweep
