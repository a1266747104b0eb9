#include "fabric/json_topology.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <iterator>
#include <map>
#include <set>
#include <unordered_map>

#include "fabric/display_text.h"
#include "fabric/fabric_builder.h"
#include "fabric/json_reader.h"
#include "fabric/text_lines.h"

namespace fabricctl {
namespace {

using nlohmann::json;

// Positional columns of a port array; the order is part of version 1 of the schema.
constexpr std::array<std::string_view, 12> kPortColumns = {"number",       "guid",          "lid",
                                                           "lmc",          "state",         "phys_state",
                                                           "width_active", "width_enabled", "width_supported",
                                                           "speed_active", "speed_enabled", "speed_supported"};

constexpr std::array<LinkWidth, 5> kWidthOrder = {LinkWidth::k1x, LinkWidth::k2x, LinkWidth::k4x, LinkWidth::k8x,
                                                  LinkWidth::k12x};
constexpr std::array<LinkSpeed, 9> kSpeedOrder = {LinkSpeed::kSDR,   LinkSpeed::kDDR, LinkSpeed::kQDR,
                                                  LinkSpeed::kFDR10, LinkSpeed::kFDR, LinkSpeed::kEDR,
                                                  LinkSpeed::kHDR,   LinkSpeed::kNDR, LinkSpeed::kXDR};

std::string Hex(uint64_t v) { return fmt::format("0x{:016x}", v); }
std::string ShortHex(uint32_t v) { return fmt::format("0x{:x}", v); }

std::string_view ActiveName(LinkWidth w) { return w == LinkWidth::kNone ? std::string_view() : ToString(w); }
std::string_view ActiveName(LinkSpeed s) { return s == LinkSpeed::kNone ? std::string_view() : ToString(s); }

// "1x,4x"; "" for an empty mask.
std::string WidthMaskName(WidthMask mask) {
  std::string out;
  for (LinkWidth w : kWidthOrder) {
    if (!(mask & WidthBit(w))) continue;
    if (!out.empty()) out += ',';
    out += ToString(w);
  }
  return out;
}

std::string SpeedMaskName(SpeedMask mask) {
  std::string out;
  for (LinkSpeed s : kSpeedOrder) {
    if (!(mask & SpeedBit(s))) continue;
    if (!out.empty()) out += ',';
    out += ToString(s);
  }
  return out;
}

json LabelsToJson(const Labels& l) {
  json j = json::object();
  if (l.super_node >= 0) j["super_node"] = l.super_node;
  if (l.plane >= 0) j["plane"] = l.plane;
  if (l.tier >= 0) j["tier"] = l.tier;
  if (l.rack >= 0) j["rack"] = l.rack;
  if (l.level != FabricLevel::kUnknown) j["level"] = ToString(l.level);
  return j;
}

// Strings straight from the model may hold bytes that are not UTF-8 (a node description
// from a switch's firmware); replacing them beats throwing in the middle of a write.
std::string Quote(std::string_view s) { return json(s).dump(-1, ' ', false, json::error_handler_t::replace); }

// ---------------------------------------------------------------------------------------
// Reading

// Names of the states as written; the model's ToString() is the single spelling.
template <typename Enum, size_t N>
std::optional<Enum> FromName(std::string_view s, const std::array<Enum, N>& values) {
  for (Enum v : values)
    if (ToString(v) == s) return v;
  return std::nullopt;
}
constexpr std::array<PortState, 5> kPortStates = {PortState::kNoChange, PortState::kDown, PortState::kInit,
                                                  PortState::kArmed, PortState::kActive};
constexpr std::array<PhysState, 8> kPhysStates = {PhysState::kNoChange,      PhysState::kSleep,    PhysState::kPolling,
                                                  PhysState::kDisabled,      PhysState::kTraining, PhysState::kLinkUp,
                                                  PhysState::kErrorRecovery, PhysState::kPhyTest};
constexpr std::array<NodeType, 3> kNodeTypes = {NodeType::kSwitch, NodeType::kCa, NodeType::kRouter};

template <typename Enum, size_t N>
std::string Choices(const std::array<Enum, N>& values) {
  std::string out;
  for (Enum v : values) {
    if (!out.empty()) out += ", ";
    out += ToString(v);
  }
  return out;
}

template <typename T, typename Parse, typename Bit>
std::optional<T> ParseMask(std::string_view s, Parse parse_one, Bit bit) {
  T mask = 0;
  if (s.empty()) return mask;
  for (std::string_view name : SplitList(s)) {
    auto item = parse_one(name);
    if (!item) return std::nullopt;
    mask = static_cast<T>(mask | bit(*item));
  }
  return mask;
}

// Exact spelling only, so that what is read is what is written.
std::optional<LinkWidth> WidthByName(std::string_view s) {
  for (LinkWidth w : kWidthOrder)
    if (ToString(w) == s) return w;
  return std::nullopt;
}
std::optional<LinkSpeed> SpeedByName(std::string_view s) {
  for (LinkSpeed sp : kSpeedOrder)
    if (ToString(sp) == s) return sp;
  return std::nullopt;
}

using Ptr = JsonPath;

class Reader {
 public:
  explicit Reader(std::string_view filename) : fields_(filename) {}

