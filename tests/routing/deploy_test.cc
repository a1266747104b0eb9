// Deployment against ibsim: hand-made d-mod-k routes on a fat tree with parallel links are
// deployed by fabricctl and read back with dump_fts; ibtracert follows them; OpenSM's file
// engine loads our dump to the same tables. Plus the dump parser (unit).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "fabric/fabric_builder.h"
#include "routing/lft_dump.h"
#include "tests/ibsim_fabrics.h"
#include "tests/ibsim_harness.h"

namespace fabricctl {

TEST_CASE("OpenSM LFT dump: round trip and strict errors") {
  FabricBuilder b;
  NodeId sw = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 4, .guid = 0x200000, .description = "sw"});
  NodeId h0 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x100000, .description = "h0"});
  NodeId h1 = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x100003, .description = "h1"});
  b.port(h0, 1).guid = 0x100001;
  b.port(h1, 1).guid = 0x100004;
  REQUIRE(b.Connect(sw, 1, h0, 1, {}));
  REQUIRE(b.Connect(sw, 3, h1, 1, {}));
  Fabric f = *b.Build();
  std::string dump =
      "Unicast lids [0-3] of switch Lid 1 guid 0x0000000000200000 ('sw'):\n"
      "0x0001 000 # Switch portguid 0x0000000000200000: 'sw'\n"
      "0x0002 001 # Channel Adapter portguid 0x0000000000100001: 'h0'\n"
      "0x0003 003 # Channel Adapter portguid 0x0000000000100004: 'h1'\n"
      "3 lids dumped\n";
  auto routes = ParseOpenSmLftDump(f, dump, "lfts");
  REQUIRE(routes);
  REQUIRE(routes->subnets.size() == 1);
  const SubnetRoutes& sr = routes->subnets[0];
  CHECK(sr.num_lids() == 4);
  CHECK(sr.out_port(0, 1) == 0);
  CHECK(sr.out_port(0, 2) == 1);
  CHECK(sr.out_port(0, 3) == 3);
  CHECK(routes->port_lid[f.port_id(h1, 1)] == 3);
  CHECK(FormatOpenSmLftDump(f, *routes) == dump);

  auto other = ParseOpenSmLftDump(f, "Unicast lids [0-3] of switch Lid 1 guid 0x0000000000200099 ('x'):\n", "lfts");
  REQUIRE(!other);
  CHECK(other.error().message == "switch GUID 0x0000000000200099 is not in the fabric (routes for another fabric?)");
  CHECK(other.error().line == 1);
  auto bad = ParseOpenSmLftDump(f, dump.substr(0, dump.find("0x0003")) + "0x0003 three\n", "lfts");
  REQUIRE(!bad);
  CHECK(bad.error().Format() == "lfts:4: expected '0xLID PORT' with a unicast LID and a port 0..254\n  0x0003 three");
}

}  // namespace fabricctl

