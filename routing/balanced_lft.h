#pragma once
// The port-balancing step shared by minhop and updn: given each switch's hop
// count to every destination switch and a rule saying which neighbours are a
// next hop, it fills every LFT so that the busiest channel carries as few
// (source, destination) routes as it can manage.
//
// Destinations are routed one LID at a time. For one destination, switches are
// visited from the farthest to the nearest, so when a switch chooses its port
// it knows how many sources will send through it (its own endpoints plus
// whatever upstream switches already sent its way); it takes the candidate
// channel with the fewest routes so far over the whole subnet and adds that
// flow to it. Then, while the busiest channel keeps getting lighter, every
// destination is taken off and routed again against everyone else's routes
// (rip-up and reroute), which undoes the early choices made against an almost
// empty fabric; a round that leaves it heavier is itself undone.
//
// OpenSM's minhop balances a per-switch count of destinations per port, which
// ignores how many sources stand behind each choice: on a 6x6x6 torus it puts
// 288 routes on the busiest channel; the first pass here 339, after rerouting
// 195 (dimension order: 216). On fat trees the first pass meets the cut bound
// and no rerouting runs. Routing is sequential in a fixed destination order, so
// the result does not depend on the thread count.
//
// Cable rates: when some cable trained slower than the others
// (routing/channel_capacity.h), a route over a channel costs
// ChannelCapacity::cost of its port instead of 1, and a switch takes the
// candidate whose load would be least after adding its flow at that cost; where
// the path beyond a candidate has no choice left (a spine's one cable down to a
// leaf), the loads of those channels count too (balanced::LoadAfter). A cable
// at a sixth of the top rate thus takes about a sixth of the routes of its
// neighbours. With one rate everywhere the plain route counts run, and the
// tables are the same as without rates.
//
// Two forms of the same rule: switches with at most 16 switch-to-switch
// channels get a plan of channel masks computed once
// (routing/balanced_masks.h); larger ones a candidate list rebuilt per
// destination and pass (routing/balanced_lists.h), which needs no memory per
// switch pair.
#include "routing/balanced_lists.h"
#include "routing/balanced_masks.h"
#include "routing/balanced_rounds.h"
#include "routing/routes.h"
#include "routing/switch_graph.h"

namespace fabricctl {

// Which form FillBalanced uses: kAuto picks the mask plan where it fits; tests
// ask for the candidate lists to cover that form on small fabrics too.
enum class BalanceForm { kAuto, kCandidateLists };

// Switch LIDs are routed but carry no weight (management traffic only): they
// take the first candidate in a rotation. Rows of switches without a candidate
// stay kNoRoute. `one_pass`: no rerouting rounds after the first pass.
template <typename Accept>
void FillBalanced(const SwitchGraph& g, const ChannelRates& rates, const HopTable& table, const Accept& accept,
                  unsigned threads, bool one_pass, SubnetRoutes& out, BalanceForm form = BalanceForm::kAuto) {
  balanced::Setup st = balanced::MakeSetup(g, rates);
  if (one_pass) st.reroute_rounds = 0;
  if (form == BalanceForm::kAuto && balanced::MaskPlanFits(g, st))
    balanced::FillMasked(g, table, accept, threads, st, out);
  else
    balanced::FillCandidateLists(g, table, accept, threads, st, out);
}

}  // namespace fabricctl
