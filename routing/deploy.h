#pragma once
// Deployment: programs a RouteSet into the switches of a live subnet through SMPs, the way
// OpenSM does: LIDs where they differ, each switch's LFT read in 64-entry blocks and only
// differing blocks written, SL->VL tables when the routes use several VLs, everything read
// back. Re-running is idempotent, so an interrupted deployment resumes by running again.
#include <cstdint>
#include <string>
#include <vector>

#include "fabric/discovery.h"
#include "fabric/error.h"
#include "fabric/fabric.h"
#include "fabric/mad/rpc.h"
#include "fabric/mad/transport.h"
#include "routing/routes.h"

namespace fabricctl {

inline constexpr unsigned kLftBlockSize = 64;

enum class DeployMode : uint8_t { kApply, kDryRun };

struct DeployOptions {
  DeployMode mode = DeployMode::kApply;
  mad::RpcOptions rpc;
  // Stop after writing this many LFT blocks (0: no limit): stage a change in a live
  // fabric; the next run carries on from what the switches hold.
  uint64_t max_block_writes = 0;
};

struct LidChange {
  NodeId node = kNone;  // in the live fabric
  unsigned port = 0;
  uint32_t old_lid = 0;
  uint32_t new_lid = 0;
};

struct SwitchDeployment {
  NodeId node = kNone;            // in the live fabric
  unsigned blocks = 0;            // blocks the routes cover
  std::vector<uint32_t> changed;  // blocks that differed (written unless dry run)
  unsigned verified = 0;          // written blocks read back equal
  bool fdb_top_raised = false;
  unsigned sl2vl_changed = 0;  // SL->VL tables (in/out port pairs) that differed
};

struct DeployProblem {
  std::string where;  // "Switch1 (0x0000000000200000)"
  std::string message;
};

struct DeployReport {
  DeployMode mode = DeployMode::kApply;
  std::vector<LidChange> lids;
  std::vector<SwitchDeployment> switches;  // every routed switch, in routes order
  std::vector<DeployProblem> problems;     // MADs that failed or read back wrong
  bool interrupted = false;                // stopped by max_block_writes
  mad::RpcStats stats;
  double seconds = 0;
  uint64_t blocks_changed() const {
    uint64_t n = 0;
    for (const SwitchDeployment& s : switches) n += s.changed.size();
    return n;
  }
};

// `planned` is the fabric the routes were computed for; it is matched to `live` (a fresh
// discovery) by node GUID and port number. Refuses, without sending anything, routes whose
// switches or LID owners are not in the live fabric, LIDs outside the unicast range, and
// routes out of ports that are not cabled.
Result<DeployReport> Deploy(mad::Transport& transport, const DiscoveryResult& live, const Fabric& planned,
                            const RouteSet& routes, const DeployOptions& options);

}  // namespace fabricctl
