#include "routing/manage/journal.h"

#include <fmt/format.h>

#include <filesystem>
#include <stdexcept>

#include "fabric/file_io.h"
#include "fabric/topology_io.h"

namespace fabricctl {

JournalHealth ToJournalHealth(const Fabric& fabric, const FabricHealth& health) {
  JournalHealth out;
  for (LinkId l = 0; l < health.link_down.size() && l < fabric.num_links(); ++l)
    if (health.link_down[l]) {
      const Port& a = fabric.port(fabric.link(l).a);
      out.links_down.emplace_back(fabric.node(a.node).guid, a.number);
    }
  for (NodeId n = 0; n < health.node_down.size() && n < fabric.num_nodes(); ++n)
    if (health.node_down[n]) out.nodes_down.push_back(fabric.node(n).guid);
  return out;
}

Result<FabricHealth> FromJournalHealth(const Fabric& fabric, const JournalHealth& health) {
  FabricHealth out = FabricHealth::AllUp(fabric);
  for (const auto& [guid, number] : health.links_down) {
    auto node = fabric.FindByGuid(guid);
    if (!node || number == 0 || number > fabric.node(*node).num_ports)
      return MakeError(fmt::format("journal names port 0x{:016x}[{}], which the fabric does not have", guid, number));
    const LinkId link = fabric.port(fabric.port_id(*node, number)).link;
    if (link == kNone)
      return MakeError(fmt::format("journal names port 0x{:016x}[{}], which has no cable", guid, number));
    out.link_down[link] = 1;
  }
  for (uint64_t guid : health.nodes_down) {
    auto node = fabric.FindByGuid(guid);
    if (!node) return MakeError(fmt::format("journal names switch 0x{:016x}, which the fabric does not have", guid));
    out.node_down[*node] = 1;
  }
  return out;
}

Result<Journal> Journal::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return std::unexpected(Error{.message = ec.message(), .where = dir});
  return Journal(dir);
}

Result<std::optional<Fabric>> Journal::ReadFabric() const {
  const std::string path = dir_ + "/fabric.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<Fabric>();
  auto fabric = ReadTopologyFile(path, TopoFormat::kJson);
  if (!fabric) return std::unexpected(fabric.error());
  return std::optional<Fabric>(std::move(*fabric));
}

Result<void> Journal::WriteFabric(const Fabric& fabric) const {
  return WriteTopologyFile(fabric, dir_ + "/fabric.json", TopoFormat::kJson);
}

Result<std::optional<JournalRecord>> Journal::Read() const {
  const std::string path = dir_ + "/journal.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<JournalRecord>();
  auto text = ReadTextFile(path);
  if (!text) return std::unexpected(text.error());
  auto record = ParseJournalRecord(*text, path);
  if (!record) return std::unexpected(record.error());
  return std::optional<JournalRecord>(std::move(*record));
}

Result<void> Journal::Write(const JournalRecord& record) const {
  return WriteFileAtomic(dir_ + "/journal.json", JournalRecordJson(record).dump(2) + "\n");
}

Result<void> Journal::WriteStatus(const nlohmann::json& status) const {
  return WriteFileAtomic(status_path(), status.dump(2) + "\n");
}

namespace {

nlohmann::json HealthJson(const JournalHealth& h) {
  nlohmann::json links = nlohmann::json::array();
  for (const auto& [guid, port] : h.links_down) links.push_back({fmt::format("0x{:016x}", guid), port});
  nlohmann::json nodes = nlohmann::json::array();
  for (uint64_t guid : h.nodes_down) nodes.push_back(fmt::format("0x{:016x}", guid));
  return {{"links_down", links}, {"switches_down", nodes}};
}

uint64_t ParseGuid(const nlohmann::json& j) {
  const std::string s = j.get<std::string>();
  size_t used = 0;
  uint64_t v = std::stoull(s, &used, 16);
  if (used != s.size()) throw std::invalid_argument("bad GUID " + s);
  return v;
}

JournalHealth ParseHealth(const nlohmann::json& j) {
  JournalHealth h;
  for (const auto& l : j.at("links_down")) h.links_down.emplace_back(ParseGuid(l.at(0)), l.at(1).get<unsigned>());
  for (const auto& n : j.at("switches_down")) h.nodes_down.push_back(ParseGuid(n));
  return h;
}

}  // namespace

nlohmann::json JournalRecordJson(const JournalRecord& r) {
  return {{"version", 1},
          {"engine", r.engine},
          {"base_health", HealthJson(r.base_health)},
          {"target_health", HealthJson(r.target_health)},
          {"phase", r.phase == JournalPhase::kInstalling ? "installing" : "done"},
          {"change", r.change},
          {"steps_done", r.steps_done},
          {"steps_total", r.steps_total}};
}

Result<JournalRecord> ParseJournalRecord(const std::string& text, const std::string& filename) {
  // The JSON library's exceptions stop here: the caller gets an error naming the file.
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    if (j.at("version").get<int>() != 1)
      return MakeError(fmt::format("{}: journal version {} is not supported", filename, j.at("version").dump()));
    JournalRecord r;
    r.engine = j.at("engine").get<std::string>();
    r.base_health = ParseHealth(j.at("base_health"));
    r.target_health = ParseHealth(j.at("target_health"));
    const std::string phase = j.at("phase").get<std::string>();
    if (phase != "installing" && phase != "done")
      return MakeError(fmt::format("{}: unknown phase '{}'", filename, phase));
    r.phase = phase == "installing" ? JournalPhase::kInstalling : JournalPhase::kDone;
    r.change = j.at("change").get<uint64_t>();
    r.steps_done = j.at("steps_done").get<size_t>();
    r.steps_total = j.at("steps_total").get<size_t>();
    return r;
  } catch (const std::exception& e) {
    return MakeError(fmt::format("{}: not a route manager journal: {}", filename, e.what()));
  }
}

}  // namespace fabricctl
