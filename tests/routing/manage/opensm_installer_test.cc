// The OpenSM-present installer on an in-memory fabric: a stand-in for OpenSM's `file`
// engine (reload hook) reads each step's dump and programs the switches the way OpenSM
// does, including clearing a switch the dump leaves out.
#include "routing/manage/opensm_installer.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>

#include "fabric/discovery.h"
#include "fabric/file_io.h"
#include "routing/fabric_health.h"
#include "routing/opensm_dump.h"
#include "routing/repair.h"
#include "routing/route_fabric.h"
#include "routing/transition.h"
#include "tests/fabric/fake_transport.h"
#include "tests/scratch_dir.h"

namespace fabricctl::testing {
namespace {

// Programs `t`'s switches from the dump at `path` as OpenSM's file engine would: a switch the
// dump names gets exactly its entries, every other switch "no route" everywhere.
Result<void> LoadDumpLikeOpensm(FakeTransport& t, const Fabric& truth, const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text) return std::unexpected(text.error());
  auto raw = ParseOpensmDump(*text, path);
  if (!raw) return std::unexpected(raw.error());
  for (NodeId n = 0; n < truth.num_nodes(); ++n) {
    if (!truth.is_switch(n)) continue;
    std::vector<uint8_t>& lft = t.lft[n];
    std::fill(lft.begin(), lft.end(), kNoRoute);
    for (const RawSwitchLft& sw : raw->switches)
      if (sw.guid == truth.node(n).guid) {
        if (lft.size() < sw.lft.size()) lft.resize(sw.lft.size(), kNoRoute);
        std::copy(sw.lft.begin(), sw.lft.end(), lft.begin());
      }
  }
  return {};
}

// Whether `t`'s switch holds switch `i` of `routes` (entries 1..num_lids-1).
bool Holds(FakeTransport& t, const Fabric& truth, const Fabric& live, const SubnetRoutes& routes, size_t i) {
  const std::vector<uint8_t>& lft = t.lft[*truth.FindByGuid(live.node(routes.switches[i]).guid)];
  for (Lid lid = 1; lid < routes.num_lids(); ++lid)
    if (lid >= lft.size() || lft[lid] != routes.out_port(i, lid)) return false;
  return true;
}

// A 3-leaf, 2-spine fat tree routed by updn and programmed, then leaf2's cable to spine1
// down: the repaired tables and their transition plan.
struct Scenario {
  Fabric truth = FakeFatTree(3, 2, 2, 1);
  FakeTransport t{truth, 0, 0};
  DiscoveryResult live;
  RouteSet before, after;
  std::vector<TransitionPlan> plans;
  std::vector<uint8_t> reachable;

  Scenario() {
    auto discovered = Discover(t, DiscoveryOptions{.rpc = {.timeout_ms = 50}});
    REQUIRE(discovered);
    live = std::move(*discovered);
    auto routed = RouteFabric(live.fabric, *ParseEngineSelection("updn"), {});
    REQUIRE(routed);
    before = routed->routes;
    const SubnetRoutes& b = before.subnets[0];
    for (size_t i = 0; i < b.switches.size(); ++i) {
      std::vector<uint8_t>& lft = t.lft[*truth.FindByGuid(live.fabric.node(b.switches[i]).guid)];
      lft.assign(b.num_lids(), kNoRoute);
      for (Lid lid = 1; lid < b.num_lids(); ++lid) lft[lid] = b.out_port(i, lid);
    }
    FabricHealth health = FabricHealth::AllUp(live.fabric);
    const NodeId leaf2 = *live.fabric.FindByDescription("leaf2");
    // Ports 1-2 of a leaf go to hosts, 3 to spine0, 4 to spine1.
    health.link_down[live.fabric.port(live.fabric.port_id(leaf2, 4)).link] = 1;
    auto repairer = RouteRepairer::Prepare(live.fabric, before);
    REQUIRE(repairer);
    auto repaired = repairer->Repair(health);
    REQUIRE(repaired);
    after = repaired->routes;
    auto alive = WithoutDown(live.fabric, health);
    REQUIRE(alive);
    auto plan = PlanTransition(*alive, before.subnets[0], after.subnets[0]);
    REQUIRE(plan);
    REQUIRE(plan->union_deadlock_free);
    plans = {*plan};
    reachable.assign(live.fabric.num_nodes(), 1);
  }
};

}  // namespace