  // The whole document at once (TopologyFromJson).
  Result<Fabric> Read(const json& doc);

  // The pieces, for the streaming reader, which hands over one node or link at a time.
  // `format`/`version` are nullptr when absent.
  Result<void> CheckHeader(const json* format, const json* version) const;
  Result<void> ReadNodes(const json& nodes);
  Result<void> ReadLinks(const json& links);
  Result<void> ReadNode(const json& j, size_t index);
  Result<void> ReadLink(const json& j, size_t index);
  Result<Fabric> Finish();
  std::unexpected<Error> UnknownTopLevel(std::string_view key) const {
    return Fail(root_.Key(key), "unknown field, expected format, version, nodes or links");
  }
  std::unexpected<Error> Missing(std::string_view key) const {
    return Fail(root_, fmt::format("missing field \"{}\"", key));
  }
  std::unexpected<Error> NotArray(std::string_view key, const json& j) const {
    return Fail(root_.Key(key), fmt::format("expected an array, got {}", TypeName(j)));
  }
  std::unexpected<Error> NotObject(std::string_view type_name) const {
    return Fail(root_, fmt::format("expected a JSON object, got {}", type_name));
  }

 private:
  std::unexpected<Error> Fail(const Ptr& at, std::string_view message) const { return fields_.Fail(at, message); }
  static std::string_view TypeName(const json& j) { return j.type_name(); }

  Result<const std::string*> String(const json& j, const Ptr& at) const { return fields_.String(j, at); }
  Result<uint64_t> Unsigned(const json& j, const Ptr& at, uint64_t max) const { return fields_.Unsigned(j, at, max); }
  Result<uint64_t> HexField(const json& j, const Ptr& at, unsigned max_digits) const {
    return fields_.Hex(j, at, max_digits);
  }

  Result<void> ReadLabels(const json& j, const Ptr& at, Labels& labels) const;
  Result<void> ReadPort(const json& j, const Ptr& at, Port& port, unsigned number) const;

