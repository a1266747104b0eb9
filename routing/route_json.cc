#include "routing/route_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>

#include "fabric/display_text.h"
#include "fabric/json_reader.h"

namespace fabricctl {
namespace {

using nlohmann::json;

std::string GuidText(uint64_t g) { return fmt::format("0x{:016x}", g); }

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string WriteRouteJson(const Fabric& fabric, const RouteSet& routes) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  json doc = {{"format", "fabricctl-routes"}, {"version", kRouteJsonVersion}, {"subnets", json::array()}};
  for (const SubnetRoutes& r : routes.subnets) {
    const Subnet& subnet = fabric.subnets()[r.subnet];
    const size_t num_lids = r.num_lids();
    json s = {
        {"name", subnet.name}, {"engine", r.engine}, {"reason", r.reason}, {"num_lids", num_lids}, {"vls", r.num_vls}};
    json lids = json::array();
    for (Lid lid = 1; lid < num_lids; ++lid) {
      PortId p = r.lid_owner[lid];
      if (p == kNone) continue;
      const Port& port = fabric.port(p);
      lids.push_back(json::array({lid, GuidText(fabric.node(port.node).guid), port.number}));
    }
    s["lids"] = std::move(lids);
    json sws = json::array();
    for (size_t i = 0; i < r.switches.size(); ++i) {
      NodeId sw = r.switches[i];
      std::string lft(2 * num_lids, '0');
      for (size_t lid = 0; lid < num_lids; ++lid) {
        uint8_t v = r.lft[i * num_lids + lid];
        lft[2 * lid] = kHexDigits[v >> 4];
        lft[2 * lid + 1] = kHexDigits[v & 15];
      }
      Lid own = routes.port_lid.size() > fabric.port_id(sw, 0) ? routes.port_lid[fabric.port_id(sw, 0)] : 0;
      sws.push_back({{"guid", GuidText(fabric.node(sw).guid)},
                     {"description", fabric.description(sw)},
                     {"lid", own},
                     {"lft", std::move(lft)}});
    }
    s["switches"] = std::move(sws);
    if (r.num_vls > 1) {
      RawSlTable sl = ToRawSlTable(fabric, subnet, r);
      json x = json::array();
      for (const auto& e : sl.sl2vl) x.push_back(json::array({GuidText(e.switch_guid), e.in, e.out, Sl2vlText(e.vl)}));
      json rows = json::array();
      for (const auto& row : sl.rows) rows.push_back(json::array({row.src, row.sl}));
      s["sl"] = {{"endpoint_sl2vl", Sl2vlText(sl.endpoint_sl2vl)},
                 {"sl2vl_default", Sl2vlText(sl.sl2vl_default)},
                 {"sl2vl", std::move(x)},
                 {"pair_sl", std::move(rows)}};
    }
    doc["subnets"].push_back(std::move(s));
  }
  return doc.dump(1) + "\n";
}

namespace {

// LIDs as far as the dump reader takes them (28 bits); the LFT string bounds the rest.
constexpr uint64_t kMaxLid = 0xFFFFFFF;
constexpr uint64_t kMaxPort = 254;

// Reads a parsed routes.json. Every array is walked in place by index (no copies), every
// number is range-checked before it is narrowed, and every error names the JSON pointer
// and the line of the offending value.
class RouteJsonReader {
 public:
  RouteJsonReader(const JsonDocument& doc, std::string_view filename)
      : doc_(doc), fields_(filename, &doc.lines), where_(filename) {}

  Result<std::vector<ParsedRouteSubnet>> Read() {
    auto top = fields_.Object(doc_.root, root_, {"format", "version", "subnets"});
    if (!top) return std::unexpected(top.error());
    auto format = fields_.Required(doc_.root, root_, "format");
    if (!format) return std::unexpected(format.error());
    JsonPath format_at = root_.Key("format");
    if (!(*format)->is_string() || (*format)->get_ref<const std::string&>() != "fabricctl-routes")
      return fields_.Fail(format_at, fmt::format("expected \"fabricctl-routes\", got {}", ShownJson(**format)),
                          *format);
    auto version = fields_.Required(doc_.root, root_, "version");
    if (!version) return std::unexpected(version.error());
    JsonPath version_at = root_.Key("version");
    if (auto v = fields_.Unsigned(**version, version_at, kRouteJsonVersion, kRouteJsonVersion); !v)
      return std::unexpected(v.error());
    auto subnets = fields_.Required(doc_.root, root_, "subnets");
    if (!subnets) return std::unexpected(subnets.error());
    JsonPath subnets_at = root_.Key("subnets");
    if (auto a = fields_.Array(**subnets, subnets_at); !a) return std::unexpected(a.error());
    std::vector<ParsedRouteSubnet> out;
    for (size_t i = 0; i < (*subnets)->size(); ++i) {
      auto subnet = ReadSubnet((**subnets)[i], subnets_at.Index(i));
      if (!subnet) return std::unexpected(subnet.error());
      out.push_back(std::move(*subnet));
    }
    return out;
  }

