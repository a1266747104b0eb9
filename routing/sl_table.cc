#include "routing/sl_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <unordered_map>

#include "fabric/display_text.h"
#include "fabric/text_lines.h"

namespace fabricctl {
namespace {

constexpr char kHex[] = "0123456789abcdef";

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool ParseUint(std::string_view s, uint64_t& v) {
  int base = 10;
  if (s.starts_with("0x")) {
    s.remove_prefix(2);
    base = 16;
  }
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string Sl2vlText(const std::array<uint8_t, 16>& vl) {
  std::string s(16, '0');
  for (int i = 0; i < 16; ++i) s[i] = kHex[vl[i] & 15];
  return s;
}

bool ParseSl2vlText(std::string_view text, std::array<uint8_t, 16>& vl) {
  if (text.size() != 16) return false;
  for (int i = 0; i < 16; ++i) {
    int d = HexDigit(text[i]);
    if (d < 0) return false;
    vl[i] = static_cast<uint8_t>(d);
  }
  return true;
}

RawSlTable ToRawSlTable(const Fabric& fabric, const Subnet& subnet, const SubnetRoutes& routes) {
  RawSlTable raw;
  raw.subnet = subnet.name;
  raw.vls = routes.num_vls;
  raw.num_lids = routes.num_lids();
  raw.endpoint_sl2vl = routes.endpoint_sl2vl;
  for (int i = 0; i < 16; ++i) raw.sl2vl_default[i] = static_cast<uint8_t>(i);
  const uint32_t stride = routes.sl2vl_stride;
  if (stride && routes.sl2vl.size() >= routes.switches.size() * stride * stride * 16) {
    auto map_at = [&](size_t i, uint32_t in, uint32_t out) {
      std::array<uint8_t, 16> m;
      std::copy_n(&routes.sl2vl[((i * stride + in) * stride + out) * 16], 16, m.begin());
      return m;
    };
    std::map<std::array<uint8_t, 16>, size_t> count;
    for (size_t i = 0; i < routes.switches.size(); ++i) {
      unsigned np = fabric.node(routes.switches[i]).num_ports;
      for (uint32_t in = 0; in <= np && in < stride; ++in)
        for (uint32_t out = 1; out <= np && out < stride; ++out)
          if (in != out) ++count[map_at(i, in, out)];
    }
    if (!count.empty())
      raw.sl2vl_default =
          std::max_element(count.begin(), count.end(), [](auto& a, auto& b) { return a.second < b.second; })->first;
    for (size_t i = 0; i < routes.switches.size(); ++i) {
      unsigned np = fabric.node(routes.switches[i]).num_ports;
      for (uint32_t in = 0; in <= np && in < stride; ++in)
        for (uint32_t out = 1; out <= np && out < stride; ++out)
          if (in != out)
            if (auto m = map_at(i, in, out); m != raw.sl2vl_default)
              raw.sl2vl.push_back({fabric.node(routes.switches[i]).guid, uint8_t(in), uint8_t(out), m, 0});
    }
  }
  const size_t num_lids = routes.num_lids();
  if (routes.pair_sl.size() >= subnet.endpoint_ports.size() * num_lids) {
    std::vector<Lid> lid_of(subnet.endpoint_ports.size(), 0);
    for (Lid lid = 1; lid < num_lids; ++lid) {
      PortId p = routes.lid_owner[lid];
      auto it = std::lower_bound(subnet.endpoint_ports.begin(), subnet.endpoint_ports.end(), p);
      if (p != kNone && it != subnet.endpoint_ports.end() && *it == p) lid_of[it - subnet.endpoint_ports.begin()] = lid;
    }
    for (size_t e = 0; e < subnet.endpoint_ports.size(); ++e) {
      if (!lid_of[e]) continue;
      std::string row(num_lids, '-');
      for (Lid d = 1; d < num_lids; ++d)
        if (routes.lid_owner[d] != kNone) row[d] = kHex[routes.pair_sl[e * num_lids + d] & 15];
      raw.rows.push_back({lid_of[e], std::move(row), 0});
    }
    std::sort(raw.rows.begin(), raw.rows.end(), [](auto& a, auto& b) { return a.src < b.src; });
  }
  return raw;
}

Result<void> ApplyRawSlTable(const Fabric& fabric, const RawSlTable& raw, std::string_view where,
                             SubnetRoutes& routes) {
  const size_t num_lids = routes.num_lids();
  auto err = [&](int line, std::string msg) { return MakeInputError(std::string(where), line, std::move(msg)); };
  if (raw.vls < 1 || raw.vls > 15) return err(raw.line, fmt::format("{} VLs; expected 1..15", raw.vls));
  if (raw.num_lids != num_lids)
    return err(raw.line,
               fmt::format("the SL table covers LIDs 0..{}, the routes 0..{}", raw.num_lids - 1, num_lids - 1));
  const Subnet& subnet = fabric.subnets()[routes.subnet];
  routes.num_vls = raw.vls;
  routes.endpoint_sl2vl = raw.endpoint_sl2vl;
  routes.pair_sl.assign(subnet.endpoint_ports.size() * num_lids, 0);
  for (const RawSlTable::Row& row : raw.rows) {
    PortId p = row.src < num_lids ? routes.lid_owner[row.src] : kNone;
    auto it = std::lower_bound(subnet.endpoint_ports.begin(), subnet.endpoint_ports.end(), p);
    if (p == kNone || it == subnet.endpoint_ports.end() || *it != p)
      return err(row.line,
                 fmt::format("source LID {} is not an endpoint of subnet {}", row.src, ShownValue(subnet.name)));
    if (row.sl.size() != num_lids)
      return err(row.line, fmt::format("{} SL digits, expected {} (one per LID)", row.sl.size(), num_lids));
    size_t e = size_t(it - subnet.endpoint_ports.begin());
    for (size_t d = 0; d < num_lids; ++d) {
      if (row.sl[d] == '-') continue;
      int v = HexDigit(row.sl[d]);
      if (v < 0) return err(row.line, fmt::format("bad SL digit '{}' for LID {}", ShownValue(row.sl.substr(d, 1)), d));
      routes.pair_sl[e * num_lids + d] = static_cast<uint8_t>(v);
    }
  }
  uint32_t stride = 1;
  for (NodeId sw : routes.switches) stride = std::max<uint32_t>(stride, fabric.node(sw).num_ports + 1u);
  routes.sl2vl_stride = stride;
  routes.sl2vl.assign(routes.switches.size() * stride * stride * 16, 0);
  for (size_t i = 0; i < routes.switches.size(); ++i)
    for (uint32_t k = 0; k < stride * stride; ++k)
      std::copy(raw.sl2vl_default.begin(), raw.sl2vl_default.end(), &routes.sl2vl[(i * stride * stride + k) * 16]);
  for (const RawSlTable::Sl2vl& x : raw.sl2vl) {
    auto node = fabric.FindByGuid(x.switch_guid);
    auto it = node ? std::lower_bound(routes.switches.begin(), routes.switches.end(), *node) : routes.switches.end();
    if (it == routes.switches.end() || *it != *node)
      return err(x.line, fmt::format("switch 0x{:016x} is not in subnet {}", x.switch_guid, ShownValue(subnet.name)));
    if (x.in >= stride || x.out >= stride || x.out == 0 || x.in > fabric.node(*node).num_ports ||
        x.out > fabric.node(*node).num_ports)
      return err(x.line, fmt::format("ports {} -> {} out of range for '{}'", x.in, x.out,
                                     ShownValue(fabric.description(*node))));
    size_t i = size_t(it - routes.switches.begin());
    std::copy(x.vl.begin(), x.vl.end(), &routes.sl2vl[((i * stride + x.in) * stride + x.out) * 16]);
  }
  return {};
}

std::string WriteSlTable(const std::vector<RawSlTable>& tables) {
  std::string out = "# fabricctl sl-table v1\n";
  for (const RawSlTable& t : tables) {
    out += fmt::format("subnet {} vls {} lids 0x{:x}\n", t.subnet, t.vls, t.num_lids);
    out += "endpoint-sl2vl " + Sl2vlText(t.endpoint_sl2vl) + "\n";
    out += "sl2vl-default " + Sl2vlText(t.sl2vl_default) + "\n";
    for (const auto& x : t.sl2vl)
      out += fmt::format("sl2vl 0x{:016x} {} {} {}\n", x.switch_guid, x.in, x.out, Sl2vlText(x.vl));
    for (const auto& r : t.rows) {
      out += fmt::format("src 0x{:04x} ", r.src);
      out += r.sl;
      out += '\n';
    }
    out += "end\n";
  }
  return out;
}

Result<std::vector<RawSlTable>> ParseSlTable(std::string_view text, std::string_view filename) {
  std::vector<RawSlTable> tables;
  RawSlTable* cur = nullptr;
  std::unordered_map<uint64_t, int> source_lines;  // of the current table
  int line_no = 0;
  bool header = false;
  for (TextLines lines(text); lines.Next();) {
    const std::string_view line = lines.line();
    line_no = lines.number();
    auto err = [&](std::string msg) {
      return MakeInputError(std::string(filename), line_no, std::move(msg), std::string(line));
    };
    if (!header) {
      if (line.starts_with("# fabricctl sl-table v1")) {
        header = true;
        continue;
      }
      return err("expected the header '# fabricctl sl-table v1'");
    }
    auto f = Fields(line);
    if (f.empty() || f[0].front() == '#') continue;
    if (f[0] == "subnet") {
      uint64_t vls = 0, lids = 0;
      if (cur) return err("'subnet' before the previous subnet's 'end'");
      if (f.size() != 6 || f[2] != "vls" || f[4] != "lids" || !ParseUint(f[3], vls) || !ParseUint(f[5], lids) ||
          vls < 1 || vls > 15 || lids < 1)
        return err("expected 'subnet NAME vls N lids 0xN' with 1..15 VLs and at least 1 LID");
      for (const RawSlTable& t : tables)
        if (t.subnet == f[1])
          return err(fmt::format("subnet '{}' already has a table on line {}", ShownValue(f[1]), t.line));
      source_lines.clear();
      tables.push_back(RawSlTable{.subnet = std::string(f[1]), .vls = uint8_t(vls), .num_lids = lids, .line = line_no});
      cur = &tables.back();
      continue;
    }
    if (!cur) return err("expected 'subnet NAME vls N lids 0xN'");
    if (f[0] == "end" && f.size() == 1) {
      cur = nullptr;
      continue;
    }
    if ((f[0] == "endpoint-sl2vl" || f[0] == "sl2vl-default") && f.size() == 2) {
      if (!ParseSl2vlText(f[1], f[0] == "endpoint-sl2vl" ? cur->endpoint_sl2vl : cur->sl2vl_default))
        return err("expected 16 hex digits (the VL of SL 0..15)");
      continue;
    }
    if (f[0] == "sl2vl") {
      uint64_t guid = 0, in = 0, out = 0;
      RawSlTable::Sl2vl x{};
      if (f.size() != 5 || !ParseUint(f[1], guid) || !ParseUint(f[2], in) || !ParseUint(f[3], out) || in > 254 ||
          out > 254 || !ParseSl2vlText(f[4], x.vl))
        return err("expected 'sl2vl 0xSWITCHGUID IN OUT 16-HEX-DIGITS'");
      x.switch_guid = guid;
      x.in = uint8_t(in);
      x.out = uint8_t(out);
      x.line = line_no;
      cur->sl2vl.push_back(x);
      continue;
    }
    if (f[0] == "src") {
      uint64_t src = 0;
      if (f.size() != 3 || !ParseUint(f[1], src) || src > 0xFFFFFFFF) return err("expected 'src 0xLID SL-DIGITS'");
      if (auto [it, fresh] = source_lines.emplace(src, line_no); !fresh)
        return err(fmt::format("source LID 0x{:04x} already listed on line {}", src, it->second));
      cur->rows.push_back({Lid(src), std::string(f[2]), line_no});
      continue;
    }
    return err("unexpected line in an SL table");
  }
  if (!header) return MakeInputError(std::string(filename), 1, "empty file; expected '# fabricctl sl-table v1'");
  if (cur)
    return MakeInputError(std::string(filename), line_no, fmt::format("subnet {} has no 'end' line", cur->subnet));
  return tables;
}

}  // namespace fabricctl