  JsonFields fields_;
  Ptr root_;
  FabricBuilder builder_;
  std::unordered_map<uint64_t, size_t> node_by_guid_;
};

Result<void> Reader::ReadLabels(const json& j, const Ptr& at, Labels& labels) const {
  if (!j.is_object()) return Fail(at, fmt::format("expected an object, got {}", TypeName(j)));
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    Ptr here = at.Key(key);
    int32_t* target = key == "super_node" ? &labels.super_node
                      : key == "plane"    ? &labels.plane
                      : key == "tier"     ? &labels.tier
                      : key == "rack"     ? &labels.rack
                                          : nullptr;
    if (target) {
      auto v = Unsigned(*it, here, std::numeric_limits<int32_t>::max());
      if (!v) return std::unexpected(v.error());
      *target = static_cast<int32_t>(*v);
    } else if (key == "level") {
      auto s = String(*it, here);
      if (!s) return std::unexpected(s.error());
      auto level = ParseFabricLevel(**s);
      if (!level || **s != ToString(*level))
        return Fail(here,
                    fmt::format("unknown level \"{}\", expected scale-up, scale-out or unknown", ShownValue(**s)));
      labels.level = *level;
    } else {
      return Fail(here, "unknown label, expected super_node, plane, tier, rack or level");
    }
  }
  return {};
}

Result<void> Reader::ReadPort(const json& j, const Ptr& at, Port& port, unsigned number) const {
  if (!j.is_array() || j.size() != kPortColumns.size())
    return Fail(at, fmt::format("expected a port array of {} values [{}], got {}", kPortColumns.size(),
                                fmt::join(kPortColumns, ", "),
                                j.is_array() ? fmt::format("{} values", j.size()) : std::string(TypeName(j))));
  auto col = [&](size_t c) { return at.Index(c); };
  auto num = Unsigned(j[0], col(0), 255);
  if (!num) return std::unexpected(num.error());
  if (*num != number)
    return Fail(col(0), fmt::format("port number {} at slot {}, ports must be listed 0, 1, 2, ...", *num, number));
  auto guid = HexField(j[1], col(1), 16);
  if (!guid) return std::unexpected(guid.error());
  auto lid = Unsigned(j[2], col(2), std::numeric_limits<uint32_t>::max());
  if (!lid) return std::unexpected(lid.error());
  auto lmc = Unsigned(j[3], col(3), 7);
  if (!lmc) return std::unexpected(lmc.error());
  port.guid = *guid;
  port.lid = static_cast<uint32_t>(*lid);
  port.lmc = static_cast<uint8_t>(*lmc);

  auto state = String(j[4], col(4));
  if (!state) return std::unexpected(state.error());
  auto st = FromName(**state, kPortStates);
  if (!st)
    return Fail(col(4),
                fmt::format("unknown port state \"{}\", expected {}", ShownValue(**state), Choices(kPortStates)));
  port.state = *st;
  auto phys = String(j[5], col(5));
  if (!phys) return std::unexpected(phys.error());
  auto ph = FromName(**phys, kPhysStates);
  if (!ph)
    return Fail(col(5),
                fmt::format("unknown physical state \"{}\", expected {}", ShownValue(**phys), Choices(kPhysStates)));
  port.phys_state = *ph;

  for (size_t c = 6; c <= 11; ++c) {
    auto s = String(j[c], col(c));
    if (!s) return std::unexpected(s.error());
    std::string_view v = **s;
    bool ok = true;
    switch (c) {
      case 6: {
        auto w = v.empty() ? std::optional(LinkWidth::kNone) : WidthByName(v);
        if ((ok = w.has_value())) port.width_active = *w;
        break;
      }
      case 7:
      case 8: {
        auto m = ParseMask<WidthMask>(v, WidthByName, WidthBit);
        if ((ok = m.has_value())) (c == 7 ? port.width_enabled : port.width_supported) = *m;
        break;
      }
      case 9: {
        auto sp = v.empty() ? std::optional(LinkSpeed::kNone) : SpeedByName(v);
        if ((ok = sp.has_value())) port.speed_active = *sp;
        break;
      }
      default: {
        auto m = ParseMask<SpeedMask>(v, SpeedByName, SpeedBit);
        if ((ok = m.has_value())) (c == 10 ? port.speed_enabled : port.speed_supported) = *m;
        break;
      }
    }
    if (!ok) {
      bool width = c <= 8;
      bool mask = c != 6 && c != 9;
      return Fail(col(c),
                  fmt::format("bad {} \"{}\", expected {}{}", kPortColumns[c], ShownValue(v),
                              width ? "1x, 2x, 4x, 8x or 12x" : "SDR, DDR, QDR, FDR10, FDR, EDR, HDR, NDR or XDR",
                              mask ? " joined by ',', or \"\"" : ", or \"\""));
    }
  }
  return {};
}

Result<void> Reader::ReadNode(const json& j, size_t index) {
  FabricBuilder& builder = builder_;
  Ptr nodes = root_.Key("nodes");
  Ptr at = nodes.Index(index);
  if (!j.is_object()) return Fail(at, fmt::format("expected a node object, got {}", TypeName(j)));
  NodeSpec spec;
  const json* ports = nullptr;
  bool seen[7] = {};
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    Ptr here = at.Key(key);
    if (key == "type") {
      seen[0] = true;
      auto s = String(*it, here);
      if (!s) return std::unexpected(s.error());
      auto t = FromName(**s, kNodeTypes);
      if (!t)
        return Fail(here, fmt::format("unknown node type \"{}\", expected {}", ShownValue(**s), Choices(kNodeTypes)));
      spec.type = *t;
    } else if (key == "guid" || key == "system_guid") {
      seen[key == "guid" ? 1 : 2] = true;
      auto v = HexField(*it, here, 16);
      if (!v) return std::unexpected(v.error());
      (key == "guid" ? spec.guid : spec.system_guid) = *v;
    } else if (key == "description") {
      seen[3] = true;
      auto s = String(*it, here);
      if (!s) return std::unexpected(s.error());
      spec.description = **s;
    } else if (key == "vendor_id" || key == "device_id") {
      seen[key == "vendor_id" ? 4 : 5] = true;
      auto v = HexField(*it, here, 8);
      if (!v) return std::unexpected(v.error());
      (key == "vendor_id" ? spec.vendor_id : spec.device_id) = static_cast<uint32_t>(*v);
    } else if (key == "labels") {
      auto r = ReadLabels(*it, here, spec.labels);
      if (!r) return r;
    } else if (key == "ports") {
      seen[6] = true;
      ports = &*it;
    } else {
      return Fail(here,
                  "unknown field, expected type, guid, system_guid, description, vendor_id, device_id, labels "
                  "or ports");
    }
  }
  constexpr std::array<std::string_view, 7> kRequired = {"type",      "guid",      "system_guid", "description",
                                                         "vendor_id", "device_id", "ports"};
  for (size_t k = 0; k < kRequired.size(); ++k)
    if (!seen[k]) return Fail(at, fmt::format("missing field \"{}\"", kRequired[k]));

