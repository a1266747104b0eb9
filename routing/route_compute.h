#pragma once
// `route compute` as one library call: read the topology, route every subnet, check the
// routes (the verifier, or the route summary's own checks), summarise them and write the
// route files.
#include <optional>
#include <string>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "fabric/node_name_map.h"
#include "fabric/topology_io.h"
#include "routing/engine.h"
#include "routing/route_fabric.h"
#include "routing/route_io.h"
#include "routing/verifier.h"

namespace fabricctl {

struct ComputeRequest {
  std::string topology;
  TopoFormat format = TopoFormat::kAuto;
  std::string engine = "auto";  // ParseEngineSelection
  EngineOptions engine_options;
  std::string root_guid_file;  // empty: none; otherwise ReadRootGuidFile
  unsigned threads = 0;        // 0: every core
  std::string output;          // route directory; empty: nothing written
  RouteWriteOptions files;
  bool verify = true;  // false: the route summary's checks stand in for the verifier
  // Names nodes by GUID in every message and file (`--node-name-map`); nullptr: as read.
  const NodeNameMap* node_names = nullptr;
};

struct SubnetFigures {
  uint32_t max_hops = 0;
  double avg_hops = 0;
  uint64_t max_channel_load = 0;
  uint64_t pairs = 0;
  uint64_t unreachable_pairs = 0;
  std::optional<bool> deadlock_free;  // nullopt: several VLs, or the verifier made the check
  // Routes per capacity on the worst channel (RouteSummary::max_load_per_capacity); equals
  // max_channel_load when every cable runs at the subnet's top rate.
  double max_load_per_capacity = 0;
};

struct ComputeOutcome {
  Fabric fabric;
  FabricRoutes routed;
  VerifyReport verdict;
  std::vector<SubnetFigures> figures;  // parallel to routed.routes.subnets
  bool loops_unchecked = false;        // multi-VL routes without the verifier
  bool wrote = false;
  double read_seconds = 0;
  double route_seconds = 0;
  double check_seconds = 0;
  double write_seconds = 0;
};

Result<ComputeOutcome> ComputeRoutes(const ComputeRequest& request);

}  // namespace fabricctl
