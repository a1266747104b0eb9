// `fabricctl manage` against ibsim without a subnet manager routing the fabric (label
// ibsim): `opensm -o` once for LIDs and port states, then the manager routes, installs and
// repairs each cable and switch failure. Every installation step is read back and verified
// by the manager (--verify-steps), and after each change this test reads every switch's
// LFT itself (dump_fts) and verifies it against the fabric as it now is.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/ibsim_fabrics.h"
#include "tests/ibsim_harness.h"
#include "tests/scratch_dir.h"

namespace fabricctl {
namespace {

using namespace testing;

std::vector<nlohmann::json> ReadEvents(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

size_t CountEvents(const std::vector<nlohmann::json>& events, const std::string& kind) {
  size_t n = 0;
  for (const auto& e : events) n += e.value("event", "") == kind;
  return n;
}

// Waits (at most `timeout_s`) until the log holds `count` events of `kind`; returns the last.
nlohmann::json WaitForEvent(const std::string& path, const std::string& kind, size_t count, int timeout_s = 30) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    auto events = ReadEvents(path);
    if (CountEvents(events, kind) >= count)
      for (auto it = events.rbegin(); it != events.rend(); ++it)
        if (it->value("event", "") == kind) return *it;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return nullptr;
}

// What the manager's step read-backs said: no loop and no credit loop at any step; after
// the last, a sound table set that names no dead port.
void CheckSteps(const nlohmann::json& change) {
  INFO(change.dump());
  REQUIRE(change["steps"].is_array());
  REQUIRE(!change["steps"].empty());
  for (const auto& step : change["steps"]) {
    const auto& v = step["verify_installed"];
    REQUIRE(v.contains("credit_loops"));
    CHECK(v["credit_loops"] == 0);
    CHECK(v["loop_pairs"] == 0);
  }
  const auto& last = change["steps"].back()["verify_installed"];
  CHECK(last["safe"] == true);
  CHECK(last["dead_port_entries"] == 0);
  CHECK(change["verify"]["safe"] == true);
  CHECK(change["install_complete"] == true);
  CHECK(change["plan"]["union_deadlock_free"] == true);
  if (!change.contains("repair")) return;  // a start that finished a change
  CHECK(change["blocks_written"].get<uint64_t>() == change["repair"]["blocks_changed"].get<uint64_t>());
  CHECK(change["repair"]["blocks_changed"].get<uint64_t>() >= change["repair"]["blocks_minimum"].get<uint64_t>());
}

// Stops the backgrounded manager however the test ends.
struct KillOnExit {
  int pid = 0;
  ~KillOnExit() {
    if (pid > 0) kill(pid, SIGTERM);
  }
};

// Starts `fabricctl manage ARGS` in the background against `sim`; its pid.
int StartManager(const Ibsim& sim, const std::string& d, const std::string& tag, const std::string& args) {
  auto r = sim.Run(fmt::format("{} manage {} >{}/{}.out 2>{}/{}.err & echo $! > {}/{}.pid", FABRICCTL_BINARY, args, d,
                               tag, d, tag, d, tag));
  REQUIRE(r.exit_code == 0);
  return std::atoi(Slurp(d + "/" + tag + ".pid").c_str());
}

// A temporary directory with a small fat tree (4 leaves, 2 spines, 2 hosts each) in
// ibsim; LIDs and port states from one `opensm -o`.
struct SimFabric {
  std::unique_ptr<testing::ScratchDir> scratch;  // outlives the simulator reading from it
  std::string dir;
  std::unique_ptr<Ibsim> sim;
};

SimFabric StartFabric(const std::string& tag) {
  SimFabric f{.scratch = std::make_unique<testing::ScratchDir>(tag)};
  f.dir = f.scratch->dir;
  std::ofstream(f.dir + "/ft.net") << FatTree2(4, 2, 2);
  f.sim = std::make_unique<Ibsim>(f.dir + "/ft.net");
  REQUIRE_MESSAGE(f.sim->ok(), f.sim->error());
  auto osm = f.sim->Run("OSM_CACHE_DIR=" + f.dir + " opensm -o -f " + f.dir + "/osm.log", 120);
  REQUIRE_MESSAGE(osm.exit_code == 0, osm.err);
  return f;
}

// This test's own check: every LFT as dump_fts reads it, verified on the fabric as
// ibnetdiscover finds it now (without the dead cables and switches).
void CheckInstalledIndependently(const Ibsim& sim, const std::string& d, const std::string& tag) {
  REQUIRE(sim.Run("ibnetdiscover > " + d + "/" + tag + ".topo").exit_code == 0);
  REQUIRE(sim.Run("dump_fts > " + d + "/" + tag + ".dump").exit_code == 0);
  auto v = sim.Fabricctl("route verify " + d + "/" + tag + ".topo " + d + "/" + tag + ".dump");
  INFO(tag, ": ", v.out, v.err);
  CHECK(v.exit_code == 0);
}

TEST_SUITE("ibsim_manage") {
  TEST_CASE("manage without an SM: cable and switch failures are repaired step by step, every step verified") {
    if (!IbsimAvailable()) {
      MESSAGE("ibsim or libumad2sim not installed: skipped");
      return;
    }
    SimFabric fabric = StartFabric("manage");
    const std::string& d = fabric.dir;
    const Ibsim& sim = *fabric.sim;

    const std::string events = d + "/events.jsonl";
    auto started =
        sim.Run(fmt::format("{} manage --period 0.1 --verify-steps -q --event-log {} --for 120 "
                            "--flap-count 3 --flap-window 20 --hold-down 3 >{}/manage.out 2>{}/manage.err & "
                            "echo $! > {}/manage.pid",
                            FABRICCTL_BINARY, events, d, d, d));
    REQUIRE(started.exit_code == 0);
    KillOnExit stop{std::atoi(Slurp(d + "/manage.pid").c_str())};
    const auto start = WaitForEvent(events, "start", 1);
    INFO("manage stderr: ", Slurp(d + "/manage.err"));
    REQUIRE(!start.is_null());
    CHECK(start["verify"]["safe"] == true);

    SUBCASE("a leaf-spine cable down, then back") {
      sim.Console("Unlink \"leaf1\"[3]");
      auto down = WaitForEvent(events, "change", 1);
      REQUIRE(!down.is_null());
      CHECK(down["change"]["links_down"].size() == 1);
      CHECK(down["unreachable_lids"] == 0);
      CheckSteps(down);
      CheckInstalledIndependently(sim, d, "unlinked");

      sim.Console("ReLink \"leaf1\"[3]");
      auto up = WaitForEvent(events, "change", 2);
      REQUIRE(!up.is_null());
      CHECK(up["change"]["links_up"].size() == 1);
      CheckSteps(up);
      CheckInstalledIndependently(sim, d, "relinked");
    }
    SUBCASE("a spine switch down, then back") {
      sim.Console("Unlink \"spine1\"");
      auto down = WaitForEvent(events, "change", 1);
      REQUIRE(!down.is_null());
      CHECK(down["unreachable_lids"] == 0);
      CheckSteps(down);
      CheckInstalledIndependently(sim, d, "spine-down");
      sim.Console("ReLink \"spine1\"");
      auto up = WaitForEvent(events, "change", 2);
      REQUIRE(!up.is_null());
      CheckSteps(up);
      CheckInstalledIndependently(sim, d, "spine-up");
    }
    SUBCASE("a leaf switch down: its hosts are reported cut off, the rest stays routed") {
      sim.Console("Unlink \"leaf2\"");
      auto down = WaitForEvent(events, "change", 1);
      REQUIRE(!down.is_null());
      CHECK(down["endpoints_cut_off"] == 2);
      CHECK(down["level"] == "error");
      CheckSteps(down);
      CheckInstalledIndependently(sim, d, "leaf-down");
      sim.Console("ReLink \"leaf2\"");
      auto up = WaitForEvent(events, "change", 2);
      REQUIRE(!up.is_null());
      CHECK(up["endpoints_cut_off"] == 0);
      CheckSteps(up);
      CheckInstalledIndependently(sim, d, "leaf-up");
    }
    SUBCASE("a flapping cable is held down, then released") {
      for (int i = 0; i < 2; ++i) {
        sim.Console("Unlink \"leaf2\"[4]");
        REQUIRE(!WaitForEvent(events, "change", 2 * i + 1).is_null());
        sim.Console("ReLink \"leaf2\"[4]");
        if (i == 0) REQUIRE(!WaitForEvent(events, "change", 2).is_null());
      }
      // The fourth change (back up) came within the window: held down, not routed over.
      auto held = WaitForEvent(events, "held_down", 1);
      REQUIRE(!held.is_null());
      CHECK(held["change"]["held_down"].size() == 1);
      // Released after the hold: the cable is routed over again.
      auto released = WaitForEvent(events, "change", 4, 20);
      REQUIRE(!released.is_null());
      CHECK(released["change"]["held_down"].empty());
      CheckSteps(released);
      CheckInstalledIndependently(sim, d, "released");
    }
  }

  TEST_CASE("manage without an SM takes the SM role: a link trap starts the repair before the period's sweep") {
    if (!IbsimAvailable()) {
      MESSAGE("ibsim or libumad2sim not installed: skipped");
      return;
    }
    SimFabric fabric = StartFabric("manage-trap");
    const std::string& d = fabric.dir;
    const Ibsim& sim = *fabric.sim;
    const std::string events = d + "/events.jsonl";
    // A period far longer than a repair: only a trap can start it early.
    KillOnExit stop{
        StartManager(sim, d, "trap",
                     "--period 5 --full-pass-every 0 -q --for 60 --state-dir " + d + "/state --event-log " + events)};
    REQUIRE(!WaitForEvent(events, "start", 1).is_null());
    INFO("manage stderr: ", Slurp(d + "/trap.err"));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // past the first sweep
    const auto unlinked = std::chrono::steady_clock::now();
    sim.Console("Unlink \"leaf1\"[3]");
    auto down = WaitForEvent(events, "change", 1, 20);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - unlinked).count();
    REQUIRE(!down.is_null());
    INFO(down.dump());
    CHECK(down["change"]["links_down"].size() == 1);
    // The sweep that found the change was started by the trap (a periodic sweep reports no
    // trap LIDs); how soon is printed, not asserted, as a busy machine stretches it.
    CHECK(!down["trap_lids"].empty());
    MESSAGE("Unlink to repaired: ", seconds, " s (console pause 0.3 s included), period 5 s");
    CheckInstalledIndependently(sim, d, "trapped");
  }

