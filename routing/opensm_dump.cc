#include "routing/opensm_dump.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <unordered_map>

#include "fabric/display_text.h"
#include "fabric/text_lines.h"
#include "routing/lid_assign.h"
#include "routing/route_fabric.h"

namespace fabricctl {
namespace {

// The start of the first line WriteOpensmDump writes (ParseDumpHeader reads it back).
constexpr std::string_view kHeader = "# fabricctl opensm-lfts.dump v1: subnet ";

std::string_view NodeTypeText(NodeType t) {
  switch (t) {
    case NodeType::kSwitch:
      return "Switch";
    case NodeType::kRouter:
      return "Router";
    case NodeType::kCa:
      break;
  }
  return "Channel Adapter";
}

void AppendHex(std::string& out, uint64_t v, int min_digits) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, 16);
  for (int pad = min_digits - int(end - buf); pad > 0; --pad) out += '0';
  out.append(buf, end);
}

// See ParseOpensmDump: the most LFT entries a dump may make us allocate.
constexpr uint64_t kMaxCellsPerByte = 64;
constexpr uint64_t kMinCells = 0x10000;

template <typename T>
bool ParseNumber(std::string_view s, T& value, int base) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

std::string WriteOpensmDump(const Fabric& fabric, const SubnetRoutes& routes, std::string_view subnet_name) {
  std::string out;
  WriteOpensmDump(fabric, routes, subnet_name, [&](std::string_view chunk) {
    out += chunk;
    return true;
  });
  return out;
}

void WriteOpensmDump(const Fabric& fabric, const SubnetRoutes& routes, std::string_view subnet_name,
                     const std::function<bool(std::string_view)>& sink) {
  const size_t num_lids = routes.num_lids();
  // The destination text of each LID once: ": (Channel Adapter portguid 0x...: 'desc')".
  std::vector<std::string> dest(num_lids);
  for (Lid lid = 1; lid < num_lids; ++lid) {
    PortId p = routes.lid_owner[lid];
    if (p == kNone) {
      dest[lid] = ": (node info not available fabric scan)";
      continue;
    }
    const Port& port = fabric.port(p);
    std::string& d = dest[lid];
    d = ": (";
    d += NodeTypeText(fabric.node(port.node).type);
    d += " portguid 0x";
    AppendHex(d, port.guid ? port.guid : fabric.node(port.node).guid, 16);
    d += ": '";
    d += PrintableText(fabric.description(port.node));  // a line feed would end the line
    d += "')";
  }
  std::string out = fmt::format("{}{}, engine {}", kHeader, subnet_name, routes.engine);
  if (routes.num_vls > 1)
    out += fmt::format(
        ", {} VLs: LFTs only, for inspection and for fabricctl with the sl-table.txt written next to it; "
        "not for OpenSM's file engine, which has no place for the SL/VL scheme these routes need to stay free of "
        "credit loops",
        routes.num_vls);
  out += '\n';
  for (size_t i = 0; i < routes.switches.size(); ++i) {
    NodeId sw = routes.switches[i];
    Lid own = 0;
    for (Lid lid = 1; lid < num_lids && !own; ++lid)
      if (routes.lid_owner[lid] == fabric.port_id(sw, 0)) own = lid;
    out += fmt::format("Unicast lids [0x0-0x{:x}] of switch Lid {} guid 0x{:016x} ({}):\n", num_lids ? num_lids - 1 : 0,
                       own, fabric.node(sw).guid, PrintableText(fabric.description(sw)));
    out += "  Lid  Out   Destination\n       Port     Info \n";
    const unsigned nports = fabric.node(sw).num_ports;
    size_t n = 0;
    for (Lid lid = 1; lid < num_lids; ++lid) {
      uint8_t p = routes.out_port(i, lid);
      if (p > nports) continue;  // kNoRoute and anything dump_fts calls invalid
      out += "0x";
      AppendHex(out, lid, 4);
      out += ' ';
      out += char('0' + p / 100);
      out += char('0' + p / 10 % 10);
      out += char('0' + p % 10);
      out += ' ';
      out += dest[lid];
      out += '\n';
      ++n;
    }
    out += fmt::format("{} valid lids dumped \n", n);
    if (!sink(out)) return;
    out.clear();
  }
  if (routes.switches.empty()) sink(out);
}

