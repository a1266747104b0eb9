// MadCounterSource: a fat tree answered in memory (SMPs by the fake subnet, PMAs by a thin
// layer over it), then a sweep through DriveSweep with simulated probes and PMA counters.
#include "probes/sweep/mad_counters.h"

#include <doctest/doctest.h>
#include <infiniband/mad.h>

#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "fabric/topology_io.h"
#include "probes/sweep/sim_fabric.h"
#include "probes/sweep/sweep_driver.h"
#include "routing/route_io.h"
#include "tests/fabric/fake_transport.h"
#include "tests/ibsim_fabrics.h"
#include "tests/ibsim_harness.h"
#include "tests/probes/sweep/sweep_fixture.h"
#include "tests/scratch_dir.h"

namespace fabricctl::sweep {
namespace {

// SMPs go to the fake subnet; PMA requests are answered here from `counters`, by the LID
// the fake subnet hands out (switch port 0, CA port 1).
class PmaTransport final : public mad::Transport {
 public:
  PmaTransport(const Fabric& live, NodeId local) : subnet_(live, local, 1) {
    uint32_t lid = 1;
    for (NodeId n = 0; n < live.num_nodes(); ++n) {
      unsigned lid_port = live.is_switch(n) ? 0 : 1;
      subnet_.lid_override[{n, lid_port}] = lid;
      node_of_lid_[lid++] = n;
    }
  }

  std::map<std::pair<NodeId, unsigned>, std::map<Counter, uint64_t>> counters;  // (node, port) -> values
  std::set<NodeId> silent;                                                      // nodes whose PMA does not answer

  Result<void> Send(const mad::Request& r, uint32_t tid, int timeout_ms) override {
    if (r.mgmt_class != mad::MgmtClass::kPerformance) return subnet_.Send(r, tid, timeout_ms);
    auto node = node_of_lid_.find(r.lid);
    if (node == node_of_lid_.end() || silent.contains(node->second)) return {};
    mad::Reply reply{.tid = tid, .is_response = true, .mgmt_class = mad::MgmtClass::kPerformance};
    uint8_t* d = reply.mad.data() + mad::kGmpDataOffset;
    if (r.attr_id == mad::attr::kPortCounters) {
      unsigned port = mad_get_field(const_cast<uint8_t*>(r.data.data()), 0, IB_PC_PORT_SELECT_F);
      mad_set_field(d, 0, IB_PC_PORT_SELECT_F, port);
      if (auto c = counters.find({node->second, port}); c != counters.end()) {
        constexpr std::array<MAD_FIELDS, kNumErrorCounters> kFields = {
            IB_PC_ERR_SYM_F,       IB_PC_LINK_RECOVERS_F,  IB_PC_LINK_DOWNED_F,    IB_PC_ERR_RCV_F,
            IB_PC_ERR_PHYSRCV_F,   IB_PC_ERR_SWITCH_REL_F, IB_PC_XMT_DISCARDS_F,   IB_PC_ERR_XMTCONSTR_F,
            IB_PC_ERR_RCVCONSTR_F, IB_PC_ERR_LOCALINTEG_F, IB_PC_ERR_EXCESS_OVR_F, IB_PC_VL15_DROPPED_F,
            IB_PC_XMT_WAIT_F};
        for (auto [counter, value] : c->second)
          mad_set_field(d, 0, kFields[static_cast<size_t>(counter)], static_cast<uint32_t>(value));
      }
    }  // ClassPortInfo: all zeros, so no PortCountersExtended
    replies_.push_back(reply);
    return {};
  }
  Result<std::optional<mad::Reply>> Receive(int timeout_ms) override {
    if (replies_.empty()) return subnet_.Receive(timeout_ms);
    mad::Reply r = replies_.front();
    replies_.pop_front();
    return std::optional<mad::Reply>{r};
  }
  const mad::LocalPort& local() const override { return subnet_.local(); }
  fabricctl::testing::FakeTransport& subnet() { return subnet_; }

