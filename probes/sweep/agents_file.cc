#include "probes/sweep/agents_file.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <optional>

#include "fabric/display_text.h"
#include "fabric/edit_distance.h"
#include "fabric/text_lines.h"
#include "probes/agent.h"
#include "probes/socket_util.h"
#include "probes/sweep/port_names.h"

namespace fabricctl::sweep {
namespace {

// Longer than any node description, host name or device name this file can hold.
constexpr size_t kMaxAgentWord = 255;
// Linux interface names: IFNAMSIZ less the terminating NUL.
constexpr size_t kMaxInterfaceName = 15;
constexpr std::string_view kLineForm =
    "DESC[PORT] DATA_ADDR[:PORT] [control=ADDR[:PORT]] [dev=IFNAME] [rdma=DEVICE:PORT]";
constexpr std::array<std::string_view, 3> kKeys = {"control", "dev", "rdma"};

// Blank-separated words of a line, comment cut.
std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> words;
  line = line.substr(0, line.find('#'));
  size_t pos = 0;
  while (true) {
    size_t start = line.find_first_not_of(" \t", pos);
    if (start == std::string_view::npos) return words;
    size_t end = line.find_first_of(" \t", start);
    words.push_back(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return words;
    pos = end;
  }
}

bool ParseNumber(std::string_view text, unsigned& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

struct Address {
  std::string host;       // without brackets
  std::string with_port;  // HOST:PORT or [HOST]:PORT
};

// A checked address split into its host and its full form (default port filled in).
Result<Address> ReadAddress(std::string_view text, std::string_view what) {
  if (std::string problem = probes::HostPortProblem(text); !problem.empty())
    return MakeError(fmt::format("{} '{}': {}", what, ShownValue(text), problem));
  const bool bracketed = text.starts_with('[');
  size_t host_end = bracketed ? text.find(']') + 1 : text.find(':');
  std::string_view host = text.substr(0, host_end);
  bool has_port = host_end < text.size();
  Address a{.host = std::string(bracketed ? host.substr(1, host.size() - 2) : host), .with_port = std::string(text)};
  if (!has_port) a.with_port = fmt::format("{}:{}", host, probes::kDefaultAgentPort);
  return a;
}

// rdma=DEVICE:PORT, the port a number of an HCA (1..255).
Result<void> CheckRdma(std::string_view value) {
  size_t colon = value.rfind(':');
  unsigned port = 0;
  if (colon == std::string_view::npos || colon == 0 || !ParseNumber(value.substr(colon + 1), port) || port < 1 ||
      port > 255)
    return MakeError(fmt::format("rdma '{}': expected DEVICE:PORT, PORT a number in 1..255", ShownValue(value)));
  return {};
}

Result<void> CheckInterface(std::string_view value) {
  if (value.size() > kMaxInterfaceName || value.find('/') != std::string_view::npos || value == "." || value == "..")
    return MakeError(fmt::format("dev '{}': an interface name has at most {} bytes, no '/', and is not '.' or '..'",
                                 ShownValue(value), kMaxInterfaceName));
  return {};
}

}  // namespace

// Reads the lines one by one into an AgentsFile; every port may be named once.
class AgentsFileReader {
 public:
  explicit AgentsFileReader(const Fabric& fabric) : fabric_(fabric), names_(fabric) {
    file_.entry_of_port_.assign(fabric.num_port_slots(), AgentsFile::kNoEntry);
  }

  Result<void> ReadLine(const std::vector<std::string_view>& words, int line) {
    if (words.size() == 1) return MakeError(fmt::format("expected '{}'", kLineForm));
    for (std::string_view word : words)
      if (word.size() > kMaxAgentWord)
        return MakeError(fmt::format("a word of {} bytes, expected at most {}", word.size(), kMaxAgentWord));
    auto ports = Ports(words[0]);
    if (!ports) return std::unexpected(ports.error());
    auto entry = ReadEntry(words);
    if (!entry) return std::unexpected(entry.error());
    entry->line = line;
    const auto index = static_cast<uint32_t>(file_.entries_.size());
    for (PortId port : *ports) {
      uint32_t& slot = file_.entry_of_port_[port];
      if (slot != AgentsFile::kNoEntry)
        return MakeError(fmt::format("{} is already listed on line {}", ShownValue(fabric_.PortName(port)),
                                     file_.entries_[slot].line));
      slot = index;
    }
    file_.entries_.push_back(std::move(*entry));
    return {};
  }

