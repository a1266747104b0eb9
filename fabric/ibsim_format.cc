#include "fabric/ibsim_format.h"

namespace fabricctl {

std::string WriteIbsimTopology(const Fabric&) { return {}; }

}  // namespace fabricctl
