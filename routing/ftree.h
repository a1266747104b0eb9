#pragma once
// ftree: routing for fat trees (k-ary n-trees, XGFTs, PGFTs, with parallel links and
// some missing links). Detects the tree by levels from the leaf switches (those with
// endpoints, or tier labels when every switch has one) and rejects anything else with a
// reason, so a chain such as `ftree,updn` falls back.
//
// Regular trees (every switch of a level has as many parents, children and cables as the
// others, every top switch reaches every leaf, every cable at the same rate): every
// endpoint x gets one chain of ancestors a_0 (its leaf) .. a_H picked by the digits of its
// ordinal (destination-mod-k). Traffic to x climbs, preferring the chain switch of the next
// level when it is a parent, and descends along the chain, so each top switch carries the
// same number of destinations down and a 2-tier non-blocking tree is perfectly balanced for
// shift and all-to-all patterns.
//
// Other trees (failed cables or switches, cables trained slower, or endpoints that do not
// divide over the up cables, where destination-mod-k would put more than 5% above the cut
// bound on a cable down): destinations are routed one at a time, and each source leaf's
// flow takes the legal path whose busiest channel, weighed by ChannelCapacity cost, is
// lightest; a destination's traffic splits over several cables down into its leaf, which
// destination-mod-k cannot do. Rerouting rounds follow while the busiest channel is over
// 5% above the cut bound, and on leaf-spines single flows move off the busiest cables
// (leaf_spine_moves.h). Trees of 8,192 endpoints or more (and a million LFT entries) take
// the first pass in two lanes, on two threads when there are two: batches of 32
// destinations dealt to the lanes, each lane blind to the other's 16 of its batch; the
// result does not depend on the thread count. On 3-tier trees with 3% of the cables and 2
// switches failed this meets the channel-load lower bound of `route stats` within 3%.
//
// Up*/Down* by construction: deadlock-free with one VL. Switch LIDs (management traffic)
// follow the routes of an endpoint whose chain passes the switch (regular trees; a leaf's
// first endpoint on others) and otherwise take shortest paths.
#include <memory>

#include "routing/engine.h"

namespace fabricctl {

std::unique_ptr<RoutingEngine> MakeFtreeEngine();

}  // namespace fabricctl
