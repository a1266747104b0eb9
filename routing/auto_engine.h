#pragma once
// auto: picks a deadlock-free engine per subnet and records the choice and why in
// SubnetRoutes::engine / reason. On subnets small enough to route several times in about a
// second it runs every deadlock-free engine within the VL budget (--vls) and keeps the table
// with every pair reachable, the lightest worst load per capacity, then the fewest VLs, then
// the shortest paths; the reason lists every engine's figures. On bigger subnets it goes by
// topology class: a fat tree to ftree, a torus or mesh to the torus engine, anything else to
// updn with one VL, escape (shortest-path layers within --vls, Up*/Down* on the last) with several. The class is decided by the engines' own
// applicability checks, so auto never disagrees with them.
#include <memory>

#include "routing/engine.h"

namespace fabricctl {

std::unique_ptr<RoutingEngine> MakeAutoEngine();

}  // namespace fabricctl
