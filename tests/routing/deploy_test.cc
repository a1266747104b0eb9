// Deployment against ibsim: hand-made d-mod-k routes on a fat tree with parallel links are
// deployed by fabricctl and read back with dump_fts; ibtracert follows them; OpenSM's file
// engine loads our dump to the same tables. Plus unit tests on an in-memory fabric.
#include "routing/deploy.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "fabric/discovery.h"
#include "fabric/fabric_builder.h"
#include "fabric/generator.h"
#include "fabric/ibsim_format.h"
#include "fabric/topology_io.h"
#include "routing/route_fabric.h"
#include "routing/route_io.h"
#include "tests/fabric/fake_transport.h"
#include "tests/ibsim_fabrics.h"
#include "tests/ibsim_harness.h"
#include "tests/ibsim_routes.h"
#include "tests/scratch_dir.h"

namespace fabricctl::testing {
namespace {

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

std::string FatTreeNetFile(const fabricctl::testing::ScratchDir& dir) {
  std::string net = dir / "ft.net";
  std::ofstream(net) << FatTree2(kLeaves, kSpines, kHosts, kWidth);
  return net;
}

// ibsim on the fat tree with parallel links, as discovered, with d-mod-k routes (set 0)
// written as a dump.
struct FatTreeSim {
  FatTreeSim() : net(FatTreeNetFile(scratch)), sim(net) {
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    live = ParseLive(sim.Fabricctl("discover --json -q").out);
    a = MakeRoutes(live, kLeaves, kSpines, kHosts, kWidth, 0);
    fa = Write(sim, "a.dump", a.dump);
  }
  fabricctl::testing::ScratchDir scratch{"net"};
  std::string net;
  Ibsim sim;
  Live live;
  Plan a;
  std::string fa;
};

}  // namespace

TEST_SUITE("ibsim_deploy") {
  TEST_CASE("deployed routes are exactly what dump_fts reads back; re-running changes nothing") {
    if (!IbsimAvailable()) return;
    const fabricctl::testing::ScratchDir scratch("net");
    const std::string& net_dir = scratch.dir;
    std::string net = net_dir + "/ft.net";
    std::ofstream(net) << FatTree2(kLeaves, kSpines, kHosts, kWidth);
    Ibsim sim(net);
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    Live live = ParseLive(sim.Fabricctl("discover --json -q").out);
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
    Live after = ParseLive(sim.Fabricctl("discover --json -q").out);
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
      CHECK(r.err.find("switch GUID 0x0000000000abcdef is not in the topology") != std::string::npos);
      // leaf1's first cable to spine0 (port kHosts+1) goes down; route set b uses it.
      sim.Console(fmt::format("Unlink \"leaf1\"[{}]", kHosts + 1));
      auto down = sim.Fabricctl("deploy " + fb);
      INFO("refused: ", down.err);
      CHECK(down.exit_code == 2);
      // Either end of the cable may be the first route found through it.
      bool named =
          down.err.find(fmt::format("out of leaf1[{}], which is not connected in the discovered fabric", kHosts + 1)) !=
              std::string::npos ||
          down.err.find("out of spine0[3], which is not connected in the discovered fabric") != std::string::npos;
      CHECK(named);
      CHECK(ReadFts(sim) == a.lft);
    }
  }

