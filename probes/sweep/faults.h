#pragma once
// Faults to inject into the simulated fabric: on a link (both directions, as a bad cable
// behaves) or on an endpoint (a slow host, which every probe of every port sees).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"

namespace fabricctl::sweep {

enum class FaultKind : uint8_t { kBandwidth, kLatency, kLoss, kDown };
std::string_view ToString(FaultKind k);  // "bandwidth", "latency", "loss", "down"

struct Fault {
  LinkId link = kNone;      // a link fault ...
  NodeId endpoint = kNone;  // ... or an endpoint fault
  FaultKind kind = FaultKind::kBandwidth;
  double value = 0;  // bandwidth factor (0..1), added latency in us, or loss fraction
};

// Faults in force, looked up per link and per endpoint node.
struct FaultSet {
  std::vector<Fault> faults;
  // Per link and per node: the combined effect.
  std::vector<double> link_bw_factor, link_latency_us, link_loss;
  std::vector<uint8_t> link_down;
  std::vector<double> node_bw_factor, node_latency_us;
  void Apply(const Fabric& fabric);  // fills the per-link/per-node tables from `faults`
};

// SPEC forms (docs/sweeps.md):
//   PORT:bw=F | PORT:latency=US | PORT:loss=F | PORT:down      PORT = "desc[port]" (either end)
//   endpoint:DESC:bw=F | endpoint:DESC:latency=US
//   random:K[:bw=F]   K random links (seeded), bandwidth factor F or drawn from [0.1, 0.6]
Result<std::vector<Fault>> ParseFaultSpec(const Fabric& fabric, std::string_view spec, uint64_t seed);

// Resolves "desc[port]" to a PortId.
Result<PortId> FindPortByName(const Fabric& fabric, std::string_view name);

}  // namespace fabricctl::sweep
