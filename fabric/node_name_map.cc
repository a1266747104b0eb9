#include "fabric/node_name_map.h"

#include <fmt/format.h>

#include <charconv>
#include <optional>

#include "fabric/display_text.h"
#include "fabric/fabric_builder.h"
#include "fabric/file_io.h"
#include "fabric/text_lines.h"

namespace fabricctl {
namespace {

constexpr std::string_view kLineForm = "expected 0xGUID \"name\"";

struct MapLine {
  uint64_t guid = 0;
  std::string name;
};

// Splits off the GUID word: `0x` and 1-16 hex digits.
Result<uint64_t> ReadGuid(std::string_view& rest) {
  const size_t end = rest.find_first_of(" \t");
  std::string_view word = rest.substr(0, end);
  std::string_view digits = word.substr(word.starts_with("0x") || word.starts_with("0X") ? 2 : 0);
  uint64_t guid = 0;
  auto [stop, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), guid, 16);
  if (digits.size() == word.size() || digits.empty() || digits.size() > 16 || ec != std::errc() ||
      stop != digits.data() + digits.size())
    return MakeError(fmt::format("'{}' is not a GUID ({})", ShownValue(word), kLineForm));
  rest = end == std::string_view::npos ? std::string_view() : TrimBlanks(rest.substr(end));
  return guid;
}

// The name after the GUID: quoted (anything but '"'), or one bare word; a comment may follow.
Result<std::string> ReadName(std::string_view rest) {
  if (rest.empty() || rest.front() == '#') return MakeError(fmt::format("no name after the GUID ({})", kLineForm));
  std::string_view name;
  std::string_view after;
  if (rest.front() == '"') {
    const size_t close = rest.find('"', 1);
    if (close == std::string_view::npos) return MakeError("the name's closing '\"' is missing");
    name = rest.substr(1, close - 1);
    after = TrimBlanks(rest.substr(close + 1));
  } else {
    const size_t end = rest.find_first_of(" \t#");
    name = rest.substr(0, end);
    after = end == std::string_view::npos ? std::string_view() : TrimBlanks(rest.substr(end));
  }
  if (TrimBlanks(name).empty()) return MakeError("empty name");
  if (!after.empty() && after.front() != '#')
    return MakeError(fmt::format("unexpected '{}' after the name (quote a name with blanks)", ShownValue(after)));
  return std::string(name);
}

// nullopt for a blank or comment line.
Result<std::optional<MapLine>> ReadLine(std::string_view line) {
  std::string_view rest = TrimBlanks(line);
  if (rest.empty() || rest.front() == '#') return std::nullopt;
  auto guid = ReadGuid(rest);
  if (!guid) return std::unexpected(guid.error());
  auto name = ReadName(rest);
  if (!name) return std::unexpected(name.error());
  return MapLine{.guid = *guid, .name = std::move(*name)};
}

}  // namespace

const std::string* NodeNameMap::Find(uint64_t guid) const {
  auto it = names_.find(guid);
  return it == names_.end() ? nullptr : &it->second;
}

std::string_view NodeNameMap::NameOr(uint64_t guid, std::string_view reported) const {
  const std::string* name = Find(guid);
  return name ? std::string_view(*name) : reported;
}

Result<NodeNameMap> ParseNodeNameMap(std::string_view text, const std::string& where) {
  NodeNameMap map;
  std::unordered_map<uint64_t, int> first_line;
  TextLines lines(text);
  while (lines.Next()) {
    auto entry = ReadLine(lines.line());
    if (!entry) return MakeInputError(where, lines.number(), entry.error().message, std::string(lines.line()));
    if (!*entry) continue;
    auto [at, fresh] = first_line.emplace((*entry)->guid, lines.number());
    if (!fresh)
      return MakeInputError(where, lines.number(),
                            fmt::format("GUID 0x{:016x} already named on line {}", (*entry)->guid, at->second),
                            std::string(lines.line()));
    map.names_.emplace((*entry)->guid, std::move((*entry)->name));
  }
  return map;
}

Result<NodeNameMap> ReadNodeNameMap(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text) return std::unexpected(text.error());
  return ParseNodeNameMap(*text, path);
}

Result<Fabric> RenameNodes(const Fabric& fabric, const NodeNameMap& names) {
  FabricBuilder builder;
  builder.Reserve(fabric.num_nodes(), fabric.num_port_slots());
  for (NodeId n = 0; n < fabric.num_nodes(); ++n) {
    NodeSpec spec = SpecOf(fabric, n);
    spec.description = std::string(names.NameOr(spec.guid, fabric.description(n)));
    auto added = builder.AddNode(std::move(spec));
    if (!added) return std::unexpected(added.error());
  }
  for (const Link& link : fabric.links()) {
    const Port& a = fabric.port(link.a);
    const Port& b = fabric.port(link.b);
    auto cabled = builder.Connect(a.node, a.number, b.node, b.number);
    if (!cabled) return std::unexpected(cabled.error());
  }
  // Port attributes last, so the copy carries the peer and link ids Connect just set.
  for (NodeId n = 0; n < fabric.num_nodes(); ++n)
    for (unsigned number = 0; number <= fabric.node(n).num_ports; ++number)
      builder.port(n, number) = fabric.port(fabric.port_id(n, number));
  return builder.Build();
}

}  // namespace fabricctl