  AgentsFile Take() { return std::move(file_); }

 private:
  // DESC (every port of that endpoint) or DESC[PORT].
  Result<std::vector<PortId>> Ports(std::string_view who) const {
    std::optional<NodeId> node = names_.FindNode(who);
    std::optional<unsigned> number;
    if (!node && who.ends_with(']')) {
      auto port = names_.FindPort(who);
      if (!port) return MakeError(port.error().message);
      node = fabric_.port(*port).node;
      number = fabric_.port(*port).number;
    }
    if (!node) return MakeError(fmt::format("no node has the description '{}'", ShownValue(who)));
    if (fabric_.is_switch(*node))
      return MakeError(fmt::format("'{}' is a switch, not an endpoint", ShownValue(fabric_.description(*node))));
    if (number) return std::vector<PortId>{fabric_.port_id(*node, *number)};
    std::vector<PortId> all;
    for (unsigned p = 1; p <= fabric_.node(*node).num_ports; ++p) all.push_back(fabric_.port_id(*node, p));
    return all;
  }

  // DATA_ADDR and the key=value words after it.
  static Result<PortAgent> ReadEntry(const std::vector<std::string_view>& words) {
    auto data = ReadAddress(words[1], "address");
    if (!data) return std::unexpected(data.error());
    PortAgent entry{.data = data->with_port, .host = data->host};
    std::optional<std::string> control;
    for (size_t i = 2; i < words.size(); ++i) {
      std::string_view word = words[i];
      size_t eq = word.find('=');
      std::string_view key = word.substr(0, eq);
      if (eq == std::string_view::npos)
        return MakeError(fmt::format("expected key=value after the address, got '{}'", ShownValue(word)));
      std::string_view value = word.substr(eq + 1);
      auto field = Field(entry, control, key);
      if (!field) return std::unexpected(field.error());
      if (value.empty()) return MakeError(fmt::format("{}= needs a value", key));
      if (auto r = CheckValue(key, value, **field); !r) return std::unexpected(r.error());
    }
    entry.control = control ? *control : entry.data;
    return entry;
  }

  // Where key= goes: a known key given once.
  static Result<std::string*> Field(PortAgent& entry, std::optional<std::string>& control, std::string_view key) {
    const bool known = key == "control" || key == "dev" || key == "rdma";
    if (!known)
      return MakeError(
          fmt::format("unknown key '{}'{}; expected control=, dev= or rdma=", ShownValue(key), DidYouMean(key, kKeys)));
    const bool given = key == "control" ? control.has_value() : !(key == "dev" ? entry.device : entry.rdma).empty();
    if (given) return MakeError(fmt::format("{}= is given twice", key));
    if (key == "control") return &control.emplace();
    return key == "dev" ? &entry.device : &entry.rdma;
  }

  static Result<void> CheckValue(std::string_view key, std::string_view value, std::string& field) {
    if (key == "control") {
      auto a = ReadAddress(value, "control address");
      if (!a) return std::unexpected(a.error());
      field = a->with_port;
      return {};
    }
    auto checked = key == "dev" ? CheckInterface(value) : CheckRdma(value);
    if (!checked) return checked;
    field = value;
    return {};
  }

  const Fabric& fabric_;
  PortNames names_;
  AgentsFile file_;
};

Result<AgentsFile> ParseAgentsFile(const Fabric& fabric, std::string_view text, std::string_view filename) {
  AgentsFileReader reader(fabric);
  const std::string where(filename);
  TextLines lines(text);
  size_t listed = 0;
  while (lines.Next()) {
    std::vector<std::string_view> words = Words(lines.line());
    if (words.empty()) continue;
    if (auto r = reader.ReadLine(words, lines.number()); !r)
      return MakeInputError(where, lines.number(), std::move(r.error().message), std::string(lines.line()));
    ++listed;
  }
  // Every probe would go unmeasured: an empty file is the wrong file, not a sweep to run.
  if (listed == 0) return MakeInputError(where, 0, fmt::format("lists no agent; expected '{}' lines", kLineForm));
  return reader.Take();
}

}  // namespace fabricctl::sweep
