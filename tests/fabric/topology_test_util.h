#pragma once
// Helpers shared by the topology format tests: test data, a GUID-matched comparison for
// fabrics whose node order differs (ibnetdiscover prints nodes in discovery order), the
// canonical form the text formats read back, and random fabrics for property tests.
#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <string>

#include "fabric/fabric.h"
#include "fabric/fabric_builder.h"
#include "fabric/file_io.h"

namespace fabricctl::testing {

inline std::string TopoDataPath(const std::string& name) {
  return std::string(FABRICCTL_SOURCE_DIR) + "/tests/data/topo/" + name;
}

inline std::string ReadTopoData(const std::string& name) {
  auto text = ReadFile(TopoDataPath(name));
  return text ? *text : std::string();
}

// "" when `actual` has the same nodes (by node GUID), ports, cabling, LIDs and rates as
// `expected`; otherwise the first difference.
inline std::string DiffByGuid(const Fabric& expected, const Fabric& actual) {
  if (expected.num_nodes() != actual.num_nodes())
    return fmt::format("{} nodes expected, {} found", expected.num_nodes(), actual.num_nodes());
  if (expected.num_links() != actual.num_links())
    return fmt::format("{} links expected, {} found", expected.num_links(), actual.num_links());
  for (NodeId n = 0; n < expected.num_nodes(); ++n) {
    const Node& e = expected.node(n);
    auto found = actual.FindByGuid(e.guid);
    if (!found) return fmt::format("node {:x} '{}' missing", e.guid, expected.description(n));
    const Node& a = actual.node(*found);
    std::string who = fmt::format("node {:x} '{}'", e.guid, expected.description(n));
    if (a.type != e.type) return who + ": type differs";
    if (a.num_ports != e.num_ports) return who + fmt::format(": {} ports, found {}", e.num_ports, a.num_ports);
    if (actual.description(*found) != expected.description(n))
      return who + fmt::format(": description '{}'", actual.description(*found));
    if (a.system_guid != e.system_guid) return who + fmt::format(": system GUID {:x}", a.system_guid);
    if (a.vendor_id != e.vendor_id || a.device_id != e.device_id) return who + ": vendor or device id differs";
    for (unsigned p = 0; p <= e.num_ports; ++p) {
      const Port& ep = expected.port(expected.port_id(n, p));
      const Port& ap = actual.port(actual.port_id(*found, p));
      std::string port = who + fmt::format(" port {}", p);
      if (ep.guid != ap.guid) return port + fmt::format(": GUID {:x}, expected {:x}", ap.guid, ep.guid);
      if (ep.lid != ap.lid || ep.lmc != ap.lmc)
        return port + fmt::format(": lid {} lmc {}, expected lid {} lmc {}", ap.lid, ap.lmc, ep.lid, ep.lmc);
      if (ep.state != ap.state || ep.phys_state != ap.phys_state) return port + ": state differs";
      if (ep.width_active != ap.width_active || ep.speed_active != ap.speed_active)
        return port + fmt::format(": {}{}, expected {}{}", ToString(ap.width_active), ToString(ap.speed_active),
                                  ToString(ep.width_active), ToString(ep.speed_active));
      if ((ep.peer == kNone) != (ap.peer == kNone)) return port + ": cabled on one side only";
      if (ep.peer == kNone) continue;
      const Port& eq = expected.port(ep.peer);
      const Port& aq = actual.port(ap.peer);
      if (expected.node(eq.node).guid != actual.node(aq.node).guid || eq.number != aq.number)
        return port + fmt::format(": cabled to {}, expected {}", actual.PortName(ap.peer), expected.PortName(ep.peer));
    }
  }
  return "";
}

// What the text formats read back: links numbered by their lower port id, no labels.
inline Fabric Canonical(const Fabric& f) {
  FabricBuilder b;
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    NodeSpec spec = SpecOf(f, n);
    spec.labels = {};
    NodeId id = *b.AddNode(std::move(spec));
    for (unsigned p = 0; p <= f.node(n).num_ports; ++p) {
      Port port = f.port(f.port_id(n, p));
      port.peer = kNone;
      port.link = kNone;
      b.port(id, p) = port;
    }
  }
  for (PortId p = 0; p < f.num_port_slots(); ++p) {
    const Port& port = f.port(p);
    if (port.peer == kNone || port.peer < p) continue;
    const Port& q = f.port(port.peer);
    (void)b.Connect(port.node, port.number, q.node, q.number);
  }
  return std::move(*b.Build());
}

