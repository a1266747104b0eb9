#pragma once
// The JSON topology (versioned schema, see docs/formats.md): the machine twin of the
// ibnetdiscover text, plus the planning labels.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "fabric/error.h"
#include "fabric/fabric.h"

namespace fabricctl {

nlohmann::json TopologyToJson(const Fabric& fabric);
std::string WriteJsonTopology(const Fabric& fabric);
// Strict: unknown versions, missing fields and dangling references are errors naming
// the JSON pointer (and line where the parser knows it).
Result<Fabric> ParseJsonTopology(std::string_view text, std::string_view filename);

}  // namespace fabricctl
