#pragma once
// One path, hop by hop, as the tables send it: every cable with the ports at both ends and
// the VL the packet uses on it. Like ibtracert, but offline, and with the SL->VL maps.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "routing/routes.h"

namespace fabricctl {

struct TraceHop {
  PortId from = kNone;  // port the packet leaves by
  PortId to = kNone;    // port it arrives on
  uint8_t vl = 0;
};

enum class TraceEnd : uint8_t { kDelivered, kNoEntry, kLoop, kThroughEndpoint, kDeadPort };
std::string_view ToString(TraceEnd e);  // "delivered", "no-route", ...

struct Trace {
  SubnetId subnet = kNone;
  PortId source = kNone;
  Lid destination = 0;
  PortId destination_port = kNone;
  uint8_t sl = 0;
  std::vector<TraceHop> hops;
  TraceEnd end = TraceEnd::kDelivered;
  std::string problem;  // empty when delivered
};

// The path from port `source` (an endpoint port, or a switch's port 0) to `destination`.
// Errors when the two are not in one routed subnet or the LID is unknown.
Result<Trace> TraceRoute(const Fabric& fabric, const RouteSet& routes, PortId source, Lid destination);

// Resolves what a user typed to a port with a LID: "lid:N" or "guid:0x..", a node
// description, a node or port GUID (0x...), or a LID (decimal). For a node with several
// ports the first one with a LID is taken; a switch means its port 0.
Result<PortId> ResolvePort(const Fabric& fabric, const RouteSet& routes, std::string_view spec);

}  // namespace fabricctl