 private:
  fabricctl::testing::FakeTransport subnet_;
  std::map<uint32_t, NodeId> node_of_lid_;
  std::deque<mad::Reply> replies_;
};

// Quick MAD bounds: the fake answers at once, and a silent PMA should not slow the tests.
MadCounterOptions Quick() { return {.rpc = {.inflight = 16, .timeout_ms = 5, .retries = 1}}; }

NodeId Named(const Fabric& f, std::string_view description) { return *f.FindByDescription(description); }

std::vector<PortId> PortsWithErrors(const std::vector<uint64_t>& before, const std::vector<uint64_t>& after) {
  std::vector<PortId> ports;
  for (PortId p = 0; p < after.size(); ++p)
    if (after[p] != before[p]) ports.push_back(p);
  return ports;
}

size_t ConnectedPorts(const Fabric& f) {
  size_t n = 0;
  for (PortId p = 0; p < f.num_port_slots(); ++p) n += f.port(p).number > 0 && f.port(p).peer != kNone;
  return n;
}

TEST_CASE("PMA counters: every connected port is read, and only link error counters are summed") {
  auto r = testing::FatTree(2, 2, 2);
  const Fabric& f = r.fabric;
  PmaTransport pma(f, Named(f, "host0"));
  MadCounterSource source(f, pma, Quick());
  auto before = source.Read();
  REQUIRE_MESSAGE(before, before.error().Format());
  CHECK(before->size() == f.num_port_slots());
  CHECK(source.ports_read() == ConnectedPorts(f));
  CHECK(source.unread().empty());

  const NodeId leaf1 = Named(f, "leaf1");
  pma.counters[{leaf1, 3}] = {{Counter::kSymbolErrorCounter, 17}, {Counter::kLinkDownedCounter, 2}};
  pma.counters[{Named(f, "spine0"), 1}] = {{Counter::kPortXmitWait, 5000}, {Counter::kPortXmitDiscards, 9}};
  auto after = source.Read();
  REQUIRE(after);
  REQUIRE(PortsWithErrors(*before, *after) == std::vector<PortId>{f.port_id(leaf1, 3)});
  CHECK((*after)[f.port_id(leaf1, 3)] - (*before)[f.port_id(leaf1, 3)] == 19);
  CHECK(source.unread().empty());
}

TEST_CASE("PMA counters: a topology node absent from the live fabric is listed, with the port it hangs off") {
  auto r = testing::FatTree(2, 2, 2);
  const Fabric& f = r.fabric;
  PmaTransport pma(f, Named(f, "host0"));
  const NodeId host3 = Named(f, "host3");
  pma.subnet().DropInto(host3, 1);  // the walk cannot reach host3: it is not in the live fabric
  MadCounterSource source(f, pma, Quick());
  auto read = source.Read();
  REQUIRE(read);
  auto unread = source.unread();
  REQUIRE(unread.size() == 2);
  const PortId leaf_side = f.port(f.port_id(host3, 1)).peer;
  CHECK(unread[0].port == std::min(leaf_side, f.port_id(host3, 1)));
  std::map<PortId, std::string> why;
  for (const UnreadPort& u : unread) why[u.port] = u.message;
  CHECK(why[f.port_id(host3, 1)] ==
        fmt::format("node 'host3' (GUID 0x{:x}) is not in the live fabric", f.node(host3).guid));
  CHECK(why[leaf_side] == "not connected in the live fabric");
  CHECK(source.ports_read() == ConnectedPorts(f) - 2);
}

TEST_CASE("PMA counters: a port unread at one read adds no errors to the sweep and is listed") {
  auto r = testing::FatTree(2, 2, 2);
  const Fabric& f = r.fabric;
  PmaTransport pma(f, Named(f, "host0"));
  const NodeId host2 = Named(f, "host2");
  pma.silent.insert(host2);
  MadCounterSource source(f, pma, Quick());
  auto before = source.Read();
  REQUIRE(before);
  // It answers later, with errors it had all along: they are not the sweep's.
  pma.silent.clear();
  pma.counters[{host2, 1}] = {{Counter::kSymbolErrorCounter, 40}};
  auto after = source.Read();
  REQUIRE(after);
  CHECK(PortsWithErrors(*before, *after).empty());
  auto unread = source.unread();
  REQUIRE(unread.size() == 1);
  CHECK(unread[0].port == f.port_id(host2, 1));
  CHECK(unread[0].message == "PortCounters: no answer");
}

TEST_CASE("PMA counters: a saturated counter is listed, since new errors cannot show on it") {
  auto r = testing::FatTree(2, 2, 2);
  const Fabric& f = r.fabric;
  PmaTransport pma(f, Named(f, "host0"));
  const NodeId spine1 = Named(f, "spine1");
  pma.counters[{spine1, 2}] = {{Counter::kSymbolErrorCounter, 0xffff}};
  MadCounterSource source(f, pma, Quick());
  REQUIRE(source.Read());
  auto unread = source.unread();
  REQUIRE(unread.size() == 1);
  CHECK(unread[0].port == f.port_id(spine1, 2));
  CHECK(unread[0].message.starts_with("SymbolErrorCounter is saturated at 65535"));
}

TEST_CASE("PMA counters: a live fabric sharing no node with the topology is an error") {
  auto r = testing::FatTree(2, 2, 2);
  FabricBuilder b;
  NodeId sw = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 2, .guid = 0xabc0, .description = "elsewhere"});
  NodeId ca = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0xabc1, .description = "stranger"});
  REQUIRE(b.Connect(ca, 1, sw, 1, {}));
  auto live = b.Build();
  REQUIRE(live);
  PmaTransport pma(*live, ca);
  MadCounterSource source(r.fabric, pma, Quick());
  auto read = source.Read();
  REQUIRE(!read);
  CHECK(read.error().message.starts_with("none of the topology's 16 connected ports is in the live fabric"));
}