  Ptr ports_at = at.Key("ports");
  if (!ports->is_array() || ports->size() < 2 || ports->size() > 256)
    return Fail(ports_at, fmt::format("expected an array of port slots 0..N with N in 1..255, got {}",
                                      ports->is_array() ? fmt::format("{} entries", ports->size())
                                                        : std::string(TypeName(*ports))));
  if (spec.guid != 0) {
    auto [it, inserted] = node_by_guid_.emplace(spec.guid, index);
    if (!inserted)
      return Fail(at.Key("guid"), fmt::format("duplicate node GUID {}, also /nodes/{}", Hex(spec.guid), it->second));
  }
  spec.num_ports = static_cast<unsigned>(ports->size() - 1);
  auto id = builder.AddNode(std::move(spec));
  if (!id) return Fail(at, id.error().message);
  for (unsigned p = 0; p < ports->size(); ++p) {
    auto r = ReadPort((*ports)[p], ports_at.Index(p), builder.port(*id, p), p);
    if (!r) return r;
  }
  return {};
}

Result<void> Reader::ReadLink(const json& j, size_t index) {
  FabricBuilder& builder = builder_;
  Ptr links = root_.Key("links");
  Ptr at = links.Index(index);
  if (!j.is_array() || j.size() != 4)
    return Fail(at, fmt::format("expected a link array [node_a, port_a, node_b, port_b], got {}",
                                j.is_array() ? fmt::format("{} values", j.size()) : std::string(TypeName(j))));
  uint32_t v[4];
  for (size_t c = 0; c < 4; ++c) {
    auto x = Unsigned(j[c], at.Index(c), std::numeric_limits<uint32_t>::max());
    if (!x) return std::unexpected(x.error());
    v[c] = static_cast<uint32_t>(*x);
  }
  for (size_t c : {0, 2}) {
    if (v[c] >= builder.num_nodes())
      return Fail(at.Index(c), fmt::format("node {} does not exist (there are {} nodes)", v[c], builder.num_nodes()));
    unsigned n = builder.node(v[c]).num_ports;
    if (v[c + 1] < 1 || v[c + 1] > n)
      return Fail(at.Index(c + 1), fmt::format("node {} (\"{}\") has ports 1..{}, not {}", v[c],
                                               ShownValue(builder.description(v[c])), n, v[c + 1]));
    if (PortId peer = builder.peer(v[c], v[c + 1]); peer != kNone)
      return Fail(at.Index(c + 1),
                  fmt::format("port {} of node {} is already cabled by an earlier link", v[c + 1], v[c]));
  }
  auto link = builder.Connect(v[0], v[1], v[2], v[3]);
  if (!link) return Fail(at, link.error().message);
  return {};
}

