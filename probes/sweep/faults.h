#pragma once
// Faults to inject into the simulated fabric: on a link (both directions, as a bad cable
// behaves, or one direction only), on an endpoint (a slow host, which every probe of every
// port sees), steady or intermittent (degrading only some of the probes that cross it).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"

namespace fabricctl::sweep {

enum class FaultKind : uint8_t { kBandwidth, kLatency, kLoss, kDown };
std::string_view ToString(FaultKind k);  // "bandwidth", "latency", "loss", "down"

// What an intermittent fault without an explicit effect does to the probes it hits.
inline constexpr double kFlakyBandwidthFactor = 0.5;

struct Fault {
  LinkId link = kNone;      // a link fault ...
  NodeId endpoint = kNone;  // ... or an endpoint fault
  FaultKind kind = FaultKind::kBandwidth;
  double value = 0;  // bandwidth factor (0..1), added latency in us, or loss fraction
  // Only the channel this port transmits (one direction of `link`); kNone: both directions.
  PortId channel = kNone;
  // Share of the probes crossing it that the fault hits, each probe drawn on its own; 1: all.
  double probability = 1;
};

// Faults in force, looked up per channel (transmitting PortId) and per endpoint node.
struct FaultSet {
  std::vector<Fault> faults;
  // Per channel: the combined effect of the steady faults.
  std::vector<double> channel_bw_factor, channel_latency_us, channel_loss;
  std::vector<uint8_t> channel_down;
  // Per channel: indices into `faults` of its intermittent faults (CSR).
  std::vector<uint32_t> intermittent_start, intermittent;
  std::vector<double> node_bw_factor, node_latency_us;
  void Apply(const Fabric& fabric);  // fills the per-channel/per-node tables from `faults`
  std::span<const uint32_t> intermittent_of(PortId channel) const {
    return std::span<const uint32_t>(intermittent)
        .subspan(intermittent_start[channel], intermittent_start[channel + 1] - intermittent_start[channel]);
  }
};

// SPEC forms (docs/sweeps.md):
//   PORT:EFFECT[:flaky=P][:tx|:rx]      PORT = "desc[port]" (either end of the link)
//     EFFECT = bw=F | latency=US | loss=F | down; flaky=P alone means bw=0.5 on P of the probes
//     tx: only the channel PORT transmits; rx: only the channel it receives
//   endpoint:DESC:bw=F | endpoint:DESC:latency=US
//   random:K[:EFFECT][:flaky=P][:oneway]   K random links (seeded), bandwidth factor drawn
//     from [0.1, 0.6] unless EFFECT is given; oneway: one direction of each, drawn too
Result<std::vector<Fault>> ParseFaultSpec(const Fabric& fabric, std::string_view spec, uint64_t seed);

// Resolves "desc[port]" to a PortId.
Result<PortId> FindPortByName(const Fabric& fabric, std::string_view name);

}  // namespace fabricctl::sweep