std::optional<DumpHeader> ParseDumpHeader(std::string_view line) {
  if (!line.starts_with(kHeader)) return std::nullopt;
  line.remove_prefix(kHeader.size());
  const size_t engine_at = line.find(", engine ");
  if (engine_at == std::string_view::npos) return std::nullopt;
  DumpHeader h{.subnet = std::string(line.substr(0, engine_at))};
  line.remove_prefix(engine_at + 9);
  const size_t comma = line.find(", ");
  h.engine = std::string(TrimBlanks(line.substr(0, comma)));
  if (comma == std::string_view::npos) return h;
  line.remove_prefix(comma + 2);
  uint64_t vls = 0;
  if (const size_t sp = line.find(" VLs"); sp != std::string_view::npos && ParseNumber(line.substr(0, sp), vls, 10))
    h.vls = static_cast<unsigned>(std::min<uint64_t>(vls, 255));
  return h;
}

Result<void> CheckOpensmHandOff(const Fabric& fabric, const RouteSet& routes, const std::vector<DumpHeader>& stated) {
  std::string subnets;
  auto refuse = [&](std::string_view subnet, std::string_view engine, unsigned vls) {
    subnets += fmt::format("{}subnet {} routed by {} on {} VLs", subnets.empty() ? "" : "; ", PrintableText(subnet),
                           engine.empty() ? "an unnamed engine" : PrintableText(engine), vls);
  };
  for (const SubnetRoutes& r : routes.subnets)
    if (r.num_vls > 1) refuse(fabric.subnets()[r.subnet].name, r.engine, r.num_vls);
  // A dump read without its sl-table.txt comes in as one VL; its header still says.
  if (subnets.empty())
    for (const DumpHeader& h : stated)
      if (h.vls > 1) refuse(h.subnet, h.engine, h.vls);
  if (subnets.empty()) return {};
  return MakeError(fmt::format(
      "refusing to hand these routes to OpenSM: {}. OpenSM's file engine loads only the LFTs and drops the per-pair "
      "SLs and SL->VL tables that keep such routes free of credit loops; on one VL they can deadlock. Instead: route "
      "with --vls 1 (or an engine that needs one VL: ftree, updn), or program the switches with `fabricctl deploy` "
      "(without --via), which writes the LFTs and every SL->VL table by SMPs; it leaves the ports' operational VLs as "
      "the subnet manager set them, and the senders must use each pair's SL from sl-table.txt, since no subnet "
      "manager hands it out in path records",
      subnets));
}

namespace {

// Reads a dump line by line: a switch section starts with its "Unicast lids" line, lists
// its entries and ends with its "N valid lids dumped" trailer.
class DumpParser {
 public:
  DumpParser(std::string_view text, std::string_view filename) : text_(text), filename_(filename) {
    raw_.where = std::string(filename);
  }

  Result<RawLfts> Run() {
    for (TextLines lines(text_); lines.Next();) {
      line_ = lines.line();
      line_no_ = lines.number();
      if (auto ok = Line(TrimBlanks(line_)); !ok) return std::unexpected(ok.error());
    }
    if (!trailer_seen_)
      return MakeInputError(std::string(filename_), line_no_ + 1,
                            "file ends inside a switch section (no 'N valid lids dumped')");
    return std::move(raw_);
  }

 private:
  std::unexpected<Error> Fail(std::string message) const {
    return MakeInputError(std::string(filename_), line_no_, std::move(message), std::string(TrimBlanks(line_)));
  }