 private:
  template <typename T>
  static std::unexpected<Error> Pass(const Result<T>& r) {
    return std::unexpected(r.error());
  }

  Result<std::string> OptionalString(const json& object, const JsonPath& at, std::string_view key) const {
    const json* field = JsonFields::Find(object, key);
    if (!field) return std::string();
    JsonPath here = at.Key(key);
    auto s = fields_.String(*field, here);
    if (!s) return Pass(s);
    return **s;
  }

  Result<ParsedRouteSubnet> ReadSubnet(const json& s, const JsonPath& at) const {
    auto object = fields_.Object(s, at, {"name", "engine", "reason", "num_lids", "vls", "lids", "switches", "sl"});
    if (!object) return Pass(object);
    ParsedRouteSubnet p;
    p.lfts.where = where_;
    auto name = fields_.Required(s, at, "name");
    if (!name) return Pass(name);
    JsonPath name_at = at.Key("name");
    auto name_text = fields_.String(**name, name_at);
    if (!name_text) return Pass(name_text);
    p.lfts.subnet = **name_text;
    auto engine = OptionalString(s, at, "engine");
    if (!engine) return Pass(engine);
    p.engine = std::move(*engine);
    auto reason = OptionalString(s, at, "reason");
    if (!reason) return Pass(reason);
    p.reason = std::move(*reason);
    auto num_lids_field = fields_.Required(s, at, "num_lids");
    if (!num_lids_field) return Pass(num_lids_field);
    JsonPath num_lids_at = at.Key("num_lids");
    auto num_lids = fields_.Unsigned(**num_lids_field, num_lids_at, kMaxLid + 1);
    if (!num_lids) return Pass(num_lids);
    if (auto r = ReadLids(s, at, *num_lids, p.lfts); !r) return Pass(r);
    if (auto r = ReadSwitches(s, at, *num_lids, p.lfts); !r) return Pass(r);
    auto sl = ReadSlIfAny(s, at, *num_lids, p.lfts.subnet);
    if (!sl) return Pass(sl);
    p.sl = std::move(*sl);
    return p;
  }

  Result<void> ReadLids(const json& s, const JsonPath& at, uint64_t num_lids, RawLfts& out) const {
    auto lids = fields_.Required(s, at, "lids");
    if (!lids) return Pass(lids);
    JsonPath lids_at = at.Key("lids");
    if (auto a = fields_.Array(**lids, lids_at); !a) return Pass(a);
    for (size_t i = 0; i < (*lids)->size(); ++i) {
      const json& e = (**lids)[i];
      JsonPath e_at = lids_at.Index(i);
      if (auto a = fields_.Array(e, e_at, 3, 3); !a)
        return fields_.Fail(e_at, "expected [LID, \"0xNODEGUID\", PORT]", &e);
      JsonPath lid_at = e_at.Index(0), guid_at = e_at.Index(1), port_at = e_at.Index(2);
      if (num_lids < 2) return fields_.Fail(lid_at, "no LID can be listed when num_lids is below 2", &e[0]);
      auto lid = fields_.Unsigned(e[0], lid_at, 1, num_lids - 1);
      if (!lid) return Pass(lid);
      auto guid = fields_.Hex(e[1], guid_at, 16);
      if (!guid) return Pass(guid);
      auto port = fields_.Unsigned(e[2], port_at, kMaxPort);
      if (!port) return Pass(port);
      auto [it, fresh] = out.owners.emplace(
          static_cast<Lid>(*lid),
          RawLidOwner{.node_guid = *guid, .port_number = static_cast<int>(*port), .line = doc_.lines.LineOf(e)});
      if (!fresh) return fields_.Fail(lid_at, fmt::format("LID {} listed twice", *lid), &e[0]);
    }
    return {};
  }

