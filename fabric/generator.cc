#include "fabric/generator.h"

namespace fabricctl {

std::span<const GeneratorInfo> Generators() { return {}; }
Result<Fabric> Generate(std::string_view name, const GeneratorParams&) {
  return MakeError("unknown topology generator '" + std::string(name) + "'");
}

}  // namespace fabricctl
