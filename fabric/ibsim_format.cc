#include "fabric/ibsim_format.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>

#include "fabric/ibnetdiscover_format.h"

namespace fabricctl {
namespace {

// Every speed from SDR up to and including `s`, in the model's order (SDR < DDR < QDR <
// FDR10 < FDR < EDR < HDR < NDR < XDR), which is also ibsim's order of preference.
SpeedMask SpeedsUpTo(LinkSpeed s) {
  SpeedMask m = 0;
  for (unsigned v = static_cast<unsigned>(LinkSpeed::kSDR); v <= static_cast<unsigned>(s); ++v)
    m |= SpeedBit(static_cast<LinkSpeed>(v));
  return m;
}

constexpr SpeedMask kBaseSpeeds = SpeedBit(LinkSpeed::kSDR) | SpeedBit(LinkSpeed::kDDR) | SpeedBit(LinkSpeed::kQDR);

// Node descriptions as ibsim keeps them: 63 bytes, the text up to the first '"'.
std::string IbsimDescription(std::string_view d) {
  std::string out(d.substr(0, 63));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    if (c == '"') c = '\'';
  }
  return out;
}

// Port options that make ibsim enable what a comment `4xHDR` would (routers ignore the
// comment in ibsim). FDR10 has no option: such router ports train at QDR.
struct RouterOptions {
  unsigned w = 2, s = 1, e = 0;
};
RouterOptions RouterOptionsFor(LinkWidth width, LinkSpeed speed) {
  IbsimPortRate r = IbsimRateFromComment(width, speed);
  RouterOptions o;
  o.w = r.widths;
  o.s = 0;
  if (r.speeds & SpeedBit(LinkSpeed::kSDR)) o.s |= 1;
  if (r.speeds & SpeedBit(LinkSpeed::kDDR)) o.s |= 2;
  if (r.speeds & SpeedBit(LinkSpeed::kQDR)) o.s |= 4;
  if (r.speeds & SpeedBit(LinkSpeed::kFDR)) o.e |= 1;
  if (r.speeds & SpeedBit(LinkSpeed::kEDR)) o.e |= 2;
  if (r.speeds & SpeedBit(LinkSpeed::kHDR)) o.e |= 4;
  return o;
}

// What ibsim enables on a written port.
IbsimPortRate WrittenRate(const Fabric& f, const Port& p) {
  LinkWidth w = IbsimWidth(p.width_active);
  LinkSpeed s = IbsimSpeed(p.speed_active);
  if (f.node(p.node).type != NodeType::kRouter) return IbsimRateFromComment(w, s);
  RouterOptions o = RouterOptionsFor(w, s);
  IbsimPortRate r;
  r.widths = *IbsimWidthOption(o.w);
  r.speeds = *IbsimSpeedOption(o.s) | *IbsimExtSpeedOption(o.e);
  return r;
}

}  // namespace

IbsimPortRate IbsimRateFromComment(LinkWidth width, LinkSpeed speed) {
  IbsimPortRate r;
  switch (width) {
    case LinkWidth::k1x:
      r.widths = WidthBit(LinkWidth::k1x);
      break;
    case LinkWidth::k2x:
      r.widths = WidthBit(LinkWidth::k2x);
      break;
    case LinkWidth::k4x:
      r.widths = WidthBit(LinkWidth::k1x) | WidthBit(LinkWidth::k4x);
      break;
    case LinkWidth::k8x:
      r.widths = WidthBit(LinkWidth::k8x);
      break;
    case LinkWidth::k12x:
      r.widths = WidthBit(LinkWidth::k1x) | WidthBit(LinkWidth::k4x) | WidthBit(LinkWidth::k12x);
      break;
    case LinkWidth::kNone:
      break;
  }
  switch (speed) {
    case LinkSpeed::kNone:
      break;
    case LinkSpeed::kFDR10:
      r.speeds = kBaseSpeeds | SpeedBit(LinkSpeed::kFDR10);
      break;
    default:
      r.speeds = SpeedsUpTo(speed);
      break;
  }
  return r;
}

std::optional<WidthMask> IbsimWidthOption(uint64_t w) {
  if (w < 1 || w > 31) return std::nullopt;
  return static_cast<WidthMask>(w);  // PortInfo encoding is the model's encoding
}

std::optional<SpeedMask> IbsimSpeedOption(uint64_t s) {
  if (s > 7) return std::nullopt;
  if (s == 0) s = 4;  // ibsim: 0 means QDR
  SpeedMask m = 0;
  if (s & 1) m |= SpeedBit(LinkSpeed::kSDR);
  if (s & 2) m |= SpeedBit(LinkSpeed::kDDR);
  if (s & 4) m |= SpeedBit(LinkSpeed::kQDR);
  return m;
}

