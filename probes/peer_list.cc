#include "probes/peer_list.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <vector>

#include "fabric/display_text.h"
#include "fabric/file_io.h"
#include "fabric/text_lines.h"
#include "probes/agent.h"
#include "probes/socket_util.h"

namespace fabricctl::probes {
namespace {

constexpr std::size_t kMaxWord = 255;       // longer than any description, address or name here
constexpr std::size_t kMaxDeviceName = 15;  // IFNAMSIZ - 1
constexpr std::string_view kExpected = "expected 'DESC[PORT] DATA_ADDR[:PORT] [control=ADDR] [dev=IF] [rdma=DEV:PORT]'";

// The line's description (bare, or in double quotes when it holds blanks) and the
// blank-separated words after it, comment cut.
Result<std::vector<std::string_view>> LineWords(std::string_view line) {
  std::vector<std::string_view> words;
  line = TrimBlanks(line);
  if (line.starts_with('"')) {
    std::size_t close = line.find('"', 1);
    if (close == std::string_view::npos) return MakeError("missing '\"' after the quoted description");
    words.push_back(line.substr(1, close - 1));
    line = line.substr(close + 1);
    if (!line.empty() && line[0] != ' ' && line[0] != '\t') return MakeError("expected a blank after the description");
  }
  line = line.substr(0, line.find('#'));
  std::size_t pos = 0;
  for (;;) {
    std::size_t start = line.find_first_not_of(" \t", pos);
    if (start == std::string_view::npos) break;
    std::size_t end = std::min(line.find_first_of(" \t", start), line.size());
    words.push_back(line.substr(start, end - start));
    pos = end;
  }
  for (std::string_view word : words)
    if (word.size() > kMaxWord)
      return MakeError(fmt::format("a word of {} bytes, expected at most {}", word.size(), kMaxWord));
  return words;
}

Result<unsigned> PortNumber(std::string_view digits, std::string_view what) {
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || value < 1 || value > 255)
    return MakeError(fmt::format("{} '{}' is not a port number in 1..255", what, ShownValue(digits)));
  return value;
}

// `rdma=DEVICE:PORT`.
Result<void> CheckRdma(std::string_view value) {
  std::size_t colon = value.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return MakeError("rdma= expects DEVICE:PORT");
  if (auto port = PortNumber(value.substr(colon + 1), "rdma port"); !port) return std::unexpected(port.error());
  return {};
}

// The key=value words after the address: known keys, each once, each well formed.
Result<void> CheckOptions(std::span<const std::string_view> words) {
  std::set<std::string_view> seen;
  for (std::string_view word : words) {
    std::size_t eq = word.find('=');
    if (eq == std::string_view::npos || eq == 0) return MakeError(fmt::format("'{}': {}", ShownValue(word), kExpected));
    std::string_view key = word.substr(0, eq), value = word.substr(eq + 1);
    if (key != "control" && key != "dev" && key != "rdma")
      return MakeError(fmt::format("unknown key '{}' (known: control, dev, rdma)", ShownValue(key)));
    if (!seen.insert(key).second) return MakeError(fmt::format("{}= given twice", key));
    if (value.empty()) return MakeError(fmt::format("{}= without a value", key));
    if (key == "control") {
      if (std::string problem = HostPortProblem(value); !problem.empty())
        return MakeError(fmt::format("control address '{}': {}", ShownValue(value), problem));
    } else if (key == "dev") {
      if (value.size() > kMaxDeviceName || value.find('/') != std::string_view::npos || value == "." || value == "..")
        return MakeError(fmt::format("dev '{}' is not an interface name", ShownValue(value)));
    } else if (auto r = CheckRdma(value); !r) {
      return r;
    }
  }
  return {};
}

// Which ports of which description the file has named: a description for all its ports
// and for one of them, or one port twice, is an error.
class Coverage {
 public:
  Result<void> Add(std::string_view desc_word) {
    std::string desc(desc_word);
    unsigned port = 0;
    if (std::size_t open = desc_word.rfind('['); open != std::string_view::npos && desc_word.ends_with(']')) {
      auto number = PortNumber(desc_word.substr(open + 1, desc_word.size() - open - 2), "port");
      if (!number) return std::unexpected(number.error());
      port = *number;
      desc = std::string(desc_word.substr(0, open));
    }
    if (desc.empty()) return MakeError("missing description");
    auto& ports = ports_[desc];
    if (ports.contains(0) || (port == 0 && !ports.empty()) || !ports.insert(port).second)
      return MakeError(fmt::format("'{}' is listed twice (a port appears on two lines)", ShownValue(desc_word)));
    return {};
  }

 private:
  std::map<std::string, std::set<unsigned>> ports_;  // 0 = every port
};

}  // namespace

Result<std::pair<std::string, std::uint16_t>> CanonicalPeer(std::string_view address) {
  if (std::string problem = HostPortProblem(address); !problem.empty()) return MakeError(problem);
  // The form is checked: a port, when there is one, is 1..65535.
  std::string host(address);
  std::string_view digits;
  if (address.starts_with('[')) {
    std::size_t close = address.find(']');
    host = std::string(address.substr(1, close - 1));
    if (close + 1 < address.size()) digits = address.substr(close + 2);
  } else if (std::size_t colon = address.rfind(':'); colon != std::string_view::npos) {
    host = std::string(address.substr(0, colon));
    digits = address.substr(colon + 1);
  }
  std::uint16_t port = kDefaultAgentPort;
  if (!digits.empty()) std::from_chars(digits.data(), digits.data() + digits.size(), port);
  // Numeric addresses compare by value ("::1" and "0::1" are one host), names as written.
  char text[INET6_ADDRSTRLEN] = {};
  in6_addr v6{};
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1)
    host = ::inet_ntop(AF_INET, &v4, text, sizeof text);
  else if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1)
    host = ::inet_ntop(AF_INET6, &v6, text, sizeof text);
  else
    std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  return std::pair{host, port};
}

bool PeerList::Contains(std::string_view target) const {
  auto peer = CanonicalPeer(target);
  return peer && peers_.contains(*peer);
}

Result<PeerList> ParsePeerList(std::string_view text, std::string_view filename) {
  PeerList list;
  Coverage coverage;
  const std::string where(filename);
  TextLines lines(text);
  while (lines.Next()) {
    auto fail = [&](std::string message) {
      return MakeInputError(where, lines.number(), std::move(message), std::string(lines.line()));
    };
    auto words = LineWords(lines.line());
    if (!words) return fail(std::move(words.error().message));
    if (words->empty()) continue;
    if (words->size() == 1) return fail(std::string(kExpected));
    if (auto r = coverage.Add((*words)[0]); !r) return fail(std::move(r.error().message));
    auto peer = CanonicalPeer((*words)[1]);
    if (!peer) return fail(fmt::format("address '{}': {}", ShownValue((*words)[1]), peer.error().message));
    if (auto r = CheckOptions(std::span(*words).subspan(2)); !r) return fail(std::move(r.error().message));
    list.Add(std::move(peer->first), peer->second);
  }
  if (list.size() == 0) return MakeInputError(where, 0, fmt::format("lists no agent; {} lines", kExpected));
  return list;
}

Result<PeerList> ReadPeerList(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text) return std::unexpected(text.error());
  return ParsePeerList(*text, path);
}

}  // namespace fabricctl::probes
