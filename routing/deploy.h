#pragma once
// Deployment: programs a RouteSet into the switches of a live subnet through SMPs, the way
// OpenSM does: LIDs where they differ, each switch's LFT read in 64-entry blocks and only
// differing blocks written, SL->VL tables when the routes use several VLs, everything read
// back. A block that could not be written or verified stays "remaining"; re-running reads
// every block again and writes only what still differs, so an interrupted deployment
// resumes by running again. When the fabric stops taking MADs the report says what was
// changed before that and what remains.
#include <cstdint>
#include <optional>
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
  // Targeted mode, for a service that knows what the switches hold: when not empty, one
  // list per routed switch (every subnet's switches, in routes order) of the LFT blocks to
  // write. Only those are written and read back; nothing else is read (no LIDs, no
  // SwitchInfo, no SL->VL tables), so a change costs two SMPs per changed block, or one
  // without read_back. Blocks not
  // listed count as holding the routes.
  std::vector<std::vector<uint32_t>> only_blocks;
  // How a written block is checked: true, by a fresh Get (the switch's state); false, by the
  // contents of the Set's reply (the switch's word, as a subnet manager takes it), one
  // SMP per block instead of two.
  bool read_back = true;
};

struct LidChange {
  NodeId node = kNone;  // in the live fabric
  unsigned port = 0;
  uint32_t old_lid = 0;
  uint32_t new_lid = 0;
  bool done = false;  // the port answered the Set with the new LID
};

struct SwitchDeployment {
  NodeId node = kNone;              // in the live fabric
  unsigned blocks = 0;              // blocks the routes cover
  std::vector<uint32_t> changed;    // blocks that differed (written unless dry run)
  std::vector<uint32_t> written;    // blocks the switch took (Set answered)
  unsigned verified = 0;            // written blocks read back equal
  std::vector<uint32_t> remaining;  // blocks not known to hold the routes: unread, differing, failed
  bool fdb_top_raised = false;
  unsigned sl2vl_tables = 0;     // SL->VL tables (in/out port pairs) the routes set
  unsigned sl2vl_changed = 0;    // of those, found different
  unsigned sl2vl_written = 0;    // written and answered with the new table
  unsigned sl2vl_remaining = 0;  // not known to hold the routes' table
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
  // The fabric stopped taking MADs (a send timed out): everything else in the report
  // happened before that.
  std::optional<Error> stopped;
  unsigned endpoint_sl2vl_written = 0;  // endpoint (CA) SL->VL tables written
  unsigned endpoint_sl2vl_remaining = 0;
  mad::RpcStats stats;
  double seconds = 0;
  uint64_t blocks_changed() const { return Sum(&SwitchDeployment::changed); }
  uint64_t blocks_written() const { return Sum(&SwitchDeployment::written); }
  uint64_t blocks_remaining() const { return Sum(&SwitchDeployment::remaining); }
  uint64_t lids_remaining() const;
  uint64_t sl2vl_remaining() const;

 private:
  uint64_t Sum(std::vector<uint32_t> SwitchDeployment::*blocks) const {
    uint64_t n = 0;
    for (const SwitchDeployment& s : switches) n += (s.*blocks).size();
    return n;
  }
};

// `planned` is the fabric the routes were computed for; it is matched to `live` (a fresh
// discovery) by node GUID and port number. Refuses, without sending anything, routes whose
// switches or LID owners are not in the live fabric (naming the ports the walk could not
// get past when that is why), LIDs outside the unicast range, and routes out of ports that
// are not cabled. Fails only for refusals: a fabric that stops answering ends in a report
// with `stopped` set.
Result<DeployReport> Deploy(mad::Transport& transport, const DiscoveryResult& live, const Fabric& planned,
                            const RouteSet& routes, const DeployOptions& options);

}  // namespace fabricctl
