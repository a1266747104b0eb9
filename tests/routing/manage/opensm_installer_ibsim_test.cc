// The OpenSM-present installer against a real OpenSM daemon (-R file,updn -U DUMP) under
// ibsim (label ibsim): a cable goes down, the repaired tables are installed step by step
// through OpenSM, and after every step all LFTs are read back and verified. Only a process
// with libumad2sim preloaded speaks to the simulator, so the installation runs in a child
// of this test binary ("child: ..."); the parent sets up ibsim and OpenSM.
#include <doctest/doctest.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "fabric/discovery.h"
#include "fabric/file_io.h"
#include "fabric/mad/transport.h"
#include "routing/fabric_health.h"
#include "routing/installed_routes.h"
#include "routing/manage/opensm_installer.h"
#include "routing/repair.h"
#include "routing/transition.h"
#include "routing/verifier.h"
#include "tests/ibsim_fabrics.h"
#include "tests/ibsim_harness.h"
#include "tests/scratch_dir.h"

namespace fabricctl::testing {
namespace {

// 3 leaves, 2 spines, 2 hosts a leaf: leaf<l> port 3 to spine0, port 4 to spine1. Clients
// attach at leaf0, whose directed routes reach every other leaf through spine0, so the
// cable leaf2-spine1 can fail without cutting a route the installer reads back by.
constexpr unsigned kLeaves = 3, kSpines = 2, kHosts = 2;

// OpenSM as a daemon on the simulator, its file engine reading DIR/opensm-lfts.dump (updn
// while that is missing), its pid in DIR/opensm.pid; stopped on scope exit.
class OpensmDaemon {
 public:
  OpensmDaemon(const Ibsim& sim, const std::string& dir) : dir_(dir) {
    auto r =
        sim.Run(fmt::format("OSM_CACHE_DIR={0} OSM_TMP_DIR={0} setsid opensm -R file,updn -U {0}/opensm-lfts.dump "
                            "-d2 -f {0}/opensm.log >{0}/opensm.out 2>&1 </dev/null & echo $!",
                            dir));
    pid_ = std::atoi(r.out.c_str());
    if (pid_ > 0) std::ofstream(dir + "/opensm.pid") << pid_ << "\n";
  }
  ~OpensmDaemon() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100 && kill(pid_, 0) == 0; ++i) usleep(50 * 1000);
    kill(pid_, SIGKILL);
  }
  // Until OpenSM's log says SUBNET UP (at most `timeout_s`).
  bool WaitForSubnetUp(int timeout_s) const {
    for (int i = 0; i < timeout_s * 10 && pid_ > 0; ++i) {
      if (Slurp(dir_ + "/opensm.log").find("SUBNET UP") != std::string::npos) return true;
      usleep(100 * 1000);
    }
    return false;
  }

 private:
  std::string dir_;
  int pid_ = -1;
};

// ibsim on the fat tree above with an OpenSM daemon (OpensmDaemon) that has brought it up.
struct OpensmOnFatTree {
  ScratchDir scratch;
  std::string net = WriteNet(scratch.dir);
  Ibsim sim{net};
  std::optional<OpensmDaemon> opensm;

  OpensmOnFatTree() {
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    opensm.emplace(sim, scratch.dir);
    REQUIRE_MESSAGE(opensm->WaitForSubnetUp(60), Slurp(scratch.dir + "/opensm.out"));
  }
  static std::string WriteNet(const std::string& dir) {
    std::ofstream(dir + "/ft.net") << FatTree2(kLeaves, kSpines, kHosts);
    return dir + "/ft.net";
  }
};

const char* ChildDir() { return std::getenv("FABRICCTL_OSM_INSTALL_DIR"); }

// Every LFT as the switches hold it now.
InstalledRoutes ReadAll(mad::Transport& transport, const DiscoveryResult& live) {
  auto installed = ReadInstalledRoutes(transport, live, InstalledRoutesOptions{.sl2vl = Sl2VlReading::kSkip});
  REQUIRE_MESSAGE(installed, installed.error().Format());
  REQUIRE(installed->incomplete_nodes.empty());
  return std::move(*installed);
}

