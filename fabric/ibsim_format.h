#pragma once
// The topology file ibsim loads (`ibsim -s FILE`), so any fabric can run in the simulator.
#include <string>

#include "fabric/fabric.h"

namespace fabricctl {

std::string WriteIbsimTopology(const Fabric& fabric);

}  // namespace fabricctl
