#include "routing/trace.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

namespace fabricctl {

std::string_view ToString(TraceEnd e) {
  switch (e) {
    case TraceEnd::kDelivered:
      return "delivered";
    case TraceEnd::kNoEntry:
      return "no-route";
    case TraceEnd::kLoop:
      return "loop";
    case TraceEnd::kThroughEndpoint:
      return "through-endpoint";
    case TraceEnd::kDeadPort:
      return "dead-port";
  }
  return "?";
}

Result<Trace> TraceRoute(const Fabric& f, const RouteSet& routes, PortId source, Lid destination) {
  if (source >= f.num_port_slots()) return MakeError("source port out of range");
  SubnetId sid = f.subnet_of(source);
  const SubnetRoutes* r = nullptr;
  for (const SubnetRoutes& x : routes.subnets)
    if (x.subnet == sid) r = &x;
  if (sid == kNone || !r) return MakeError(fmt::format("{} is in no routed subnet", f.PortName(source)));
  if (destination == 0 || destination >= r->num_lids() || r->lid_owner[destination] == kNone)
    return MakeError(fmt::format("LID {} is not assigned in subnet {}", destination, f.subnets()[sid].name));
  Trace t;
  t.subnet = sid;
  t.source = source;
  t.destination = destination;
  t.destination_port = r->lid_owner[destination];
  const Subnet& sn = f.subnets()[sid];
  const bool multi_vl = r->num_vls > 1;
  if (t.destination_port == source) return t;  // to itself: never leaves the port

  NodeId at;
  unsigned in_port;
  if (f.is_switch(f.port(source).node)) {
    at = f.port(source).node;
    in_port = 0;
  } else {
    if (multi_vl) {
      size_t e =
          std::lower_bound(sn.endpoint_ports.begin(), sn.endpoint_ports.end(), source) - sn.endpoint_ports.begin();
      t.sl = r->pair_sl[e * r->num_lids() + destination];
    }
    PortId peer = f.port(source).peer;
    t.hops.push_back({source, peer, multi_vl ? r->endpoint_sl2vl[t.sl & 15] : uint8_t(0)});
    if (peer == t.destination_port) return t;
    at = f.port(peer).node;
    if (!f.is_switch(at)) {
      t.end = TraceEnd::kThroughEndpoint;
      t.problem = fmt::format("enters endpoint {}", f.PortName(peer));
      return t;
    }
    in_port = f.port(peer).number;
  }
  if (t.destination_port == f.port_id(at, 0)) return t;
  std::vector<uint8_t> visited(f.num_nodes(), 0);
  while (true) {
    size_t i = std::lower_bound(r->switches.begin(), r->switches.end(), at) - r->switches.begin();
    uint8_t p = r->out_port(i, destination);
    if (visited[at]) {
      t.end = TraceEnd::kLoop;
      t.problem = fmt::format("returns to {}", f.description(at));
      return t;
    }
    visited[at] = 1;
    if (p == kNoRoute) {
      t.end = TraceEnd::kNoEntry;
      t.problem = fmt::format("{} has no LFT entry for LID {}", f.description(at), destination);
      return t;
    }
    if (p == 0 && f.port_id(at, 0) == t.destination_port) return t;
    if (p == 0 || p > f.node(at).num_ports || f.port(f.port_id(at, p)).peer == kNone) {
      t.end = TraceEnd::kDeadPort;
      t.problem = fmt::format("{} forwards to port {}, which has no cable", f.description(at), p);
      return t;
    }
    uint8_t vl = 0;
    if (multi_vl) vl = r->sl2vl[((i * r->sl2vl_stride + in_port) * r->sl2vl_stride + p) * 16 + (t.sl & 15)];
    PortId from = f.port_id(at, p), to = f.port(from).peer;
    t.hops.push_back({from, to, vl});
    if (to == t.destination_port) return t;
    NodeId next = f.port(to).node;
    if (!f.is_switch(next)) {
      t.end = TraceEnd::kThroughEndpoint;
      t.problem = fmt::format("enters endpoint {}", f.PortName(to));
      return t;
    }
    if (f.port_id(next, 0) == t.destination_port) return t;
    at = next;
    in_port = f.port(to).number;
  }
}

namespace {

std::optional<uint64_t> ParseNumber(std::string_view s) {
  int base = 10;
  if (s.starts_with("0x") || s.starts_with("0X")) {
    s.remove_prefix(2);
    base = 16;
  }
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// The first port of node n that has a LID: port 0 of a switch, else the lowest physical port.
std::optional<PortId> PortWithLid(const Fabric& f, const RouteSet& routes, NodeId n) {
  if (f.is_switch(n)) return f.port_id(n, 0);
  for (unsigned p = 1; p <= f.node(n).num_ports; ++p) {
    PortId id = f.port_id(n, p);
    if (id < routes.port_lid.size() && routes.port_lid[id] != 0) return id;
  }
  return std::nullopt;
}

Result<PortId> ByLid(const Fabric& f, const RouteSet& routes, uint64_t lid, std::string_view spec) {
  for (PortId p = 0; p < routes.port_lid.size() && p < f.num_port_slots(); ++p)
    if (routes.port_lid[p] == lid) return p;
  return MakeError(fmt::format("'{}': no port has LID {}", spec, lid));
}

Result<PortId> ByGuid(const Fabric& f, const RouteSet& routes, uint64_t guid, std::string_view spec) {
  if (auto n = f.FindByGuid(guid)) {
    if (auto p = PortWithLid(f, routes, *n)) return *p;
    return MakeError(fmt::format("'{}': node {} has no port with a LID", spec, f.description(*n)));
  }
  for (PortId p = 0; p < f.num_port_slots(); ++p)
    if (f.port(p).guid == guid && f.port(p).guid != 0) return p;
  return MakeError(fmt::format("'{}': no node or port has GUID 0x{:016x}", spec, guid));
}

}  // namespace

Result<PortId> ResolvePort(const Fabric& f, const RouteSet& routes, std::string_view spec) {
  if (spec.starts_with("lid:")) {
    auto v = ParseNumber(spec.substr(4));
    if (!v) return MakeError(fmt::format("'{}': expected lid:N", spec));
    return ByLid(f, routes, *v, spec);
  }
  if (spec.starts_with("guid:")) {
    auto v = ParseNumber(spec.substr(5));
    if (!v) return MakeError(fmt::format("'{}': expected guid:0x...", spec));
    return ByGuid(f, routes, *v, spec);
  }
  if (auto n = f.FindByDescription(spec)) {
    if (auto p = PortWithLid(f, routes, *n)) return *p;
    return MakeError(fmt::format("'{}': the node has no port with a LID", spec));
  }
  if (auto v = ParseNumber(spec)) {
    if (spec.starts_with("0x") || spec.starts_with("0X")) return ByGuid(f, routes, *v, spec);
    return ByLid(f, routes, *v, spec);
  }
  return MakeError(fmt::format("'{}' is not a node description, GUID (0x...) or LID", spec));
}

}  // namespace fabricctl
