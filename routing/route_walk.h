#pragma once
// Follows every source's route towards each destination through the LFTs: the pass behind
// both the quick summary of `route compute` (routing/route_summary.h) and the metrics of
// `route stats` (routing/metrics.h). It yields the hops of every pair, the routes each
// switch-to-switch channel carries, and the pairs whose route breaks or loops. Each switch
// is resolved once per destination, so a destination costs O(switches); destinations go
// in blocks of LIDs, so each LFT row is read in runs, and blocks are spread over threads.
#include <cstdint>
#include <span>
#include <vector>

#include "fabric/fabric.h"
#include "routing/routes.h"

namespace fabricctl {

// A slot that leads to no switch of the subnet (an endpoint, no cable, port 0, another
// subnet).
inline constexpr uint32_t kNoSwitch = kNone - 1;

// The port slots of one subnet's switches: port p of switch s (row s of the LFTs) is slot
// base[s] + p. A switch's slots are contiguous and sized by its own port count, so tables
// indexed by slot stay small where port counts differ.
struct PortSlots {
  std::vector<uint32_t> base;         // per switch, then the number of slots
  std::vector<uint32_t> next_switch;  // per slot: the switch it is cabled to, or kNoSwitch
  std::vector<uint8_t> peer_port;     // per slot: the port number the cable arrives on there

  uint32_t num_switches() const { return static_cast<uint32_t>(base.size() - 1); }
  uint32_t num_slots() const { return base.back(); }
  // Port numbers of switch s run from 0 to ports(s) - 1.
  uint32_t ports(uint32_t s) const { return base[s + 1] - base[s]; }
};

// `switches` in LFT row order (Subnet::switches).
PortSlots MakePortSlots(const Fabric& fabric, std::span<const NodeId> switches);

// The destinations to walk towards, in ascending LID order: each LID with the switch it
// hangs off and the port number there.
struct WalkDestinations {
  std::vector<Lid> lids;
  std::vector<uint32_t> switches;
  std::vector<uint8_t> ports;

  void Add(Lid lid, uint32_t at, uint8_t port) {
    lids.push_back(lid);
    switches.push_back(at);
    ports.push_back(port);
  }
};

// Receives the turns the routes towards one destination take, for a channel dependency
// graph: at each switch u in `at`, from every in port whose bit is set in the four words
// in_ports[4 * u ...] to out port out_ports[u]. Called from the walking threads at once.
class TurnSink {
 public:
  virtual void Record(std::span<const uint32_t> at, const uint64_t* in_ports, const uint8_t* out_ports) = 0;

 protected:
  ~TurnSink() = default;
};

struct RouteWalkInput {
  const PortSlots& slots;
  const SubnetRoutes& routes;
  const WalkDestinations& destinations;
  // Per switch: the sources its endpoints count for towards every destination; towards a
  // destination at that switch, one fewer (the destination itself).
  std::span<const uint32_t> sources;
  unsigned threads = 1;
  TurnSink* turns = nullptr;  // none: turns are not collected
};

struct RouteWalkTotals {
  std::vector<uint64_t> load;  // per slot: routes over it that arrive
  uint64_t pairs = 0;          // source-destination pairs walked
  uint64_t unreachable = 0;    // of those, routes that hit no entry, a port leading nowhere, or a loop
  uint64_t hop_sum = 0;        // links of the routes that arrive, endpoint links included
  uint32_t min_hops = 0;       // over the routes that arrive; 0 when none does
  uint32_t max_hops = 0;
};

RouteWalkTotals WalkRoutes(const RouteWalkInput& input);

}  // namespace fabricctl
