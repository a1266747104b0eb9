#include "probes/check/counter_file.h"

#include <fmt/format.h>

#include <algorithm>

#include "fabric/file_io.h"
#include "fabric/json_reader.h"

namespace fabricctl::check {
namespace {

using nlohmann::json;

class CounterFileReader {
 public:
  CounterFileReader(const Fabric& fabric, const JsonDocument& doc, std::string_view filename)
      : fabric_(fabric), doc_(doc), fields_(filename, &doc.lines) {}

  Result<CounterReport> Read() const {
    auto top = fields_.Object(doc_.root, root_, {"ports", "problems", "ports_over_threshold", "reset", "stats"});
    if (!top) return std::unexpected(top.error());
    auto ports = fields_.Required(doc_.root, root_, "ports");
    if (!ports) return std::unexpected(ports.error());
    JsonPath ports_at = root_.Key("ports");
    if (auto a = fields_.Array(**ports, ports_at); !a) return std::unexpected(a.error());
    CounterReport report;
    for (size_t i = 0; i < (*ports)->size(); ++i) {
      JsonPath at = ports_at.Index(i);
      auto reading = ReadPort((**ports)[i], at);
      if (!reading) return std::unexpected(reading.error());
      report.ports.push_back(*reading);
    }
    std::sort(report.ports.begin(), report.ports.end(),
              [](const PortCounterReading& a, const PortCounterReading& b) { return a.port < b.port; });
    for (size_t i = 1; i < report.ports.size(); ++i)
      if (report.ports[i].port == report.ports[i - 1].port)
        return fields_.Fail(ports_at, fmt::format("port {} is listed twice", fabric_.PortName(report.ports[i].port)),
                            *ports);
    return report;
  }

 private:
  Result<PortId> FindPort(const json& p, const JsonPath& at) const {
    std::optional<NodeId> node;
    if (const json* g = JsonFields::Find(p, "guid")) {
      JsonPath guid_at = at.Key("guid");
      auto guid = fields_.Hex(*g, guid_at, 16);
      if (!guid) return std::unexpected(guid.error());
      node = fabric_.FindByGuid(*guid);
      if (!node) return fields_.Fail(guid_at, fmt::format("no node of the topology has GUID 0x{:016x}", *guid), g);
    } else if (const json* d = JsonFields::Find(p, "node")) {
      JsonPath node_at = at.Key("node");
      auto desc = fields_.String(*d, node_at);
      if (!desc) return std::unexpected(desc.error());
      node = fabric_.FindByDescription(**desc);
      if (!node) return fields_.Fail(node_at, "no node of the topology has this description", d);
    } else {
      return fields_.Fail(at, "expected \"guid\" or \"node\" naming the port's node", &p);
    }
    auto number = fields_.Required(p, at, "port");
    if (!number) return std::unexpected(number.error());
    JsonPath port_at = at.Key("port");
    auto n = fields_.Unsigned(**number, port_at, fabric_.node(*node).num_ports);
    if (!n) return std::unexpected(n.error());
    return fabric_.port_id(*node, static_cast<unsigned>(*n));
  }

  Result<PortCounterReading> ReadPort(const json& p, const JsonPath& at) const {
    auto object = fields_.Object(p, at, {"node", "guid", "port", "lid", "extended", "counters", "over_threshold"});
    if (!object) return std::unexpected(object.error());
    PortCounterReading r;
    auto port = FindPort(p, at);
    if (!port) return std::unexpected(port.error());
    r.port = *port;
    if (const json* lid = JsonFields::Find(p, "lid")) {
      JsonPath lid_at = at.Key("lid");
      auto v = fields_.Unsigned(*lid, lid_at, UINT32_MAX);
      if (!v) return std::unexpected(v.error());
      r.lid = static_cast<uint32_t>(*v);
    }
    if (const json* ext = JsonFields::Find(p, "extended")) {
      if (!ext->is_boolean()) return fields_.Fail(at.Key("extended"), "expected true or false", ext);
      r.extended = ext->get<bool>();
    }
    auto counters = fields_.Required(p, at, "counters");
    if (!counters) return std::unexpected(counters.error());
    JsonPath counters_at = at.Key("counters");
    if (!(*counters)->is_object()) return fields_.Fail(counters_at, "expected an object of counters", *counters);
    for (const auto& [name, value] : (*counters)->items()) {
      JsonPath value_at = counters_at.Key(name);
      auto c = ParseCounterName(name);
      if (!c)
        return fields_.Fail(value_at, "unknown counter name (ibqueryerrors' names, such as SymbolErrorCounter)",
                            &value);
      auto v = fields_.Unsigned(value, value_at, UINT64_MAX);
      if (!v) return std::unexpected(v.error());
      r.value[static_cast<size_t>(*c)] = *v;
    }
    return r;
  }

  const Fabric& fabric_;
  const JsonDocument& doc_;
  JsonFields fields_;
  JsonPath root_;
};

}  // namespace

Result<CounterReport> ParseCounterFile(const Fabric& fabric, std::string_view text, std::string_view filename) {
  auto doc = ReadJsonDocument(text, filename);
  if (!doc) return std::unexpected(doc.error());
  return CounterFileReader(fabric, **doc, filename).Read();
}

Result<CounterReport> ReadCounterFile(const Fabric& fabric, const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text) return std::unexpected(text.error());
  return ParseCounterFile(fabric, *text, path);
}

}  // namespace fabricctl::check