std::optional<SpeedMask> IbsimExtSpeedOption(uint64_t e) {
  if (e > 15) return std::nullopt;
  SpeedMask m = 0;
  if (e & 1) m |= SpeedBit(LinkSpeed::kFDR);
  if (e & 2) m |= SpeedBit(LinkSpeed::kEDR);
  if (e & 4) m |= SpeedBit(LinkSpeed::kHDR);
  if (e & 8) m |= SpeedBit(LinkSpeed::kNDR);
  return m;
}

std::optional<LinkRate> IbsimNegotiate(const IbsimPortRate& a, const IbsimPortRate& b) {
  WidthMask w = a.widths & b.widths;
  SpeedMask s = a.speeds & b.speeds;
  if (w == 0 || s == 0) return std::nullopt;
  return LinkRate{.width = WidestWidth(w), .speed = FastestSpeed(s)};
}

LinkSpeed IbsimSpeed(LinkSpeed speed) {
  if (speed == LinkSpeed::kNone) return LinkSpeed::kSDR;
  if (speed == LinkSpeed::kNDR || speed == LinkSpeed::kXDR) return LinkSpeed::kHDR;
  return speed;
}

LinkWidth IbsimWidth(LinkWidth width) { return width == LinkWidth::kNone ? LinkWidth::k4x : width; }

std::vector<uint64_t> IbsimNodeGuids(const Fabric& f) {
  std::vector<uint64_t> guids(f.num_nodes());
  std::unordered_set<uint64_t> used;
  for (const Node& n : f.nodes())
    if (n.guid != 0) used.insert(n.guid);
  uint64_t next_switch = 0x200000, next_ca = 0x100000, next_router = 0x300000;
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    const Node& node = f.node(n);
    if (node.guid != 0) {
      guids[n] = node.guid;
      continue;
    }
    uint64_t& next = node.type == NodeType::kSwitch ? next_switch : node.type == NodeType::kCa ? next_ca : next_router;
    // CA and router port GUIDs follow the node GUID in ibsim: keep that range free too.
    unsigned span = node.type == NodeType::kSwitch ? 1 : node.num_ports + 1u;
    auto free_range = [&](uint64_t g) {
      for (unsigned i = 0; i < span; ++i)
        if (used.contains(g + i)) return false;
      return true;
    };
    while (!free_range(next)) ++next;
    guids[n] = next;
    for (unsigned i = 0; i < span; ++i) used.insert(next + i);
    next += span;
  }
  return guids;
}

std::vector<std::string> IbsimSizeArgs(const Fabric& f) {
  // ibsim 0.10's defaults (sim.h): MAXNETNODES, MAXNETSWITCHS, MAXNETPORTS, MAXLINEARCAP.
  constexpr size_t kNodes = 2048, kSwitches = 256, kPorts = 256 * 36 + 2048 * 2, kLinearCap = 30 * 1024;
  size_t switches = 0, ports = 0;
  uint64_t max_lid = 0;
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    const Node& node = f.node(n);
    switches += node.type == NodeType::kSwitch;
    ports += node.num_ports + 1u;  // ibsim keeps port 0 of switches; one spare for CAs is harmless
    for (unsigned p = 0; p <= node.num_ports; ++p) {
      const Port& port = f.port(f.port_id(n, p));
      max_lid = std::max<uint64_t>(max_lid, port.lid + (1ull << port.lmc) - 1);
    }
  }
  std::vector<std::string> args;
  if (f.num_nodes() > kNodes || switches > kSwitches || ports > kPorts) {
    args.insert(args.end(),
                {"-N", std::to_string(std::max(f.num_nodes(), kNodes)), "-S",
                 std::to_string(std::max(switches, kSwitches)), "-P", std::to_string(std::max(ports, kPorts))});
  }
  // The table is indexed by LID and rounded to 64-entry blocks.
  if (max_lid >= kLinearCap) args.insert(args.end(), {"-L", std::to_string((max_lid / 64 + 1) * 64)});
  return args;
}

