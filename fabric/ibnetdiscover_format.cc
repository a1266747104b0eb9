#include "fabric/ibnetdiscover_format.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "fabric/fabric_builder.h"
#include "fabric/ibsim_format.h"
#include "fabric/text_lines.h"

namespace fabricctl {
namespace {

// ---------------------------------------------------------------------------------------
// Reading

// Where a record's node GUID came from. ibsim numbers records that carry none.
enum class GuidSource { kCounter, kLine, kName };

class Scanner {
 public:
  explicit Scanner(std::string_view s, size_t pos = 0) : s_(s), pos_(pos) {}
  size_t pos() const { return pos_; }
  int column() const { return static_cast<int>(pos_) + 1; }
  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return AtEnd() ? '\0' : s_[pos_]; }
  std::string_view Rest() const { return AtEnd() ? std::string_view() : s_.substr(pos_); }
  // Returns whether any blank was skipped.
  bool SkipSpace() {
    size_t start = pos_;
    while (!AtEnd() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
    return pos_ != start;
  }
  bool Eat(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  bool EatWord(std::string_view w) {
    if (!Rest().starts_with(w)) return false;
    pos_ += w.size();
    return true;
  }
  // Decimal, or hexadecimal after 0x. Fails on overflow.
  std::optional<uint64_t> Number() {
    if (Rest().starts_with("0x") || Rest().starts_with("0X")) {
      pos_ += 2;
      auto v = Hex();
      if (!v) pos_ -= 2;
      return v;
    }
    size_t start = pos_;
    uint64_t v = 0;
    while (!AtEnd() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      uint64_t d = static_cast<uint64_t>(s_[pos_] - '0');
      if (v > (UINT64_MAX - d) / 10) {
        pos_ = start;
        return std::nullopt;
      }
      v = v * 10 + d;
      ++pos_;
    }
    if (pos_ == start) return std::nullopt;
    return v;
  }
  // Bare hexadecimal digits, at most 16.
  std::optional<uint64_t> Hex() {
    size_t start = pos_;
    uint64_t v = 0;
    while (!AtEnd()) {
      char c = s_[pos_];
      int d = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (d < 0) break;
      if (pos_ - start >= 16) {
        pos_ = start;
        return std::nullopt;
      }
      v = (v << 4) | static_cast<uint64_t>(d);
      ++pos_;
    }
    if (pos_ == start) return std::nullopt;
    return v;
  }
  // "..." up to the next quote.
  std::optional<std::string_view> Quoted() {
    if (Peek() != '"') return std::nullopt;
    size_t end = s_.find('"', pos_ + 1);
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view v = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return v;
  }
  // "..." up to the last quote of the line: node descriptions may hold quotes, and nothing
  // after them does.
  std::optional<std::string_view> QuotedToLast() {
    if (Peek() != '"') return std::nullopt;
    size_t end = s_.rfind('"');
    if (end == std::string_view::npos || end <= pos_) return std::nullopt;
    std::string_view v = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return v;
  }
  // Characters up to the next blank.
  std::string_view Token() {
    size_t start = pos_;
    while (!AtEnd() && s_[pos_] != ' ' && s_[pos_] != '\t') ++pos_;
    return s_.substr(start, pos_ - start);
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

struct RawPort {
  int line = 0;
  std::string_view text;
  unsigned number = 0;
  std::optional<uint64_t> guid;  // "(guid)" after the local port number
  std::string_view peer_id;
  int peer_column = 0;
  unsigned peer_port = 1;  // ibsim's default when "[n]" is left out
  std::optional<uint64_t> peer_guid;
  int peer_guid_column = 0;
  // From the comment.
  std::string_view peer_desc;  // empty: not given (or empty; then nothing to check)
  int peer_desc_column = 0;
  std::optional<uint32_t> lid;  // the port's own LID and LMC (CA and router lines)
  std::optional<uint32_t> lmc;
  std::optional<uint32_t> peer_lid;
  int peer_lid_column = 0;
  std::optional<std::pair<LinkWidth, LinkSpeed>> rate;  // width+speed written in the comment
  int rate_column = 0;
  IbsimPortRate enabled;  // what ibsim would enable: comment, else options, else defaults
};

struct RawNode {
  NodeType type = NodeType::kCa;
  unsigned num_ports = 0;
  std::string_view id;
  std::string desc;
  uint64_t guid = 0;
  uint64_t port0_guid = 0;
  uint64_t system_guid = 0;
  uint32_t vendor_id = 0;
  uint32_t device_id = 0;
  uint32_t lid = 0;
  uint32_t lmc = 0;
  GuidSource source = GuidSource::kCounter;
  int line = 0;
  std::string_view text;
  std::vector<RawPort> ports;      // in file order
  std::vector<int32_t> by_number;  // port number -> index into ports, -1 if not listed
  PortId first_port = 0;
};

constexpr size_t TypeIndex(NodeType t) { return static_cast<size_t>(t); }

std::string_view TypeWord(NodeType t) {
  switch (t) {
    case NodeType::kSwitch:
      return "Switch";
    case NodeType::kCa:
      return "Ca";
    case NodeType::kRouter:
      return "Rt";
  }
  return "?";
}

// "S-0002c90300001234" names a node by GUID, as ibnetdiscover prints it.
std::optional<uint64_t> GuidFromName(std::string_view id, NodeType type) {
  char letter = type == NodeType::kSwitch ? 'S' : type == NodeType::kCa ? 'H' : 'R';
  if (id.size() != 18 || id[0] != letter || id[1] != '-') return std::nullopt;
  Scanner s(id, 2);
  auto v = s.Hex();
  if (!v || !s.AtEnd()) return std::nullopt;
  return v;
}

// "4xHDR", "2xNDR", "4xFDR10", and what ibnetdiscover prints for values it does not know:
// "??" for the width, "???" for the speed ("?????" when it knows neither).
std::optional<std::pair<LinkWidth, LinkSpeed>> ParseRateToken(std::string_view t) {
  LinkWidth w = LinkWidth::kNone;
  std::string_view rest;
  if (t.starts_with("??")) {
    rest = t.substr(2);
  } else {
    size_t x = t.find_first_of("xX");
    if (x == std::string_view::npos || x == 0) return std::nullopt;
    auto pw = ParseLinkWidth(t.substr(0, x + 1));
    if (!pw) return std::nullopt;
    w = *pw;
    rest = t.substr(x + 1);
  }
  if (rest == "???") return std::pair{w, LinkSpeed::kNone};
  auto ps = ParseLinkSpeed(rest);
  if (!ps) return std::nullopt;
  return std::pair{w, *ps};
}

class Parser {
 public:
  Parser(std::string_view text, std::string_view filename) : text_(text), filename_(filename) {}

  Result<Fabric> Run() {
    for (TextLines lines(text_); lines.Next();)
      if (auto r = Line(lines.line(), lines.number()); !r) return std::unexpected(r.error());
    return Resolve();
  }

 private:
  std::unexpected<Error> Fail(int line, std::string_view text, int column, std::string message) const {
    return MakeInputError(std::string(filename_), line, std::move(message), std::string(text), column);
  }

  Result<void> Line(std::string_view line, int no) {
    Scanner s(line);
    s.SkipSpace();
    if (s.AtEnd()) {
      current_ = -1;  // a blank line ends a record
      return {};
    }
    char c = s.Peek();
    if (c == '#') return {};  // comment, also between port lines (as ibsim reads it)
    if (c == '[') {
      if (current_ < 0)
        return Fail(no, line, s.column(),
                    "expected a Switch, Ca or Rt line before this port line (port lines belong to a node record)");
      return PortLine(s, line, no);
    }
    if (c == '@') return Fail(no, line, s.column(), "ibsim port aliases ('@') are not supported");
    current_ = -1;
    std::string_view rest = s.Rest();
    if (rest.starts_with("Switch")) return Record(s, line, no, NodeType::kSwitch, 6);
    if (rest.starts_with("Hca")) return Record(s, line, no, NodeType::kCa, 3);
    if (rest.starts_with("Ca")) return Record(s, line, no, NodeType::kCa, 2);
    if (rest.starts_with("Rt")) return Record(s, line, no, NodeType::kRouter, 2);
    return Assignment(s, line, no);
  }

  // The keys of "key=value" lines.
  enum AssignmentKind { kVendid, kDevid, kSysimg, kSwitchGuid, kCaGuid, kRtGuid, kWidth, kSpeed, kExtSpeed, kPdebug };
  struct AssignmentKey {
    std::string_view name;
    AssignmentKind kind;
  };

  // The key at the scanner, which moves past it; nullptr when the line starts with none.
  static const AssignmentKey* EatAssignmentKey(Scanner& s, std::string_view line) {
    static constexpr std::array<AssignmentKey, 12> kKeys{{{"vendid", kVendid},
                                                          {"devid", kDevid},
                                                          {"sysimgguid", kSysimg},
                                                          {"switchguid", kSwitchGuid},
                                                          {"caguid", kCaGuid},
                                                          {"hcaguids", kCaGuid},
                                                          {"rtguid", kRtGuid},
                                                          {"routerguid", kRtGuid},
                                                          {"width", kWidth},
                                                          {"speed", kSpeed},
                                                          {"extspeed", kExtSpeed},
                                                          {"pdebug", kPdebug}}};
    for (const AssignmentKey& k : kKeys) {
      Scanner probe(line, s.pos());
      if (!probe.EatWord(k.name)) continue;
      char next = probe.Peek();
      if (next == '=' || next == '+' || next == ' ' || next == '\t') {
        s = probe;
        return &k;
      }
    }
    return nullptr;
  }

  // vendid=, devid=, sysimgguid=, switchguid=, caguid=, rtguid=, width=, speed=, ... and
  // the few other lines ibnetdiscover -g prints.
  Result<void> Assignment(Scanner& s, std::string_view line, int no) {
    std::string_view rest = s.Rest();
    if (rest.starts_with("Chassis") || rest.starts_with("Hostname:") || rest.starts_with("Non-Chassis Nodes"))
      return {};  // grouping headers of `ibnetdiscover -g`; the records that follow carry everything
    if (rest.starts_with("include"))
      return Fail(no, line, s.column(), "ibsim 'include' lines are not supported: inline the included file");
    if (rest.starts_with("do ") || rest.starts_with("do\t") || rest == "do")
      return Fail(no, line, s.column(), "ibsim 'do' command lines are not supported");
    if (rest.starts_with("module")) return Fail(no, line, s.column(), "ibsim 'module' name prefixes are not supported");

    const AssignmentKey* key = EatAssignmentKey(s, line);
    if (!key)
      return Fail(no, line, s.column(),
                  "expected a node record (Switch, Ca, Hca, Rt), a vendid/devid/sysimgguid/switchguid/caguid/rtguid "
                  "line, or a comment");
    s.SkipSpace();
    bool relative = false;
    if (s.Eat('+') && (key->kind == kSwitchGuid || key->kind == kCaGuid || key->kind == kRtGuid)) {
      relative = true;
    } else if (relative || !s.Eat('=')) {
      return Fail(no, line, s.column(), fmt::format("expected '=' after '{}'", key->name));
    }
    s.SkipSpace();
    const int value_column = s.column();
    auto value = s.Number();
    if (!value) return Fail(no, line, value_column, fmt::format("expected a number after '{}='", key->name));
    std::optional<uint64_t> port_guid;
    if (key->kind == kSwitchGuid && s.Eat('(')) {
      port_guid = s.Hex();
      if (!port_guid || !s.Eat(')'))
        return Fail(no, line, s.column(), "expected '(port GUID in hex)' after the switch GUID");
    }
    s.SkipSpace();
    if (!s.AtEnd() && s.Peek() != '#')
      return Fail(no, line, s.column(), fmt::format("unexpected text after the {} value", key->name));
    if (auto bad = Assign(key->kind, *value, relative, port_guid, no))
      return Fail(no, line, value_column, std::move(*bad));
    return {};
  }

  // Applies one "key=value" line (`relative`: "key+value"); the reason when the value does not
  // fit the key.
  std::optional<std::string> Assign(AssignmentKind kind, uint64_t value, bool relative,
                                    std::optional<uint64_t> port_guid, int no) {
    switch (kind) {
      case kVendid:
        if (value > UINT32_MAX) return "vendid does not fit in 32 bits";
        vendor_id_ = static_cast<uint32_t>(value);
        break;
      case kDevid:
        if (value > UINT32_MAX) return "devid does not fit in 32 bits";
        device_id_ = static_cast<uint32_t>(value);
        break;
      case kSysimg:
        system_guid_ = value;
        break;
      case kSwitchGuid:
      case kCaGuid:
      case kRtGuid: {
        NodeType t = kind == kSwitchGuid ? NodeType::kSwitch : kind == kCaGuid ? NodeType::kCa : NodeType::kRouter;
        // As ibsim: '=' sets the base, '+' offsets it; the next record of that type takes it.
        if (relative) {
          counter_[TypeIndex(t)] = base_[TypeIndex(t)] + value;
        } else {
          base_[TypeIndex(t)] = counter_[TypeIndex(t)] = value;
        }
        guid_line_type_ = t;
        guid_line_port_guid_ = port_guid;
        guid_line_no_ = no;
        break;
      }
      case kWidth: {
        auto m = IbsimWidthOption(value);
        if (!m) return "expected a width mask 1..31 (1x 1, 4x 2, 8x 4, 12x 8, 2x 16)";
        default_rate_.widths = *m;
        break;
      }
      case kSpeed: {
        auto m = IbsimSpeedOption(value);
        if (!m || value == 0) return "expected a speed mask 1..7 (SDR 1, DDR 2, QDR 4)";
        default_speed_ = *m;
        default_rate_.speeds = default_speed_ | default_ext_speed_;
        break;
      }
      case kExtSpeed: {
        auto m = IbsimExtSpeedOption(value);
        if (!m) return "expected an extended speed mask 0..15 (FDR 1, EDR 2, HDR 4, NDR 8)";
        default_ext_speed_ = *m;
        default_rate_.speeds = default_speed_ | default_ext_speed_;
        break;
      }
      case kPdebug:
        break;  // ibsim's parser debug switch
    }
    return std::nullopt;
  }

  // After a record's '#': "description", then for a switch "base port 0 lid N lmc M".
  Result<void> RecordComment(Scanner& k, std::string_view line, int no, RawNode& node, bool& has_desc) {
    k.SkipSpace();
    if (k.Peek() == '"') {
      auto desc = k.QuotedToLast();
      if (!desc) return Fail(no, line, k.column(), "expected the closing '\"' of the node description");
      node.desc = std::string(*desc);
      has_desc = true;
    }
    k.SkipSpace();
    if (node.type == NodeType::kSwitch) {
      if (auto ok = SwitchPort0(k, line, no, node); !ok) return ok;
    } else if (k.EatWord("(scp)")) {
      k.SkipSpace();
    }
    if (!k.AtEnd())
      return Fail(no, line, k.column(),
                  node.type == NodeType::kSwitch
                      ? "expected '# \"description\" base port 0 lid N lmc M' after the switch name"
                      : "expected '# \"description\"' after the node name");
    return {};
  }

  // "base port 0 lid N lmc M" after a switch's description; each part may be missing.
  Result<void> SwitchPort0(Scanner& k, std::string_view line, int no, RawNode& node) {
    if (k.EatWord("base") || k.EatWord("enhanced")) {
      k.SkipSpace();
      if (!k.EatWord("port") || !k.SkipSpace() || !k.EatWord("0"))
        return Fail(no, line, k.column(), "expected 'port 0' after 'base' or 'enhanced'");
      k.SkipSpace();
    }
    if (k.EatWord("lid")) {
      k.SkipSpace();
      int c = k.column();
      auto lid = k.Number();
      if (!lid || *lid > UINT32_MAX) return Fail(no, line, c, "expected the switch LID after 'lid'");
      node.lid = static_cast<uint32_t>(*lid);
      k.SkipSpace();
    }
    if (k.EatWord("lmc")) {
      k.SkipSpace();
      int c = k.column();
      auto lmc = k.Number();
      if (!lmc || *lmc > 7) return Fail(no, line, c, "expected an LMC 0..7 after 'lmc'");
      node.lmc = static_cast<uint32_t>(*lmc);
      k.SkipSpace();
    }
    return {};
  }

  // GUIDs as ibsim gives them; a GUID line or a GUID-form name pins them. Takes up the
  // vendid/devid/sysimgguid/GUID lines that came before the record.
  Result<void> RecordGuids(RawNode& node, std::string_view line, int no, int id_column) {
    const NodeType type = node.type;
    size_t t = TypeIndex(type);
    uint64_t counted = counter_[t];
    counter_[t] += type == NodeType::kSwitch ? 1 : node.num_ports + 1;
    node.guid = counted;
    node.source = GuidSource::kCounter;
    auto named = GuidFromName(node.id, type);
    if (guid_line_type_ == type) {
      node.source = GuidSource::kLine;
      if (named && *named != counted)
        return Fail(no, line, id_column,
                    fmt::format("node name \"{}\" says GUID 0x{:x}, but the GUID line {} says 0x{:x}", node.id, *named,
                                guid_line_no_, counted));
      node.port0_guid = guid_line_port_guid_.value_or(counted);
    } else if (named) {
      node.source = GuidSource::kName;
      node.guid = *named;
    }
    if (node.port0_guid == 0) node.port0_guid = node.guid;
    node.vendor_id = vendor_id_.value_or(0);
    node.device_id = device_id_;
    // ibnetdiscover (GUID-form names) leaves out a zero system image GUID; ibsim gives
    // every other record its node GUID.
    node.system_guid = system_guid_.value_or(named ? 0 : node.guid);
    vendor_id_.reset();
    system_guid_.reset();
    guid_line_type_.reset();
    guid_line_port_guid_.reset();
    return {};
  }

  Result<void> Record(Scanner& s, std::string_view line, int no, NodeType type, size_t keyword_len) {
    Scanner k(line, s.pos() + keyword_len);
    if (!k.SkipSpace())
      return Fail(no, line, s.column(), "expected 'Switch', 'Ca', 'Hca' or 'Rt' followed by the number of ports");
    int count_column = k.column();
    auto count = k.Number();
    if (!count || *count < 1 || *count > 255)
      return Fail(no, line, count_column, fmt::format("expected a number of ports 1..255 after '{}'", TypeWord(type)));
    k.SkipSpace();
    int id_column = k.column();
    auto id = k.Quoted();
    if (!id || id->empty()) return Fail(no, line, id_column, "expected the quoted node name after the number of ports");

    RawNode node;
    node.type = type;
    node.num_ports = static_cast<unsigned>(*count);
    node.id = *id;
    node.line = no;
    node.text = line;
    node.by_number.assign(node.num_ports + 1, -1);
    k.SkipSpace();
    bool has_desc = false;
    if (k.Eat('#')) {
      if (auto ok = RecordComment(k, line, no, node, has_desc); !ok) return ok;
    } else if (!k.AtEnd()) {
      return Fail(no, line, k.column(), "expected '# \"description\"' or the end of the line after the node name");
    }
    if (auto ok = RecordGuids(node, line, no, id_column); !ok) return ok;
    if (!has_desc) node.desc = std::string(node.id);  // as ibsim
    auto [it, inserted] = index_.emplace(node.id, static_cast<uint32_t>(nodes_.size()));
    if (!inserted)
      return Fail(
          no, line, id_column,
          fmt::format("duplicate node name \"{}\" (first defined at line {})", node.id, nodes_[it->second].line));
    if (node.guid != 0) {
      auto [g, fresh] = by_guid_.emplace(node.guid, static_cast<uint32_t>(nodes_.size()));
      if (!fresh)
        return Fail(no, line, id_column,
                    fmt::format("duplicate node GUID 0x{:016x}: also \"{}\" at line {}", node.guid,
                                nodes_[g->second].id, nodes_[g->second].line));
    }
    current_ = static_cast<int32_t>(nodes_.size());
    nodes_.push_back(std::move(node));
    return {};
  }

  Result<void> PortLine(Scanner& s, std::string_view line, int no) {
    RawNode& node = nodes_[static_cast<size_t>(current_)];
    RawPort p;
    p.line = no;
    p.text = line;
    p.enabled = default_rate_;
    if (auto r = PortNumber(s, line, no, node, p); !r) return r;
    if (auto r = SkipExt(s, line, no); !r) return r;
    if (auto r = PortGuid(s, line, no, node, p); !r) return r;
    if (auto r = PeerOfPort(s, line, no, p); !r) return r;
    if (auto r = IbsimPortOptions(s, line, no, p); !r) return r;
    if (s.Eat('#')) {
      if (auto r = PortComment(s, line, no, node, p); !r) return r;
    } else if (!s.AtEnd()) {
      return Fail(no, line, s.column(), "expected '# ...' or the end of the line after the peer port");
    }
    node.by_number[p.number] = static_cast<int32_t>(node.ports.size());
    node.ports.push_back(p);
    return {};
  }

  // `[N]`: a port of the node, listed once.
  Result<void> PortNumber(Scanner& s, std::string_view line, int no, const RawNode& node, RawPort& p) {
    int number_column = s.column();
    s.Eat('[');
    auto number = s.Number();
    if (!number || !s.Eat(']'))
      return Fail(no, line, number_column, "expected '[port number]' at the start of a port line");
    if (*number < 1 || *number > node.num_ports)
      return Fail(no, line, number_column,
                  *number == 0
                      ? fmt::format("port 0 cannot be cabled: \"{}\" has ports 1..{}", node.id, node.num_ports)
                      : fmt::format("port {} out of range: \"{}\" has ports 1..{}", *number, node.id, node.num_ports));
    p.number = static_cast<unsigned>(*number);
    if (node.by_number[p.number] >= 0)
      return Fail(no, line, number_column,
                  fmt::format("port {} of \"{}\" is listed twice (first at line {})", p.number, node.id,
                              node.ports[static_cast<size_t>(node.by_number[p.number])].line));
    return {};
  }

  // `(GUID)` after the port number: an endpoint port's own GUID; switch ports have none.
  Result<void> PortGuid(Scanner& s, std::string_view line, int no, const RawNode& node, RawPort& p) {
    if (s.Peek() != '(') return {};
    int c = s.column();
    s.Eat('(');
    p.guid = s.Hex();
    if (!p.guid || !s.Eat(')')) return Fail(no, line, c, "expected '(port GUID in hex)' after the port number");
    if (node.type == NodeType::kSwitch)
      return Fail(no, line, c, "a switch port line has no port GUID (switch ports share the switch's GUID)");
    return {};
  }

  // `"peer"[peer port](peer GUID)`: the name required, the rest optional.
  Result<void> PeerOfPort(Scanner& s, std::string_view line, int no, RawPort& p) {
    s.SkipSpace();
    p.peer_column = s.column();
    auto peer = s.Quoted();
    if (!peer || peer->empty())
      return Fail(no, line, p.peer_column, "expected the peer's quoted node name after the port number");
    p.peer_id = *peer;
    if (s.Peek() == '[') {
      int c = s.column();
      s.Eat('[');
      auto pp = s.Number();
      if (!pp || !s.Eat(']')) return Fail(no, line, c, "expected '[peer port number]' after the peer's name");
      if (*pp < 1 || *pp > 255) return Fail(no, line, c, fmt::format("peer port {} out of range 1..255", *pp));
      p.peer_port = static_cast<unsigned>(*pp);
      if (auto r = SkipExt(s, line, no); !r) return r;
    }
    s.SkipSpace();
    if (s.Peek() == '(') {
      p.peer_guid_column = s.column();
      s.Eat('(');
      p.peer_guid = s.Hex();
      if (!p.peer_guid || !s.Eat(')'))
        return Fail(no, line, p.peer_guid_column, "expected '(peer port GUID in hex)' after the peer port");
    }
    return {};
  }

  // ibsim port options: w= s= e=, the port's enabled widths and speeds.
  Result<void> IbsimPortOptions(Scanner& s, std::string_view line, int no, RawPort& p) {
    bool have_options = false;
    IbsimPortRate options = default_rate_;
    SpeedMask base = default_speed_, ext = default_ext_speed_;
    while (true) {
      s.SkipSpace();
      char c = s.Peek();
      if ((c != 'w' && c != 's' && c != 'e') || line.substr(s.pos() + 1, 1) != "=") break;
      int column = s.column();
      s.EatWord(line.substr(s.pos(), 2));
      auto v = s.Number();
      if (!v) return Fail(no, line, column, fmt::format("expected a number after '{}='", c));
      if (c == 'w') {
        auto m = IbsimWidthOption(*v);
        if (!m) return Fail(no, line, column, "expected a width mask w=1..31 (1x 1, 4x 2, 8x 4, 12x 8, 2x 16)");
        options.widths = *m;
      } else if (c == 's') {
        auto m = IbsimSpeedOption(*v);
        if (!m) return Fail(no, line, column, "expected a speed mask s=0..7 (SDR 1, DDR 2, QDR 4)");
        base = *m;
      } else {
        auto m = IbsimExtSpeedOption(*v);
        if (!m) return Fail(no, line, column, "expected an extended speed mask e=0..15 (FDR 1, EDR 2, HDR 4, NDR 8)");
        ext = *m;
      }
      have_options = true;
    }
    if (have_options) {
      options.speeds = base | ext;
      p.enabled = options;
    }
    return {};
  }

  // `[ext N]` as `ibnetdiscover -g` prints it: the external port label of a chassis.
  Result<void> SkipExt(Scanner& s, std::string_view line, int no) {
    if (!s.Rest().starts_with("[ext")) return {};
    int c = s.column();
    s.EatWord("[ext");
    s.SkipSpace();
    if (!s.Number() || !s.Eat(']')) return Fail(no, line, c, "expected '[ext N]'");
    return {};
  }

  // Switch records: `# "peer description" lid N 4xHDR`; CA and router records:
  // `# lid N lmc M "peer description" lid N 4xHDR`. ibnetdiscover -f appends
  // ` s=N w=N v=N`, and Xsigo devices ` slot N` or ` (scp)`.
  Result<void> PortComment(Scanner& s, std::string_view line, int no, const RawNode& node, RawPort& p) {
    s.SkipSpace();
    auto expected = [&](int column) {
      return Fail(no, line, column,
                  node.type == NodeType::kSwitch
                      ? "expected '# \"peer description\" lid N 4xHDR' after the peer port"
                      : "expected '# lid N lmc M \"peer description\" lid N 4xHDR' after the peer port");
    };
    std::optional<uint64_t> first_lid;
    int first_lid_column = 0;
    if (s.EatWord("lid")) {
      s.SkipSpace();
      first_lid_column = s.column();
      first_lid = s.Number();
      if (!first_lid || *first_lid > UINT32_MAX) return expected(first_lid_column);
      s.SkipSpace();
      if (s.EatWord("lmc")) {
        if (node.type == NodeType::kSwitch)
          return Fail(no, line, first_lid_column,
                      "a switch port has no LID of its own: the switch LID belongs in the Switch line");
        s.SkipSpace();
        int c = s.column();
        auto lmc = s.Number();
        if (!lmc || *lmc > 7) return Fail(no, line, c, "expected an LMC 0..7 after 'lmc'");
        p.lid = static_cast<uint32_t>(*first_lid);
        p.lmc = static_cast<uint32_t>(*lmc);
        first_lid.reset();
        s.SkipSpace();
      }
    }
    if (!first_lid) {
      if (s.Peek() == '"') {
        p.peer_desc_column = s.column();
        auto desc = s.QuotedToLast();
        if (!desc) return Fail(no, line, s.column(), "expected the closing '\"' of the peer description");
        p.peer_desc = *desc;
        s.SkipSpace();
      }
      if (!s.EatWord("lid")) return expected(s.column());
      s.SkipSpace();
      first_lid_column = s.column();
      first_lid = s.Number();
      if (!first_lid || *first_lid > UINT32_MAX) return expected(first_lid_column);
    }
    p.peer_lid = static_cast<uint32_t>(*first_lid);
    p.peer_lid_column = first_lid_column;
    if (!s.SkipSpace()) return expected(s.column());
    p.rate_column = s.column();
    std::string_view token = s.Token();
    auto rate = ParseRateToken(token);
    if (!rate)
      return Fail(no, line, p.rate_column,
                  fmt::format("expected a width and speed such as 4xHDR, 2xNDR or 1xSDR, found '{}'", token));
    p.rate = rate;
    p.enabled = IbsimRateFromComment(rate->first, rate->second);
    while (true) {
      s.SkipSpace();
      if (s.AtEnd()) break;
      int c = s.column();
      if (s.EatWord("s=") || s.EatWord("w=") || s.EatWord("v=")) {
        if (!s.Number()) return Fail(no, line, c, "expected a number in the full-information field");
      } else if (s.EatWord("slot")) {
        s.SkipSpace();
        if (!s.Number()) return Fail(no, line, c, "expected a number after 'slot'");
      } else if (!s.EatWord("(scp)")) {
        return Fail(no, line, c, "unexpected text after the width and speed");
      }
    }
    return {};
  }

  uint64_t PortGuid(const RawNode& n, const RawPort& p) const {
    if (n.type == NodeType::kSwitch) return n.port0_guid;
    return p.guid.value_or(n.guid + p.number);  // ibsim: node GUID + port number
  }
  uint32_t PortLid(const RawNode& n, const RawPort& p) const {
    return n.type == NodeType::kSwitch ? n.lid : p.lid.value_or(0);
  }

  Result<Fabric> Resolve() {
    FabricBuilder b;
    if (auto added = AddNodes(b); !added) return std::unexpected(added.error());
    for (NodeId a = 0; a < nodes_.size(); ++a) {
      for (const RawPort& p : nodes_[a].ports)
        if (auto linked = AddLink(b, a, p); !linked) return std::unexpected(linked.error());
    }
    auto f = b.Build();
    if (!f) return MakeInputError(std::string(filename_), 0, f.error().message);
    return f;
  }

  Result<void> AddNodes(FabricBuilder& b) {
    size_t slots = 0;
    for (const RawNode& n : nodes_) slots += n.num_ports + 1;
    b.Reserve(nodes_.size(), slots);
    for (RawNode& n : nodes_) {
      auto id = b.AddNode(NodeSpec{.type = n.type,
                                   .num_ports = n.num_ports,
                                   .guid = n.guid,
                                   .system_guid = n.system_guid,
                                   .description = n.desc,
                                   .vendor_id = n.vendor_id,
                                   .device_id = n.device_id});
      if (!id) return std::unexpected(id.error());
      n.first_port = b.port_id(*id, 0);
      if (n.type == NodeType::kSwitch) {
        for (unsigned p = 0; p <= n.num_ports; ++p) b.port(*id, p).guid = n.port0_guid;
        b.port(*id, 0).lid = n.lid;
        b.port(*id, 0).lmc = static_cast<uint8_t>(n.lmc);
      }
    }
    return {};
  }

  static std::string Where(const RawNode& n, unsigned port) { return fmt::format("\"{}\"[{}]", n.id, port); }

  // The port record at the other end of port p of node a, checked against what p says of it.
  Result<std::pair<NodeId, const RawPort*>> PeerOf(NodeId a, const RawPort& p) const {
    const RawNode& na = nodes_[a];
    auto peer = index_.find(p.peer_id);
    if (peer == index_.end())
      return Fail(p.line, p.text, p.peer_column,
                  fmt::format("unknown node \"{}\": no record in this file defines it", p.peer_id));
    NodeId bi = peer->second;
    const RawNode& nb = nodes_[bi];
    if (p.peer_port > nb.num_ports)
      return Fail(p.line, p.text, p.peer_column,
                  fmt::format("port {} out of range: \"{}\" has ports 1..{} (line {})", p.peer_port, nb.id,
                              nb.num_ports, nb.line));
    if (bi == a && p.peer_port == p.number)
      return Fail(p.line, p.text, p.peer_column, fmt::format("{} cannot be cabled to itself", Where(na, p.number)));
    int32_t qi = nb.by_number[p.peer_port];
    if (qi < 0)
      return Fail(p.line, p.text, p.peer_column,
                  fmt::format("{} is cabled to {}, but the \"{}\" record (line {}) does not list port {}",
                              Where(na, p.number), Where(nb, p.peer_port), nb.id, nb.line, p.peer_port));
    const RawPort& q = nb.ports[static_cast<size_t>(qi)];
    if (q.peer_id != na.id || q.peer_port != p.number)
      return Fail(p.line, p.text, p.peer_column,
                  fmt::format("{} is cabled to {}, but line {} cables {} to \"{}\"[{}]", Where(na, p.number),
                              Where(nb, p.peer_port), q.line, Where(nb, p.peer_port), q.peer_id, q.peer_port));
    if (p.peer_guid && *p.peer_guid != PortGuid(nb, q))
      return Fail(p.line, p.text, p.peer_guid_column,
                  fmt::format("peer port GUID {:x} does not match {:x} of {} (line {})", *p.peer_guid, PortGuid(nb, q),
                              Where(nb, p.peer_port), q.guid ? q.line : nb.line));
    if (!p.peer_desc.empty() && p.peer_desc != nb.desc)
      return Fail(p.line, p.text, p.peer_desc_column,
                  fmt::format("peer description \"{}\" does not match \"{}\" of \"{}\" (line {})", p.peer_desc, nb.desc,
                              nb.id, nb.line));
    if (p.peer_lid && *p.peer_lid != PortLid(nb, q))
      return Fail(p.line, p.text, p.peer_lid_column,
                  fmt::format("peer LID {} does not match LID {} of {} (line {})", *p.peer_lid, PortLid(nb, q),
                              Where(nb, p.peer_port), nb.type == NodeType::kSwitch ? nb.line : q.line));
    return std::pair{bi, &q};
  }

  // The rate of the link p -- q: what both ends state, or else what ibsim would negotiate.
  Result<LinkRate> RateOf(const RawNode& na, const RawPort& p, const RawNode& nb, const RawPort& q) const {
    if (!p.rate || !q.rate) {
      auto rate = IbsimNegotiate(p.enabled, q.enabled);
      if (!rate)
        return Fail(q.line, q.text, q.peer_column,
                    fmt::format("{} and {} share no enabled width or speed (ibsim refuses such a link)",
                                Where(na, p.number), Where(nb, q.number)));
      return *rate;
    }
    // ibnetdiscover shows FDR10 only for devices it asks for Mellanox's extended port
    // info; the other end of the same link then says QDR.
    auto fdr10 = [](auto x, auto y) {
      return x.first == y.first && x.second == LinkSpeed::kFDR10 && y.second == LinkSpeed::kQDR;
    };
    if (fdr10(*p.rate, *q.rate) || fdr10(*q.rate, *p.rate))
      return LinkRate{.width = p.rate->first, .speed = LinkSpeed::kFDR10};
    if (*p.rate != *q.rate)
      return Fail(q.line, q.text, q.rate_column,
                  fmt::format("the two ends of {} -- {} disagree: {} here, {} at line {}", Where(na, p.number),
                              Where(nb, q.number), RateText(*q.rate), RateText(*p.rate), p.line));
    return LinkRate{.width = p.rate->first, .speed = p.rate->second};
  }

  // Cables port p of node a to its peer (once, from the end with the lower port id) and
  // sets both ports up at the link's rate.
  Result<void> AddLink(FabricBuilder& b, NodeId a, const RawPort& p) {
    auto peer = PeerOf(a, p);
    if (!peer) return std::unexpected(peer.error());
    const auto [bi, q] = *peer;
    const RawNode& na = nodes_[a];
    const RawNode& nb = nodes_[bi];
    PortId pa = na.first_port + p.number, pb = nb.first_port + q->number;
    if (pb < pa) return {};  // the link was made from the other end
    auto rate = RateOf(na, p, nb, *q);
    if (!rate) return std::unexpected(rate.error());
    if (auto l = b.Connect(a, p.number, bi, q->number); !l)
      return Fail(p.line, p.text, p.peer_column, l.error().message);
    for (auto [node_id, raw_node, raw_port] : {std::tuple{a, &na, &p}, std::tuple{bi, &nb, q}}) {
      Port& port = b.port(node_id, raw_port->number);
      port.state = PortState::kActive;
      port.phys_state = PhysState::kLinkUp;
      port.width_active = rate->width;
      port.width_enabled = port.width_supported = WidthBit(rate->width);
      port.speed_active = rate->speed;
      port.speed_enabled = port.speed_supported = rate->speed == LinkSpeed::kNone ? 0 : SpeedBit(rate->speed);
      if (raw_node->type != NodeType::kSwitch) {
        port.guid = PortGuid(*raw_node, *raw_port);
        port.lid = raw_port->lid.value_or(0);
        port.lmc = static_cast<uint8_t>(raw_port->lmc.value_or(0));
      }
    }
    return {};
  }

  static std::string RateText(std::pair<LinkWidth, LinkSpeed> r) {
    std::string w = r.first == LinkWidth::kNone ? "??" : std::string(ToString(r.first));
    std::string s = r.second == LinkSpeed::kNone ? "???" : std::string(ToString(r.second));
    return w + s;
  }

  std::string_view text_;
  std::string_view filename_;
  std::vector<RawNode> nodes_;
  std::unordered_map<std::string_view, uint32_t> index_;
  std::unordered_map<uint64_t, uint32_t> by_guid_;
  int32_t current_ = -1;
  // ibsim's GUID counters by NodeType (index 0 unused): switches from 0x200000, CAs from
  // 0x100000, routers from 0.
  std::array<uint64_t, 4> base_{0, 0x100000, 0x200000, 0};
  std::array<uint64_t, 4> counter_{0, 0x100000, 0x200000, 0};
  std::optional<NodeType> guid_line_type_;
  std::optional<uint64_t> guid_line_port_guid_;
  int guid_line_no_ = 0;
  std::optional<uint32_t> vendor_id_;
  uint32_t device_id_ = 0;  // stays until the next devid line, as in ibsim
  std::optional<uint64_t> system_guid_;
  IbsimPortRate default_rate_;
  SpeedMask default_speed_ = SpeedBit(LinkSpeed::kSDR);
  SpeedMask default_ext_speed_ = 0;
};

// ---------------------------------------------------------------------------------------
// Writing

// ibnetdiscover prints descriptions with control characters blanked (clean_nodedesc).
std::string CleanDescription(std::string_view d) {
  std::string out(d);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return out;
}

std::string RateString(LinkWidth w, LinkSpeed s) {
  std::string out = w == LinkWidth::kNone ? "??" : std::string(ToString(w));
  out += s == LinkSpeed::kNone ? "???" : std::string(ToString(s));
  return out;
}

}  // namespace

Result<Fabric> ParseIbnetdiscover(std::string_view text, std::string_view filename) {
  return Parser(text, filename).Run();
}

std::string NodeRecordHeader(const Node& node, std::string_view name, uint64_t guid, uint64_t port_guid,
                             std::string_view description, const Port& port0) {
  if (node.type == NodeType::kSwitch)
    return fmt::format("switchguid=0x{:x}({:x})\nSwitch\t{} {}\t\t# \"{}\" base port 0 lid {} lmc {}\n", guid,
                       port_guid, node.num_ports, name, description, port0.lid, port0.lmc);
  const bool ca = node.type == NodeType::kCa;
  return fmt::format("{}guid=0x{:x}\n{}\t{} {}\t\t# \"{}\"\n", ca ? "ca" : "rt", guid, ca ? "Ca" : "Rt", node.num_ports,
                     name, description);
}

std::string WriteIbnetdiscover(const Fabric& f) {
  std::vector<uint64_t> guids = IbsimNodeGuids(f);
  std::vector<std::string> names(f.num_nodes());
  std::vector<std::string> descs(f.num_nodes());
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    char letter = f.node(n).type == NodeType::kSwitch ? 'S' : f.node(n).type == NodeType::kCa ? 'H' : 'R';
    names[n] = fmt::format("\"{}-{:016x}\"", letter, guids[n]);
    descs[n] = CleanDescription(f.description(n));
  }
  // A switch without a port GUID is written with its (possibly synthetic) node GUID, which
  // is what the reader assumes for a zero one.
  auto switch_port_guid = [&](NodeId n) {
    uint64_t g = f.port(f.port_id(n, 0)).guid;
    return g != 0 ? g : guids[n];
  };
  auto lid_of = [&](PortId p) {
    const Port& port = f.port(p);
    return f.is_switch(port.node) ? f.port(f.port_id(port.node, 0)).lid : port.lid;
  };

  fmt::memory_buffer out;
  auto it = std::back_inserter(out);
  fmt::format_to(it, "#\n# Topology file: generated by fabricctl\n#\n");
  if (f.num_nodes() > 0) {
    uint64_t from = f.is_switch(0) ? switch_port_guid(0) : f.port(f.port_id(0, 1)).guid;
    fmt::format_to(it, "# Initiated from node {:016x} port {:016x}\n", guids[0], from);
  }
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    const Node& node = f.node(n);
    fmt::format_to(it, "\nvendid=0x{:x}\ndevid=0x{:x}\n", node.vendor_id, node.device_id);
    if (node.system_guid != 0) fmt::format_to(it, "sysimgguid=0x{:x}\n", node.system_guid);
    const Port& port0 = f.port(f.port_id(n, 0));
    const std::string header = NodeRecordHeader(
        node, names[n], guids[n], node.type == NodeType::kSwitch ? switch_port_guid(n) : 0, descs[n], port0);
    out.append(header.data(), header.data() + header.size());
    for (const Port& p : f.physical_ports(n)) {
      if (p.peer == kNone) continue;
      const Port& q = f.port(p.peer);
      bool peer_switch = f.is_switch(q.node);
      std::string rate = RateString(p.width_active, p.speed_active);
      if (node.type == NodeType::kSwitch) {
        fmt::format_to(it, "[{}]\t{}[{}]", p.number, names[q.node], q.number);
        if (!peer_switch) fmt::format_to(it, "({:x}) ", q.guid);
        fmt::format_to(it, "\t\t# \"{}\" lid {} {}\n", descs[q.node], lid_of(p.peer), rate);
      } else {
        fmt::format_to(it, "[{}]({:x}) \t{}[{}]", p.number, p.guid, names[q.node], q.number);
        if (!peer_switch) fmt::format_to(it, " ({:x}) ", q.guid);
        fmt::format_to(it, "\t\t# lid {} lmc {} \"{}\" lid {} {}\n", p.lid, p.lmc, descs[q.node], lid_of(p.peer), rate);
      }
    }
  }
  return fmt::to_string(out);
}

}  // namespace fabricctl
