#pragma once
// The route manager's light sweep: each period one SwitchInfo Get per reachable switch
// (its PortStateChange bit says whether any of its ports changed state), then PortInfo of
// every cabled port of the switches that flagged, plus a full PortInfo pass every N sweeps
// as a backstop for a change the bit did not show. Yields the cables (LinkIds of the fabric
// discovered at start) that went down or came back, and the switches that stopped
// answering or answer again. Directed routes avoid what is seen down, so a sweep never
// waits on a path through a dead cable. The bit is cleared only when asked (no other
// subnet manager runs): OpenSM clears it itself and needs to see it.
#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "fabric/mad/rpc.h"
#include "fabric/mad/transport.h"

namespace fabricctl {

enum class PortStateChangeBit : uint8_t { kClear, kLeave };

struct PortWatchOptions {
  // Short: a switch that died answers nothing, and the sweep should not wait long on it.
  mad::RpcOptions rpc{.inflight = 32, .timeout_ms = 20, .retries = 1};
  unsigned full_pass_every = 10;  // every Nth sweep reads every cabled switch port (0: never)
  PortStateChangeBit bit = PortStateChangeBit::kClear;
  // No subnet manager runs: a cable found back in Init is armed and activated here, as an
  // SM would, and counts as up only once Active. Otherwise an Init port counts as up.
  bool activate_ports = false;
};

struct SweepResult {
  std::vector<LinkId> went_down;  // ascending
  std::vector<LinkId> came_up;
  std::vector<NodeId> nodes_down;  // reachable switches that stopped answering
  std::vector<NodeId> nodes_up;
  size_t switches_flagged = 0;  // PortStateChange set
  size_t ports_activated = 0;   // brought from Init to Active (activate_ports)
  bool full_pass = false;
  mad::RpcStats stats;
  double seconds = 0;
  bool changed() const { return !went_down.empty() || !came_up.empty() || !nodes_down.empty() || !nodes_up.empty(); }
};

class PortWatch {
 public:
  // `fabric` is what discovery found at start: every cable of it is taken as up.
  PortWatch(const Fabric& fabric, NodeId local_node, unsigned local_port, PortWatchOptions options = {});

  // One sweep. Fails only when the transport breaks.
  Result<SweepResult> Sweep(mad::Transport& transport);
  // A sweep of the switches whose LIDs sent traps: every cabled port of each, nothing
  // else, so a trap costs tens of SMPs instead of one per switch first. Traps that arrive
  // meanwhile add their switches; a trapping switch that does not answer adds its
  // neighbours. Empty when it finds no change: then Sweep is the way. Switches it did not
  // read keep their state, and so does their PortStateChange bit, for the next Sweep,
  // which should follow soon: a trap lost on its way is seen only by that.
  Result<std::optional<SweepResult>> SweepTrapped(mad::Transport& transport, const std::vector<uint16_t>& lids);

  bool link_up(LinkId l) const { return link_up_[l] != 0; }
  bool node_up(NodeId n) const { return node_up_[n] != 0; }
  // Directed routes over the cables seen up (recomputed by each sweep); reachable[n] == 0:
  // no such route.
  const std::vector<mad::DrPath>& paths() const { return paths_; }
  const std::vector<uint8_t>& reachable() const { return reachable_; }
  // Takes the cables and switches `health` marks down as seen down (a restart that
  // resumes a change); the first sweep reads every port and corrects what is wrong.
  void Assume(const std::vector<uint8_t>& link_down, const std::vector<uint8_t>& node_down);
  // Recomputes paths() and reachable() from the cables seen up.
  void ComputePaths();

 private:
  std::vector<NodeId> SwitchesWithLids(const std::vector<uint16_t>& lids) const;
  void PostSwitch(mad::MadRpc& rpc, NodeId n, bool full, std::vector<int8_t>& port_seen, SweepResult& result);
  Result<void> Activate(mad::Transport& transport, std::vector<int8_t>& port_seen, SweepResult& result);
  void EvaluateLinks(const std::vector<int8_t>& port_seen, SweepResult& result);
  void EvaluateNodes(const std::function<bool(NodeId)>& answered, SweepResult& result);

  const Fabric& fabric_;
  NodeId local_node_;
  unsigned local_port_;
  PortWatchOptions options_;
  uint64_t sweeps_ = 0;
  std::vector<uint8_t> link_up_;
  std::vector<uint8_t> node_up_;
  std::vector<mad::DrPath> paths_;
  std::vector<uint8_t> reachable_;
  std::vector<PortId> init_ports_;  // switch ports this sweep read in Init (activate_ports)
  std::unordered_map<uint32_t, NodeId> switch_by_lid_;
};

}  // namespace fabricctl