std::string WriteIbsimTopology(const Fabric& f) {
  std::vector<uint64_t> guids = IbsimNodeGuids(f);
  std::vector<std::string> names(f.num_nodes());
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    char letter = f.node(n).type == NodeType::kSwitch ? 'S' : f.node(n).type == NodeType::kCa ? 'H' : 'R';
    names[n] = fmt::format("\"{}-{:016x}\"", letter, guids[n]);
  }
  auto port_guid = [&](const Port& p) {
    return f.is_switch(p.node) ? guids[p.node] : guids[p.node] + p.number;  // ibsim's numbering
  };
  auto lid_of = [&](const Port& p) -> uint32_t {
    if (f.is_switch(p.node)) return f.port(f.port_id(p.node, 0)).lid;
    if (f.node(p.node).type == NodeType::kRouter) return 0;  // ibsim ignores router LIDs
    return p.lid;
  };

  fmt::memory_buffer out;
  auto it = std::back_inserter(out);
  fmt::format_to(it,
                 "# ibsim topology written by fabricctl: load with `ibsim -s FILE`.\n"
                 "# ibsim 0.10 simulates speeds up to HDR: NDR and XDR links are written as HDR.\n"
                 "# Peer descriptions in port comments are left empty: ibsim would read a '=' in\n"
                 "# them as a port option.\n");
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    const Node& node = f.node(n);
    const Port& port0 = f.port(f.port_id(n, 0));
    // vendid and sysimgguid apply to the next record only; devid stays, so write all three.
    fmt::format_to(it, "\nvendid=0x{:x}\ndevid=0x{:x}\n", node.vendor_id, node.device_id);
    // ibsim's own default for a missing line is the node GUID; write it so the file says so.
    fmt::format_to(it, "sysimgguid=0x{:x}\n", node.system_guid != 0 ? node.system_guid : guids[n]);
    std::string desc = IbsimDescription(f.description(n));
    const std::string header = NodeRecordHeader(node, names[n], guids[n], guids[n], desc, port0);
    out.append(header.data(), header.data() + header.size());
    for (const Port& p : f.physical_ports(n)) {
      if (p.peer == kNone) continue;
      const Port& q = f.port(p.peer);
      std::string rate = FormatWidthSpeed(IbsimWidth(p.width_active), IbsimSpeed(p.speed_active));
      if (node.type == NodeType::kSwitch) {
        fmt::format_to(it, "[{}]\t{}[{}]", p.number, names[q.node], q.number);
        if (!f.is_switch(q.node)) fmt::format_to(it, "({:x}) ", port_guid(q));
        fmt::format_to(it, "\t\t# \"\" lid {} {}\n", lid_of(q), rate);
        continue;
      }
      fmt::format_to(it, "[{}]({:x}) \t{}[{}]", p.number, port_guid(p), names[q.node], q.number);
      if (!f.is_switch(q.node)) fmt::format_to(it, " ({:x}) ", port_guid(q));
      if (node.type == NodeType::kRouter) {
        RouterOptions o = RouterOptionsFor(IbsimWidth(p.width_active), IbsimSpeed(p.speed_active));
        fmt::format_to(it, "\tw={} s={} e={}", o.w, o.s, o.e);
      }
      fmt::format_to(it, "\t\t# lid {} lmc {} \"\" lid {} {}\n", lid_of(p), node.type == NodeType::kRouter ? 0 : p.lmc,
                     lid_of(q), rate);
    }
  }
  return fmt::to_string(out);
}

Result<Fabric> IbsimExpectedFabric(const Fabric& f) {
  std::vector<uint64_t> guids = IbsimNodeGuids(f);
  FabricBuilder b;
  b.Reserve(f.num_nodes(), f.num_port_slots());
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    const Node& node = f.node(n);
    auto id = b.AddNode(NodeSpec{.type = node.type,
                                 .num_ports = node.num_ports,
                                 .guid = guids[n],
                                 .system_guid = node.system_guid != 0 ? node.system_guid : guids[n],
                                 .description = IbsimDescription(f.description(n)),
                                 .vendor_id = node.vendor_id,
                                 .device_id = node.device_id});
    if (!id) return std::unexpected(id.error());
    if (node.type == NodeType::kSwitch) {
      const Port& port0 = f.port(f.port_id(n, 0));
      b.port(*id, 0).lid = port0.lid;
      b.port(*id, 0).lmc = port0.lmc;
    }
  }
  // Links in the order the reader numbers them: by their lower port id.
  for (PortId pa = 0; pa < f.num_port_slots(); ++pa) {
    const Port& p = f.port(pa);
    if (p.peer == kNone || p.peer < pa) continue;
    const Port& q = f.port(p.peer);
    auto rate = IbsimNegotiate(WrittenRate(f, p), WrittenRate(f, q));
    if (!rate) return MakeError(fmt::format("{}: ibsim finds no common width or speed", f.LinkName(p.link)));
    if (auto l = b.Connect(p.node, p.number, q.node, q.number, *rate); !l) return std::unexpected(l.error());
    for (const Port* end : {&p, &q}) {
      if (f.is_switch(end->node)) continue;
      Port& out = b.port(end->node, end->number);
      out.guid = guids[end->node] + end->number;
      if (f.node(end->node).type == NodeType::kCa) {
        out.lid = end->lid;
        out.lmc = end->lmc;
      }
    }
  }
  return b.Build();
}

}  // namespace fabricctl