  Result<void> ReadSwitches(const json& s, const JsonPath& at, uint64_t num_lids, RawLfts& out) const {
    auto switches = fields_.Required(s, at, "switches");
    if (!switches) return Pass(switches);
    JsonPath switches_at = at.Key("switches");
    if (auto a = fields_.Array(**switches, switches_at); !a) return Pass(a);
    for (size_t i = 0; i < (*switches)->size(); ++i) {
      auto sw = ReadSwitch((**switches)[i], switches_at.Index(i), num_lids);
      if (!sw) return Pass(sw);
      out.switches.push_back(std::move(*sw));
    }
    return {};
  }

  Result<RawSwitchLft> ReadSwitch(const json& w, const JsonPath& at, uint64_t num_lids) const {
    if (auto o = fields_.Object(w, at, {"guid", "description", "lid", "lft"}); !o) return Pass(o);
    RawSwitchLft sw;
    sw.line = doc_.lines.LineOf(w);
    auto guid = fields_.Required(w, at, "guid");
    if (!guid) return Pass(guid);
    JsonPath guid_at = at.Key("guid");
    auto guid_value = fields_.Hex(**guid, guid_at, 16);
    if (!guid_value) return Pass(guid_value);
    sw.guid = *guid_value;
    auto description = OptionalString(w, at, "description");
    if (!description) return Pass(description);
    sw.description = std::move(*description);
    if (const json* lid = JsonFields::Find(w, "lid")) {
      JsonPath lid_at = at.Key("lid");
      auto v = fields_.Unsigned(*lid, lid_at, kMaxLid);
      if (!v) return Pass(v);
      sw.lid = static_cast<Lid>(*v);
    }
    auto lft = fields_.Required(w, at, "lft");
    if (!lft) return Pass(lft);
    JsonPath lft_at = at.Key("lft");
    auto text = fields_.String(**lft, lft_at);
    if (!text) return Pass(text);
    const std::string& digits = **text;
    if (digits.size() != 2 * num_lids)
      return fields_.Fail(lft_at, fmt::format("{} hex digits, expected {} (2 per LID)", digits.size(), 2 * num_lids),
                          *lft);
    sw.lft.resize(num_lids);
    for (size_t lid = 0; lid < num_lids; ++lid) {
      int hi = Hex(digits[2 * lid]), lo = Hex(digits[2 * lid + 1]);
      if (hi < 0 || lo < 0) return fields_.Fail(lft_at, fmt::format("bad hex digits at LID {}", lid), *lft);
      sw.lft[lid] = static_cast<uint8_t>(hi * 16 + lo);
    }
    if (num_lids) sw.lft[0] = kNoRoute;
    return sw;
  }

  Result<std::optional<RawSlTable>> ReadSlIfAny(const json& s, const JsonPath& at, uint64_t num_lids,
                                                const std::string& subnet) const {
    uint64_t vls = 1;
    if (const json* field = JsonFields::Find(s, "vls")) {
      JsonPath vls_at = at.Key("vls");
      auto v = fields_.Unsigned(*field, vls_at, 1, 15);
      if (!v) return Pass(v);
      vls = *v;
    }
    const json* sl = JsonFields::Find(s, "sl");
    JsonPath sl_at = at.Key("sl");
    if (vls == 1) {
      if (sl) return fields_.Fail(sl_at, "SL tables need vls above 1", sl);
      return std::nullopt;
    }
    if (!sl) return fields_.Fail(at, "missing field \"sl\" (vls above 1)", &s);
    if (auto o = fields_.Object(*sl, sl_at, {"endpoint_sl2vl", "sl2vl_default", "sl2vl", "pair_sl"}); !o)
      return Pass(o);
    RawSlTable t{.subnet = subnet, .vls = static_cast<uint8_t>(vls), .num_lids = num_lids};
    t.line = doc_.lines.LineOf(*sl);
    if (auto r = ReadVlMap(*sl, sl_at, "endpoint_sl2vl", t.endpoint_sl2vl); !r) return Pass(r);
    if (auto r = ReadVlMap(*sl, sl_at, "sl2vl_default", t.sl2vl_default); !r) return Pass(r);
    if (auto r = ReadSl2vl(*sl, sl_at, t); !r) return Pass(r);
    if (auto r = ReadPairSl(*sl, sl_at, num_lids, t); !r) return Pass(r);
    return t;
  }

