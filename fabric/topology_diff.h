#pragma once
// Cabling validation: compares the planned (EXPECTED) fabric with the one found (ACTUAL),
// like `ibdiagnet` against a golden topology or `ibnetdiscover --diff`. Nodes are matched
// by GUID where both sides have one, otherwise by a node description that is unique among
// the unmatched nodes of both sides. Links of a missing or extra node are implied by that
// node and not listed again.
#include <string_view>
#include <vector>

#include "fabric/fabric.h"
#include "fabric/topology_summary.h"

namespace fabricctl {

enum class DiffKind : uint8_t {
  kMissingNode,   // expected_node has no match in ACTUAL
  kExtraNode,     // actual_node has no match in EXPECTED
  kTypeMismatch,  // matched nodes of different types
  kMissingLink,   // expected_link's ports are both unconnected in ACTUAL
  kMiswired,      // expected_link's ports are cabled, but not to each other
  kExtraLink,     // actual_link between matched nodes on ports planned to be unused
  kBelowPlan,     // expected_link is there but trained narrower or slower than planned
};
std::string_view ToString(DiffKind k);  // "missing_node", "miswired", ...

struct TopologyDifference {
  DiffKind kind = DiffKind::kMissingNode;
  NodeId expected_node = kNone;  // node kinds
  NodeId actual_node = kNone;
  size_t node_links = 0;         // missing/extra node: its links, not listed separately
  LinkId expected_link = kNone;  // missing link, miswired, below plan
  LinkId actual_link = kNone;    // extra link, below plan
  // Miswired: the ACTUAL ports that stand for the planned link's a and b ends (kNone when the
  // matched node has no such port number) and what each is cabled to (kNone: nothing).
  PortId actual_a = kNone;
  PortId actual_a_peer = kNone;
  PortId actual_b = kNone;
  PortId actual_b_peer = kNone;
  WidthSpeed planned;  // below plan
  WidthSpeed actual;
};

struct TopologyDiff {
  std::vector<TopologyDifference> differences;  // grouped by kind in enum order, then by id
  size_t matched_nodes = 0;
  size_t matched_by_description = 0;
  bool identical() const { return differences.empty(); }
};

TopologyDiff DiffTopologies(const Fabric& expected, const Fabric& actual);

}  // namespace fabricctl