  Result<void> Line(std::string_view t) {
    if (t.empty() || t.front() == '#') return {};
    if (t.starts_with("Multicast mlids"))
      return Fail("a multicast forwarding table dump; expected unicast LFTs (dump_fts without -M)");
    if (t.starts_with("Unicast lids")) return SwitchSection(t);
    if (t.starts_with("Lid  Out") || t.starts_with("Port     Info") || t.starts_with("LID    : Port")) return {};
    if (t.ends_with("lids dumped")) return Trailer(t);
    if (t.starts_with("0x")) return Entry(t);
    return Fail("unexpected line in an LFT dump");
  }

  // "Unicast lids [0x0-0xN] of switch Lid L guid 0xG ('description'):"
  Result<void> SwitchSection(std::string_view t) {
    if (!trailer_seen_) return Fail("switch section starts before the previous one's 'N valid lids dumped' line");
    size_t g = t.find(" guid 0x");
    if (g == std::string_view::npos) return Fail("expected 'Unicast lids [...] of switch Lid N guid 0x...'");
    std::string_view rest = t.substr(g + 8);
    size_t end = rest.find_first_not_of("0123456789abcdefABCDEF");
    uint64_t guid = 0;
    if (!ParseNumber(rest.substr(0, end), guid, 16) || guid == 0) return Fail("bad switch GUID");
    if (auto [it, fresh] = seen_switch_.emplace(guid, line_no_); !fresh)
      return Fail(fmt::format("switch 0x{:016x} already listed on line {}", guid, it->second));
    raw_.switches.push_back(RawSwitchLft{.guid = guid, .line = line_no_});
    current_ = &raw_.switches.back();
    if (size_t l = t.find("switch Lid "); l != std::string_view::npos) {
      std::string_view num = t.substr(l + 11);
      num = num.substr(0, num.find(' '));
      uint64_t lid = 0;
      if (!ParseNumber(num, lid, 10) || lid > 0xFFFFFFFFu) return Fail("bad switch LID");
      current_->lid = static_cast<Lid>(lid);
    }
    if (end != std::string_view::npos) {
      std::string_view desc = TrimBlanks(rest.substr(end));
      if (desc.ends_with(':')) desc.remove_suffix(1);
      if (desc.starts_with('(') && desc.ends_with(')')) desc = desc.substr(1, desc.size() - 2);
      if (desc.size() >= 2 && desc.front() == '\'' && desc.back() == '\'') desc = desc.substr(1, desc.size() - 2);
      current_->description = std::string(desc);
    }
    entries_ = 0;
    trailer_seen_ = false;
    return {};
  }

  Result<void> Trailer(std::string_view t) {
    if (!current_) return Fail("trailer outside a switch section");
    std::string_view num = t.substr(0, t.find(' '));
    uint64_t n = 0;
    if (!ParseNumber(num, n, 10)) return Fail("expected 'N valid lids dumped'");
    // dump_fts counts the entries it printed; OpenSM's own dump states the top LID.
    if (t.find("valid lids") != std::string_view::npos && n != entries_)
      return Fail(fmt::format("trailer says {} entries, the section has {}", n, entries_));
    trailer_seen_ = true;
    return {};
  }

