#pragma once
// Directed-route discovery of an InfiniBand subnet: a breadth-first walk from the local
// port (NodeInfo, NodeDescription, SwitchInfo, PortInfo), nodes deduplicated by GUID,
// paths extended only through switches, a bounded number of SMPs in flight. The result is
// an ordinary Fabric plus what the walk could not reach.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "fabric/mad/attributes.h"
#include "fabric/mad/rpc.h"
#include "fabric/mad/transport.h"

namespace fabricctl {

struct DiscoveryProgress {
  size_t nodes = 0;
  size_t switches = 0;
  uint64_t mads = 0;
  bool done = false;
};

struct DiscoveryOptions {
  unsigned max_hops = mad::kMaxHops;  // longest directed route tried
  mad::RpcOptions rpc;
  // Called now and then during the walk and once at the end; may be empty.
  std::function<void(const DiscoveryProgress&)> progress;
};

// Something the walk saw but could not read; the fabric simply lacks it.
struct DiscoveryProblem {
  std::string path;     // directed route, "0,1,3"
  std::string where;    // "S-0000000000200000[3]" or the node reached
  std::string message;  // "NodeInfo: no answer after 4 attempts"
};

// One NodeInfo answer as read, before nodes were deduplicated by GUID. A node reached by
// several cables answers once per cable, each time through another port; two answers of
// one GUID through the same port number, or through a port the merged node has cabled
// elsewhere, are two nodes sharing a GUID.
struct NodeSighting {
  mad::DrPath path;
  mad::NodeInfo info;
};

struct DiscoveryResult {
  Fabric fabric;
  std::vector<mad::DrPath> paths;            // directed route to every node, indexed by NodeId
  std::vector<mad::SwitchInfo> switch_info;  // indexed by NodeId; zeros for CAs and unread switches
  NodeId local_node = kNone;
  unsigned local_port = 0;
  std::vector<DiscoveryProblem> problems;
  std::vector<NodeSighting> sightings;                  // every NodeInfo answer, in arrival order
  std::vector<std::optional<mad::PortInfo>> port_info;  // as read, indexed by PortId; nullopt when unread
  mad::RpcStats stats;
  double seconds = 0;
};

// Fails only when nothing can be learnt (the local node does not answer, the transport
// breaks); partial walks succeed and list their problems.
Result<DiscoveryResult> Discover(mad::Transport& transport, const DiscoveryOptions& options);

// Links that trained below what both ends support (width or speed), as "degraded" reports them.
struct DegradedLink {
  LinkId link = kNone;
  LinkWidth width = LinkWidth::kNone;
  LinkSpeed speed = LinkSpeed::kNone;
  LinkWidth best_width = LinkWidth::kNone;
  LinkSpeed best_speed = LinkSpeed::kNone;
};
std::vector<DegradedLink> FindDegradedLinks(const Fabric& fabric);

}  // namespace fabricctl
