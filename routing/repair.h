#pragma once
// Incremental route repair after links or switches go down (or come back): only the LFT
// entries whose route crossed a dead link or switch move, everything else stays byte for
// byte. The previous tables must follow an Up*/Down* orientation (routing/updn.h: the
// roots updn would pick); tables that do not (torus, nue, several VLs) are not repaired and
// the result advises a full reroute. A switch whose next hop died takes a replacement that
// keeps the entries of the switches forwarding into it, even when that turns down then up,
// as long as the channel dependency graph of the repaired tables stays acyclic (kept and
// checked incrementally); otherwise Up*/Down* replacements only, which may move entries
// upstream too. So a single-VL table stays free of credit loops. See docs/routing.md,
// "Repairing routes after a failure".
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "routing/fabric_health.h"
#include "routing/routes.h"

namespace fabricctl {

struct RepairOptions {
  // Advise a full reroute when the busiest channel (routes per capacity) grows beyond this
  // factor of what it was before the repair.
  double max_load_growth = 1.25;
  // The health the previous tables were computed or repaired for (nullptr: everything up).
  // A link usable now but down there has returned: the repair routes what had no route and
  // advises a full reroute, since repaired tables leave the returned link idle.
  const FabricHealth* routed_for = nullptr;
  // Root switches of the orientation, as EngineOptions::root_guids; empty: as updn picks them.
  std::vector<uint64_t> root_guids;
  // Let a repaired route turn down then up where that keeps entries of other switches as
  // they are, when the channel dependency graph stays acyclic (checked for every turn).
  // false: Up*/Down* routes only, which may move more entries.
  bool turns = true;
};

struct RepairResult {
  RouteSet routes;                // the previous tables with only the moved entries changed
  uint64_t entries_changed = 0;   // (switch, LID) LFT entries that differ from the previous tables
  uint64_t blocks_changed = 0;    // 64-entry LFT blocks that differ (what deployment writes)
  uint64_t blocks_minimum = 0;    // blocks holding an entry whose next hop died: no repair writes fewer
  uint64_t unreachable_lids = 0;  // (switch, endpoint LID) entries of endpoint switches left without a route
  uint64_t returned_links = 0;    // links usable now that were down in RepairOptions::routed_for
  uint64_t turn_lids = 0;         // (subnet, LID) destinations repaired with a down-then-up turn, acyclic
  uint64_t turns_refused = 0;     // destinations repaired Up*/Down* because a turn would have closed a cycle
  double load_before = 0;         // busiest channel, routes per capacity (as routing/route_summary.h)
  double load_after = 0;
  bool full_reroute_advised = false;
  std::string why;  // set when a full reroute is advised or a subnet could not be repaired
  // Every changed entry, by subnet (RouteSet order), switch index (SubnetRoutes::switches) and LID.
  struct Entry {
    uint32_t subnet = 0;
    uint32_t switch_index = 0;
    Lid lid = 0;
  };
  std::vector<Entry> changed;
  const RouteSet* repaired_from = nullptr;  // the previous tables `routes` was repaired from
};

// Prepared once per set of tables, then repairs any number of failure masks against them:
// the one-time work (finding the tables' Up*/Down* orientation and checking every route
// follows it, channel loads) is a full pass; a repair only touches the LIDs and switches a
// failure affects. Keeps pointers to `fabric` and `previous`: both must outlive it.
class RouteRepairer {
 public:
  static Result<RouteRepairer> Prepare(const Fabric& fabric, const RouteSet& previous,
                                       const RepairOptions& options = {});
  RouteRepairer(RouteRepairer&&) noexcept;
  RouteRepairer& operator=(RouteRepairer&&) noexcept;
  ~RouteRepairer();

  // The previous tables repaired for `health`. Errors only when `health` does not fit the fabric.
  Result<RepairResult> Repair(const FabricHealth& health) const;
  // The same into `out`, reusing the memory of out.routes: a service that repairs again and
  // again keeps one RepairResult. When `out` holds what an earlier Repair of this repairer
  // left there (out.routes not changed since), only the entries that repair changed are
  // put back before repairing; otherwise the previous tables are copied into it whole. The
  // check is by the address of the previous tables: after preparing a new repairer over
  // tables at the same address with new contents, pass a fresh RepairResult.
  Result<void> Repair(const FabricHealth& health, RepairResult& out) const;
  // The same with turns forbidden whatever the options said: the Up*/Down* repair, which
  // may move more entries but spreads a destination's traffic where a turn funnels it
  // through one switch (the repair a service installs off the critical path when the
  // fewest-writes repair advised a reroute for load).
  Result<void> RepairWithoutTurns(const FabricHealth& health, RepairResult& out) const;

  // Per subnet (RouteSet order): empty when the tables can be repaired, else why not.
  const std::vector<std::string>& not_repairable() const { return not_repairable_; }

  struct SubnetState;

 private:
  RouteRepairer() = default;
  Result<void> RepairAs(const FabricHealth& health, bool allow_turns, RepairResult& out) const;
  void ResetTables(RepairResult& result) const;
  const Fabric* fabric_ = nullptr;
  const RouteSet* previous_ = nullptr;
  RepairOptions options_;
  std::vector<std::unique_ptr<SubnetState>> subnets_;
  std::vector<std::string> not_repairable_;
};

// Prepare and Repair in one call.
Result<RepairResult> RepairRoutes(const Fabric& fabric, const FabricHealth& health, const RouteSet& previous,
                                  const RepairOptions& options = {});

}  // namespace fabricctl
