// Discovery against ibsim: fabricctl discover runs as a child process with libumad2sim
// preloaded, and its view must equal what ibnetdiscover reads from the same simulator.
#include "fabric/discovery.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "fabric/fabric_builder.h"
#include "fabric/generator.h"
#include "fabric/ibsim_format.h"
#include "fabric/topology_io.h"
#include "tests/fabric/fake_transport.h"
#include "tests/ibsim_fabrics.h"
#include "tests/ibsim_harness.h"
#include "tests/scratch_dir.h"

namespace fabricctl::testing {
namespace {

struct DiscoveredView {
  IbnetdiscoverView links;  // same shape as the ibnetdiscover parse
  std::set<uint64_t> guids;
  nlohmann::json json;
};

DiscoveredView ViewOf(const nlohmann::json& j) {
  DiscoveredView v;
  v.json = j;
  for (const auto& n : j.at("nodes")) {
    uint64_t guid = std::stoull(n.at("guid").get<std::string>(), nullptr, 16);
    v.guids.insert(guid);
    v.links.descriptions[guid] = n.at("description").get<std::string>();
    for (const auto& p : n.at("ports")) {
      if (!p.contains("peer")) continue;
      unsigned port = p.at("port").get<unsigned>();
      v.links.links[{guid, port}] = {std::stoull(p.at("peer").at("guid").get<std::string>(), nullptr, 16),
                                     p.at("peer").at("port").get<unsigned>()};
      v.links.rates[{guid, port}] = p.at("width").get<std::string>() + p.at("speed").get<std::string>();
    }
  }
  return v;
}

// A scratch directory for net files, removed at the end of the test.
struct Scratch : fabricctl::testing::ScratchDir {
  Scratch() : ScratchDir("net") {}
  std::string Write(const std::string& name, const std::string& text) const {
    std::string path = dir + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
};

// The part of `expected` the walk from `local` can see: the subnet of its port, as
// GUID-keyed facts that compare across fabrics.
struct SubnetView {
  std::map<uint64_t, std::tuple<NodeType, unsigned, std::string>> nodes;  // guid -> type, ports, description
  std::map<std::pair<uint64_t, unsigned>, std::tuple<uint64_t, unsigned, LinkWidth, LinkSpeed>> ends;
  bool operator==(const SubnetView&) const = default;
};

SubnetView ViewOfSubnet(const Fabric& f, PortId local) {
  SubnetView v;
  SubnetId s = f.subnet_of(local);
  for (const Link& l : f.links()) {
    if (f.subnet_of(l.a) != s) continue;
    for (auto [x, y] : {std::pair{l.a, l.b}, std::pair{l.b, l.a}}) {
      const Port& a = f.port(x);
      const Port& b = f.port(y);
      v.ends[{f.node(a.node).guid, a.number}] = {f.node(b.node).guid, b.number, a.width_active, a.speed_active};
      const Node& n = f.node(a.node);
      v.nodes[n.guid] = {n.type, n.num_ports, f.description(a.node)};
    }
  }
  return v;
}

// Generator fabric -> ibsim -> fabricctl discover -o and ibnetdiscover, both read back
// with ReadTopologyFile and compared with what ibsim is expected to simulate.
void CheckGenerated(const std::string& generator, const GeneratorParams& params) {
  CAPTURE(generator);
  auto generated = Generate(generator, params);
  REQUIRE(generated);
  auto expected = IbsimExpectedFabric(*generated);
  REQUIRE(expected);
  Scratch s;
  std::string args;
  for (const std::string& a : IbsimSizeArgs(*generated)) args += " " + a;
  Ibsim sim(s.Write("fabric.ibsim", WriteIbsimTopology(*generated)), args);
  REQUIRE_MESSAGE(sim.ok(), sim.error());
  // ibsim attaches clients to the first port of the first node in the file.
  NodeId first = 0;
  PortId local = expected->port_id(first, expected->is_switch(first) ? 0 : 1);
  if (expected->is_switch(first)) local = expected->port_id(first, 1);
  SubnetView want = ViewOfSubnet(*expected, local);

  std::string ours = s.dir + "/ours.topo";
  auto r = sim.Fabricctl("discover -q -o " + ours, 300);
  INFO("discover: ", r.out, r.err);
  REQUIRE(r.exit_code == 0);
  auto found = ReadTopologyFile(ours);
  REQUIRE_MESSAGE(found, found.error().Format());
  PortId found_local = found->port_id(0, found->is_switch(0) ? 1 : 1);
  if (!found->is_switch(0))
    for (unsigned p = 1; p <= found->node(0).num_ports; ++p)
      if (found->port(found->port_id(0, p)).peer != kNone) found_local = found->port_id(0, p);
  SubnetView got = ViewOfSubnet(*found, found_local);
  CHECK(got.nodes.size() == want.nodes.size());
  CHECK(got.ends.size() == want.ends.size());
  CHECK(got == want);

  auto theirs = sim.Run("ibnetdiscover > " + s.dir + "/theirs.topo", 300);
  REQUIRE(theirs.exit_code == 0);
  auto ref = ReadTopologyFile(s.dir + "/theirs.topo");
  REQUIRE_MESSAGE(ref, ref.error().Format());
  CHECK(ViewOfSubnet(*ref, ref->port_id(*ref->FindByGuid(found->node(0).guid), found->port(found_local).number)) ==
        got);
}

DiscoveredView Discover(const Ibsim& sim, const std::string& args = "") {
  auto r = sim.Fabricctl("discover --json -q " + args);
  INFO("stderr: ", r.err);
  REQUIRE(r.exit_code == 0);
  return ViewOf(nlohmann::json::parse(r.out));
}

void CheckAgreesWithIbnetdiscover(const Ibsim& sim, size_t nodes, size_t links) {
  DiscoveredView ours = Discover(sim);
  CHECK(ours.json.at("problems").empty());
  CHECK(ours.json.at("num_nodes").get<size_t>() == nodes);
  CHECK(ours.json.at("num_links").get<size_t>() == links);
  auto theirs = sim.Run("ibnetdiscover");
  INFO("ibnetdiscover stderr: ", theirs.err);
  REQUIRE(theirs.exit_code == 0);
  IbnetdiscoverView ref = ParseIbnetdiscoverLinks(theirs.out);
  CHECK(ref.links.size() == 2 * links);
  CHECK(ours.links.links == ref.links);
  CHECK(ours.links.descriptions == ref.descriptions);
  CHECK(ours.links.rates == ref.rates);
}

}  // namespace

TEST_SUITE("ibsim_discovery") {
  TEST_CASE("discovery agrees with ibnetdiscover on ibsim's example fabric") {
    if (!IbsimAvailable()) return;  // the ibsim label runs where ibsim-utils is installed
    Ibsim sim("/usr/share/doc/ibsim-utils/net-examples/net.2sw2path4hca");
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    CheckAgreesWithIbnetdiscover(sim, 6, 6);
    DiscoveredView v = Discover(sim);
    // ibsim numbers GUIDs in sequence: hosts from 0x100000 (3 GUIDs each), switches from 0x200000.
    CHECK(v.guids == std::set<uint64_t>{0x100000, 0x100003, 0x100006, 0x100009, 0x200000, 0x200001});
    CHECK(v.links.links.at({0x200000, 3}) == std::pair<uint64_t, unsigned>{0x200001, 3});
    CHECK(v.links.links.at({0x200000, 5}) == std::pair<uint64_t, unsigned>{0x200001, 5});
  }

  TEST_CASE("a simulator frozen during discover: the command ends with a timeout error instead of hanging") {
    if (!IbsimAvailable()) return;
    Scratch s;
    Ibsim sim(s.Write("ft.net", FatTree2(6, 3, 4, 2)));
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    // spine2 drops its NodeDescription, so the walk is still retrying it (every 100 ms, six
    // times) when the simulator stops 300 ms in; the other 32 nodes take ~20 ms. The walk
    // gives up on spine2's description, and the exit (libumad2sim's disconnect) must not
    // wait for the stopped simulator either.
    sim.Console("Error \"spine2\" 100 0x10");
    // The outer limit only catches a hang.
    auto r = sim.FabricctlFrozenDuring("discover --timeout 100 --retries 5", 300, 60);
    INFO("frozen: ", r.out, r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("NodeDescription: no answer after 6 attempts") != std::string::npos);
    sim.Thaw();
    sim.Console("Error \"spine2\" 0");
    auto after = sim.Fabricctl("discover -q");
    INFO("after thaw: ", after.out, after.err);
    CHECK(after.exit_code == 0);
  }

  TEST_CASE("a simulator stopped before discover or counters starts: exit 2 with a clear error; resumed, it answers") {
    if (!IbsimAvailable()) return;
    Ibsim sim("/usr/share/doc/ibsim-utils/net-examples/net.2sw2path4hca");
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    sim.Freeze();
    for (std::string command : {"discover --timeout 100", "counters --timeout 100"}) {
      CAPTURE(command);
      auto r = sim.Fabricctl(command, 60);  // the limit only catches a hang
      INFO(r.out, r.err);
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("fabricctl: ibsim: the simulator with IBSIM_SOCKNAME=" + sim.sockname() +
                       " did not answer within 2000 ms") != std::string::npos);
    }
    // The simulator answers the pings it finds queued and goes on (an attach queued by a
    // process that gave up would have made it exit).
    sim.Thaw();
    auto after = sim.Fabricctl("discover -q");
    INFO("after thaw: ", after.out, after.err);
    CHECK(after.exit_code == 0);
  }

