#pragma once
// The route verifier: independent of every engine, it checks a RouteSet against the
// Fabric it was computed for. For every routed subnet and every ordered pair of endpoint
// ports it walks the linear forwarding tables and checks that the destination is reached,
// that no path loops, that no path enters an endpoint other than the destination, that no
// LFT entry points at a port without a cable, and that the channel dependency graph over
// (channel, VL) - built from the pair SLs and SL->VL maps - has no cycle (a cycle is a
// possible credit-loop deadlock). See docs/routing-verification.md.
#include <cstdint>
#include <string>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "routing/routes.h"

namespace fabricctl {

enum class ViolationKind : uint8_t {
  kUnreachable,      // an LFT on the path has no entry (kNoRoute) for the destination
  kLoop,             // the path revisits a switch
  kThroughEndpoint,  // the path enters an endpoint that is not the destination
  kDeadPort,         // an LFT entry names a port that does not exist or has no cable
  kCreditLoop,       // a cycle in the channel dependency graph
  kSubnetNotRouted,  // a subnet with endpoints has no route tables at all
  kBadVl,            // an SL->VL map sends a used (SL, port pair) to a VL >= num_vls
};
std::string_view ToString(ViolationKind k);  // "unreachable", "loop", ...

// One channel of a reported cycle: the directed link leaving `from` (a switch port) on `vl`.
struct CycleChannel {
  PortId from = kNone;
  PortId to = kNone;
  uint8_t vl = 0;
};

struct Violation {
  ViolationKind kind = ViolationKind::kUnreachable;
  SubnetId subnet = kNone;
  PortId source = kNone;            // endpoint port; kNone for kDeadPort, kCreditLoop, kSubnetNotRouted
  Lid destination = 0;              // 0 for kCreditLoop and kSubnetNotRouted
  PortId at = kNone;                // the switch port (or entered endpoint port) where it went wrong
  std::vector<CycleChannel> cycle;  // kCreditLoop only, in dependency order
  std::string text;                 // one line, names nodes by description
};

struct VerifyOptions {
  size_t max_violations = 20;  // how many violations to keep in detail; all are counted
  unsigned threads = 0;        // 0: hardware concurrency
};

struct SubnetVerdict {
  SubnetId subnet = kNone;
  uint64_t pairs = 0;  // ordered endpoint-port pairs checked (source != destination port)
  uint64_t unreachable_pairs = 0;
  uint64_t loop_pairs = 0;
  uint64_t through_endpoint_pairs = 0;
  uint64_t dead_port_entries = 0;
  uint64_t bad_vl_pairs = 0;
  uint64_t cdg_channels = 0;  // (channel, VL) nodes with at least one dependency
  uint64_t cdg_dependencies = 0;
  uint64_t cdg_cycles = 0;  // strongly connected components with a cycle
  uint32_t vls_used = 0;    // distinct VLs carried by switch-to-switch channels
  bool routed = true;
};

struct VerifyReport {
  std::vector<SubnetVerdict> subnets;  // one per fabric subnet, in subnet order
  uint64_t pairs = 0;
  uint64_t unreachable_pairs = 0;  // a failing pair is counted once, under the first fault on its path
  uint64_t loop_pairs = 0;
  uint64_t through_endpoint_pairs = 0;
  uint64_t dead_port_entries = 0;
  uint64_t bad_vl_pairs = 0;
  uint64_t cdg_cycles = 0;
  uint64_t unrouted_subnets = 0;
  uint64_t violation_count = 0;       // total of all the counts above
  std::vector<Violation> violations;  // the first VerifyOptions::max_violations, subnet order

  bool sound() const { return violation_count == 0; }
  bool deadlock_free() const { return cdg_cycles == 0; }
};

// Errors (not violations) when `routes` does not fit `fabric`: table sizes, switch lists
// or LID owners that disagree with the topology.
Result<VerifyReport> Verify(const Fabric& fabric, const RouteSet& routes, const VerifyOptions& options = {});

// "sw1:3 -> sw2:5 -> ... -> sw1:3": each channel as the switch and port it leaves by, the
// first repeated at the end; " (VL n)" after each channel when any VL is non-zero.
std::string FormatCycle(const Fabric& fabric, const std::vector<CycleChannel>& cycle);

}  // namespace fabricctl
