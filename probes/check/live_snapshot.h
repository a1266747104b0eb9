#pragma once
// A Snapshot gathered live from a subnet through MADs, in the order that keeps it quick:
// discovery (with every NodeInfo answer kept from before GUID deduplication), a first
// counter reading, then — while the counter interval runs — the SMInfo of every subnet
// manager port and the installed routes (LFT and SL->VL tables read back), then the
// second counter reading once the interval is over. Ports or switches that do not answer
// become collection problems; only a local port that cannot be used is an error.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fabric/counters.h"
#include "fabric/discovery.h"
#include "fabric/error.h"
#include "fabric/mad/transport.h"
#include "fabric/node_name_map.h"
#include "probes/check/snapshot.h"
#include "routing/installed_routes.h"

namespace fabricctl::check {

enum class LiveCounters : uint8_t { kInterval, kSkip };
enum class LiveRoutes : uint8_t { kRead, kSkip };

struct LiveOptions {
  DiscoveryOptions discovery;  // its rpc options serve every stage
  LiveCounters counters = LiveCounters::kInterval;
  double interval_seconds = 1;  // between the starts of the two counter readings
  Thresholds thresholds;
  LiveRoutes routes = LiveRoutes::kRead;
  Sl2VlReading sl2vl = Sl2VlReading::kWhenSeveralVls;
  // Waits out what is left of the interval; tests replace it to change the fabric between
  // the two readings. Empty: sleep.
  std::function<void(double seconds)> wait;
  // Told when each stage after discovery starts ("counters", "subnet managers", "routes",
  // "waiting", "counters again"); discovery reports through discovery.progress.
  std::function<void(std::string_view stage)> stage;
  // --node-name-map: the fabric is renamed once the identity readings (which keep the
  // reported descriptions, to tell apart nodes that share a GUID) are taken, so every
  // later line (subnet managers, routes, counters) names nodes by the map.
  const NodeNameMap* node_names = nullptr;
};

struct LiveTimings {
  double discovery = 0;
  double counters = 0;  // both readings, without the wait
  double subnet_managers = 0;
  double routes = 0;
  double waited = 0;
  double total = 0;
  uint64_t mads = 0;  // sent, retransmissions included
};

// Owns what the snapshot points at; the parts live on the heap so moving a LiveSnapshot
// leaves `snapshot`'s pointers valid.
struct LiveSnapshot {
  std::unique_ptr<DiscoveryResult> discovery;
  std::unique_ptr<InstalledRoutes> installed;  // null when routes were not read
  Snapshot snapshot;
  LiveTimings timings;
};

Result<LiveSnapshot> CollectLive(mad::Transport& transport, const LiveOptions& options);

// Identity readings from a discovery: one per port that owns a LID (a switch's port 0, a
// CA's ports), and one more for every NodeInfo answer that cannot be the node discovery
// merged it into (see StraySightings). Readings of one physical port appear once, so a
// (node GUID, port number) pair seen twice is a duplicate node GUID, and a port GUID or
// LID on two readings is a duplicate. A stray sighting's LID and description are unknown
// here (0, ""); CollectLive reads them along the sighting's path.
std::vector<IdentityReading> IdentityReadings(const DiscoveryResult& discovery);
// NodeInfo answers that are not the node discovery kept under their GUID: another type or
// port count, or an entry port that the kept node has cabled to somewhere else (a node is
// answered once per cable, so a real second sighting arrives over the cable the kept
// node's port leads to).
std::vector<const NodeSighting*> StraySightings(const DiscoveryResult& discovery);

}  // namespace fabricctl::check