namespace fabricctl::testing {
namespace {

// What `fabricctl discover --json` said, indexed for building routes.
struct Live {
  std::map<std::string, uint64_t> guid;                                 // description -> node GUID
  std::map<std::string, uint64_t> port_guid;                            // CA description -> port 1 GUID
  std::map<std::string, uint32_t> lid;                                  // description -> LID (switch port 0 / CA port 1)
  std::map<std::pair<std::string, unsigned>, std::pair<std::string, unsigned>> peer;  // (desc, port) -> (desc, port)
};

Live ReadLive(const Ibsim& sim) {
  auto r = sim.Fabricctl("discover --json -q");
  REQUIRE((r.exit_code == 0 || r.exit_code == 1));
  auto j = nlohmann::json::parse(r.out);
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

Plan MakeRoutes(const Live& live, unsigned leaves, unsigned spines, unsigned hosts, unsigned width, unsigned shift) {
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
      if (dst == leaf) port = 0;
      else if (is_host && dl == l) port = dh + 1;
      else if (dst.starts_with("spine")) port = hosts + ds * width + k + 1;
      else port = hosts + spine * width + k + 1;
      p.lft[leaf][dlid] = port;
    }
    for (unsigned s = 0; s < spines; ++s) {
      std::string sp = fmt::format("spine{}", s);
      unsigned port;
      if (dst == sp) port = 0;
      else if (dst.starts_with("spine")) port = 0 * width + k + 1;  // via leaf0
      else port = dl * width + k + 1;
      p.lft[sp][dlid] = port;
    }
  }
  for (const auto& [sw, table] : p.lft) {
    p.dump += fmt::format("Unicast lids [0-{}] of switch Lid {} guid 0x{:016x} ('{}'):\n", next - 1, p.lid[sw],
                          live.guid.at(sw), sw);
    for (const auto& [lid, port] : table) {
      std::string owner;
      for (const auto& [n, l] : p.lid)
        if (l == lid) owner = n;
      bool sw_owner = !owner.starts_with("host");
      p.dump += fmt::format("0x{:04x} {:03} # {} portguid 0x{:016x}: '{}'\n", lid, port,
                            sw_owner ? "Switch" : "Channel Adapter",
                            sw_owner ? live.guid.at(owner) : live.port_guid.at(owner), owner);
    }
    p.dump += fmt::format("{} lids dumped\n", table.size());
  }
  return p;
}

// dump_fts: switch description -> lid -> port.
std::map<std::string, std::map<uint32_t, unsigned>> ReadFts(const Ibsim& sim) {
  auto r = sim.Run("dump_fts");
  INFO("dump_fts: ", r.err);
  REQUIRE(r.exit_code == 0);
  std::map<std::string, std::map<uint32_t, unsigned>> t;
  std::istringstream in(r.out);
  std::string line, current;
  while (std::getline(in, line)) {
    if (line.starts_with("Unicast lids")) {
      size_t open = line.rfind('(');
      current = line.substr(open + 1, line.rfind(')') - open - 1);
    } else if (line.starts_with("0x")) {
      uint32_t lid = std::stoul(line.substr(0, 6), nullptr, 16);
      unsigned port = std::stoul(line.substr(7, 3));
      t[current][lid] = port;
    }
  }
  return t;
}

std::string Write(const Ibsim& sim, const std::string& name, const std::string& text) {
  std::string path = sim.dir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

constexpr unsigned kLeaves = 4, kSpines = 2, kHosts = 3, kWidth = 2;

}  // namespace

TEST_SUITE("ibsim_deploy") {
  TEST_CASE("deployed routes are exactly what dump_fts reads back; re-running changes nothing") {
    if (!IbsimAvailable()) return;
    char tmpl[] = "/tmp/fabricctl-net.XXXXXX";
    std::string net_dir = mkdtemp(tmpl);
    std::string net = net_dir + "/ft.net";
    std::ofstream(net) << FatTree2(kLeaves, kSpines, kHosts, kWidth);
    Ibsim sim(net);
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    Live live = ReadLive(sim);
    Plan a = MakeRoutes(live, kLeaves, kSpines, kHosts, kWidth, 0);
    Plan b = MakeRoutes(live, kLeaves, kSpines, kHosts, kWidth, 1);
    std::string fa = Write(sim, "a.dump", a.dump), fb = Write(sim, "b.dump", b.dump);

    auto dry = sim.Fabricctl("deploy --dry-run --json " + fa);
    INFO("dry run: ", dry.out, dry.err);
    CHECK(dry.exit_code == 1);
    auto dj = nlohmann::json::parse(dry.out);
    CHECK(dj.at("lids").size() == a.lid.size());
    CHECK(dj.at("blocks_changed") == kLeaves + kSpines);
    CHECK(ReadFts(sim).empty());  // without LIDs dump_fts has nothing to show

    auto run = sim.Fabricctl("deploy --json " + fa);
    INFO("deploy: ", run.out, run.err);
    REQUIRE(run.exit_code == 0);
    auto rj = nlohmann::json::parse(run.out);
    CHECK(rj.at("blocks_changed") == kLeaves + kSpines);
    for (const auto& s : rj.at("switches")) CHECK(s.at("verified") == 1);
    CHECK(ReadFts(sim) == a.lft);
    Live after = ReadLive(sim);
    for (const auto& [name, lid] : a.lid) CHECK(after.lid.at(name) == lid);

    auto again = sim.Fabricctl("deploy --json " + fa);
    CHECK(again.exit_code == 0);
    auto aj = nlohmann::json::parse(again.out);
    CHECK(aj.at("blocks_changed") == 0);
    CHECK(aj.at("lids").empty());

    SUBCASE("an interrupted deployment resumes by running again") {
      auto part = sim.Fabricctl("deploy --json --max-writes 2 " + fb);
      CHECK(part.exit_code == 1);
      auto pj = nlohmann::json::parse(part.out);
      CHECK(pj.at("interrupted") == true);
      auto mid = ReadFts(sim);
      CHECK(mid != a.lft);
      CHECK(mid != b.lft);
      auto rest = sim.Fabricctl("deploy --json " + fb);
      CHECK(rest.exit_code == 0);
      // Only the blocks the first run did not write are written now.
      size_t changed_by_b = 0;
      for (const auto& [sw, table] : b.lft) changed_by_b += table != a.lft.at(sw);
      CHECK(nlohmann::json::parse(rest.out).at("blocks_changed") == changed_by_b - 2);
      CHECK(ReadFts(sim) == b.lft);
    }
    SUBCASE("OpenSM's file engine loading our dump leaves the same tables") {
      REQUIRE(sim.Fabricctl("deploy " + fb).exit_code == 0);
      REQUIRE(ReadFts(sim) == b.lft);
      std::string out_dir = sim.dir() + "/osm";
      auto via = sim.Fabricctl("deploy --via opensm -o " + out_dir + " " + fa);
      INFO("via: ", via.out, via.err);
      REQUIRE(via.exit_code == 0);
      CHECK(via.out.find("opensm -R file -U " + out_dir + "/opensm-lfts.dump") != std::string::npos);
      auto osm = sim.Run("OSM_CACHE_DIR=" + out_dir + " opensm -o -R file -U " + out_dir + "/opensm-lfts.dump -f " +
                             out_dir + "/opensm.log",
                         120);
      REQUIRE_MESSAGE(osm.exit_code == 0, osm.err);
      CHECK(ReadFts(sim) == a.lft);
    }
    SUBCASE("routes for another fabric, or through a missing link, are refused before any change") {
      std::string other = a.dump;
      std::string sw = fmt::format("guid 0x{:016x} (", live.guid.at("spine1"));
      other.replace(other.find(sw), sw.size(), "guid 0x0000000000abcdef (");
      auto r = sim.Fabricctl("deploy " + Write(sim, "other.dump", other));
      INFO("refused: ", r.err);
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("switch GUID 0x0000000000abcdef is not in the fabric (routes for another fabric?)") !=
            std::string::npos);
      // leaf1's first cable to spine0 (port kHosts+1) goes down; route set b uses it.
      sim.Console(fmt::format("Unlink \"leaf1\"[{}]", kHosts + 1));
      auto down = sim.Fabricctl("deploy " + fb);
      INFO("refused: ", down.err);
      CHECK(down.exit_code == 2);
      // Either end of the cable may be the first route found through it.
      bool named = down.err.find(fmt::format("out of leaf1[{}], which is not connected in the discovered fabric",
                                             kHosts + 1)) != std::string::npos ||
                   down.err.find("out of spine0[3], which is not connected in the discovered fabric") != std::string::npos;
      CHECK(named);
      CHECK(ReadFts(sim) == a.lft);
    }
    std::filesystem::remove_all(net_dir);
  }