bool SameRow(const SubnetRoutes& a, const SubnetRoutes& b, size_t i) {
  const size_t lids = a.num_lids();
  return lids == b.num_lids() &&
         std::equal(a.lft.begin() + i * lids + 1, a.lft.begin() + (i + 1) * lids, b.lft.begin() + i * lids + 1);
}

void ChildInstall(const std::string& dir, const std::string& console) {
  auto transport = mad::OpenUmadTransport("", 0, 200);
  REQUIRE_MESSAGE(transport, transport.error().Format());
  auto live = Discover(**transport, {});
  REQUIRE_MESSAGE(live, live.error().Format());
  REQUIRE(live->problems.empty());
  const InstalledRoutes before = ReadAll(**transport, *live);

  const NodeId leaf2 = *live->fabric.FindByDescription("leaf2");
  FabricHealth health = FabricHealth::AllUp(live->fabric);
  health.link_down[live->fabric.port(live->fabric.port_id(leaf2, kHosts + 2)).link] = 1;
  std::ofstream(console) << "Unlink \"leaf2\"[" << kHosts + 2 << "]\n" << std::flush;

  auto repairer = RouteRepairer::Prepare(live->fabric, before.routes);
  REQUIRE_MESSAGE(repairer, repairer.error().Format());
  auto repaired = repairer->Repair(health);
  REQUIRE(repaired);
  const RouteSet& after = repaired->routes;
  auto alive = WithoutDown(live->fabric, health);
  REQUIRE(alive);
  auto plan = PlanTransition(*alive, before.routes.subnets[0], after.subnets[0]);
  REQUIRE(plan);
  REQUIRE(!plan->steps.empty());

  const std::vector<uint8_t> reachable(live->fabric.num_nodes(), 1);
  OpensmInstaller installer(
      **transport, *live, reachable,
      OpensmInstallerOptions{
          .lfts_file = dir + "/opensm-lfts.dump", .pid_file = dir + "/opensm.pid", .step_timeout_seconds = 60});
  auto report = installer.Install(before.routes, after, {*plan}, [&](const InstallStepReport& step) {
    CHECK(step.problems.empty());
    CHECK(step.blocks_verified == step.blocks_written);
    // Every switch read back: the step's switches hold the new tables, and the mix of old
    // and new tables the fabric runs on now has no credit loop.
    const InstalledRoutes now = ReadAll(**transport, *live);
    for (size_t i : plan->steps[step.step]) CHECK(SameRow(now.routes.subnets[0], after.subnets[0], i));
    auto verdict = Verify(*alive, now.routes);
    REQUIRE_MESSAGE(verdict, verdict.error().Format());
    CHECK(verdict->deadlock_free());
  });
  REQUIRE_MESSAGE(report, report.error().Format());
  CHECK(report->complete);
  CHECK_MESSAGE(!report->stopped, (report->stopped ? report->stopped->Format() : ""));

  const InstalledRoutes final_tables = ReadAll(**transport, *live);
  for (size_t i = 0; i < after.subnets[0].switches.size(); ++i)
    CHECK(SameRow(final_tables.routes.subnets[0], after.subnets[0], i));
  auto verdict = Verify(*alive, final_tables.routes);
  REQUIRE(verdict);
  CHECK(verdict->sound());
}

}  // namespace

