#pragma once
// Reads and writes topology files in any supported format.
#include <optional>
#include <string>
#include <string_view>

#include "fabric/error.h"
#include "fabric/fabric.h"

namespace fabricctl {

enum class TopoFormat { kAuto, kIbnetdiscover, kJson, kIbsim };

// "ibnetdiscover" / "json" / "ibsim"; nullopt for an unknown name.
std::optional<TopoFormat> ParseTopoFormat(std::string_view name);
// From the extension: .json -> json, .ibsim -> ibsim, anything else -> ibnetdiscover.
TopoFormat FormatFromPath(std::string_view path);

// kAuto sniffs the content: '{' -> JSON, otherwise ibnetdiscover/ibsim text.
Result<Fabric> ReadTopologyFile(const std::string& path, TopoFormat format = TopoFormat::kAuto);
// kAuto picks by extension. Written atomically.
Result<void> WriteTopologyFile(const Fabric& fabric, const std::string& path, TopoFormat format = TopoFormat::kAuto);

}  // namespace fabricctl