  TEST_CASE(
      "a switch that stops answering LFT MADs: the report names blocks done and remaining; a re-run writes "
      "only those") {
    if (!IbsimAvailable()) return;
    FatTreeSim fixture;
    const Ibsim& sim = fixture.sim;
    const Live& live = fixture.live;
    const Plan& a = fixture.a;
    const std::string& fa = fixture.fa;
    // spine1 drops every LinearForwardingTable MAD (attribute 0x19); the rest answers.
    sim.Console("Error \"spine1\" 100 0x19");
    auto part = sim.Fabricctl("deploy --json --timeout 50 --retries 1 " + fa);
    INFO("first run: ", part.out, part.err);
    CHECK(part.exit_code == 1);
    auto pj = nlohmann::json::parse(part.out);
    CHECK(pj.at("remaining").at("blocks") == 1);
    CHECK(pj.at("remaining").at("lids") == 0);
    for (const auto& sw : pj.at("switches")) {
      CAPTURE(sw.dump());
      bool spine1 = sw.at("node") == "spine1";
      CHECK(sw.at("written_blocks") == (spine1 ? nlohmann::json::array() : nlohmann::json::array({0})));
      CHECK(sw.at("remaining_blocks") == (spine1 ? nlohmann::json::array({0}) : nlohmann::json::array()));
    }
    // In text, what remains is listed by switch and block.
    auto text = sim.Fabricctl("deploy --timeout 50 --retries 1 " + fa);
    INFO("second run: ", text.out, text.err);
    CHECK(text.out.find(fmt::format("remaining (run deploy again to finish; only what still differs is written):\n"
                                    "  spine1 (0x{:016x}): LFT blocks 0\n",
                                    live.guid.at("spine1"))) != std::string::npos);

    sim.Console("Error \"spine1\" 0");
    auto rest = sim.Fabricctl("deploy --json " + fa);
    INFO("third run: ", rest.out, rest.err);
    CHECK(rest.exit_code == 0);
    auto rj = nlohmann::json::parse(rest.out);
    CHECK(rj.at("blocks_written") == 1);
    CHECK(rj.at("remaining").at("blocks") == 0);
    for (const auto& sw : rj.at("switches"))
      CHECK(sw.at("written_blocks") ==
            (sw.at("node") == "spine1" ? nlohmann::json::array({0}) : nlohmann::json::array()));
    CHECK(ReadFts(sim) == a.lft);
  }

  TEST_CASE(
      "a simulator stopped before deploy starts: exit 2 with a clear error, nothing written; resumed, it deploys") {
    if (!IbsimAvailable()) return;
    FatTreeSim fixture;
    const Ibsim& sim = fixture.sim;
    sim.Freeze();
    auto frozen = sim.Fabricctl("deploy --json --timeout 100 " + fixture.fa, 60);  // the limit only catches a hang
    INFO("frozen: ", frozen.out, frozen.err);
    CHECK(frozen.exit_code == 2);
    CHECK(frozen.err.find("fabricctl: ibsim: the simulator with IBSIM_SOCKNAME=" + sim.sockname() +
                          " did not answer within 2000 ms") != std::string::npos);
    CHECK(frozen.out.empty());
    sim.Thaw();
    auto after = sim.Fabricctl("deploy --json " + fixture.fa);
    INFO("after thaw: ", after.out, after.err);
    CHECK(after.exit_code == 0);
    CHECK(ReadFts(sim) == fixture.a.lft);
  }

  TEST_CASE(
      "a simulator frozen mid-deploy: a timeout error after the report of what was written; a re-run "
      "finishes") {
    if (!IbsimAvailable()) return;
    FatTreeSim fixture;
    const Ibsim& sim = fixture.sim;
    const Plan& a = fixture.a;
    const std::string& fa = fixture.fa;
    // Every switch but leaf0 drops LFT MADs, so deploy is still retrying their blocks
    // (every 20 ms, 101 times) when the simulator stops 300 ms in; the rest takes ~50 ms.
    // The retries then fill the socket to the stopped simulator until a send times out.
    for (const char* sw : {"leaf1", "leaf2", "leaf3", "spine0", "spine1"})
      sim.Console(fmt::format("Error \"{}\" 100 0x19", sw));
    // The outer limit only catches a hang.
    auto frozen = sim.FabricctlFrozenDuring("deploy --json --timeout 20 --retries 100 " + fa, 300, 60);
    INFO("frozen: ", frozen.out, frozen.err);
    CHECK(frozen.exit_code == 2);
    CHECK(frozen.err.find("LFT block Get via route 0,") != std::string::npos);
    CHECK(frozen.err.find("did not take the MAD within 20 ms (timed out") != std::string::npos);
    auto fj = nlohmann::json::parse(frozen.out);
    CHECK(fj.at("stopped").at("message").get<std::string>().starts_with("LFT block Get via route 0,"));
    CHECK(fj.at("remaining").at("blocks") == 5);
    CHECK(fj.at("remaining").at("lids") == 0);
    for (const auto& sw : fj.at("switches")) {
      CAPTURE(sw.dump());
      bool leaf0 = sw.at("node") == "leaf0";
      CHECK(sw.at("written_blocks") == (leaf0 ? nlohmann::json::array({0}) : nlohmann::json::array()));
      CHECK(sw.at("remaining_blocks") == (leaf0 ? nlohmann::json::array() : nlohmann::json::array({0})));
    }
    sim.Thaw();
    for (const char* sw : {"leaf1", "leaf2", "leaf3", "spine0", "spine1"})
      sim.Console(fmt::format("Error \"{}\" 0", sw));
    auto rest = sim.Fabricctl("deploy --json " + fa);
    INFO("after thaw: ", rest.out, rest.err);
    CHECK(rest.exit_code == 0);
    auto rj = nlohmann::json::parse(rest.out);
    CHECK(rj.at("blocks_written") == 5);
    for (const auto& sw : rj.at("switches"))
      CHECK(sw.at("written_blocks") ==
            (sw.at("node") == "leaf0" ? nlohmann::json::array() : nlohmann::json::array({0})));
    CHECK(ReadFts(sim) == a.lft);
  }

