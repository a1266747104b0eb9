#pragma once
// minhop: balanced shortest paths, the baseline. Not deadlock-free in general.
#include <memory>

#include "routing/engine.h"

namespace fabricctl {

std::unique_ptr<RoutingEngine> MakeMinhopEngine();

}  // namespace fabricctl