  TEST_CASE("discovery agrees with ibnetdiscover on a fat tree and a torus") {
    if (!IbsimAvailable()) return;
    Scratch s;
    SUBCASE("2-tier fat tree with parallel links") {
      Ibsim sim(s.Write("ft.net", FatTree2(6, 3, 4, 2)));
      REQUIRE_MESSAGE(sim.ok(), sim.error());
      CheckAgreesWithIbnetdiscover(sim, 6 + 3 + 24, 24 + 6 * 3 * 2);
    }
    SUBCASE("3x3 torus") {
      Ibsim sim(s.Write("torus.net", Torus2(3, 3)));
      REQUIRE_MESSAGE(sim.ok(), sim.error());
      CheckAgreesWithIbnetdiscover(sim, 18, 9 + 18);
    }
  }

  TEST_CASE("discovery equals the generator's fabric as ibsim runs it, and ibnetdiscover agrees") {
    if (!IbsimAvailable()) return;
    SUBCASE("2-tier fat tree") { CheckGenerated("fat-tree", {{"k", "8"}, {"tiers", "2"}}); }
    SUBCASE("3-tier fat tree") { CheckGenerated("fat-tree", {{"k", "8"}, {"tiers", "3"}}); }
    SUBCASE("3-D torus with parallel links") { CheckGenerated("torus", {{"dims", "3x3x3"}, {"links", "2"}}); }
    // Every accelerator has one port per plane; the walk must stay in the plane it starts
    // in (never through a CA), so exactly one plane is found.
    SUBCASE("super node with planes") { CheckGenerated("supernode", {{"preset", "nvl72"}}); }
  }