// Simulated probes, and a cable that starts taking symbol errors while the sweep runs.
class ErrorsDuringSweep final : public ProbeExecutor {
 public:
  ErrorsDuringSweep(ProbeExecutor& inner, std::function<void()> during) : inner_(inner), during_(std::move(during)) {}
  std::vector<ProbeOutcome> RunRound(std::span<const ProbeTask> tasks) override {
    if (during_) std::exchange(during_, nullptr)();
    return inner_.RunRound(tasks);
  }

 private:
  ProbeExecutor& inner_;
  std::function<void()> during_;
};

TEST_CASE("a sweep with PMA counters finds the link whose port took errors, though no probe suffered") {
  auto r = testing::FatTree(2, 2, 2);
  const Fabric& f = r.fabric;
  auto plan = PlanSweep(f, r.routes, {});
  REQUIRE(plan);
  FaultSet faults;
  faults.Apply(f);
  SimExecutor sim(f, faults, {});
  PmaTransport pma(f, Named(f, "host0"));
  const NodeId spine1 = Named(f, "spine1");
  pma.counters[{spine1, 1}] = {{Counter::kSymbolErrorCounter, 3}};  // old errors: not this sweep's
  ErrorsDuringSweep executor(sim, [&] { pma.counters[{spine1, 1}][Counter::kSymbolErrorCounter] = 12; });
  MadCounterSource source(f, pma, Quick());
  auto run = DriveSweep(f, r.routes, std::move(*plan), executor, &source, {}, nullptr);
  REQUIRE_MESSAGE(run, run.error().Format());
  const LinkId link = f.port(f.port_id(spine1, 1)).link;
  REQUIRE(run->analysis.findings.size() == 1);
  CHECK(run->analysis.findings[0].kind == FindingKind::kErrors);
  CHECK(run->analysis.findings[0].link == link);
  CHECK(run->analysis.findings[0].port_errors == 9);
}

}  // namespace
}  // namespace fabricctl::sweep

