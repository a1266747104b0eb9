#pragma once
// Topology generators: `fabricctl topo gen NAME --set key=value ...`. One file per
// generator under fabric/generators/, all listed in one registry table.
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "fabric/error.h"
#include "fabric/fabric.h"

namespace fabricctl {

struct GeneratorParam {
  std::string_view key;
  std::string_view default_value;
  std::string_view help;
};

struct GeneratorInfo {
  std::string_view name;
  std::string_view help;
  std::span<const GeneratorParam> params;
};

using GeneratorParams = std::map<std::string, std::string>;

std::span<const GeneratorInfo> Generators();
// Parameters every generator takes besides its own: failed switches and cables, slow
// cables, and the seed of those choices (fabric/generators/degrade.h).
std::span<const GeneratorParam> CommonGeneratorParams();
// Unknown names and keys get a "did you mean" suggestion; bad values name the key.
Result<Fabric> Generate(std::string_view name, const GeneratorParams& params);

}  // namespace fabricctl
