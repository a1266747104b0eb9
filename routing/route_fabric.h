#pragma once
// Routes every subnet of a fabric on its own (each super node's scale-up fabric, the
// scale-out fabric), each with its own engine chain when asked, on all cores: small
// subnets run side by side, a big one gets every thread inside its engine.
//
// Engine selection syntax (--engine): comma-separated engine names form a fallback
// chain; `SELECTOR=` starts the chain of the subnets SELECTOR names, and the chain
// before the first selector (or `default=`) applies to the rest. A selector is a level
// (`scale-up`, `scale-out`) or a subnet name (`scale-up/sn3`); a name beats a level.
//   auto                                  every subnet: auto
//   ftree,updn                            every subnet: ftree, falling back to updn
//   scale-up=torus,updn,scale-out=ftree   per level; other subnets: auto
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "routing/engine.h"
#include "routing/registry.h"
#include "routing/routes.h"

namespace fabricctl {

struct EngineSelection {
  struct Rule {
    std::string selector;
    std::vector<const EngineInfo*> chain;
  };
  std::vector<const EngineInfo*> default_chain;  // auto when not given
  std::vector<Rule> rules;
};

Result<EngineSelection> ParseEngineSelection(std::string_view spec);
// The chain for one subnet.
const std::vector<const EngineInfo*>& ChainFor(const EngineSelection& sel, const Subnet& subnet);
// The chain as written: "ftree,updn".
std::string ChainName(const std::vector<const EngineInfo*>& chain);

struct RouteFabricOptions {
  EngineOptions engine;  // engine.threads is ignored; see threads
  unsigned threads = 0;  // 0: every core
};

struct SubnetReport {
  double seconds = 0;
  std::vector<std::string> declined;  // "ftree: not applicable: ..." for each engine passed over
};

struct FabricRoutes {
  RouteSet routes;
  std::vector<SubnetReport> reports;  // per subnet, parallel to routes.subnets
  std::vector<std::string> notes;     // LID-space notes and the like
};

// A SubnetRoutes ready for an engine: LIDs, switches, LFT filled with kNoRoute (own LIDs 0).
SubnetRoutes PrepareSubnetRoutes(const Fabric& fabric, const Subnet& subnet, std::vector<PortId> lid_owner);
// Back to the state PrepareSubnetRoutes left (before trying the next engine of a chain).
void ResetSubnetRoutes(const Fabric& fabric, SubnetRoutes& routes);

// An engine of a chain that did not route the subnet, and what it said.
struct DeclinedEngine {
  const EngineInfo* engine = nullptr;
  Outcome outcome;
};
struct ChainRun {
  const EngineInfo* routed_by = nullptr;  // nullptr: no engine of the chain routed the subnet
  std::vector<DeclinedEngine> declined;   // the engines tried before it, in order
};
// The one fallback mechanism, for `--engine ftree,updn` and for auto's class list alike:
// runs the engines in order until one routes the subnet, each engine after the first on
// tables reset to their initial state. out.engine names the engine that ran last. A
// subnet without a switch has no table to fill: no engine runs, and it counts as routed by
// the chain's first engine (out.engine), with the reason "no switches: nothing to route".
ChainRun RunChain(std::span<const EngineInfo* const> chain, const RouteRequest& request, SubnetRoutes& out);

// Fails when a selector names no subnet, or every engine of a subnet's chain declines
// (the error lists each engine's reason).
Result<FabricRoutes> RouteFabric(const Fabric& fabric, const EngineSelection& selection,
                                 const RouteFabricOptions& options);

}  // namespace fabricctl