  Result<void> VlMap(const json& j, const JsonPath& at, std::array<uint8_t, 16>& out) const {
    auto s = fields_.String(j, at);
    if (!s) return Pass(s);
    if (!ParseSl2vlText(**s, out))
      return fields_.Fail(at, fmt::format("expected 16 hex digits (the VL of SL 0..15), got \"{}\"", ShownValue(**s)),
                          &j);
    return {};
  }

  Result<void> ReadVlMap(const json& sl, const JsonPath& at, std::string_view key, std::array<uint8_t, 16>& out) const {
    auto field = fields_.Required(sl, at, key);
    if (!field) return Pass(field);
    JsonPath here = at.Key(key);
    return VlMap(**field, here, out);
  }

  Result<void> ReadSl2vl(const json& sl, const JsonPath& at, RawSlTable& t) const {
    const json* list = JsonFields::Find(sl, "sl2vl");
    if (!list) return {};
    JsonPath list_at = at.Key("sl2vl");
    if (auto a = fields_.Array(*list, list_at); !a) return Pass(a);
    for (size_t i = 0; i < list->size(); ++i) {
      const json& e = (*list)[i];
      JsonPath e_at = list_at.Index(i);
      if (auto a = fields_.Array(e, e_at, 4, 4); !a)
        return fields_.Fail(e_at, "expected [\"0xGUID\", IN, OUT, \"16 hex digits\"]", &e);
      JsonPath guid_at = e_at.Index(0), in_at = e_at.Index(1), out_at = e_at.Index(2), map_at = e_at.Index(3);
      RawSlTable::Sl2vl x{.line = doc_.lines.LineOf(e)};
      auto guid = fields_.Hex(e[0], guid_at, 16);
      if (!guid) return Pass(guid);
      auto in = fields_.Unsigned(e[1], in_at, kMaxPort);
      if (!in) return Pass(in);
      auto out = fields_.Unsigned(e[2], out_at, 1, kMaxPort);
      if (!out) return Pass(out);
      if (auto r = VlMap(e[3], map_at, x.vl); !r) return Pass(r);
      x.switch_guid = *guid;
      x.in = static_cast<uint8_t>(*in);
      x.out = static_cast<uint8_t>(*out);
      t.sl2vl.push_back(x);
    }
    return {};
  }

  Result<void> ReadPairSl(const json& sl, const JsonPath& at, uint64_t num_lids, RawSlTable& t) const {
    const json* list = JsonFields::Find(sl, "pair_sl");
    if (!list) return {};
    JsonPath list_at = at.Key("pair_sl");
    if (auto a = fields_.Array(*list, list_at); !a) return Pass(a);
    for (size_t i = 0; i < list->size(); ++i) {
      const json& e = (*list)[i];
      JsonPath e_at = list_at.Index(i);
      if (auto a = fields_.Array(e, e_at, 2, 2); !a)
        return fields_.Fail(e_at, "expected [SOURCE LID, \"SL digits\"]", &e);
      JsonPath src_at = e_at.Index(0), digits_at = e_at.Index(1);
      if (num_lids < 2) return fields_.Fail(src_at, "no LID can be listed when num_lids is below 2", &e[0]);
      auto src = fields_.Unsigned(e[0], src_at, 1, num_lids - 1);
      if (!src) return Pass(src);
      auto digits = fields_.String(e[1], digits_at);
      if (!digits) return Pass(digits);
      if ((*digits)->size() != num_lids)
        return fields_.Fail(digits_at,
                            fmt::format("{} SL digits, expected {} (one per LID)", (*digits)->size(), num_lids), &e[1]);
      for (size_t d = 0; d < num_lids; ++d)
        if ((**digits)[d] != '-' && Hex(static_cast<char>(std::tolower(static_cast<unsigned char>((**digits)[d])))) < 0)
          return fields_.Fail(digits_at, fmt::format("bad SL digit at LID {}, expected 0-f or '-'", d), &e[1]);
      t.rows.push_back({static_cast<Lid>(*src), **digits, doc_.lines.LineOf(e)});
    }
    return {};
  }

  const JsonDocument& doc_;
  JsonFields fields_;
  std::string where_;
  JsonPath root_;
};

}  // namespace

Result<std::vector<ParsedRouteSubnet>> ParseRouteJson(std::string_view text, std::string_view filename) {
  auto doc = ReadJsonDocument(text, filename);
  if (!doc) return std::unexpected(doc.error());
  return RouteJsonReader(**doc, filename).Read();
}

}  // namespace fabricctl