struct RandomFabricOptions {
  bool guid_less_nodes = false;  // leave some node GUIDs 0
  bool fast_speeds = true;       // include NDR and XDR
  bool routers = true;
  bool fdr10 = true;  // ibnetdiscover shows FDR10 only for some device ids
};

// A random fabric: switches, CAs (1-4 ports) and routers, cabled in random order at random
// widths and speeds, with LIDs, LMCs, descriptions that include quotes and '='.
inline Fabric RandomFabric(uint64_t seed, RandomFabricOptions o = {}) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng); };
  FabricBuilder b;
  const unsigned switches = static_cast<unsigned>(uniform(1, 6));
  const unsigned cas = static_cast<unsigned>(uniform(0, 12));
  const unsigned routers = o.routers ? static_cast<unsigned>(uniform(0, 2)) : 0;
  static const char* kWords[] = {"leaf", "spine", "gpu node", "rack=3 \"A\"", "HCA-1", "x", "MF0;sw:MQM9700/U1"};
  std::vector<NodeId> ids;
  uint64_t guid = 0x0002c90300000000ull + uniform(0, 1u << 20) * 16;
  for (unsigned i = 0; i < switches + cas + routers; ++i) {
    NodeType type = i < switches ? NodeType::kSwitch : i < switches + cas ? NodeType::kCa : NodeType::kRouter;
    unsigned ports =
        type == NodeType::kSwitch ? static_cast<unsigned>(uniform(4, 40)) : static_cast<unsigned>(uniform(1, 4));
    guid += 8;
    bool no_guid = o.guid_less_nodes && uniform(0, 3) == 0;
    std::string desc = fmt::format("{} {}", kWords[uniform(0, std::size(kWords) - 1)], i);
    NodeId n = *b.AddNode(NodeSpec{.type = type,
                                   .num_ports = ports,
                                   .guid = no_guid ? 0 : guid,
                                   .system_guid = uniform(0, 1) ? guid | 0xf000000000000000ull : 0,
                                   .description = desc,
                                   .vendor_id = static_cast<uint32_t>(uniform(0, 0xffffff)),
                                   .device_id = static_cast<uint32_t>(uniform(0, 0xffff))});
    if (type == NodeType::kSwitch) {
      b.port(n, 0).lid = static_cast<uint32_t>(uniform(0, 60000));
      b.port(n, 0).lmc = static_cast<uint8_t>(uniform(0, 2));
    }
    ids.push_back(n);
  }
  // Random cabling: endpoints to switches, then switches among themselves.
  static const LinkWidth kWidths[] = {LinkWidth::k1x, LinkWidth::k2x, LinkWidth::k4x, LinkWidth::k8x, LinkWidth::k12x};
  std::vector<LinkSpeed> speeds = {LinkSpeed::kSDR, LinkSpeed::kDDR, LinkSpeed::kQDR,
                                   LinkSpeed::kFDR, LinkSpeed::kEDR, LinkSpeed::kHDR};
  if (o.fdr10) speeds.push_back(LinkSpeed::kFDR10);
  if (o.fast_speeds) speeds.insert(speeds.end(), {LinkSpeed::kNDR, LinkSpeed::kXDR});
  std::vector<std::pair<NodeId, unsigned>> free_ports;
  for (NodeId n : ids)
    for (unsigned p = 1; p <= b.node(n).num_ports; ++p) free_ports.emplace_back(n, p);
  std::shuffle(free_ports.begin(), free_ports.end(), rng);
  for (size_t i = 0; i + 1 < free_ports.size(); i += 2) {
    auto [a, pa] = free_ports[i];
    auto [c, pc] = free_ports[i + 1];
    if (uniform(0, 4) == 0) continue;  // leave some ports unconnected
    bool a_sw = b.node(a).type == NodeType::kSwitch, c_sw = b.node(c).type == NodeType::kSwitch;
    if (!a_sw && !c_sw) continue;  // keep endpoints off each other, as real fabrics do
    LinkRate rate{.width = kWidths[uniform(0, 4)], .speed = speeds[uniform(0, speeds.size() - 1)]};
    if (!b.Connect(a, pa, c, pc, rate)) continue;
    for (auto [n, p] : {std::pair{a, pa}, std::pair{c, pc}}) {
      if (b.node(n).type == NodeType::kSwitch) continue;
      Port& port = b.port(n, p);
      port.guid = b.node(n).guid == 0 ? 0 : b.node(n).guid + p;
      port.lid = static_cast<uint32_t>(uniform(1, 60000));
      port.lmc = static_cast<uint8_t>(uniform(0, 3));
    }
  }
  return std::move(*b.Build());
}

}  // namespace fabricctl::testing
