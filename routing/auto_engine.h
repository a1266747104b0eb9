#pragma once
// auto: picks a deadlock-free engine per subnet and records the choice and why in
// SubnetRoutes::engine / reason. On subnets small enough to route several times in about a
// second it runs every deadlock-free engine within the VL budget (--vls) and keeps the table
// with every pair reachable, the lightest worst load per capacity, then the fewest VLs, then
// the shortest paths; the reason lists every engine's figures. On bigger subnets it goes by
// topology class: a fat tree to ftree, a torus or mesh to the torus engine, anything else to
// nue while its work (switch-to-switch channels x endpoints) stays within 1e8 (with several
// VLs: nue on one VL, escape and updn compared, the lightest kept), beyond that updn with one
// VL, escape (shortest-path layers within --vls, Up*/Down* on the last) with several. The
// class is decided by the engines' own applicability checks, so auto never disagrees with
// them.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "routing/engine.h"

namespace fabricctl {

std::unique_ptr<RoutingEngine> MakeAutoEngine();

// What auto runs on a subnet too big to compare every engine on: the engines of `chain` in
// order, the first that accepts the subnet routing it; when all of them decline, the
// engines of `compared` (named as on the command line, e.g. "nue --vls 1") all run and the
// best table is kept. nullopt when the subnet is small enough to compare every engine.
struct AutoClassPlan {
  std::vector<std::string_view> chain;
  std::vector<std::string> compared;
};
std::optional<AutoClassPlan> PlanAutoByClass(const Fabric& fabric, const Subnet& subnet, unsigned max_vls);

}  // namespace fabricctl