  TEST_CASE("manage without an SM activates a relinked cable (Init -> Armed -> Active) and routes over it again") {
    if (!IbsimAvailable()) {
      MESSAGE("ibsim or libumad2sim not installed: skipped");
      return;
    }
    SimFabric fabric = StartFabric("manage-activate");
    const std::string& d = fabric.dir;
    const Ibsim& sim = *fabric.sim;
    const std::string events = d + "/events.jsonl";
    KillOnExit stop{
        StartManager(sim, d, "activate",
                     "--period 0.1 --verify-steps -q --for 60 --state-dir " + d + "/state --event-log " + events)};
    REQUIRE(!WaitForEvent(events, "start", 1).is_null());
    INFO("manage stderr: ", Slurp(d + "/activate.err"));
    sim.Console("Unlink \"leaf1\"[3]");
    auto down = WaitForEvent(events, "change", 1);
    REQUIRE(!down.is_null());
    REQUIRE(down["change"]["links_down"].size() == 1);
    sim.Console("ReLink \"leaf1\"[3]");
    auto up = WaitForEvent(events, "change", 2);
    REQUIRE(!up.is_null());
    CHECK(up["change"]["links_up"] == down["change"]["links_down"]);
    CheckSteps(up);
    // Both ends are Active (no port of the fabric is left in Init or Armed), and the
    // installed tables are those of the whole fabric again.
    auto links = sim.Run("iblinkinfo");
    INFO(links.out);
    REQUIRE(links.exit_code == 0);
    CHECK(links.out.find("Init") == std::string::npos);
    CHECK(links.out.find("Armed") == std::string::npos);
    CHECK(links.out.find("Active") != std::string::npos);
    CheckInstalledIndependently(sim, d, "activated");
  }