  // "0xLID PORT : (type portguid 0xG: 'description')"
  Result<void> Entry(std::string_view t) {
    if (!current_) return Fail("LFT entry before any 'Unicast lids ... of switch' line");
    if (trailer_seen_) return Fail("LFT entry after the section's trailer");
    size_t sp = t.find_first_of(" \t");
    uint64_t lid = 0;
    if (sp == std::string_view::npos || !ParseNumber(t.substr(2, sp - 2), lid, 16) || lid > 0xFFFFFFF)
      return Fail("expected '0xLID PORT ...'");
    std::string_view rest = TrimBlanks(t.substr(sp));
    uint64_t port = 0;
    if (!ParseNumber(rest.substr(0, rest.find_first_of(" \t:#")), port, 10) || port > 254)
      return Fail("expected an output port number 0..254 after the LID");
    if (lid >= current_->lft.size()) {
      // The tables are dense by LID: a few bytes naming a huge LID must not allocate
      // gigabytes. A real dump lists (nearly) every LID up to its top one, so its tables
      // hold far fewer entries than kMaxCellsPerByte per byte of the file.
      cells_ += lid + 1 - current_->lft.size();
      if (cells_ > kMaxCellsPerByte * text_.size() + kMinCells)
        return Fail(fmt::format("LID 0x{:x}: more LFT entries than a dump of {} bytes can hold", lid, text_.size()));
      current_->lft.resize(lid + 1, kNoRoute);
      current_->lines.resize(lid + 1, 0);
    }
    if (current_->lines[lid])
      return Fail(fmt::format("LID 0x{:04x} already listed on line {}", lid, current_->lines[lid]));
    current_->lft[lid] = static_cast<uint8_t>(port);
    current_->lines[lid] = static_cast<uint32_t>(line_no_);
    ++entries_;
    return Owner(static_cast<Lid>(lid), rest);
  }

  // The port GUID an entry names as its destination, if it names one.
  Result<void> Owner(Lid lid, std::string_view rest) {
    const size_t at = rest.find("portguid 0x");
    if (at == std::string_view::npos) return {};
    std::string_view digits = rest.substr(at + 11);
    digits = digits.substr(0, digits.find_first_not_of("0123456789abcdefABCDEF"));
    uint64_t guid = 0;
    if (!ParseNumber(digits, guid, 16)) return Fail("bad port GUID");
    auto [it, fresh] = raw_.owners.emplace(lid, RawLidOwner{.port_guid = guid, .line = line_no_});
    if (!fresh && it->second.port_guid != guid)
      return Fail(fmt::format("LID 0x{:04x} belongs to port GUID 0x{:016x} on line {}", lid, it->second.port_guid,
                              it->second.line));
    return {};
  }

  std::string_view text_;
  std::string_view filename_;
  RawLfts raw_;
  std::string_view line_;
  int line_no_ = 0;
  RawSwitchLft* current_ = nullptr;
  size_t entries_ = 0;
  uint64_t cells_ = 0;  // LFT entries allocated over every switch
  bool trailer_seen_ = true;
  std::unordered_map<uint64_t, int> seen_switch_;
};

}  // namespace

Result<RawLfts> ParseOpensmDump(std::string_view text, std::string_view filename) {
  return DumpParser(text, filename).Run();
}

