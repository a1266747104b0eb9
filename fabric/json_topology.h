#pragma once
// The JSON topology (versioned schema, see docs/formats.md): the machine twin of the
// ibnetdiscover text, plus the planning labels. Nodes are listed in NodeId order, each with
// its port slots 0..num_ports as positional arrays; links are a flat array in LinkId order,
// so reading back what was written gives a Fabric equal (operator==) to the original.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "fabric/error.h"
#include "fabric/fabric.h"

namespace fabricctl {

inline constexpr std::string_view kJsonTopologyFormat = "fabricctl-topology";
inline constexpr int kJsonTopologyVersion = 1;

nlohmann::json TopologyToJson(const Fabric& fabric);
// The same document as TopologyToJson(...).dump(), laid out one node header and one port
// per line so files diff well and syntax errors point at a useful line; written directly
// (no DOM) because it is the hot path for 100,000-endpoint fabrics.
std::string WriteJsonTopology(const Fabric& fabric);
// Strict: unknown versions, missing, unknown or mistyped fields, dangling references and
// duplicate GUIDs are errors naming the JSON pointer; syntax errors carry line and column.
Result<Fabric> ParseJsonTopology(std::string_view text, std::string_view filename);
// As above, for an already parsed document (errors then have no line).
Result<Fabric> TopologyFromJson(const nlohmann::json& doc, std::string_view filename);

}  // namespace fabricctl