// Under ibsim: `sweep run --counters mad` end to end, and the source itself read in a child
// of this test binary that runs with libumad2sim preloaded (only a preloaded process can
// speak umad to the simulator), so the test can change counters between two reads.
namespace fabricctl::testing {
namespace {

using sweep::MadCounterSource;

// Writes one line to ibsim's console FIFO and gives ibsim time to apply it (no ack).
void Console(const std::string& fifo, const std::string& line) {
  std::ofstream(fifo) << line << "\n" << std::flush;
  usleep(300 * 1000);
}

TEST_SUITE("ibsim_mad_counters") {
  TEST_CASE("child: PMA counters of a live fabric, matched to its topology by GUID") {
    const char* dir = std::getenv("FABRICCTL_MAD_COUNTERS_DIR");
    const char* console = std::getenv("FABRICCTL_MAD_COUNTERS_CONSOLE");
    if (dir == nullptr || console == nullptr) return;  // run by the case below, under libumad2sim
    const std::string d = dir;
    auto fabric = ReadTopologyFile(d + "/live.topo");
    REQUIRE_MESSAGE(fabric, fabric.error().Format());
    const Fabric& f = *fabric;
    auto routes = ReadRoutes(f, d + "/r");
    REQUIRE_MESSAGE(routes, routes.error().Format());
    auto transport = mad::OpenUmadTransport("", 0, 200);
    REQUIRE_MESSAGE(transport, transport.error().Format());

    MadCounterSource source(f, **transport, {});
    auto before = source.Read();
    REQUIRE_MESSAGE(before, before.error().Format());
    CHECK(source.ports_read() == 16);
    CHECK(source.unread().empty());
    Console(console, "PerformanceSet \"leaf1\"[3] PortCounters.SymbolErrorCounter=17");
    auto after = source.Read();
    REQUIRE(after);
    const PortId leaf1_3 = f.port_id(*f.FindByDescription("leaf1"), 3);
    CHECK(sweep::PortsWithErrors(*before, *after) == std::vector<PortId>{leaf1_3});
    CHECK((*after)[leaf1_3] - (*before)[leaf1_3] == 17);

    // A whole sweep: simulated probes (ibsim carries no traffic), the live PMAs' counters,
    // and a port that takes symbol errors while it runs. leaf1[3]'s old errors stay out.
    auto plan = sweep::PlanSweep(f, *routes, {});
    REQUIRE(plan);
    sweep::FaultSet faults;
    faults.Apply(f);
    sweep::SimExecutor sim(f, faults, {});
    sweep::ErrorsDuringSweep executor(
        sim, [&] { Console(console, "PerformanceSet \"spine1\"[1] PortCounters.SymbolErrorCounter=5"); });
    MadCounterSource counters(f, **transport, {});
    auto run = sweep::DriveSweep(f, *routes, std::move(*plan), executor, &counters, {}, nullptr);
    REQUIRE_MESSAGE(run, run.error().Format());
    REQUIRE(run->analysis.findings.size() == 1);
    const sweep::Finding& finding = run->analysis.findings[0];
    CHECK(finding.kind == sweep::FindingKind::kErrors);
    CHECK(f.LinkName(finding.link) == f.LinkName(f.port(f.port_id(*f.FindByDescription("spine1"), 1)).link));
    CHECK(finding.port_errors == 5);
  }

  TEST_CASE("sweep run --counters mad reads the live PMAs; a topology node missing from the live fabric is listed") {
    if (!IbsimAvailable()) {
      MESSAGE("ibsim or libumad2sim not installed: skipped");
      return;
    }
    const fabricctl::testing::ScratchDir scratch("mad-counters");
    const std::string& d = scratch.dir;
    std::ofstream(d + "/fabric.net") << FatTree2(2, 2, 2);
    Ibsim sim(d + "/fabric.net");
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    REQUIRE(sim.Run("opensm -o -f " + d + "/opensm.log", 120).exit_code == 0);
    REQUIRE(sim.Run("ibnetdiscover > " + d + "/live.topo").exit_code == 0);
    auto routed = sim.Fabricctl("route compute " + d + "/live.topo --engine updn -o " + d + "/r");
    REQUIRE_MESSAGE(routed.exit_code == 0, routed.err);

    auto clean = sim.Fabricctl("sweep run " + d + "/live.topo " + d + "/r --counters mad -o " + d + "/clean.json");
    INFO(clean.out, clean.err);
    CHECK(clean.exit_code == 0);
    CHECK(clean.out.find("counters: mad, 0 ports with errors, 16 ports read, 0 unread\n") != std::string::npos);
    auto report = nlohmann::json::parse(Slurp(d + "/clean.json"));
    CHECK(report.at("counters").at("source") == "mad");
    CHECK(report.at("counters").at("ports_read") == 16);

    // host1-1 under another GUID: the topology names a node the live fabric lacks.
    std::string topo = Slurp(d + "/live.topo");
    for (size_t at; (at = topo.find("100006")) != std::string::npos;) topo.replace(at, 6, "1000f6");
    std::ofstream(d + "/other.topo") << topo;
    REQUIRE(sim.Fabricctl("route compute " + d + "/other.topo --engine updn -o " + d + "/r2").exit_code == 0);
    auto absent =
        sim.Fabricctl("sweep run " + d + "/other.topo " + d + "/r2 --counters mad --json -o " + d + "/other.json");
    INFO(absent.out, absent.err);
    REQUIRE(absent.exit_code == 0);
    auto counters = nlohmann::json::parse(absent.out).at("counters");
    CHECK(counters.at("ports_read") == 15);
    CHECK(counters.at("unread") ==
          nlohmann::json::parse(
              R"([{"port": "host1-1[1]", "message": "node 'host1-1' (GUID 0x1000f6) is not in the live fabric"}])"));

    const std::string self = std::filesystem::read_symlink("/proc/self/exe");
    auto child = sim.Run("FABRICCTL_MAD_COUNTERS_DIR=" + d + " FABRICCTL_MAD_COUNTERS_CONSOLE=" + sim.dir() +
                             "/console " + self + " -ts=ibsim_mad_counters -tc='child*' --no-intro",
                         120);
    INFO("child: ", child.out, child.err);
    CHECK(child.exit_code == 0);
    CHECK(child.out.find("1 passed") != std::string::npos);
    CHECK(child.out.find("assertions: 0 ") == std::string::npos);  // the child did read, not skip
  }
}

}  // namespace
}  // namespace fabricctl::testing
