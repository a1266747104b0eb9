#pragma once
// auto: picks an engine per subnet by topology class and records the choice and why in
// SubnetRoutes::engine / reason: a fat tree goes to ftree, a torus or mesh to the torus
// engine (when one is registered), anything else to updn. The class is decided by the
// engines' own applicability checks, so auto never disagrees with them.
#include <memory>

#include "routing/engine.h"

namespace fabricctl {

std::unique_ptr<RoutingEngine> MakeAutoEngine();

}  // namespace fabricctl