namespace {

// The switch sections of every file, grouped by the subnet of the topology they belong
// to, with the files that contribute to each subnet.
struct PendingSubnet {
  std::vector<std::pair<const RawLfts*, const RawSwitchLft*>> switches;
  std::vector<const RawLfts*> files;
};

// Matches each switch section to a switch of `fabric` by GUID; unknown GUIDs, non-switches
// and a switch listed twice are errors at the section's line.
Result<std::vector<PendingSubnet>> GroupSwitchesBySubnet(const Fabric& fabric, const std::vector<RawLfts>& files) {
  std::vector<PendingSubnet> pending(fabric.subnets().size());
  std::unordered_map<uint64_t, std::pair<const RawLfts*, int>> seen;
  for (const RawLfts& file : files) {
    for (const RawSwitchLft& sw : file.switches) {
      auto err = [&](std::string msg) { return MakeInputError(file.where, sw.line, std::move(msg)); };
      auto node = fabric.FindByGuid(sw.guid);
      if (!node) return err(fmt::format("switch GUID 0x{:016x} is not in the topology", sw.guid));
      if (!fabric.is_switch(*node))
        return err(fmt::format("GUID 0x{:016x} is '{}', not a switch", sw.guid, ShownValue(fabric.description(*node))));
      if (auto [it, fresh] = seen.emplace(sw.guid, std::pair{&file, sw.line}); !fresh)
        return err(
            fmt::format("switch 0x{:016x} also appears in {}:{}", sw.guid, it->second.first->where, it->second.second));
      PendingSubnet& subnet = pending[fabric.subnet_of(fabric.port_id(*node, 0))];
      subnet.switches.emplace_back(&file, &sw);
      if (std::find(subnet.files.begin(), subnet.files.end(), &file) == subnet.files.end())
        subnet.files.push_back(&file);
    }
  }
  return pending;
}

// Port GUID -> ports (switch ports share the node GUID; port 0 stands for the switch).
std::unordered_multimap<uint64_t, PortId> PortsByGuid(const Fabric& fabric) {
  std::unordered_multimap<uint64_t, PortId> by_guid;
  for (PortId p = 0; p < fabric.num_port_slots(); ++p) {
    const Port& port = fabric.port(p);
    if (fabric.is_switch(port.node) ? port.number == 0 : port.number != 0)
      by_guid.emplace(port.guid ? port.guid : fabric.node(port.node).guid, p);
  }
  return by_guid;
}

// The port of subnet `s` that one LID annotation of `file` names, or an error at its line;
// kNone for an annotation that names no port.
Result<PortId> AnnotatedPort(const Fabric& fabric, SubnetId s, const std::unordered_multimap<uint64_t, PortId>& by_guid,
                             const RawLfts& file, Lid lid, const RawLidOwner& o) {
  const Subnet& subnet = fabric.subnets()[s];
  PortId found = kNone;
  if (o.node_guid != 0) {
    auto node = fabric.FindByGuid(o.node_guid);
    if (node && o.port_number >= 0 && o.port_number <= fabric.node(*node).num_ports &&
        fabric.subnet_of(fabric.port_id(*node, o.port_number)) == s)
      found = fabric.port_id(*node, o.port_number);
    if (found == kNone)
      return MakeInputError(file.where, o.line,
                            fmt::format("LID {}: node 0x{:016x} port {} is not in subnet {} of the topology", lid,
                                        o.node_guid, o.port_number, subnet.name));
    return found;
  }
  if (o.port_guid == 0) return kNone;
  auto range = by_guid.equal_range(o.port_guid);
  for (auto it = range.first; it != range.second; ++it)
    if (fabric.subnet_of(it->second) == s) found = it->second;
  if (found == kNone)
    return MakeInputError(
        file.where, o.line,
        fmt::format("port GUID 0x{:016x} is not in subnet {} of the topology", o.port_guid, subnet.name));
  return found;
}

// LID -> port of subnet `s` as the files' annotations name them; empty when they name none.
// Two files that give one LID to different ports are an error.
Result<std::vector<PortId>> AnnotatedOwners(const Fabric& fabric, SubnetId s, const PendingSubnet& pending,
                                            const std::unordered_multimap<uint64_t, PortId>& by_guid) {
  std::vector<PortId> owner;
  for (const RawLfts* file : pending.files) {
    for (const auto& [lid, o] : file->owners) {
      auto found = AnnotatedPort(fabric, s, by_guid, *file, lid, o);
      if (!found) return std::unexpected(found.error());
      if (*found == kNone) continue;
      if (lid >= owner.size()) owner.resize(size_t{lid} + 1, kNone);
      if (owner[lid] != kNone && owner[lid] != *found)
        return MakeInputError(file->where, o.line,
                              fmt::format("LID {} is {} here but {} in another file", lid, fabric.PortName(*found),
                                          fabric.PortName(owner[lid])));
      owner[lid] = *found;
    }
  }
  return owner;
}

// Ports the files do not name keep the topology's LID, if it has one and the LID is free.
void AddTopologyLids(const Fabric& fabric, const Subnet& subnet, std::vector<PortId>& owner) {
  std::vector<uint8_t> named(fabric.num_port_slots(), 0);
  for (PortId p : owner)
    if (p != kNone) named[p] = 1;
  auto add = [&](PortId p) {
    Lid lid = fabric.port(p).lid;
    if (lid == 0 || named[p]) return;
    if (lid >= owner.size()) owner.resize(size_t{lid} + 1, kNone);
    if (owner[lid] == kNone) owner[lid] = p;
  };
  for (NodeId sw : subnet.switches) add(fabric.port_id(sw, 0));
  for (PortId p : subnet.endpoint_ports) add(p);
  if (owner.empty()) owner.push_back(kNone);
  owner[0] = kNone;
}

// Copies every switch section of the subnet into r.lft; a port the switch lacks is an
// error at the entry's line.
Result<void> FillLfts(const Fabric& fabric, const PendingSubnet& pending, SubnetRoutes& r) {
  const size_t num_lids = r.num_lids();
  for (const auto& [file, sw] : pending.switches) {
    NodeId node = *fabric.FindByGuid(sw->guid);
    size_t row = size_t(std::lower_bound(r.switches.begin(), r.switches.end(), node) - r.switches.begin());
    const unsigned nports = fabric.node(node).num_ports;
    for (Lid lid = 0; lid < sw->lft.size(); ++lid) {
      uint8_t p = sw->lft[lid];
      if (p == kNoRoute) continue;
      if (p > nports)
        return MakeInputError(
            file->where, sw->lines.empty() ? sw->line : int(sw->lines[lid]),
            fmt::format("port {} on '{}', which has ports 0..{}", p, ShownValue(fabric.description(node)), nports));
      r.lft[row * num_lids + lid] = p;
    }
    if (r.reason.find(file->where) == std::string::npos)
      r.reason += (r.reason.empty() ? "read from " : ", ") + file->where;
  }
  return {};
}

}  // namespace