  TEST_CASE("manage killed with SIGKILL mid-change: a restart reads the switches and finishes the change") {
    if (!IbsimAvailable()) {
      MESSAGE("ibsim or libumad2sim not installed: skipped");
      return;
    }
    SimFabric fabric = StartFabric("manage-kill");
    const std::string& d = fabric.dir;
    const Ibsim& sim = *fabric.sim;
    auto view = ParseIbnetdiscoverLinks(sim.Run("ibnetdiscover").out);
    uint64_t leaf1 = 0;
    for (const auto& [guid, name] : view.descriptions)
      if (name == "leaf1") leaf1 = guid;
    REQUIRE(leaf1 != 0);
    const std::string state = d + "/state";
    const std::string common = "--period 0.1 --verify-steps -q --for 60 --state-dir " + state;

    // 1. A manager installs the routes and is killed while idle; the journal says done.
    KillOnExit first{StartManager(sim, d, "first", common + " --event-log " + d + "/first.jsonl")};
    REQUIRE(!WaitForEvent(d + "/first.jsonl", "start", 1).is_null());
    kill(first.pid, SIGKILL);
    auto journal = nlohmann::json::parse(Slurp(state + "/journal.json"));
    CHECK(journal["phase"] == "done");

    // 2. As if it had been killed after journaling a change and before writing a block: the
    // journal names the change, the switches hold the old tables, the cable is down.
    journal["phase"] = "installing";
    journal["target_health"]["links_down"] = nlohmann::json::array({{fmt::format("0x{:016x}", leaf1), 3}});
    journal["steps_done"] = 0;
    journal["steps_total"] = 1;
    std::ofstream(state + "/journal.json") << journal.dump(2);
    sim.Console("Unlink \"leaf1\"[3]");
    KillOnExit second{StartManager(sim, d, "second", common + " --step-pause 1 --event-log " + d + "/second.jsonl")};
    auto resumed = WaitForEvent(d + "/second.jsonl", "start", 1);
    INFO("second: ", Slurp(d + "/second.err"));
    REQUIRE(!resumed.is_null());
    CHECK(resumed["resumed"] == true);
    CHECK(resumed["journal"]["phase"] == "installing");
    CHECK(resumed["blocks_differing"].get<uint64_t>() > 0);
    CHECK(resumed["blocks_written"] == resumed["blocks_differing"]);
    CheckSteps(resumed);
    CheckInstalledIndependently(sim, d, "resumed");

    // 3. Killed for real in the middle of the next change (each step is followed by a pause).
    sim.Console("Unlink \"leaf2\"[3]");  // leaf1 and leaf2 both keep spine1
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (Slurp(state + "/journal.json").find("\"installing\"") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    kill(second.pid, SIGKILL);
    REQUIRE(Slurp(state + "/journal.json").find("\"installing\"") != std::string::npos);
    KillOnExit third{StartManager(sim, d, "third", common + " --event-log " + d + "/third.jsonl")};
    auto finished = WaitForEvent(d + "/third.jsonl", "start", 1);
    INFO("third: ", Slurp(d + "/third.err"));
    REQUIRE(!finished.is_null());
    CHECK(finished["resumed"] == true);
    CHECK(finished["journal"]["target_health"]["links_down"].size() == 2);
    if (finished["blocks_differing"].get<uint64_t>() > 0) CheckSteps(finished);
    CheckInstalledIndependently(sim, d, "finished");
    // The switches hold exactly the repair for the journal's health: a fourth start writes nothing.
    kill(third.pid, SIGTERM);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    KillOnExit fourth{StartManager(sim, d, "fourth", common + " --event-log " + d + "/fourth.jsonl")};
    auto again = WaitForEvent(d + "/fourth.jsonl", "start", 1);
    REQUIRE(!again.is_null());
    CHECK(again["blocks_differing"] == 0);
    CHECK(again["verify"]["safe"] == true);
  }

  TEST_CASE("manage and a restarted simulator: the service exits, and its restart routes the new fabric") {
    if (!IbsimAvailable()) {
      MESSAGE("ibsim or libumad2sim not installed: skipped");
      return;
    }
    SimFabric fabric = StartFabric("manage-restart");
    const std::string d = fabric.dir;
    std::unique_ptr<Ibsim>& sim = fabric.sim;
    const std::string state = d + "/state";
    const std::string common = "--period 0.1 -q --for 60 --give-up 1 --state-dir " + state;
    // Run by a shell that records its exit status.
    const std::string first =
        fmt::format("{} manage {} --event-log {}/first.jsonl; echo $? > {}/first.rc", FABRICCTL_BINARY, common, d, d);
    auto started =
        sim->Run(fmt::format("sh -c {} >/dev/null 2>{}/first.err & echo $! > {}/first.pid", ShellQuote(first), d, d));
    REQUIRE(started.exit_code == 0);
    REQUIRE(!WaitForEvent(d + "/first.jsonl", "start", 1).is_null());
    sim.reset();  // the simulator goes away
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (Slurp(d + "/first.rc").empty() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    INFO("first: ", Slurp(d + "/first.err"));
    CHECK(Slurp(d + "/first.rc") == "2\n");
    CHECK(!WaitForEvent(d + "/first.jsonl", "sweep_failed", 1, 1).is_null());

    // A new simulator of the same fabric, no subnet manager: no LIDs. The restarted service
    // sets the journal aside, assigns LIDs and installs routes for them.
    Ibsim again(d + "/ft.net");
    REQUIRE_MESSAGE(again.ok(), again.error());
    KillOnExit second{StartManager(again, d, "second", common + " --verify-steps --event-log " + d + "/second.jsonl")};
    auto start = WaitForEvent(d + "/second.jsonl", "start", 1);
    INFO("second: ", Slurp(d + "/second.err"));
    REQUIRE(!start.is_null());
    CHECK(start["journal_discarded"].get<std::string>().find("has LID") != std::string::npos);
    CHECK(start["verify"]["safe"] == true);
    CheckInstalledIndependently(again, d, "restarted");
  }
}

}  // namespace
}  // namespace fabricctl