  TEST_CASE("topo diff against the plan: identical, then Unlink -> missing, ibportstate -> below plan") {
    if (!IbsimAvailable()) return;
    Scratch s;
    std::string plan = s.dir + "/plan.ibsim";
    REQUIRE(RunShell(std::string(FABRICCTL_BINARY) + " topo gen fat-tree --set k=4 --set tiers=2 -o " + plan, s.dir)
                .exit_code == 0);
    Ibsim sim(plan);
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    auto diff = [&](const std::string& name) {
      std::string found = s.dir + "/" + name;
      auto d = sim.Fabricctl("discover -q -o " + found);
      REQUIRE(d.exit_code == 0);
      auto r = RunShell(std::string(FABRICCTL_BINARY) + " topo diff --json " + plan + " " + found, s.dir);
      INFO("topo diff: ", r.out, r.err);
      REQUIRE(r.exit_code <= 1);
      return nlohmann::json::parse(r.out);
    };
    CHECK(diff("clean.topo").at("identical") == true);
    // The local node is host ft-h00; route 0,1 is its leaf, ft-l1-00.
    REQUIRE(sim.Run("ibportstate -D 0,1 4 width 1").exit_code == 0);
    auto narrow = diff("narrow.topo");
    REQUIRE(narrow.at("differences").size() == 1);
    CHECK(narrow.at("differences")[0].at("link") == "ft-l1-00[4] -- ft-l2-01[1]");
    CHECK(narrow.at("counts").size() == 1);
    CHECK(narrow.at("counts").begin().key() != "missing_link");
    sim.Console("Unlink \"S-fab2000000000000\"[3]");
    auto missing = diff("missing.topo");
    REQUIRE(missing.at("differences").size() == 2);
    CHECK(missing.at("counts").at("missing_link") == 1);
    bool named = false;
    for (const auto& d : missing.at("differences"))
      named = named || (d.at("kind") == "missing_link" && d.at("link") == "ft-l1-00[3] -- ft-l2-00[1]");
    CHECK(named);
  }