TEST_CASE("OpenSM installer: each step's dump makes exactly the step's switches change, read back before the next") {
  ScratchDir d;
  Scenario s;
  REQUIRE(!s.plans[0].steps.empty());
  const std::string dump = d.dir + "/opensm-lfts.dump";
  int reloads = 0;
  OpensmInstaller installer(s.t, s.live, s.reachable,
                            OpensmInstallerOptions{.lfts_file = dump,
                                                   .step_timeout_seconds = 5,
                                                   .poll_seconds = 0.001,
                                                   .rpc = {.timeout_ms = 50},
                                                   .reload = [&]() {
                                                     ++reloads;
                                                     return LoadDumpLikeOpensm(s.t, s.truth, dump);
                                                   }});
  size_t steps_seen = 0;
  auto report = installer.Install(s.before, s.after, s.plans, [&](const InstallStepReport& step) {
    CHECK(step.problems.empty());
    CHECK(step.blocks_verified == step.blocks_written);
    // Steps so far hold the new tables, the rest still the old ones.
    const SubnetRoutes& b = s.before.subnets[0];
    const SubnetRoutes& a = s.after.subnets[0];
    std::vector<uint8_t> done(a.switches.size(), 0);
    for (size_t k = 0; k <= step.step; ++k)
      for (size_t i : s.plans[0].steps[k]) done[i] = 1;
    for (size_t i = 0; i < a.switches.size(); ++i) CHECK(Holds(s.t, s.truth, s.live.fabric, done[i] ? a : b, i));
    ++steps_seen;
  });
  REQUIRE(report);
  CHECK(report->complete);
  CHECK(!report->stopped);
  CHECK(steps_seen == s.plans[0].steps.size());
  CHECK(reloads == static_cast<int>(s.plans[0].steps.size()));
  uint64_t written = 0;
  for (const InstallStepReport& step : report->steps) written += step.blocks_written;
  CHECK(written == s.plans[0].blocks);
  for (size_t i = 0; i < s.after.subnets[0].switches.size(); ++i)
    CHECK(Holds(s.t, s.truth, s.live.fabric, s.after.subnets[0], i));
  // The dump left behind names every switch: OpenSM would clear one it does not.
  auto raw = ParseOpensmDump(*ReadTextFile(dump), dump);
  REQUIRE(raw);
  CHECK(raw->switches.size() == s.after.subnets[0].switches.size());
}

TEST_CASE("OpenSM installer: a subnet manager that never takes the dump stops the change at the first step") {
  ScratchDir d;
  Scenario s;
  OpensmInstaller installer(s.t, s.live, s.reachable,
                            OpensmInstallerOptions{.lfts_file = d.dir + "/opensm-lfts.dump",
                                                   .step_timeout_seconds = 0.2,
                                                   .poll_seconds = 0.01,
                                                   .rpc = {.timeout_ms = 50},
                                                   .reload = []() { return Result<void>{}; }});
  auto report = installer.Install(s.before, s.after, s.plans, nullptr);
  REQUIRE(report);
  CHECK(!report->complete);
  REQUIRE(report->stopped);
  CHECK(report->stopped->message.find("not taken after 0.2 s (does OpenSM run with -R file -U ") != std::string::npos);
  REQUIRE(report->steps.size() == 1);
  CHECK(report->steps[0].blocks_verified == 0);
  CHECK(report->steps[0].problems.size() == report->steps[0].blocks_written);
  for (size_t i = 0; i < s.before.subnets[0].switches.size(); ++i)
    CHECK(Holds(s.t, s.truth, s.live.fabric, s.before.subnets[0], i));
}

TEST_CASE("OpenSM installer refuses, before writing anything, mismatched tables, several VLs and no pid file") {
  ScratchDir d;
  Scenario s;
  const std::string dump = d.dir + "/opensm-lfts.dump";
  OpensmInstaller with_pid(s.t, s.live, s.reachable,
                           OpensmInstallerOptions{.lfts_file = dump, .pid_file = d.dir + "/missing.pid"});
  auto no_pid = with_pid.Install(s.before, s.after, s.plans, nullptr);
  REQUIRE(!no_pid);
  CHECK(no_pid.error().where == d.dir + "/missing.pid");

  OpensmInstaller installer(s.t, s.live, s.reachable,
                            OpensmInstallerOptions{.lfts_file = dump, .reload = []() { return Result<void>{}; }});
  auto no_plans = installer.Install(s.before, s.after, {}, nullptr);
  REQUIRE(!no_plans);
  CHECK(no_plans.error().message == "route installer: 1 subnets before, 1 after, 0 plans");

  RouteSet two_vls = s.after;
  two_vls.subnets[0].num_vls = 2;
  two_vls.subnets[0].engine = "dfsssp";
  auto multi = installer.Install(s.before, two_vls, s.plans, nullptr);
  REQUIRE(!multi);
  CHECK(multi.error().message.find("VL") != std::string::npos);
  CHECK(!std::filesystem::exists(dump));
}

}  // namespace fabricctl::testing
