#include "probes/check/check_identity.h"

#include <fmt/format.h>

#include <map>
#include <set>

#include "probes/check/places.h"

namespace fabricctl::check {
namespace {

// The node's name as printed: mapped by --node-name-map, else the NodeDescription it reported.
std::string_view NodeName(const IdentityReading& r, const NodeNameMap* names) {
  return names ? names->NameOr(r.node_guid, r.description) : std::string_view(r.description);
}

// "node" is the printed name; "description" what the node reported, when the map renamed it.
nlohmann::json ReadingJson(const IdentityReading& r, const NodeNameMap* names) {
  nlohmann::json j = {{"node", NodeName(r, names)},
                      {"node_guid", GuidText(r.node_guid)},
                      {"port_guid", GuidText(r.port_guid)},
                      {"port", r.port_number},
                      {"lid", r.lid},
                      {"path", r.path}};
  if (j["node"] != r.description) j["description"] = r.description;
  return j;
}

// "desc[port]", and the route it was reached by when known: "desc[port] (0,1,3)".
std::string ReadingName(const IdentityReading& r, const NodeNameMap* names) {
  if (r.path.empty()) return fmt::format("{}[{}]", NodeName(r, names), r.port_number);
  return fmt::format("{}[{}] ({})", NodeName(r, names), r.port_number, r.path);
}

// Who answers for a LID: a switch answers on every port with its one port GUID; a CA port
// has its own. Readings without a port GUID fall back to node GUID and port number.
std::pair<uint64_t, uint32_t> LidOwner(const IdentityReading& r) {
  if (r.port_guid != 0) return {r.port_guid, 0};
  return {r.node_guid, r.port_number};
}

void DuplicateNodeGuids(const std::vector<IdentityReading>& readings, const NodeNameMap* names, CheckReport& report) {
  // One node GUID seen on nodes with different descriptions, or on one port number with
  // different port GUIDs: two nodes share it.
  std::map<uint64_t, std::vector<const IdentityReading*>> by_guid;
  for (const IdentityReading& r : readings)
    if (r.node_guid != 0) by_guid[r.node_guid].push_back(&r);
  for (const auto& [guid, rs] : by_guid) {
    std::set<std::string_view> descriptions;
    std::map<uint8_t, std::set<uint64_t>> port_guids;
    for (const IdentityReading* r : rs) {
      descriptions.insert(r->description);
      port_guids[r->port_number].insert(r->port_guid);
    }
    bool clash = descriptions.size() > 1;
    for (const auto& [_, g] : port_guids) clash |= g.size() > 1;
    if (!clash) continue;
    nlohmann::json seen = nlohmann::json::array();
    for (const IdentityReading* r : rs) seen.push_back(ReadingJson(*r, names));
    // The map names the GUID, not the nodes sharing it: what each reported tells them apart.
    const std::string* mapped = names ? names->Find(guid) : nullptr;
    report.findings.push_back(Finding{
        .kind = "duplicate-guid",
        .severity = Severity::kError,
        .scope = Scope::kNode,
        .where = GuidText(guid),
        .summary = fmt::format("node GUID {}{} is used by {} different nodes: {}", GuidText(guid),
                               mapped ? fmt::format(" (named {} by the node name map)", *mapped) : "",
                               descriptions.size(), fmt::join(descriptions, ", ")),
        .evidence = {{"guid", GuidText(guid)}, {"readings", std::move(seen)}},
    });
  }
}

void DuplicatePortGuids(const std::vector<IdentityReading>& readings, const NodeNameMap* names, CheckReport& report) {
  std::map<uint64_t, std::vector<const IdentityReading*>> by_guid;
  for (const IdentityReading& r : readings)
    if (r.port_guid != 0) by_guid[r.port_guid].push_back(&r);
  for (const auto& [guid, rs] : by_guid) {
    std::set<uint64_t> nodes;
    for (const IdentityReading* r : rs) nodes.insert(r->node_guid);
    if (nodes.size() < 2) continue;
    nlohmann::json seen = nlohmann::json::array();
    std::vector<std::string> ports;
    for (const IdentityReading* r : rs) {
      seen.push_back(ReadingJson(*r, names));
      ports.push_back(ReadingName(*r, names));
    }
    report.findings.push_back(Finding{
        .kind = "duplicate-guid",
        .severity = Severity::kError,
        .scope = Scope::kPort,
        .where = ports.front(),
        .summary = fmt::format("port GUID {} is used by ports of {} nodes: {}", GuidText(guid), nodes.size(),
                               fmt::join(ports, ", ")),
        .evidence = {{"guid", GuidText(guid)}, {"readings", std::move(seen)}},
    });
  }
}

void DuplicateLids(const std::vector<IdentityReading>& readings, const NodeNameMap* names, CheckReport& report) {
  std::map<uint32_t, std::map<std::pair<uint64_t, uint32_t>, const IdentityReading*>> by_lid;
  for (const IdentityReading& r : readings)
    if (r.active && r.lid != 0) by_lid[r.lid].emplace(LidOwner(r), &r);
  for (const auto& [lid, owners] : by_lid) {
    if (owners.size() < 2) continue;
    nlohmann::json seen = nlohmann::json::array();
    std::vector<std::string> ports;
    for (const auto& [_, r] : owners) {
      seen.push_back(ReadingJson(*r, names));
      ports.push_back(ReadingName(*r, names));
    }
    report.findings.push_back(Finding{
        .kind = "duplicate-lid",
        .severity = Severity::kError,
        .scope = Scope::kPort,
        .where = ports.front(),
        .summary = fmt::format("LID {} is answered by {} ports: {}", lid, owners.size(), fmt::join(ports, ", ")),
        .evidence = {{"lid", lid}, {"readings", std::move(seen)}},
    });
  }
}

void ZeroLids(const std::vector<IdentityReading>& readings, const NodeNameMap* names, CheckReport& report) {
  for (const IdentityReading& r : readings) {
    if (!r.active || r.lid != 0) continue;
    report.findings.push_back(Finding{
        .kind = "zero-lid",
        .severity = Severity::kError,
        .scope = Scope::kPort,
        .where = ReadingName(r, names),
        .summary = "active port without a LID: no subnet manager has configured it",
        .evidence = ReadingJson(r, names),
    });
  }
}

}  // namespace

std::vector<IdentityReading> IdentitiesFromFabric(const Fabric& f) {
  std::vector<IdentityReading> out;
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    const Node& node = f.node(n);
    for (unsigned p = node.type == NodeType::kSwitch ? 0 : 1; p <= node.num_ports; ++p) {
      const Port& port = f.port(f.port_id(n, p));
      bool active = port.state == PortState::kActive;
      if (node.type == NodeType::kSwitch) {
        if (p != 0) break;
        for (const Port& q : f.physical_ports(n)) active |= q.state == PortState::kActive;
      } else if (port.peer == kNone) {
        continue;
      }
      out.push_back(IdentityReading{.description = f.description(n),
                                    .node_guid = node.guid,
                                    .port_guid = port.guid,
                                    .port_number = static_cast<uint8_t>(p),
                                    .lid = port.lid,
                                    .active = active});
    }
  }
  return out;
}

void CheckIdentity(const Snapshot& s, CheckReport& report) {
  if (s.identities.empty()) {
    report.checks_skipped.push_back("identity: the source shows no node or port identities");
    return;
  }
  report.checks_run.push_back("identity");
  DuplicateNodeGuids(s.identities, s.node_names, report);
  DuplicatePortGuids(s.identities, s.node_names, report);
  bool any_lid = false;
  for (const IdentityReading& r : s.identities) any_lid |= r.lid != 0;
  if (!any_lid) {
    // Generated and planned fabrics carry no LIDs at all: nothing to judge, not a fault.
    report.checks_skipped.push_back("lids: the source gives no port a LID");
    return;
  }
  DuplicateLids(s.identities, s.node_names, report);
  // Topology files do not record port states (their readers mark every cabled port
  // Active), so a missing LID is a fault only where the subnet was asked.
  if (s.sms)
    ZeroLids(s.identities, s.node_names, report);
  else
    report.checks_skipped.push_back("zero-lid: port states are known only on a live subnet");
}

}  // namespace fabricctl::check