  TEST_CASE("deploy to a fabric with unlinked ports names the unreached ports, not the routes") {
    if (!IbsimAvailable()) return;
    FatTreeSim fixture;
    const Ibsim& sim = fixture.sim;
    std::string topo = sim.dir() + "/found.topo";
    REQUIRE(sim.Fabricctl("discover -q -o " + topo).exit_code == 0);
    // leaf3's uplinks (ports kHosts+1..) go down: leaf3 and its hosts are cut off.
    for (unsigned p = kHosts + 1; p <= kHosts + kSpines * kWidth; ++p)
      sim.Console(fmt::format("Unlink \"leaf3\"[{}]", p));
    auto r = sim.Fabricctl("deploy " + topo + " " + fixture.fa);
    INFO("refused: ", r.out, r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("which discovery did not reach: spine0[7] is Down") != std::string::npos);
    CHECK(r.err.find("spine1[8] is Down") != std::string::npos);
    CHECK(r.err.find("another fabric") == std::string::npos);
    CHECK(ReadFts(sim).empty());
  }

  TEST_CASE("routes computed by an engine on the discovered topology deploy exactly") {
    if (!IbsimAvailable()) return;
    auto generated = Generate("fat-tree", {{"k", "8"}, {"tiers", "3"}});
    REQUIRE(generated);
    const fabricctl::testing::ScratchDir scratch("net");
    const std::string& net_dir = scratch.dir;
    std::ofstream(net_dir + "/ft.ibsim") << WriteIbsimTopology(*generated);
    Ibsim sim(net_dir + "/ft.ibsim");
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    // The operator's flow: discover, compute on what was found, deploy.
    std::string topo = sim.dir() + "/found.topo";
    REQUIRE(sim.Fabricctl("discover -q -o " + topo).exit_code == 0);
    auto fabric = ReadTopologyFile(topo);
    REQUIRE(fabric);
    auto selection = ParseEngineSelection("updn");
    REQUIRE(selection);
    auto routed = RouteFabric(*fabric, *selection, RouteFabricOptions{});
    REQUIRE_MESSAGE(routed, routed.error().Format());
    std::string dir = sim.dir() + "/routes";
    REQUIRE(WriteRoutes(*fabric, routed->routes, dir));
    auto r = sim.Fabricctl("deploy --json " + topo + " " + dir, 300);
    INFO("deploy: ", r.err);
    REQUIRE(r.exit_code == 0);
    auto fts = ReadFts(sim);
    const RouteSet& rs = routed->routes;
    REQUIRE(rs.subnets.size() == 1);
    const SubnetRoutes& sr = rs.subnets[0];
    size_t compared = 0;
    for (size_t i = 0; i < sr.switches.size(); ++i) {
      std::map<uint32_t, unsigned> want;
      for (Lid lid = 1; lid < sr.num_lids(); ++lid)
        if (sr.out_port(i, lid) != kNoRoute && sr.lid_owner[lid] != kNone) want[lid] = sr.out_port(i, lid);
      CHECK(fts[fabric->description(sr.switches[i])] == want);
      compared += want.size();
    }
    CHECK(compared == sr.switches.size() * (fabric->num_nodes()));
    // Nothing left to do the second time.
    auto again = sim.Fabricctl("deploy --json " + topo + " " + dir, 300);
    CHECK(nlohmann::json::parse(again.out).at("blocks_changed") == 0);
  }

