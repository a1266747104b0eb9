#include "routing/route_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

namespace fabricctl {
namespace {

using nlohmann::json;

std::string GuidText(uint64_t g) { return fmt::format("0x{:016x}", g); }

bool ParseGuid(const json& j, uint64_t& v) {
  if (!j.is_string()) return false;
  std::string_view s = j.get_ref<const std::string&>();
  if (!s.starts_with("0x") || s.size() < 3) return false;
  auto [p, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), v, 16);
  return ec == std::errc() && p == s.data() + s.size();
}

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
    const size_t L = r.num_lids();
    json s = {{"name", subnet.name}, {"engine", r.engine}, {"reason", r.reason}, {"num_lids", L}, {"vls", r.num_vls}};
    json lids = json::array();
    for (Lid lid = 1; lid < L; ++lid) {
      PortId p = r.lid_owner[lid];
      if (p == kNone) continue;
      const Port& port = fabric.port(p);
      lids.push_back(json::array({lid, GuidText(fabric.node(port.node).guid), port.number}));
    }
    s["lids"] = std::move(lids);
    json sws = json::array();
    for (size_t i = 0; i < r.switches.size(); ++i) {
      NodeId sw = r.switches[i];
      std::string lft(2 * L, '0');
      for (size_t lid = 0; lid < L; ++lid) {
        uint8_t v = r.lft[i * L + lid];
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

Result<std::vector<ParsedRouteSubnet>> ParseRouteJson(std::string_view text, std::string_view filename) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    size_t at = std::min(e.byte, text.size());
    int line = 1 + int(std::count(text.begin(), text.begin() + at, '\n'));
    return MakeInputError(std::string(filename), line, fmt::format("not valid JSON: {}", e.what()));
  }
  auto err = [&](std::string path, std::string msg) {
    return MakeInputError(std::string(filename), 0, fmt::format("{}: {}", path, msg));
  };
  if (!doc.is_object() || doc.value("format", "") != "fabricctl-routes")
    return err("/format", "expected \"fabricctl-routes\"");
  if (!doc.contains("version") || !doc["version"].is_number_integer() || doc["version"].get<int>() != kRouteJsonVersion)
    return err("/version", fmt::format("expected {}", kRouteJsonVersion));
  if (!doc.contains("subnets") || !doc["subnets"].is_array()) return err("/subnets", "expected an array");
  std::vector<ParsedRouteSubnet> out;
  for (size_t si = 0; si < doc["subnets"].size(); ++si) {
    const json& s = doc["subnets"][si];
    const std::string at = fmt::format("/subnets/{}", si);
    if (!s.is_object()) return err(at, "expected an object");
    ParsedRouteSubnet p;
    p.lfts.where = std::string(filename);
    if (!s.contains("name") || !s["name"].is_string()) return err(at + "/name", "expected a string");
    p.lfts.subnet = s["name"].get<std::string>();
    p.engine = s.value("engine", "");
    p.reason = s.value("reason", "");
    if (!s.contains("num_lids") || !s["num_lids"].is_number_unsigned())
      return err(at + "/num_lids", "expected a count");
    const size_t L = s["num_lids"].get<size_t>();
    if (!s.contains("lids") || !s["lids"].is_array()) return err(at + "/lids", "expected an array");
    for (size_t i = 0; i < s["lids"].size(); ++i) {
      const json& e = s["lids"][i];
      uint64_t guid = 0;
      if (!e.is_array() || e.size() != 3 || !e[0].is_number_unsigned() || !ParseGuid(e[1], guid) ||
          !e[2].is_number_unsigned() || e[2].get<unsigned>() > 254 || e[0].get<uint64_t>() >= L ||
          e[0].get<uint64_t>() == 0)
        return err(fmt::format("{}/lids/{}", at, i), "expected [LID 1..num_lids-1, \"0xNODEGUID\", PORT]");
      Lid lid = e[0].get<Lid>();
      if (p.lfts.owners.count(lid))
        return err(fmt::format("{}/lids/{}", at, i), fmt::format("LID {} listed twice", lid));
      p.lfts.owners[lid] = RawLidOwner{.node_guid = guid, .port_number = e[2].get<int>()};
    }
    if (!s.contains("switches") || !s["switches"].is_array()) return err(at + "/switches", "expected an array");
    for (size_t i = 0; i < s["switches"].size(); ++i) {
      const json& w = s["switches"][i];
      const std::string wat = fmt::format("{}/switches/{}", at, i);
      RawSwitchLft sw;
      if (!w.is_object() || !w.contains("guid") || !ParseGuid(w["guid"], sw.guid))
        return err(wat + "/guid", "expected \"0xGUID\"");
      sw.description = w.value("description", "");
      sw.lid = w.value("lid", Lid{0});
      if (!w.contains("lft") || !w["lft"].is_string()) return err(wat + "/lft", "expected a hex string");
      const std::string& lft = w["lft"].get_ref<const std::string&>();
      if (lft.size() != 2 * L)
        return err(wat + "/lft", fmt::format("{} hex digits, expected {} (2 per LID)", lft.size(), 2 * L));
      sw.lft.resize(L);
      for (size_t lid = 0; lid < L; ++lid) {
        int hi = Hex(lft[2 * lid]), lo = Hex(lft[2 * lid + 1]);
        if (hi < 0 || lo < 0) return err(wat + "/lft", fmt::format("bad hex digits at LID {}", lid));
        sw.lft[lid] = static_cast<uint8_t>(hi * 16 + lo);
      }
      if (L) sw.lft[0] = kNoRoute;
      p.lfts.switches.push_back(std::move(sw));
    }
    const unsigned vls = s.value("vls", 1u);
    if (vls < 1 || vls > 15) return err(at + "/vls", "expected 1..15");
    if (vls > 1) {
      if (!s.contains("sl") || !s["sl"].is_object()) return err(at + "/sl", "expected an object when vls > 1");
      const json& sl = s["sl"];
      RawSlTable t{.subnet = p.lfts.subnet, .vls = uint8_t(vls), .num_lids = L};
      if (!sl.contains("endpoint_sl2vl") || !sl["endpoint_sl2vl"].is_string() ||
          !ParseSl2vlText(sl["endpoint_sl2vl"].get<std::string>(), t.endpoint_sl2vl))
        return err(at + "/sl/endpoint_sl2vl", "expected 16 hex digits");
      if (!sl.contains("sl2vl_default") || !sl["sl2vl_default"].is_string() ||
          !ParseSl2vlText(sl["sl2vl_default"].get<std::string>(), t.sl2vl_default))
        return err(at + "/sl/sl2vl_default", "expected 16 hex digits");
      for (size_t i = 0; i < sl.value("sl2vl", json::array()).size(); ++i) {
        const json& e = sl["sl2vl"][i];
        RawSlTable::Sl2vl x{};
        if (!e.is_array() || e.size() != 4 || !ParseGuid(e[0], x.switch_guid) || !e[1].is_number_unsigned() ||
            !e[2].is_number_unsigned() || !e[3].is_string() || !ParseSl2vlText(e[3].get<std::string>(), x.vl))
          return err(fmt::format("{}/sl/sl2vl/{}", at, i), "expected [\"0xGUID\", IN, OUT, \"16 hex digits\"]");
        x.in = e[1].get<uint8_t>(), x.out = e[2].get<uint8_t>();
        t.sl2vl.push_back(x);
      }
      for (size_t i = 0; i < sl.value("pair_sl", json::array()).size(); ++i) {
        const json& e = sl["pair_sl"][i];
        if (!e.is_array() || e.size() != 2 || !e[0].is_number_unsigned() || !e[1].is_string())
          return err(fmt::format("{}/sl/pair_sl/{}", at, i), "expected [SOURCE LID, \"SL digits\"]");
        t.rows.push_back({e[0].get<Lid>(), e[1].get<std::string>(), 0});
      }
      p.sl = std::move(t);
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace fabricctl