Result<void> Reader::CheckHeader(const json* format, const json* version) const {
  if (!format) return Missing("format");
  if (!format->is_string() || format->get_ref<const std::string&>() != kJsonTopologyFormat)
    return Fail(root_.Key("format"), fmt::format("expected \"{}\", got {}", kJsonTopologyFormat, ShownJson(*format)));
  if (!version) return Missing("version");
  if (!version->is_number_integer() || version->get<int64_t>() != kJsonTopologyVersion)
    return Fail(root_.Key("version"), fmt::format("unsupported version {}, this fabricctl reads version {}",
                                                  ShownJson(*version), kJsonTopologyVersion));
  return {};
}

Result<void> Reader::ReadNodes(const json& nodes) {
  if (!nodes.is_array()) return NotArray("nodes", nodes);
  size_t slots = 0;
  for (const json& n : nodes)
    if (auto p = n.find("ports"); n.is_object() && p != n.end() && p->is_array()) slots += p->size();
  builder_.Reserve(nodes.size(), slots);
  node_by_guid_.reserve(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i)
    if (auto r = ReadNode(nodes[i], i); !r) return r;
  return {};
}

Result<void> Reader::ReadLinks(const json& links) {
  if (!links.is_array()) return NotArray("links", links);
  for (size_t i = 0; i < links.size(); ++i)
    if (auto r = ReadLink(links[i], i); !r) return r;
  return {};
}

Result<Fabric> Reader::Finish() {
  auto fabric = builder_.Build();
  if (!fabric) return std::unexpected(Error{.message = fabric.error().message, .where = fields_.filename()});
  return fabric;
}

Result<Fabric> Reader::Read(const json& doc) {
  if (!doc.is_object()) return NotObject(TypeName(doc));
  auto field = [&](std::string_view key) -> const json* {
    auto it = doc.find(key);
    return it == doc.end() ? nullptr : &*it;
  };
  if (auto r = CheckHeader(field("format"), field("version")); !r) return std::unexpected(r.error());
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& key = it.key();
    if (key != "format" && key != "version" && key != "nodes" && key != "links") return UnknownTopLevel(key);
  }
  const json* nodes = field("nodes");
  if (!nodes) return Missing("nodes");
  if (!nodes->is_array()) return NotArray("nodes", *nodes);
  const json* links = field("links");
  if (!links) return Missing("links");
  if (!links->is_array()) return NotArray("links", *links);
  if (auto r = ReadNodes(*nodes); !r) return std::unexpected(r.error());
  if (auto r = ReadLinks(*links); !r) return std::unexpected(r.error());
  return Finish();
}

// Reads the document as a stream of SAX events and hands each node and link to the Reader
// as soon as it is complete, so no DOM of the whole file is ever built: a 128,000-endpoint
// file is ~10 million values, and a DOM of it costs about ten times the file size. When
// "format" and "version" do not come first (a hand-written file), nodes and links are
// buffered until the header has been checked.
class StreamingReader : public JsonSaxEvents<StreamingReader> {
 public:
  StreamingReader(std::string_view text, std::string_view filename)
      : text_(text), filename_(filename), reader_(filename), seen_(text.data()) {}