  TEST_CASE("routes with two VLs: SL->VL tables are written, read back, and then left alone") {
    if (!IbsimAvailable()) return;
    auto generated = Generate("torus", {{"dims", "3x3"}, {"hosts", "1"}});
    REQUIRE(generated);
    const fabricctl::testing::ScratchDir scratch("net");
    const std::string& net_dir = scratch.dir;
    std::ofstream(net_dir + "/torus.ibsim") << WriteIbsimTopology(*generated);
    Ibsim sim(net_dir + "/torus.ibsim");
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    std::string topo = sim.dir() + "/found.topo";
    REQUIRE(sim.Fabricctl("discover -q -o " + topo).exit_code == 0);
    auto fabric = ReadTopologyFile(topo);
    REQUIRE(fabric);
    auto selection = ParseEngineSelection("torus");
    REQUIRE(selection);
    auto routed = RouteFabric(*fabric, *selection, RouteFabricOptions{});
    REQUIRE_MESSAGE(routed, routed.error().Format());
    REQUIRE(routed->routes.subnets[0].num_vls == 2);
    std::string dir = sim.dir() + "/routes";
    REQUIRE(WriteRoutes(*fabric, routed->routes, dir));
    auto first = sim.Fabricctl("deploy --json " + topo + " " + dir, 300);
    INFO("deploy: ", first.out, first.err);
    REQUIRE(first.exit_code == 0);
    auto fj = nlohmann::json::parse(first.out);
    CHECK(fj.at("sl2vl_changed").get<unsigned>() > 0);
    CHECK(fj.at("problems").empty());
    // ibsim is the judge: what it now holds equals the routes' tables.
    auto again = sim.Fabricctl("deploy --json " + topo + " " + dir, 300);
    REQUIRE(again.exit_code == 0);
    auto aj = nlohmann::json::parse(again.out);
    CHECK(aj.at("sl2vl_changed") == 0);
    CHECK(aj.at("blocks_changed") == 0);
  }

  TEST_CASE("ibtracert follows the deployed path") {
    if (!IbsimAvailable()) return;
    const fabricctl::testing::ScratchDir scratch("net");
    const std::string& net_dir = scratch.dir;
    std::string net = net_dir + "/ft.net";
    std::ofstream(net) << FatTree2(kLeaves, kSpines, kHosts, kWidth);
    Ibsim sim(net);
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    // OpenSM brings the ports up (ibtracert needs LID routing to its source); then we
    // replace its tables with ours, keeping its LIDs.
    REQUIRE(sim.Run("opensm -o -f " + sim.dir() + "/opensm.log", 120).exit_code == 0);
    Live live = ParseLive(sim.Fabricctl("discover --json -q").out);
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
        if (line.starts_with("[") && !prev.empty())
          got.push_back(fmt::format("{}[{}]", prev, std::stoul(line.substr(1))));
        size_t q = line.rfind('"');
        size_t q0 = q == std::string::npos ? q : line.rfind('"', q - 1);
        prev = (line.find("switch port") != std::string::npos && q0 != std::string::npos)
                   ? line.substr(q0 + 1, q - q0 - 1)
                   : "";
      }
      CHECK(got == want);
    }
  }
}

}  // namespace fabricctl::testing

