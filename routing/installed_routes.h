#pragma once
// The routes a live subnet holds: every switch's LFT read back in 64-entry blocks (and its
// SL->VL tables when its ports run several VLs), as a RouteSet over the discovered fabric,
// so the verifier judges what is installed the way it judges what an engine computed.
// Reading is bounded like discovery (mad::MadRpc); a switch that does not answer is listed,
// not fatal.
#include <cstdint>
#include <string>
#include <vector>

#include "fabric/discovery.h"
#include "fabric/error.h"
#include "fabric/mad/rpc.h"
#include "fabric/mad/transport.h"
#include "routing/routes.h"

namespace fabricctl {

enum class Sl2VlReading : uint8_t {
  kWhenSeveralVls,  // switches whose ports run more than one VL
  kSkip,            // LFTs only, as dump_fts reads them
};

struct InstalledRoutesOptions {
  mad::RpcOptions rpc;
  Sl2VlReading sl2vl = Sl2VlReading::kWhenSeveralVls;
};

struct InstalledRoutes {
  // LIDs are the live ones (Fabric port LIDs). Entries a switch did not give (unanswered
  // blocks, entries beyond LinearFDBTop, ports the switch does not have) are kNoRoute.
  // Several VLs: pair_sl is SL 0 for every pair (a switch cannot tell which SL a host
  // uses), sl2vl holds the tables read.
  RouteSet routes;
  std::vector<NodeId> incomplete_nodes;  // some block or table unread: their routes are partial
  std::vector<std::string> problems;     // "leaf3 (0x...): LFT block 2: no answer"
  uint64_t blocks_read = 0;
  uint64_t sl2vl_tables_read = 0;
  mad::RpcStats stats;
  double seconds = 0;
};

// Fails only when the transport breaks; switches that do not answer are listed.
Result<InstalledRoutes> ReadInstalledRoutes(mad::Transport& transport, const DiscoveryResult& live,
                                            const InstalledRoutesOptions& options);

}  // namespace fabricctl
