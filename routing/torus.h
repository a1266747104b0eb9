#pragma once
// torus: dimension-order routing on 1D/2D/3D tori and meshes of switches, deadlock-free
// with two VLs. The grid is recognised from the cabling alone (no names, no labels): every
// switch's neighbour switches are given directions by propagating unit squares from a
// corner, then the result must be exactly a complete torus/mesh (every grid link present,
// parallel cables allowed); anything else - including a torus with a failed link - is
// declined with a reason so a fallback chain moves on (e.g. `--engine torus,dfsssp`).
// Deadlock freedom: dimensions are resolved in order (no cycle across dimensions); within
// a ring, a pair whose path crosses the dateline (the cable between coordinates k-1 and 0)
// uses VL 1 for the whole ring, the others VL 0. Paths take the shorter way (<= k/2 hops),
// so VL 0 never uses the dateline and VL 1 never uses the link opposite to it: both are
// lines, not rings. The SL of a pair carries one dateline bit per dimension and every
// switch maps (SL, output dimension) to the VL, so the verifier can check it.
#include <memory>

#include "routing/engine.h"

namespace fabricctl {

std::unique_ptr<RoutingEngine> MakeTorusEngine();

}  // namespace fabricctl