  TEST_CASE("one SMP in flight and many give the same fabric") {
    if (!IbsimAvailable()) return;
    Scratch s;
    Ibsim sim(s.Write("ft.net", FatTree2(4, 2, 3)));
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    DiscoveredView one = Discover(sim, "--inflight 1");
    DiscoveredView many = Discover(sim, "--inflight 64");
    CHECK(one.links.links == many.links.links);
    CHECK(one.guids == many.guids);
    CHECK(one.json.at("stats").at("retransmits") == 0);
  }

  TEST_CASE("a link taken down with Unlink is missing, ReLink brings it back") {
    if (!IbsimAvailable()) return;
    Scratch s;
    Ibsim sim(s.Write("ft.net", FatTree2(3, 2, 2)));
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    DiscoveredView before = Discover(sim);
    // leaf1 port 3 goes to spine0 port 2.
    sim.Console("Unlink \"leaf1\"[3]");
    DiscoveredView after = Discover(sim);
    CHECK(after.json.at("num_links").get<size_t>() + 1 == before.json.at("num_links").get<size_t>());
    std::vector<std::pair<uint64_t, unsigned>> missing;
    for (const auto& [end, peer] : before.links.links)
      if (!after.links.links.contains(end)) missing.push_back(end);
    REQUIRE(missing.size() == 2);
    std::set<std::string> names;
    for (const auto& [guid, port] : missing)
      names.insert(before.links.descriptions.at(guid) + "[" + std::to_string(port) + "]");
    CHECK(names == std::set<std::string>{"leaf1[3]", "spine0[2]"});
    sim.Console("ReLink \"leaf1\"[3]");
    DiscoveredView again = Discover(sim);
    CHECK(again.links.links == before.links.links);
  }

  TEST_CASE("a width changed with ibportstate shows up degraded") {
    if (!IbsimAvailable()) return;
    Scratch s;
    Ibsim sim(s.Write("ft.net", FatTree2(2, 1, 1)));
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    DiscoveredView before = Discover(sim);
    // leaf0 is the local node (route "0"); its port 2 goes to spine0.
    auto r = sim.Run("ibportstate -D 0 2 width 1");
    INFO("ibportstate: ", r.out, r.err);
    REQUIRE(r.exit_code == 0);
    DiscoveredView after = Discover(sim);
    uint64_t leaf0 = 0;
    for (const auto& [guid, desc] : after.links.descriptions)
      if (desc == "leaf0") leaf0 = guid;
    CHECK(before.links.rates.at({leaf0, 2}).starts_with("4x"));
    CHECK(after.links.rates.at({leaf0, 2}).starts_with("1x"));
    bool reported = false;
    for (const auto& d : after.json.at("degraded"))
      reported = reported || (d.at("link").get<std::string>().find("leaf0[2]") != std::string::npos &&
                              d.at("active").get<std::string>().starts_with("1x"));
    CHECK(reported);
  }