// Unit tests: deployment against the in-memory SMA fabric.
namespace fabricctl {
namespace {

// Shortest-path routes (first port in port order) for every switch of a single-subnet
// fabric, LIDs as the fabric has them or 1.. in node order.
RouteSet ShortestRoutes(const Fabric& f) {
  RouteSet rs;
  rs.port_lid.assign(f.num_port_slots(), 0);
  Lid next = 1;
  std::vector<PortId> owners;
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    PortId p = f.port_id(n, f.is_switch(n) ? 0 : 1);
    rs.port_lid[p] = f.port(p).lid ? f.port(p).lid : next;
    next = std::max(next, rs.port_lid[p] + 1);
    owners.push_back(p);
  }
  SubnetRoutes sr;
  sr.subnet = 0;
  sr.lid_owner.assign(next, kNone);
  for (PortId p : owners) sr.lid_owner[rs.port_lid[p]] = p;
  sr.switches = f.subnets()[0].switches;
  sr.lft.assign(sr.switches.size() * sr.num_lids(), kNoRoute);
  for (Lid lid = 1; lid < sr.num_lids(); ++lid) {
    NodeId dst = f.port(sr.lid_owner[lid]).node;
    // BFS over switches from the destination's switch.
    std::vector<int> dist(f.num_nodes(), -1);
    NodeId root = f.is_switch(dst) ? dst : f.neighbors(dst)[0].peer_node;
    std::vector<NodeId> queue{root};
    dist[root] = 0;
    for (size_t q = 0; q < queue.size(); ++q)
      for (const Adjacency& a : f.neighbors(queue[q]))
        if (f.is_switch(a.peer_node) && dist[a.peer_node] < 0) {
          dist[a.peer_node] = dist[queue[q]] + 1;
          queue.push_back(a.peer_node);
        }
    for (size_t i = 0; i < sr.switches.size(); ++i) {
      NodeId sw = sr.switches[i];
      uint8_t out = kNoRoute;
      if (sw == dst) out = 0;
      for (const Adjacency& a : f.neighbors(sw)) {
        if (out != kNoRoute) break;
        if (a.peer_node == dst || (f.is_switch(a.peer_node) && dist[a.peer_node] == dist[sw] - 1))
          out = f.port(a.local).number;
      }
      sr.lft[i * sr.num_lids() + lid] = out;
    }
  }
  rs.subnets.push_back(std::move(sr));
  return rs;
}

DiscoveryResult DiscoverFake(testing::FakeTransport& t) {
  auto r = Discover(t, DiscoveryOptions{.rpc = {.timeout_ms = 50}});
  REQUIRE(r);
  REQUIRE(r->problems.empty());
  return std::move(*r);
}

}  // namespace

TEST_CASE("deploy writes only differing LFT blocks, verifies them, and a second run changes nothing") {
  Fabric truth = testing::FakeFatTree(4, 2, 3, 1, testing::Lids::kNone);
  testing::FakeTransport t(truth, 0, 0);
  DiscoveryResult live = DiscoverFake(t);
  RouteSet routes = ShortestRoutes(live.fabric);
  const size_t switches = routes.subnets[0].switches.size();

  auto dry =
      Deploy(t, live, live.fabric, routes, DeployOptions{.mode = DeployMode::kDryRun, .rpc = {.timeout_ms = 50}});
  REQUIRE(dry);
  CHECK(dry->lids.size() == truth.num_nodes());
  CHECK(dry->blocks_changed() == switches);
  CHECK(t.lft_block_writes == 0);
  CHECK(t.lid_sets.empty());

  auto first = Deploy(t, live, live.fabric, routes, DeployOptions{.rpc = {.timeout_ms = 50}});
  REQUIRE(first);
  CHECK(first->problems.empty());
  CHECK(first->blocks_changed() == switches);
  CHECK(t.lft_block_writes == switches);
  CHECK(t.lid_sets.size() == truth.num_nodes());
  for (const SwitchDeployment& s : first->switches) CHECK(s.verified == s.changed.size());
  const SubnetRoutes& sr = routes.subnets[0];
  for (size_t i = 0; i < switches; ++i)
    for (Lid lid = 0; lid < sr.num_lids(); ++lid)
      CHECK(t.lft[*truth.FindByGuid(live.fabric.node(sr.switches[i]).guid)][lid] == sr.out_port(i, lid));

  // The switches now hold the routes: rediscover (LIDs are set) and deploy again.
  DiscoveryResult again_live = DiscoverFake(t);
  auto again = Deploy(t, again_live, again_live.fabric, routes, DeployOptions{.rpc = {.timeout_ms = 50}});
  REQUIRE(again);
  CHECK(again->lids.empty());
  CHECK(again->blocks_changed() == 0);
  CHECK(t.lft_block_writes == switches);

  SUBCASE("one entry changed: one block written") {
    RouteSet changed = routes;
    SubnetRoutes& c = changed.subnets[0];
    // leaf0 (switch 0) sends the last LID the other way round.
    Lid lid = static_cast<Lid>(c.num_lids() - 1);
    uint8_t& e = c.lft[0 * c.num_lids() + lid];
    // Ports 4 and 5 of a leaf go to the two spines.
    e = e == 4 ? 5 : 4;
    auto r = Deploy(t, again_live, again_live.fabric, changed, DeployOptions{.rpc = {.timeout_ms = 50}});
    REQUIRE(r);
    CHECK(r->blocks_changed() == 1);
    CHECK(r->switches[0].changed == std::vector<uint32_t>{lid / kLftBlockSize});
    CHECK(t.lft[*truth.FindByGuid(again_live.fabric.node(c.switches[0]).guid)][lid] == e);
  }
  SUBCASE("routes for another fabric are refused before any MAD") {
    Fabric other = testing::FakeFatTree(4, 2, 3, 1);
    FabricBuilder b;
    // Same shape, one switch replaced (another GUID).
    for (NodeId n = 0; n < other.num_nodes(); ++n) {
      const Node& node = other.node(n);
      NodeSpec spec{.type = node.type,
                    .num_ports = node.num_ports,
                    .guid = node.guid == 0x200005 ? 0x2abcde : node.guid,
                    .description = other.description(n)};
      REQUIRE(b.AddNode(spec));
      for (unsigned p = 0; p <= node.num_ports; ++p) b.port(n, p).guid = other.port(other.port_id(n, p)).guid;
    }
    for (const Link& l : other.links())
      REQUIRE(
          b.Connect(other.port(l.a).node, other.port(l.a).number, other.port(l.b).node, other.port(l.b).number, {}));
    Fabric replaced = *b.Build();
    RouteSet rs = ShortestRoutes(replaced);
    uint64_t before = t.received;
    auto r = Deploy(t, again_live, replaced, rs, DeployOptions{.rpc = {.timeout_ms = 50}});
    REQUIRE(!r);
    CHECK(r.error().message ==
          "the routes give a LID to spine1 (0x00000000002abcde), which is not in the discovered fabric (GUIDs differ: "
          "are these routes for another fabric, or has a node been replaced?)");
    CHECK(t.received == before);
  }
}

