#pragma once
// The rate every link should run at, and the links that run below it. Real fabrics mix
// rates on purpose (hosts slower than uplinks, older HCAs, scale-up faster than scale-out)
// and simulators advertise supported rates nothing runs at, so "below what both ends
// support" flags everything. The expectation comes instead, in this order, from:
//   1. the plan, when given: the planned rate of the same link (nodes matched by GUID,
//      else by description, and port numbers);
//   2. parallel links: at least two other links between the same two nodes, all at one rate;
//   3. links of the same kind: the same node types, device ids and tiers at both ends
//      (labels, else the tier derived from the distance to the endpoints), when one rate is
//      held by at least three of them and at most one in eight runs slower;
//   4. what both ends enable (never what they merely support).
// docs/check.md states the rule and its limits.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fabric/fabric.h"
#include "fabric/topology_summary.h"

namespace fabricctl {

enum class RateBasis : uint8_t { kUnset, kPlan, kParallel, kKind, kEnabled };
std::string_view ToString(RateBasis b);  // "none", "plan", "parallel", "kind", "enabled"

struct ExpectedRate {
  WidthSpeed rate;  // unset (kNone) when nothing tells
  RateBasis basis = RateBasis::kUnset;
  uint32_t agreeing = 0;  // parallel/kind: links of the group at `rate` (parallel: not counting this one)
  uint32_t group = 0;     // kind: links of the kind with a known rate
  std::string kind;       // kind: "endpoint-leaf", "leaf-spine", "switch-switch", ...
};

// The rate a link runs at (the narrower and slower end); kNone parts when its ports are
// not up or the source could not name the rate.
WidthSpeed LinkActiveRate(const Fabric& fabric, LinkId link);

// One entry per link, in LinkId order. `plan` may be null.
std::vector<ExpectedRate> ExpectedRates(const Fabric& fabric, const Fabric* plan);

// "plan", "3 parallel links run at 4xEDR", "127 of 128 leaf-spine links run at 4xEDR",
// "enabled 4xEDR".
std::string DescribeBasis(const ExpectedRate& expected);

struct SlowLink {
  LinkId link = kNone;
  WidthSpeed active;
  ExpectedRate expected;
};

// Links whose data rate is below their expectation, in LinkId order.
std::vector<SlowLink> FindSlowLinks(const Fabric& fabric, const Fabric* plan);

}  // namespace fabricctl