  Result<Fabric> Run() {
    const char* begin = text_.data();
    bool ok = json::sax_parse(CountingIterator(begin, &seen_), CountingIterator(begin + text_.size(), &seen_), this);
    if (!ok && !error_) error_ = Error{.message = "JSON parser stopped without a reason", .where = filename_};
    if (!ok) return std::unexpected(std::move(*error_));
    if (!header_checked_)
      if (auto r = reader_.CheckHeader(Header("format"), Header("version")); !r) return std::unexpected(r.error());
    for (std::string_view key : {"nodes", "links"}) {
      if (!done_.contains(std::string(key)) && !buffered_.contains(std::string(key))) return reader_.Missing(key);
      auto it = buffered_.find(std::string(key));
      if (it == buffered_.end()) continue;
      auto r = key == "nodes" ? reader_.ReadNodes(it->second) : reader_.ReadLinks(it->second);
      if (!r) return std::unexpected(r.error());
    }
    return reader_.Finish();
  }

  // SAX interface (with JsonSaxEvents).
  bool key(std::string& k) {
    if (depth_ == 1) {
      if (k != "format" && k != "version" && k != "nodes" && k != "links") return Stop(reader_.UnknownTopLevel(k));
      if (done_.contains(k) || buffered_.contains(k) || header_.contains(k))
        return Stop(Error{.message = fmt::format("/{}: duplicate field", k),
                          .where = filename_,
                          .line = LineAt(text_, static_cast<size_t>(seen_ - text_.data())).line});
      top_key_ = k;
      return true;
    }
    if (value_.Key(k)) return true;
    return Stop(JsonDuplicateKeyError(text_, filename_, static_cast<size_t>(seen_ - text_.data()), k));
  }
  bool parse_error(size_t position, const std::string&, const nlohmann::detail::exception& e) {
    error_ = JsonSyntaxError(text_, filename_, position, e);
    return false;
  }

 private:
  friend class JsonSaxEvents<StreamingReader>;
  enum class Mode { kTop, kStreamNodes, kStreamLinks, kBuffer };

  const json* Header(const std::string& key) const {
    auto it = header_.find(key);
    return it == header_.end() ? nullptr : &it->second;
  }
  bool Stop(const std::unexpected<Error>& e) { return Stop(e.error()); }
  bool Stop(Error e) {
    error_ = std::move(e);
    return false;
  }
  // Semantic errors inside a streamed node or link: the line where that element starts.
  bool StopAtElement(Error e) {
    e.line = LineAt(text_, element_start_).line;
    return Stop(std::move(e));
  }

  // A value that starts at depth 1 (the value of a top-level key) or deeper.
  bool Scalar(json v) {
    if (depth_ == 0) return Stop(reader_.NotObject(v.type_name()));
    if (depth_ == 1) {
      if (top_key_ == "nodes" || top_key_ == "links") return Stop(reader_.NotArray(top_key_, v));
      header_[top_key_] = std::move(v);
      return true;
    }
    if (depth_ == 2 && mode_ != Mode::kBuffer) {
      element_start_ = static_cast<size_t>(seen_ - text_.data());
      value_.Reset();
      value_.Scalar(std::move(v));
      return Element();
    }
    value_.Scalar(std::move(v));
    return true;
  }