  TEST_CASE("5% MAD loss completes within the retry budget") {
    if (!IbsimAvailable()) return;
    Scratch s;
    Ibsim sim(s.Write("ft.net", FatTree2(4, 2, 4)));
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    DiscoveredView clean = Discover(sim);
    sim.Console("Error \"spine0\"[1] 5");
    sim.Console("Error \"spine1\"[2] 5");
    sim.Console("Error \"leaf2\"[5] 5");
    DiscoveredView lossy = Discover(sim, "--timeout 50 --retries 8");
    CHECK(lossy.json.at("problems").empty());
    CHECK(lossy.links.links == clean.links.links);
  }

  TEST_CASE("a port that drops everything is reported exactly") {
    if (!IbsimAvailable()) return;
    Scratch s;
    Ibsim sim(s.Write("ft.net", FatTree2(2, 1, 2)));
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    // Every MAD entering host1-0's port is dropped: the host cannot be reached.
    sim.Console("Error \"host1-0\"[1] 100");
    auto r = sim.Fabricctl("discover --json -q --timeout 30 --retries 2");
    CHECK(r.exit_code == 1);
    auto j = nlohmann::json::parse(r.out);
    REQUIRE(j.at("problems").size() == 1);
    CHECK(j.at("problems")[0].at("message") == "NodeInfo: no answer after 3 attempts");
    CHECK(j.at("problems")[0].at("where").get<std::string>().ends_with("[1]"));
    CHECK(j.at("num_nodes") == 2 + 1 + 4 - 1);
  }

  TEST_CASE("--max-hops bounds the walk and says where it stopped") {
    if (!IbsimAvailable()) return;
    Scratch s;
    Ibsim sim(s.Write("ft.net", FatTree2(2, 1, 2)));
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    auto r = sim.Fabricctl("discover --json -q --max-hops 1");
    CHECK(r.exit_code == 1);
    auto j = nlohmann::json::parse(r.out);
    // leaf0 sees its two hosts and spine0; spine0 may not go on to leaf1.
    CHECK(j.at("num_nodes") == 4);
    REQUIRE(j.at("problems").size() == 1);
    CHECK(j.at("problems")[0].at("message") == "not followed: --max-hops 1 reached");
  }

  TEST_CASE("no simulator or no umad device: a clear error, no hang") {
    const fabricctl::testing::ScratchDir scratch("nosim");
    const std::string& dir = scratch.dir;
    auto no_sim = RunShell(
        std::string("IBSIM_SOCKNAME=fctl-nobody LD_PRELOAD=") + kUmad2Sim + " " + FABRICCTL_BINARY + " discover", dir,
        20);
    CHECK(no_sim.exit_code == 2);
    CHECK(no_sim.err.find("no ibsim simulator with IBSIM_SOCKNAME=fctl-nobody is running") != std::string::npos);
    if (!std::filesystem::exists("/sys/class/infiniband_mad")) {
      auto no_dev = RunShell(std::string(FABRICCTL_BINARY) + " discover", dir, 20);
      CHECK(no_dev.exit_code == 2);
      CHECK(no_dev.err.find("no InfiniBand device with a umad interface") != std::string::npos);
    }
  }
}

}  // namespace fabricctl::testing