TEST_SUITE("ibsim_opensm_installer") {
  TEST_CASE("child: repaired routes installed through OpenSM's file engine") {
    const char* dir = ChildDir();
    if (dir == nullptr) return;  // run by the case below
    ChildInstall(dir, std::getenv("FABRICCTL_OSM_CONSOLE"));
  }

  TEST_CASE("OpenSM daemon with -R file: a cable down, each step's dump taken, every step read back deadlock-free") {
    if (!IbsimAvailable() || ChildDir() != nullptr) return;
    if (std::system("command -v opensm >/dev/null 2>&1") != 0) {
      MESSAGE("opensm not installed: skipped");
      return;
    }
    OpensmOnFatTree bed;
    const ScratchDir& d = bed.scratch;
    const Ibsim& sim = bed.sim;
    // OpenSM's own tables become the dump its file engine reads from now on.
    REQUIRE(sim.Run(fmt::format("dump_fts >{0}/fts.tmp && mv {0}/fts.tmp {0}/opensm-lfts.dump", d.dir)).exit_code == 0);
    const std::string self = std::filesystem::read_symlink("/proc/self/exe");
    auto r = sim.Run(fmt::format("FABRICCTL_OSM_INSTALL_DIR={} FABRICCTL_OSM_CONSOLE={}/console {} "
                                 "-ts=ibsim_opensm_installer -tc='child*' --no-intro",
                                 d.dir, sim.dir(), self),
                     180);
    const std::string log = Slurp(d.dir + "/opensm.log");
    INFO("child: ", r.out, r.err, "\nOpenSM log tail: ", log.substr(log.size() > 4000 ? log.size() - 4000 : 0));
    CHECK(r.exit_code == 0);
    CHECK(r.out.find(" 1 passed") != std::string::npos);
  }

  TEST_CASE("fabricctl manage --sm opensm-file: OpenSM programs our repair of an unlinked cable, verifier clean") {
    if (!IbsimAvailable() || ChildDir() != nullptr) return;
    if (std::system("command -v opensm >/dev/null 2>&1") != 0) {
      MESSAGE("opensm not installed: skipped");
      return;
    }
    OpensmOnFatTree bed;
    const ScratchDir& d = bed.scratch;
    const Ibsim& sim = bed.sim;
    auto started =
        sim.Fabricctl(fmt::format("manage --sm opensm-file --opensm-lfts {0}/opensm-lfts.dump --opensm-pid "
                                  "{0}/opensm.pid --engine updn --vls 1 --state-dir {0}/state --event-log "
                                  "{0}/events.jsonl -q --max-changes 1 --for 120 >{0}/manage.out 2>&1 & "
                                  "echo $!",
                                  d.dir));
    const int manage = std::atoi(started.out.c_str());
    REQUIRE(manage > 0);
    auto wait_for = [&](const std::string& text) {
      for (int i = 0; i < 600; ++i) {
        if (Slurp(d.dir + "/events.jsonl").find(text) != std::string::npos) return true;
        usleep(100 * 1000);
      }
      return false;
    };
    REQUIRE_MESSAGE(wait_for("\"event\":\"start\""), Slurp(d.dir + "/manage.out"));
    sim.Console(fmt::format("Unlink \"leaf2\"[{}]", kHosts + 2));
    // --max-changes 1: the service ends once the change is installed.
    for (int i = 0; i < 600 && kill(manage, 0) == 0; ++i) usleep(100 * 1000);
    const std::string events = Slurp(d.dir + "/events.jsonl");
    INFO("events: ", events, "\nmanage: ", Slurp(d.dir + "/manage.out"));
    CHECK(kill(manage, 0) != 0);
    CHECK(events.find("\"event\":\"change\"") != std::string::npos);
    REQUIRE(sim.Run(fmt::format("ibnetdiscover >{}/after.topo", d.dir)).exit_code == 0);
    REQUIRE(sim.Run(fmt::format("dump_fts >{}/after.dump", d.dir)).exit_code == 0);
    auto verify = sim.Fabricctl(fmt::format("route verify {0}/after.topo {0}/after.dump", d.dir));
    INFO("route verify: ", verify.out, verify.err);
    CHECK(verify.exit_code == 0);
    // What the switches hold is what the service handed OpenSM.
    auto diff = sim.Fabricctl(fmt::format("route diff {0}/opensm-lfts.dump {0}/after.dump", d.dir));
    INFO("route diff: ", diff.out, diff.err);
    CHECK(diff.exit_code == 0);
    if (kill(manage, 0) == 0) kill(manage, SIGKILL);
  }
}

}  // namespace fabricctl::testing