  bool Open(json container) {
    ++depth_;
    if (depth_ > kMaxJsonDepth)
      return Stop(JsonTooDeepError(text_, filename_, static_cast<size_t>(seen_ - text_.data()) - 1));
    if (depth_ == 1) {
      if (!container.is_object()) return Stop(reader_.NotObject(container.type_name()));
      return true;
    }
    if (depth_ == 2) {
      bool list = top_key_ == "nodes" || top_key_ == "links";
      if (list && !container.is_array()) return Stop(reader_.NotArray(top_key_, container));
      if (list && !header_checked_ && header_.contains("format") && header_.contains("version")) {
        if (auto r = reader_.CheckHeader(Header("format"), Header("version")); !r) return Stop(r.error());
        header_checked_ = true;
      }
      if (list && header_checked_ && top_key_ == "nodes") {
        mode_ = Mode::kStreamNodes;
        return true;
      }
      if (list && header_checked_ && done_.contains("nodes")) {
        mode_ = Mode::kStreamLinks;
        return true;
      }
      mode_ = Mode::kBuffer;
      value_.Reset();
      value_.Open(std::move(container));
      return true;
    }
    if (depth_ == 3 && mode_ != Mode::kBuffer) {
      element_start_ = static_cast<size_t>(seen_ - text_.data()) - 1;
      value_.Reset();
    }
    value_.Open(std::move(container));
    return true;
  }

  bool Close() {
    --depth_;
    if (depth_ == 0) return true;
    if (depth_ == 1) {
      if (mode_ == Mode::kBuffer) {
        value_.Close();
        if (top_key_ == "nodes" || top_key_ == "links")
          buffered_[top_key_] = value_.value();
        else
          header_[top_key_] = value_.value();
      } else {
        done_.insert(top_key_);
      }
      mode_ = Mode::kTop;
      return true;
    }
    bool complete = value_.Close();
    if (depth_ == 2 && mode_ != Mode::kBuffer && complete) return Element();
    return true;
  }

  bool Element() {
    auto r = mode_ == Mode::kStreamNodes ? reader_.ReadNode(value_.value(), index_[0]++)
                                         : reader_.ReadLink(value_.value(), index_[1]++);
    if (!r) return StopAtElement(r.error());
    return true;
  }

  std::string_view text_;
  std::string filename_;
  Reader reader_;
  const char* seen_;  // how far the parser has read
  int depth_ = 0;
  Mode mode_ = Mode::kTop;
  std::string top_key_;
  std::map<std::string, json> header_;    // format, version
  std::map<std::string, json> buffered_;  // nodes or links that came before the header
  std::set<std::string> done_;            // nodes or links already streamed
  bool header_checked_ = false;
  JsonValueBuilder value_;
  size_t element_start_ = 0;
  size_t index_[2] = {0, 0};
  std::optional<Error> error_;
};

}  // namespace

nlohmann::json TopologyToJson(const Fabric& fabric) {
  json nodes = json::array();
  for (NodeId n = 0; n < fabric.num_nodes(); ++n) {
    const Node& node = fabric.node(n);
    json ports = json::array();
    for (unsigned p = 0; p <= node.num_ports; ++p) {
      const Port& port = fabric.port(fabric.port_id(n, p));
      ports.push_back(json::array(
          {port.number, Hex(port.guid), port.lid, port.lmc, ToString(port.state), ToString(port.phys_state),
           ActiveName(port.width_active), WidthMaskName(port.width_enabled), WidthMaskName(port.width_supported),
           ActiveName(port.speed_active), SpeedMaskName(port.speed_enabled), SpeedMaskName(port.speed_supported)}));
    }
    json j = {{"type", ToString(node.type)},
              {"guid", Hex(node.guid)},
              {"system_guid", Hex(node.system_guid)},
              {"description", fabric.description(n)},
              {"vendor_id", ShortHex(node.vendor_id)},
              {"device_id", ShortHex(node.device_id)},
              {"ports", std::move(ports)}};
    json labels = LabelsToJson(node.labels);
    if (!labels.empty()) j["labels"] = std::move(labels);
    nodes.push_back(std::move(j));
  }
  json links = json::array();
  for (const Link& l : fabric.links()) {
    const Port& a = fabric.port(l.a);
    const Port& b = fabric.port(l.b);
    links.push_back(json::array({a.node, a.number, b.node, b.number}));
  }
  return json{{"format", kJsonTopologyFormat},
              {"version", kJsonTopologyVersion},
              {"nodes", std::move(nodes)},
              {"links", std::move(links)}};
}