// Unit tests: the same discovery code against a subnet simulated in memory.
namespace fabricctl {
namespace {

Fabric FatTree(unsigned leaves, unsigned spines, unsigned hosts, unsigned width) {
  return testing::FakeFatTree(leaves, spines, hosts, width);
}

// Links as (guid, port) -> (guid, port) from both ends, comparable across fabrics.
std::map<std::pair<uint64_t, unsigned>, std::pair<uint64_t, unsigned>> Cabling(const Fabric& f) {
  std::map<std::pair<uint64_t, unsigned>, std::pair<uint64_t, unsigned>> m;
  for (const Link& l : f.links()) {
    const Port& a = f.port(l.a);
    const Port& b = f.port(l.b);
    m[{f.node(a.node).guid, a.number}] = {f.node(b.node).guid, b.number};
    m[{f.node(b.node).guid, b.number}] = {f.node(a.node).guid, a.number};
  }
  return m;
}

void CheckSameFabric(const Fabric& found, const Fabric& truth) {
  REQUIRE(found.num_nodes() == truth.num_nodes());
  CHECK(found.num_links() == truth.num_links());
  CHECK(Cabling(found) == Cabling(truth));
  for (NodeId n = 0; n < truth.num_nodes(); ++n) {
    auto f = found.FindByGuid(truth.node(n).guid);
    REQUIRE(f);
    CHECK(found.description(*f) == truth.description(n));
    CHECK(found.node(*f).type == truth.node(n).type);
    CHECK(found.node(*f).num_ports == truth.node(n).num_ports);
    unsigned lid_port = truth.is_switch(n) ? 0 : 1;
    CHECK(found.port(found.port_id(*f, lid_port)).lid == truth.port(truth.port_id(n, lid_port)).lid);
    for (unsigned p = 1; p <= truth.node(n).num_ports; ++p) {
      const Port& want = truth.port(truth.port_id(n, p));
      const Port& got = found.port(found.port_id(*f, p));
      if (want.peer == kNone) continue;
      CHECK(got.width_active == want.width_active);
      CHECK(got.speed_active == want.speed_active);
      CHECK(got.state == want.state);
      CHECK(got.guid == want.guid);
    }
  }
}

}  // namespace

TEST_CASE("discovery finds the simulated fabric whatever the number of SMPs in flight") {
  Fabric truth = FatTree(6, 3, 4, 2);
  uint64_t mads = 0;
  for (unsigned inflight : {1u, 8u, 64u}) {
    testing::FakeTransport t(truth, 0, 0);  // attached at leaf0's management port, like ibsim
    auto r = Discover(t, DiscoveryOptions{.rpc = {.inflight = inflight, .timeout_ms = 50, .retries = 1}});
    REQUIRE(r);
    CHECK(r->problems.empty());
    CheckSameFabric(r->fabric, truth);
    CHECK(r->stats.retransmits == 0);
    // Per node: NodeDescription; per switch: SwitchInfo and PortInfo of every port; per CA:
    // PortInfo of its port; per cable: one NodeInfo; plus NodeInfo of the local node.
    uint64_t expect = 1 + truth.num_links() + truth.num_nodes();
    for (const Node& n : truth.nodes()) expect += n.type == NodeType::kSwitch ? 1 + n.num_ports + 1 : 1;
    CHECK(r->stats.sent == expect);
    if (mads != 0) CHECK(r->stats.sent == mads);
    mads = r->stats.sent;
    for (NodeId n = 0; n < r->fabric.num_nodes(); ++n)
      CHECK(r->paths[n].hops <= 3);  // shortest routes: leaf, spine, leaf, host
  }
}

TEST_CASE("discovery from a CA walks out of its port and never through another CA") {
  Fabric truth = FatTree(3, 2, 2, 1);
  NodeId host = *truth.FindByDescription("host0");
  testing::FakeTransport t(truth, host, 1);
  auto r = Discover(t, DiscoveryOptions{.rpc = {.timeout_ms = 50}});
  REQUIRE(r);
  CHECK(r->problems.empty());
  CheckSameFabric(r->fabric, truth);
  CHECK(r->local_node == 0);
  CHECK(r->fabric.description(0) == "host0");
}

TEST_CASE("lost SMPs are retried; a dead port is reported exactly") {
  Fabric truth = FatTree(4, 2, 3, 1);
  SUBCASE("10% loss, enough retries") {
    testing::FakeTransport t(truth, 0, 0);
    t.SetLoss(0.10, 42);
    auto r = Discover(t, DiscoveryOptions{.rpc = {.inflight = 16, .timeout_ms = 2, .retries = 10}});
    REQUIRE(r);
    CHECK(r->problems.empty());
    CheckSameFabric(r->fabric, truth);
    CHECK(r->stats.retransmits > 0);
    CHECK(r->stats.sent == t.received);
  }
  SUBCASE("a host that never answers") {
    testing::FakeTransport t(truth, 0, 0);
    NodeId dead = *truth.FindByDescription("host7");
    t.DropInto(dead, 1);
    auto r = Discover(t, DiscoveryOptions{.rpc = {.timeout_ms = 2, .retries = 2}});
    REQUIRE(r);
    REQUIRE(r->problems.size() == 1);
    CHECK(r->problems[0].message == "NodeInfo: no answer after 3 attempts");
    const Port& leaf_side = truth.port(truth.port(truth.port_id(dead, 1)).peer);
    CHECK(r->problems[0].where == fmt::format("S-{:016x}[{}]", truth.node(leaf_side.node).guid, leaf_side.number));
    CHECK(r->fabric.num_nodes() == truth.num_nodes() - 1);
  }
  SUBCASE("the local port does not answer") {
    testing::FakeTransport t(truth, 0, 0);
    t.SetLoss(1.0, 1);
    auto r = Discover(t, DiscoveryOptions{.rpc = {.timeout_ms = 2, .retries = 1}});
    REQUIRE(!r);
    CHECK(r.error().Format() == "fake0:0: the local port does not answer NodeInfo (timed out 2 times after 2 ms)");
  }
  SUBCASE("a fabric that stops taking MADs mid-walk: an error naming the request, not a hang") {
    testing::FakeTransport t(truth, 0, 0);
    t.FreezeAfter(5);
    auto r = Discover(t, DiscoveryOptions{.rpc = {.timeout_ms = 2, .retries = 1}});
    REQUIRE(!r);
    CHECK(r.error().where == "fake0:0");
    CHECK(r.error().message.find("via route 0") != std::string::npos);
    CHECK(r.error().message.find("timed out") != std::string::npos);
  }
}

TEST_CASE("--max-hops stops the walk and lists where") {
  Fabric truth = FatTree(2, 1, 1, 1);
  testing::FakeTransport t(truth, 0, 0);
  auto r = Discover(t, DiscoveryOptions{.max_hops = 1, .rpc = {.timeout_ms = 2}});
  REQUIRE(r);
  CHECK(r->fabric.num_nodes() == 3);  // leaf0, its host, spine0
  REQUIRE(r->problems.size() == 1);
  CHECK(r->problems[0].path == "0,2");
  CHECK(r->problems[0].message == "not followed: --max-hops 1 reached");
}

TEST_CASE("degraded links: below what both ends support") {
  FabricBuilder b;
  NodeId s = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 2, .guid = 1, .description = "s"});
  NodeId h = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 2, .description = "h"});
  NodeId g = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 3, .description = "g"});
  REQUIRE(b.Connect(s, 1, h, 1, {}));
  REQUIRE(b.Connect(s, 2, g, 1, {}));
  for (auto [n, p] : {std::pair{s, 1u}, {h, 1u}}) {
    b.port(n, p).width_supported = WidthBit(LinkWidth::k4x) | WidthBit(LinkWidth::k1x);
    b.port(n, p).width_active = LinkWidth::k1x;
  }
  b.port(s, 2).width_supported = WidthBit(LinkWidth::k4x);
  b.port(g, 1).width_supported = WidthBit(LinkWidth::k1x);  // the far end can do no better
  b.port(s, 2).width_active = b.port(g, 1).width_active = LinkWidth::k1x;
  Fabric f = *b.Build();
  auto d = FindDegradedLinks(f);
  REQUIRE(d.size() == 1);
  CHECK(f.LinkName(d[0].link) == "s[1] -- h[1]");
  CHECK(d[0].best_width == LinkWidth::k4x);
}

}  // namespace fabricctl