TEST_CASE("deploy --max-writes stops early and the next run finishes the job") {
  Fabric truth = testing::FakeFatTree(4, 2, 3, 1);
  testing::FakeTransport t(truth, 0, 0);
  DiscoveryResult live = DiscoverFake(t);
  RouteSet routes = ShortestRoutes(live.fabric);
  auto part = Deploy(t, live, live.fabric, routes, DeployOptions{.rpc = {.timeout_ms = 50}, .max_block_writes = 2});
  REQUIRE(part);
  CHECK(part->interrupted);
  CHECK(t.lft_block_writes == 2);
  auto rest = Deploy(t, live, live.fabric, routes, DeployOptions{.rpc = {.timeout_ms = 50}});
  REQUIRE(rest);
  CHECK(!rest->interrupted);
  CHECK(rest->blocks_changed() == routes.subnets[0].switches.size() - 2);
  CHECK(t.lft_block_writes == routes.subnets[0].switches.size());
}

TEST_CASE("deploy with MAD loss: retries, and every block still verified") {
  Fabric truth = testing::FakeFatTree(4, 2, 3, 1);
  testing::FakeTransport t(truth, 0, 0);
  DiscoveryResult live = DiscoverFake(t);
  RouteSet routes = ShortestRoutes(live.fabric);
  t.SetLoss(0.2, 7);
  auto r = Deploy(t, live, live.fabric, routes, DeployOptions{.rpc = {.inflight = 8, .timeout_ms = 2, .retries = 12}});
  REQUIRE(r);
  CHECK(r->problems.empty());
  CHECK(r->stats.retransmits > 0);
  for (const SwitchDeployment& s : r->switches) CHECK(s.verified == s.changed.size());
}

}  // namespace fabricctl