Result<RouteSet> ResolveRawLfts(const Fabric& fabric, const std::vector<RawLfts>& files) {
  auto assigned = AssignLids(fabric);
  if (!assigned) return std::unexpected(assigned.error());
  auto grouped = GroupSwitchesBySubnet(fabric, files);
  if (!grouped) return std::unexpected(grouped.error());
  const std::vector<PendingSubnet>& pending = *grouped;
  const auto by_guid = PortsByGuid(fabric);

  RouteSet rs;
  rs.port_lid.assign(fabric.num_port_slots(), 0);
  for (SubnetId s = 0; s < fabric.subnets().size(); ++s) {
    if (pending[s].switches.empty()) continue;
    const Subnet& subnet = fabric.subnets()[s];
    auto owner = AnnotatedOwners(fabric, s, pending[s], by_guid);
    if (!owner) return std::unexpected(owner.error());
    if (owner->empty())
      *owner = assigned->lid_owner[s];
    else
      AddTopologyLids(fabric, subnet, *owner);
    size_t num_lids = owner->size();
    for (const auto& [file, sw] : pending[s].switches) num_lids = std::max(num_lids, sw->lft.size());
    owner->resize(num_lids, kNone);
    SubnetRoutes r = PrepareSubnetRoutes(fabric, subnet, std::move(*owner));
    std::fill(r.lft.begin(), r.lft.end(), kNoRoute);
    r.engine = "file";
    if (auto filled = FillLfts(fabric, pending[s], r); !filled) return std::unexpected(filled.error());
    for (Lid lid = 1; lid < num_lids; ++lid)
      if (r.lid_owner[lid] != kNone) rs.port_lid[r.lid_owner[lid]] = lid;
    rs.subnets.push_back(std::move(r));
  }
  if (rs.subnets.empty()) {
    const std::string message = "lists no switch LFT (an LFT dump needs 'Unicast lids ... of switch ...' sections)";
    return files.empty() ? MakeError("the route files list no switch")
                         : MakeInputError(files.front().where, 0, message);
  }
  return rs;
}

}  // namespace fabricctl