std::string WriteJsonTopology(const Fabric& fabric) {
  fmt::memory_buffer out;
  out.reserve(fabric.num_port_slots() * 96 + fabric.num_links() * 24 + 256);
  auto it = std::back_inserter(out);
  fmt::format_to(it, "{{\n\"format\": \"{}\",\n\"version\": {},\n\"nodes\": [", kJsonTopologyFormat,
                 kJsonTopologyVersion);
  // Mask names repeat on almost every port; cache them.
  std::unordered_map<uint32_t, std::string> width_names, speed_names;
  auto width_name = [&](WidthMask m) -> const std::string& {
    auto [i, inserted] = width_names.try_emplace(m);
    if (inserted) i->second = WidthMaskName(m);
    return i->second;
  };
  auto speed_name = [&](SpeedMask m) -> const std::string& {
    auto [i, inserted] = speed_names.try_emplace(m);
    if (inserted) i->second = SpeedMaskName(m);
    return i->second;
  };
  for (NodeId n = 0; n < fabric.num_nodes(); ++n) {
    const Node& node = fabric.node(n);
    // Keys in the order nlohmann's object (std::map) dumps them, so the two writers agree.
    fmt::format_to(it, "{}\n{{\"description\": {}, \"device_id\": \"0x{:x}\", \"guid\": \"0x{:016x}\"", n ? "," : "",
                   Quote(fabric.description(n)), node.device_id, node.guid);
    const Labels& l = node.labels;
    if (l != Labels{}) {
      fmt::format_to(it, ", \"labels\": {{");
      const char* sep = "";
      if (l.level != FabricLevel::kUnknown)
        fmt::format_to(it, "{}\"level\": \"{}\"", std::exchange(sep, ", "), ToString(l.level));
      if (l.plane >= 0) fmt::format_to(it, "{}\"plane\": {}", std::exchange(sep, ", "), l.plane);
      if (l.rack >= 0) fmt::format_to(it, "{}\"rack\": {}", std::exchange(sep, ", "), l.rack);
      if (l.super_node >= 0) fmt::format_to(it, "{}\"super_node\": {}", std::exchange(sep, ", "), l.super_node);
      if (l.tier >= 0) fmt::format_to(it, "{}\"tier\": {}", std::exchange(sep, ", "), l.tier);
      fmt::format_to(it, "}}");
    }
    fmt::format_to(it, ", \"ports\": [");
    for (unsigned p = 0; p <= node.num_ports; ++p) {
      const Port& port = fabric.port(fabric.port_id(n, p));
      fmt::format_to(
          it, "{}\n  [{}, \"0x{:016x}\", {}, {}, \"{}\", \"{}\", \"{}\", \"{}\", \"{}\", \"{}\", \"{}\", \"{}\"]",
          p ? "," : "", port.number, port.guid, port.lid, port.lmc, ToString(port.state), ToString(port.phys_state),
          ActiveName(port.width_active), width_name(port.width_enabled), width_name(port.width_supported),
          ActiveName(port.speed_active), speed_name(port.speed_enabled), speed_name(port.speed_supported));
    }
    fmt::format_to(it, "],\n \"system_guid\": \"0x{:016x}\", \"type\": \"{}\", \"vendor_id\": \"0x{:x}\"}}",
                   node.system_guid, ToString(node.type), node.vendor_id);
  }
  fmt::format_to(it, "\n],\n\"links\": [");
  for (LinkId id = 0; id < fabric.num_links(); ++id) {
    const Port& a = fabric.port(fabric.link(id).a);
    const Port& b = fabric.port(fabric.link(id).b);
    fmt::format_to(it, "{}\n[{}, {}, {}, {}]", id ? "," : "", a.node, a.number, b.node, b.number);
  }
  fmt::format_to(it, "\n]\n}}\n");
  return fmt::to_string(out);
}

Result<Fabric> TopologyFromJson(const nlohmann::json& doc, std::string_view filename) {
  return Reader(filename).Read(doc);
}

Result<Fabric> ParseJsonTopology(std::string_view text, std::string_view filename) {
  return StreamingReader(text, filename).Run();
}

}  // namespace fabricctl