namespace fabricctl {

TEST_CASE("a fabric that stops taking MADs mid-deploy: the report says what was written and what remains") {
  Fabric truth = testing::FakeFatTree(4, 2, 3, 1, testing::Lids::kNone);
  testing::FakeTransport t(truth, 0, 0);
  DiscoveryResult live = DiscoverFake(t);
  RouteSet routes = ShortestRoutes(live.fabric);
  const DeployOptions options{.rpc = {.inflight = 4, .timeout_ms = 50}};
  // LIDs go first (two MADs each), then SwitchInfo and block reads: stop among the block writes.
  t.FreezeAfter(2 * truth.num_nodes() + 3 * routes.subnets[0].switches.size() + 2);
  auto first = Deploy(t, live, live.fabric, routes, options);
  REQUIRE(first);
  REQUIRE(first->stopped);
  CHECK(first->stopped->message.find("timed out") != std::string::npos);
  CHECK(first->stopped->message.find("via route") != std::string::npos);
  CHECK(first->lids_remaining() == 0);
  CHECK(first->blocks_written() > 0);
  CHECK(first->blocks_remaining() > 0);
  CHECK(t.lft_block_writes == first->blocks_written());
  const SubnetRoutes& sr = routes.subnets[0];
  for (size_t i = 0; i < first->switches.size(); ++i) {
    const SwitchDeployment& s = first->switches[i];
    // A block is done (written) or remains; a written block holds the routes.
    CHECK(s.written.size() + s.remaining.size() >= s.blocks);
    NodeId sw = *truth.FindByGuid(live.fabric.node(s.node).guid);
    for (uint32_t b : s.written)
      for (Lid lid = b * kLftBlockSize; lid < std::min<size_t>(sr.num_lids(), (b + 1) * kLftBlockSize); ++lid)
        CHECK(t.lft[sw][lid] == sr.out_port(i, lid));
  }

  // The fabric answers again: the next run writes what remained and nothing else.
  t.Unfreeze();
  DiscoveryResult again_live = DiscoverFake(t);
  auto rest = Deploy(t, again_live, again_live.fabric, routes, options);
  REQUIRE(rest);
  CHECK(!rest->stopped);
  CHECK(rest->problems.empty());
  CHECK(rest->blocks_remaining() == 0);
  for (size_t i = 0; i < rest->switches.size(); ++i) {
    const SwitchDeployment& before = first->switches[i];
    for (uint32_t b : rest->switches[i].written) {
      CHECK(std::find(before.remaining.begin(), before.remaining.end(), b) != before.remaining.end());
      CHECK(std::find(before.written.begin(), before.written.end(), b) == before.written.end());
    }
  }
  CHECK(t.lft_block_writes == first->blocks_written() + rest->blocks_written());
  CHECK(t.lft_block_writes == sr.switches.size());
  for (size_t i = 0; i < sr.switches.size(); ++i)
    for (Lid lid = 0; lid < sr.num_lids(); ++lid)
      CHECK(t.lft[*truth.FindByGuid(live.fabric.node(sr.switches[i]).guid)][lid] == sr.out_port(i, lid));
}

TEST_CASE("deploy to a fabric whose walk stopped at dead ports names those ports, not the routes") {
  Fabric truth = testing::FakeFatTree(4, 2, 3, 1);
  RouteSet routes = ShortestRoutes(truth);
  testing::FakeTransport t(truth, 0, 0);
  // leaf3's uplinks (ports 4 and 5) take nothing in: the walk cannot reach leaf3 or its hosts.
  NodeId leaf3 = *truth.FindByGuid(0x200003);
  t.DropInto(leaf3, 4);
  t.DropInto(leaf3, 5);
  auto live = Discover(t, DiscoveryOptions{.rpc = {.timeout_ms = 5, .retries = 1}});
  REQUIRE(live);
  REQUIRE(live->problems.size() == 2);
  uint64_t before = t.received;
  auto r = Deploy(t, *live, truth, routes, DeployOptions{.rpc = {.timeout_ms = 5}});
  REQUIRE(!r);
  INFO(r.error().message);
  CHECK(r.error().message.find("which discovery did not reach: spine0[4]: NodeInfo: no answer after 2 attempts; "
                               "spine1[4]: NodeInfo: no answer after 2 attempts") != std::string::npos);
  CHECK(r.error().message.find("another fabric") == std::string::npos);
  CHECK(t.received == before);

  SUBCASE("a cable that is down is named with its state") {
    FabricBuilder b;
    for (NodeId n = 0; n < truth.num_nodes(); ++n) {
      const Node& node = truth.node(n);
      REQUIRE(b.AddNode(NodeSpec{.type = node.type,
                                 .num_ports = node.num_ports,
                                 .guid = node.guid,
                                 .system_guid = node.system_guid,
                                 .description = truth.description(n)}));
      for (unsigned p = 0; p <= node.num_ports; ++p) {
        b.port(n, p).guid = truth.port(truth.port_id(n, p)).guid;
        b.port(n, p).lid = truth.port(truth.port_id(n, p)).lid;
      }
    }
    // Everything but leaf3's uplinks, whose ends stay down (Polling).
    for (const Link& l : truth.links()) {
      const Port& a = truth.port(l.a);
      const Port& z = truth.port(l.b);
      if ((a.node == leaf3 && a.number > 3) || (z.node == leaf3 && z.number > 3)) continue;
      REQUIRE(b.Connect(a.node, a.number, z.node, z.number, {}));
    }
    Fabric cut = *b.Build();
    testing::FakeTransport c(cut, 0, 0);
    auto cut_live = Discover(c, DiscoveryOptions{.rpc = {.timeout_ms = 5, .retries = 1}});
    REQUIRE(cut_live);
    auto refused = Deploy(c, *cut_live, truth, routes, DeployOptions{.rpc = {.timeout_ms = 5}});
    REQUIRE(!refused);
    INFO(refused.error().message);
    CHECK(refused.error().message.find("which discovery did not reach: spine0[4] is Down (Polling); spine1[4] is "
                                       "Down (Polling)") != std::string::npos);
  }
}

}  // namespace fabricctl

