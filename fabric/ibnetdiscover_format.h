#pragma once
// The ibnetdiscover topology text (what `ibnetdiscover` prints) and the simpler topology
// files ibsim reads (Hca/Switch records without GUIDs). Documented in docs/formats.md.
#include <string>
#include <string_view>

#include "fabric/error.h"
#include "fabric/fabric.h"

namespace fabricctl {

// Strict: a malformed line is an Error with where = filename, the line number, the line.
Result<Fabric> ParseIbnetdiscover(std::string_view text, std::string_view filename);
// Text that ibnetdiscover would print for this fabric.
std::string WriteIbnetdiscover(const Fabric& fabric);

}  // namespace fabricctl