  TEST_CASE("ibtracert follows the deployed path") {
    if (!IbsimAvailable()) return;
    char tmpl[] = "/tmp/fabricctl-net.XXXXXX";
    std::string net_dir = mkdtemp(tmpl);
    std::string net = net_dir + "/ft.net";
    std::ofstream(net) << FatTree2(kLeaves, kSpines, kHosts, kWidth);
    Ibsim sim(net);
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    // OpenSM brings the ports up (ibtracert needs LID routing to its source); then we
    // replace its tables with ours, keeping its LIDs.
    REQUIRE(sim.Run("opensm -o -f " + sim.dir() + "/opensm.log", 120).exit_code == 0);
    Live live = ReadLive(sim);
    Plan p = MakeRoutes(live, kLeaves, kSpines, kHosts, kWidth, 1);
    REQUIRE(sim.Fabricctl("deploy " + Write(sim, "p.dump", p.dump)).exit_code == 0);
    REQUIRE(ReadFts(sim) == p.lft);
    for (auto [src, dst] : std::vector<std::pair<std::string, std::string>>{
             {"host0-0", "host3-2"}, {"host1-1", "host2-0"}, {"host3-2", "host0-1"}, {"host2-2", "host2-0"}}) {
      // Expected hops: walk our tables from the source's leaf.
      std::vector<std::string> want;
      auto [node, port] = live.peer.at({src, 1});
      uint32_t dlid = p.lid.at(dst);
      while (!node.starts_with("host")) {
        unsigned out = p.lft.at(node).at(dlid);
        want.push_back(fmt::format("{}[{}]", node, out));
        std::tie(node, port) = live.peer.at({node, out});
      }
      auto r = sim.Run(fmt::format("ibtracert {} {}", p.lid.at(src), dlid));
      INFO(src, " -> ", dst, ": ", r.out, r.err);
      REQUIRE(r.exit_code == 0);
      // Lines "[in] -> switch port {guid}[out] ... \"desc\"" name each hop's next out port on the following line.
      std::vector<std::string> got;
      std::istringstream in(r.out);
      std::string line, prev;
      while (std::getline(in, line)) {
        if (line.starts_with("[") && !prev.empty()) got.push_back(fmt::format("{}[{}]", prev, std::stoul(line.substr(1))));
        size_t q = line.rfind('"');
        size_t q0 = q == std::string::npos ? q : line.rfind('"', q - 1);
        prev = (line.find("switch port") != std::string::npos && q0 != std::string::npos) ? line.substr(q0 + 1, q - q0 - 1)
                                                                                            : "";
      }
      CHECK(got == want);
    }
    std::filesystem::remove_all(net_dir);
  }
}

}  // namespace fabricctl::testing
