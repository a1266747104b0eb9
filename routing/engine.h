#pragma once
// The routing engine interface. An engine is pure: topology in, route tables out; it
// never touches hardware. Engines are listed in one registry table (registry.h) that
// feeds --engine, the help text and fallback chains.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fabric/fabric.h"
#include "routing/routes.h"

namespace fabricctl {

struct EngineOptions {
  uint8_t max_vls = 8;               // engines that need more VLs fail cleanly
  uint64_t seed = 1;                 // for engines that break ties at random
  std::vector<uint64_t> root_guids;  // updn/ftree roots; empty: from tier labels or by heuristic
  unsigned threads = 1;              // worker threads an engine may use inside one subnet
  // nue: further routings from shuffled destination orders (seeded by `seed`), the lightest
  // kept; each costs about as much as the first and they are held side by side (auto sets
  // it on small subnets).
  unsigned restarts = 0;
  // Every destination routed once (per VL count tried), as OpenSM's engines do: no rerouting
  // rounds (minhop, updn, ftree) and one start (nue). Faster; the busiest channel is often
  // heavier.
  bool one_pass = false;
};

enum class EngineStatus { kOk, kNotApplicable, kFailed };

struct Outcome {
  EngineStatus status = EngineStatus::kOk;
  std::string reason;  // empty for kOk
  static Outcome Ok() { return {}; }
  static Outcome NotApplicable(std::string why) { return {EngineStatus::kNotApplicable, std::move(why)}; }
  static Outcome Failed(std::string why) { return {EngineStatus::kFailed, std::move(why)}; }
};

struct RouteRequest {
  const Fabric& fabric;
  const Subnet& subnet;
  const std::vector<Lid>& port_lid;  // fabric-wide LIDs (RouteSet::port_lid)
  const EngineOptions& options;
};

class RoutingEngine {
 public:
  virtual ~RoutingEngine() = default;
  virtual std::string_view name() const = 0;
  // `out` arrives with subnet, lid_owner and switches set and lft sized and filled with
  // kNoRoute (own LIDs 0). The engine fills lft and, when it uses several VLs, num_vls,
  // pair_sl, endpoint_sl2vl and sl2vl.
  virtual Outcome Route(const RouteRequest& request, SubnetRoutes& out) const = 0;
};

}  // namespace fabricctl