namespace fabricctl {

TEST_CASE("targeted deploy writes and reads back only the listed blocks, nothing else") {
  Fabric truth = testing::FakeFatTree(4, 2, 3, 1);
  testing::FakeTransport t(truth, 0, 0);
  DiscoveryResult live = DiscoverFake(t);
  RouteSet routes = ShortestRoutes(live.fabric);
  REQUIRE(Deploy(t, live, live.fabric, routes, DeployOptions{.rpc = {.timeout_ms = 50}}));
  const uint64_t writes = t.lft_block_writes;

  RouteSet changed = routes;
  SubnetRoutes& c = changed.subnets[0];
  const Lid lid = static_cast<Lid>(c.num_lids() - 1);
  uint8_t& e = c.lft[0 * c.num_lids() + lid];
  e = e == 4 ? 5 : 4;
  std::vector<std::vector<uint32_t>> only(c.switches.size());
  only[0] = {lid / kLftBlockSize};
  const uint64_t received = t.received;
  auto r = Deploy(t, live, live.fabric, changed, DeployOptions{.rpc = {.timeout_ms = 50}, .only_blocks = only});
  REQUIRE(r);
  CHECK(r->problems.empty());
  CHECK(r->blocks_written() == 1);
  CHECK(r->blocks_remaining() == 0);
  CHECK(r->switches[0].verified == 1);
  CHECK(t.lft_block_writes == writes + 1);
  CHECK(t.received - received == 2);  // the write and its read-back
  CHECK(t.lft[*truth.FindByGuid(live.fabric.node(c.switches[0]).guid)][lid] == e);

  SUBCASE("checked by the Set's reply alone: one SMP per block, and a switch that kept its table is named") {
    e = e == 4 ? 5 : 4;
    const uint64_t before = t.received;
    auto quick = Deploy(t, live, live.fabric, changed,
                        DeployOptions{.rpc = {.timeout_ms = 50}, .only_blocks = only, .read_back = false});
    REQUIRE(quick);
    CHECK(quick->problems.empty());
    CHECK(quick->switches[0].verified == 1);
    CHECK(t.received - before == 1);
    CHECK(t.lft[*truth.FindByGuid(live.fabric.node(c.switches[0]).guid)][lid] == e);

    e = e == 4 ? 5 : 4;
    t.lft_ignores_sets.insert(*truth.FindByGuid(live.fabric.node(c.switches[0]).guid));
    auto kept = Deploy(t, live, live.fabric, changed,
                       DeployOptions{.rpc = {.timeout_ms = 50}, .only_blocks = only, .read_back = false});
    REQUIRE(kept);
    REQUIRE(kept->problems.size() == 1);
    CHECK(kept->problems[0].message.find("the Set's reply holds something other than what was written") !=
          std::string::npos);
    CHECK(kept->switches[0].verified == 0);
    CHECK(kept->blocks_remaining() == 1);
  }

  only.pop_back();
  auto bad = Deploy(t, live, live.fabric, changed, DeployOptions{.rpc = {.timeout_ms = 50}, .only_blocks = only});
  REQUIRE(!bad);
  CHECK(bad.error().message.find("targeted deployment lists blocks for") == 0);
}

}  // namespace fabricctl
