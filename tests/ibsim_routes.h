#pragma once
// Hand-made routes for the FatTree2 fabrics of tests/ibsim_fabrics.h, written as OpenSM LFT
// dumps: d-mod-k on the live GUIDs that `fabricctl discover --json` reports. Used by the
// ibsim deploy tests and the discovery bench until the routing engines land.
#include <fmt/format.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace fabricctl::testing {

// What `fabricctl discover --json` said, indexed for building routes.
struct Live {
  std::map<std::string, uint64_t> guid;       // description -> node GUID
  std::map<std::string, uint64_t> port_guid;  // CA description -> port 1 GUID
  std::map<std::string, uint32_t> lid;        // description -> LID (switch port 0 / CA port 1)
  std::map<std::pair<std::string, unsigned>, std::pair<std::string, unsigned>> peer;  // (desc, port) -> (desc, port)
};

inline Live ParseLive(const std::string& discover_json) {
  auto j = nlohmann::json::parse(discover_json);
  Live live;
  std::map<uint64_t, std::string> by_guid;
  for (const auto& n : j.at("nodes")) {
    std::string d = n.at("description");
    uint64_t g = std::stoull(n.at("guid").get<std::string>(), nullptr, 16);
    live.guid[d] = g;
    by_guid[g] = d;
    for (const auto& p : n.at("ports")) {
      unsigned num = p.at("port");
      if (n.at("type") == "switch" ? num == 0 : num == 1) {
        live.lid[d] = p.at("lid");
        if (n.at("type") != "switch") live.port_guid[d] = std::stoull(p.at("guid").get<std::string>(), nullptr, 16);
      }
    }
  }
  for (const auto& n : j.at("nodes"))
    for (const auto& p : n.at("ports"))
      if (p.contains("peer"))
        live.peer[{n.at("description"), p.at("port")}] = {
            by_guid.at(std::stoull(p.at("peer").at("guid").get<std::string>(), nullptr, 16)), p.at("peer").at("port")};
  return live;
}

// d-mod-k routes for FatTree2(leaves, spines, hosts, width): host h of leaf l is reached
// through spine (dest % spines) and parallel cable (dest / spines % width), shifted by
// `shift` so a second route set differs. LIDs: the live ones if set, else 1.. in order.
struct Plan {
  std::map<std::string, uint32_t> lid;
  std::map<std::string, std::map<uint32_t, unsigned>> lft;  // switch -> lid -> port
  std::string dump;
};

// The plan as an opensm-lfts.dump.
inline std::string DumpOf(const Plan& p, const Live& live) {
  uint32_t max_lid = 0;
  for (const auto& [n, l] : p.lid) max_lid = std::max(max_lid, l);
  std::map<uint32_t, std::string> owner_of;
  for (const auto& [n, l] : p.lid) owner_of[l] = n;
  std::string dump;
  for (const auto& [sw, table] : p.lft) {
    dump += fmt::format("Unicast lids [0-{}] of switch Lid {} guid 0x{:016x} ('{}'):\n", max_lid, p.lid.at(sw),
                        live.guid.at(sw), sw);
    for (const auto& [lid, port] : table) {
      const std::string& owner = owner_of.at(lid);
      bool sw_owner = !owner.starts_with("host");
      dump += fmt::format("0x{:04x} {:03} # {} portguid 0x{:016x}: '{}'\n", lid, port,
                          sw_owner ? "Switch" : "Channel Adapter",
                          sw_owner ? live.guid.at(owner) : live.port_guid.at(owner), owner);
    }
    dump += fmt::format("{} lids dumped\n", table.size());
  }
  return dump;
}

// Routes that avoid the cable leaf<l>--spine<s> (width 1): traffic that crossed it moves
// to spine<s+1>; the spine loses its routes to that leaf's hosts.
inline Plan AvoidLink(const Plan& in, const Live& live, unsigned leaf, unsigned spine, unsigned spines,
                      unsigned hosts) {
  Plan p = in;
  unsigned from = hosts + spine + 1, to = hosts + (spine + 1) % spines + 1;
  std::string leaf_name = fmt::format("leaf{}", leaf);
  const std::string host_prefix = fmt::format("host{}-", leaf);
  std::map<uint32_t, bool> lid_on_leaf;
  for (const auto& [n, l] : p.lid) lid_on_leaf[l] = n == leaf_name || n.starts_with(host_prefix);
  for (auto& [sw, table] : p.lft) {
    if (sw.starts_with("leaf")) {
      for (auto& [lid, port] : table)
        if (port == from && (sw == leaf_name || lid_on_leaf[lid])) port = to;
    } else if (sw == fmt::format("spine{}", spine)) {
      // Everything this spine sent down the failed cable is dropped.
      for (auto it = table.begin(); it != table.end();)
        it = (lid_on_leaf[it->first] || it->second == leaf + 1) ? table.erase(it) : std::next(it);
    }
  }
  p.dump = DumpOf(p, live);
  return p;
}

inline Plan MakeRoutes(const Live& live, unsigned leaves, unsigned spines, unsigned hosts, unsigned width,
                       unsigned shift) {
  Plan p;
  std::vector<std::string> names;
  for (unsigned l = 0; l < leaves; ++l) names.push_back(fmt::format("leaf{}", l));
  for (unsigned s = 0; s < spines; ++s) names.push_back(fmt::format("spine{}", s));
  for (unsigned l = 0; l < leaves; ++l)
    for (unsigned h = 0; h < hosts; ++h) names.push_back(fmt::format("host{}-{}", l, h));
  uint32_t next = 1;
  for (const std::string& n : names) p.lid[n] = live.lid.at(n) != 0 ? live.lid.at(n) : next++;
  for (const std::string& dst : names) {
    uint32_t dlid = p.lid[dst];
    bool is_host = dst.starts_with("host");
    unsigned dl = 0, dh = 0, ds = 0;
    if (is_host) std::sscanf(dst.c_str(), "host%u-%u", &dl, &dh);
    if (dst.starts_with("leaf")) std::sscanf(dst.c_str(), "leaf%u", &dl);
    if (dst.starts_with("spine")) std::sscanf(dst.c_str(), "spine%u", &ds);
    unsigned spine = (dlid + shift) % spines;
    unsigned k = ((dlid + shift) / spines) % width;
    for (unsigned l = 0; l < leaves; ++l) {
      std::string leaf = fmt::format("leaf{}", l);
      unsigned port;
      if (dst == leaf)
        port = 0;
      else if (is_host && dl == l)
        port = dh + 1;
      else if (dst.starts_with("spine"))
        port = hosts + ds * width + k + 1;
      else
        port = hosts + spine * width + k + 1;
      p.lft[leaf][dlid] = port;
    }
    for (unsigned s = 0; s < spines; ++s) {
      std::string sp = fmt::format("spine{}", s);
      unsigned port;
      if (dst == sp)
        port = 0;
      else if (dst.starts_with("spine"))
        port = 0 * width + k + 1;  // via leaf0
      else
        port = dl * width + k + 1;
      p.lft[sp][dlid] = port;
    }
  }
  p.dump = DumpOf(p, live);
  return p;
}

}  // namespace fabricctl::testing
