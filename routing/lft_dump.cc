#include "routing/lft_dump.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <unordered_map>

namespace fabricctl {

std::string FormatOpenSmLftDump(const Fabric& fabric, const RouteSet& routes) {
  std::string out;
  for (const SubnetRoutes& sr : routes.subnets) {
    for (size_t i = 0; i < sr.switches.size(); ++i) {
      NodeId sw = sr.switches[i];
      Lid own = routes.port_lid.empty() ? 0 : routes.port_lid[fabric.port_id(sw, 0)];
      out += fmt::format("Unicast lids [0-{}] of switch Lid {} guid 0x{:016x} ('{}'):\n", sr.num_lids() - 1, own,
                         fabric.node(sw).guid, fabric.description(sw));
      unsigned dumped = 0;
      for (Lid lid = 1; lid < sr.num_lids(); ++lid) {
        uint8_t port = sr.out_port(i, lid);
        PortId owner = sr.lid_owner[lid];
        if (port == kNoRoute || owner == kNone) continue;
        const Port& op = fabric.port(owner);
        bool is_switch = fabric.node(op.node).type == NodeType::kSwitch;
        out += fmt::format("0x{:04x} {:03} # {} portguid 0x{:016x}: '{}'\n", lid, port,
                           is_switch ? "Switch" : "Channel Adapter", is_switch ? fabric.node(op.node).guid : op.guid,
                           fabric.description(op.node));
        ++dumped;
      }
      out += fmt::format("{} lids dumped\n", dumped);
    }
  }
  return out;
}

namespace {

std::optional<uint64_t> Hex(std::string_view s) {
  if (s.starts_with("0x") || s.starts_with("0X")) s.remove_prefix(2);
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || s.empty()) return std::nullopt;
  return v;
}

struct SwitchTable {
  NodeId node;
  std::map<Lid, uint8_t> entries;
};

}  // namespace

Result<RouteSet> ParseOpenSmLftDump(const Fabric& fabric, std::string_view text, std::string_view filename) {
  const std::string file(filename);
  // Port GUID -> port: CA ports by their port GUID, switches by node GUID (port 0).
  std::unordered_map<uint64_t, PortId> by_port_guid;
  for (NodeId n = 0; n < fabric.num_nodes(); ++n) {
    const Node& node = fabric.node(n);
    if (node.type == NodeType::kSwitch) {
      by_port_guid.emplace(node.guid, fabric.port_id(n, 0));
    } else {
      for (unsigned p = 1; p <= node.num_ports; ++p)
        if (uint64_t g = fabric.port(fabric.port_id(n, p)).guid) by_port_guid.emplace(g, fabric.port_id(n, p));
    }
  }
  std::vector<SwitchTable> tables;
  std::map<Lid, PortId> owner;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.ends_with("lids dumped")) continue;
    if (line.starts_with("Unicast lids")) {
      size_t g = line.find(" guid ");
      auto guid = g == std::string_view::npos ? std::nullopt : Hex(line.substr(g + 6, line.find(' ', g + 6) - g - 6));
      if (!guid) return MakeInputError(file, line_no, "expected 'guid 0x...' in the switch header", std::string(line));
      auto sw = fabric.FindByGuid(*guid);
      if (!sw || !fabric.is_switch(*sw))
        return MakeInputError(
            file, line_no,
            fmt::format("switch GUID 0x{:016x} is not in the fabric (routes for another fabric?)", *guid),
            std::string(line), static_cast<int>(g + 7));
      tables.push_back(SwitchTable{.node = *sw});
      continue;
    }
    if (!line.starts_with("0x"))
      return MakeInputError(file, line_no, "expected a switch header or '0xLID PORT'", std::string(line));
    if (tables.empty()) return MakeInputError(file, line_no, "LFT entry before any switch header", std::string(line));
    size_t sp = line.find(' ');
    auto lid = Hex(line.substr(0, sp));
    unsigned port = 0;
    std::string_view rest = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    auto [pp, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), port);
    if (!lid || *lid == 0 || *lid > kMaxUnicastLid || ec != std::errc() || port > 254)
      return MakeInputError(file, line_no, "expected '0xLID PORT' with a unicast LID and a port 0..254",
                            std::string(line));
    tables.back().entries[static_cast<Lid>(*lid)] = static_cast<uint8_t>(port);
    size_t pg = line.find("portguid ");
    if (pg != std::string_view::npos) {
      auto guid = Hex(line.substr(pg + 9, line.find(':', pg) - pg - 9));
      if (!guid)
        return MakeInputError(file, line_no, "malformed portguid", std::string(line), static_cast<int>(pg + 10));
      auto it = by_port_guid.find(*guid);
      if (it == by_port_guid.end())
        return MakeInputError(file, line_no, fmt::format("port GUID 0x{:016x} is not in the fabric", *guid),
                              std::string(line), static_cast<int>(pg + 10));
      auto [o, inserted] = owner.emplace(static_cast<Lid>(*lid), it->second);
      if (!inserted && o->second != it->second)
        return MakeInputError(file, line_no,
                              fmt::format("LID 0x{:04x} belongs to {} and {}", *lid, fabric.PortName(o->second),
                                          fabric.PortName(it->second)),
                              std::string(line));
    }
  }
  if (tables.empty()) return MakeInputError(file, 0, "no switch tables in the dump");

  RouteSet routes;
  routes.port_lid.assign(fabric.num_port_slots(), 0);
  Lid max_lid = 0;
  for (const SwitchTable& t : tables)
    if (!t.entries.empty()) max_lid = std::max(max_lid, t.entries.rbegin()->first);
  for (const auto& [lid, port] : owner) routes.port_lid[port] = lid;
  // One SubnetRoutes per subnet, switches in Subnet::switches order.
  std::map<SubnetId, std::vector<const SwitchTable*>> by_subnet;
  for (const SwitchTable& t : tables) by_subnet[fabric.subnet_of(fabric.port_id(t.node, 0))].push_back(&t);
  for (auto& [subnet, list] : by_subnet) {
    SubnetRoutes sr;
    sr.subnet = subnet;
    sr.engine = "file";
    sr.reason = fmt::format("loaded from {}", filename);
    sr.lid_owner.assign(max_lid + 1, kNone);
    for (const auto& [lid, port] : owner)
      if (fabric.subnet_of(port) == subnet) sr.lid_owner[lid] = port;
    std::sort(list.begin(), list.end(), [](const SwitchTable* a, const SwitchTable* b) { return a->node < b->node; });
    sr.lft.assign(list.size() * sr.num_lids(), kNoRoute);
    for (size_t i = 0; i < list.size(); ++i) {
      sr.switches.push_back(list[i]->node);
      for (const auto& [lid, port] : list[i]->entries) sr.lft[i * sr.num_lids() + lid] = port;
    }
    routes.subnets.push_back(std::move(sr));
  }
  return routes;
}

}  // namespace fabricctl
