#pragma once
// ftree: routing for fat trees (k-ary n-trees, XGFTs, PGFTs, with parallel links and
// some missing links). Detects the tree by levels from the leaf switches (those with
// endpoints, or tier labels when every switch has one) and rejects anything else with a
// reason, so a chain such as `ftree,updn` falls back.
//
// Every endpoint x gets one chain of ancestors a_0 (its leaf) .. a_H picked by the digits
// of its ordinal (destination-mod-k). Traffic to x climbs, preferring the chain switch of
// the next level when it is a parent, and descends along the chain, so each top switch
// carries the same number of destinations down and a 2-tier non-blocking tree is
// perfectly balanced for shift and all-to-all patterns. Up*/Down* by construction:
// deadlock-free with one VL. Switch LIDs (management traffic) take shortest paths.
#include <memory>

#include "routing/engine.h"

namespace fabricctl {

std::unique_ptr<RoutingEngine> MakeFtreeEngine();

}  // namespace fabricctl
