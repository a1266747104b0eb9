#include "tools/bench/manage_bench.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "fabric/file_io.h"
#include "fabric/generator.h"
#include "fabric/ibsim_format.h"

namespace fabricctl::bench {
namespace {

constexpr const char* kUmad2Sim = "/usr/lib/x86_64-linux-gnu/umad2sim/libumad2sim.so";
constexpr double kSubnetUpTimeout = 900;  // OpenSM's first heavy sweep at 10,000 endpoints: ~15 s alone

struct FabricCase {
  const char* label;
  const char* generator;
  GeneratorParams params;
};

struct Manager {
  std::string name;  // opensm, manage (--sm none), manage-file (--sm opensm-file)
  std::string engine;
  std::string period;  // manage --period; empty: its default
};

std::string SelfDir() { return std::filesystem::read_symlink("/proc/self/exe").parent_path().string(); }

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += " " + w;
  return out;
}

// /proc files report size 0, so they are read line by line rather than with ReadTextFile.
bool IsProcess(pid_t pid, const std::string& comm) {
  std::ifstream in(fmt::format("/proc/{}/comm", pid));
  std::string name;
  return std::getline(in, name) && name == comm;
}

// Sends SIGTERM, then SIGKILL when the process has not gone after `grace_s`; only ever to
// a process still named `comm` (a pid may be reused).
void Stop(pid_t pid, const std::string& comm, double grace_s) {
  if (pid <= 0 || !IsProcess(pid, comm)) return;
  kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(grace_s);
  while (IsProcess(pid, comm) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (IsProcess(pid, comm)) kill(pid, SIGKILL);
}

// One simulator and one subnet manager daemon on it, both stopped on scope exit.
class Testbed {
 public:
  Testbed(const Fabric& fabric, std::string dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_ + "/cache");
    std::ofstream(dir_ + "/fabric.ibsim") << WriteIbsimTopology(fabric);
    static int runs = 0;
    sock_ = fmt::format("fmanage{}r{}", getpid(), runs++);
    ShellRun r = RunShellCommand(fmt::format("{}/tools/ibsim/start-ibsim.sh -s {} -d {}/sim -t 600 {}/fabric.ibsim{}",
                                             FABRICCTL_SOURCE_DIR, sock_, dir_, dir_, Join(IbsimSizeArgs(fabric))));
    if (r.exit_code == 0) sim_pid_ = std::atoi(r.out.c_str());
  }
  ~Testbed() {
    Stop(manage_pid_, "fabricctl", 15);
    Stop(sm_pid_, "opensm", 15);
    Stop(sim_pid_, "ibsim", 5);
  }
  bool ok() const { return sim_pid_ > 0; }
  const std::string& dir() const { return dir_; }

  // The shell prefix that runs what follows against the simulator, from the run directory
  // (umad2sim leaves a sys-PID directory where a program runs; OpenSM its cache and
  // dumps). A `&` after it puts only the last command in the background, so `$!` is its pid.
  std::string Env() const {
    return fmt::format("cd {0} && export IBSIM_SOCKNAME={1} LD_PRELOAD={2} OSM_CACHE_DIR={0}/cache OSM_TMP_DIR={0};",
                       dir_, sock_, kUmad2Sim);
  }

  // OpenSM as a daemon routing with `engines` (its -R), log flushed per line, pid in
  // DIR/opensm.pid; true once it logs SUBNET UP.
  bool StartOpenSm(const std::string& engines) {
    ShellRun r = RunShellCommand(
        fmt::format("{0} setsid opensm -R {1} -U {2}/opensm-lfts.dump -d2 -f {2}/opensm.log --dump_files_dir {2} "
                    ">{2}/opensm.out 2>&1 </dev/null & echo $!",
                    Env(), engines, dir_));
    sm_pid_ = std::atoi(r.out.c_str());
    std::ofstream(dir_ + "/opensm.pid") << sm_pid_ << "\n";
    return WaitForText(dir_ + "/opensm.log", "SUBNET UP", sm_pid_);
  }

  // `fabricctl manage` with `m.engine`: `--sm none` after one `opensm -o` (LIDs, port
  // states), or `--sm opensm-file` feeding the OpenSM daemon StartOpenSm started; true once
  // it has routed and installed (its "start" event).
  bool StartManage(const std::string& fabricctl, const Manager& m) {
    std::string sm = " --sm none";
    if (m.name == "manage-file") {
      sm =
          fmt::format(" --sm opensm-file --opensm-lfts {0}/opensm-lfts.dump --opensm-pid {0}/opensm.pid --vls 1", dir_);
    } else {
      ShellRun once = RunShellCommand(
          fmt::format("{} timeout {} opensm -o -f {}/opensm-once.log >/dev/null 2>&1", Env(), kSubnetUpTimeout, dir_));
      if (once.exit_code != 0) return false;
    }
    ShellRun r = RunShellCommand(
        fmt::format("{} setsid {} manage{} --engine {}{} --state-dir {}/state --event-log {}/events.jsonl -q "
                    ">{}/manage.out 2>&1 </dev/null & echo $!",
                    Env(), fabricctl, sm, m.engine, m.period.empty() ? "" : " --period " + m.period, dir_, dir_, dir_));
    manage_pid_ = std::atoi(r.out.c_str());
    return WaitForText(dir_ + "/events.jsonl", "\"event\":\"start\"", manage_pid_);
  }

 private:
  // Until `path` holds `text`, while process `pid` runs (at most kSubnetUpTimeout). Alive
  // rather than named: right after the shell forked it the process may not have exec'd yet.
  static bool WaitForText(const std::string& path, const std::string& text, pid_t pid) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(kSubnetUpTimeout);
    while (std::chrono::steady_clock::now() < deadline && pid > 0 && kill(pid, 0) == 0) {
      auto log = ReadTextFile(path);
      if (log && log->find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  std::string dir_;
  std::string sock_;
  pid_t sim_pid_ = 0;
  pid_t sm_pid_ = 0;
  pid_t manage_pid_ = 0;
};

// One measurement: a fresh simulator, the manager brought up, one failure watched.
nlohmann::json RunOne(const Fabric& fabric, const std::string& dir, const Manager& manager, const std::string& fail) {
  nlohmann::json row{{"manager", manager.name}, {"engine", manager.engine}, {"period", manager.period}, {"fail", fail}};
  auto failed = [&row](const std::string& why) {
    row["error"] = why;
    return row;
  };
  Testbed bed(fabric, dir);
  if (!bed.ok()) return failed("ibsim did not start");
  // OpenSM with its own engine, or (manage-file) its file engine with the engine after it
  // until the first dump.
  if (manager.name != "manage" &&
      !bed.StartOpenSm(manager.name == "opensm" ? manager.engine : "file," + manager.engine))
    return failed("OpenSM did not bring the subnet up");
  if (manager.name != "opensm" && !bed.StartManage(SelfDir() + "/fabricctl", manager))
    return failed("fabricctl manage did not start");
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  ShellRun watch = RunShellCommand(fmt::format(
      "{} {} repair-watch -- --console {}/sim/console --fail {} 2>{}/watch.err", bed.Env(), self, dir, fail, dir));
  auto result = nlohmann::json::parse(watch.out, nullptr, false);
  if (watch.exit_code != 0 || result.is_discarded()) {
    auto err = ReadTextFile(dir + "/watch.err");
    return failed(err ? *err : "repair-watch failed");
  }
  row.update(result);
  return row;
}

std::string ManagerLabel(const nlohmann::json& r) {
  const std::string manager = r["manager"].get<std::string>();
  if (manager == "opensm") return "OpenSM 3.3.23 daemon";
  const std::string period = r["period"].get<std::string>();
  return fmt::format("fabricctl manage{}{}", manager == "manage-file" ? " --sm opensm-file" : "",
                     period.empty() ? "" : " --period " + period);
}

std::string FormatRow(const std::string& label, const nlohmann::json& r) {
  if (r.contains("error"))
    return fmt::format("| {} | | {} | {} | {} | error: {} | | | |\n", label, ManagerLabel(r),
                       r["engine"].get<std::string>(), r["fail"].get<std::string>(), r["error"].get<std::string>());
  const std::string seconds =
      r["repaired"].get<bool>() ? fmt::format("{:.2f}", r["repair_seconds"].get<double>()) : "not repaired";
  return fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", label, r["endpoints"].get<size_t>(),
                     ManagerLabel(r), r["engine"].get<std::string>(), r["failure"].get<std::string>(), seconds,
                     r["deadlock_free"].get<bool>() ? "yes" : "NO", r["sound"].get<bool>() ? "yes" : "no",
                     r["blocks_changed"].get<uint64_t>());
}

Result<void> WriteSection(const std::string& text) {
  const std::string path = "docs/performance.md";
  auto doc = ReadTextFile(path);
  if (!doc) return std::unexpected(doc.error());
  const std::string begin = "<!-- route-manager:begin -->\n", end = "<!-- route-manager:end -->";
  const size_t b = doc->find(begin), e = doc->find(end);
  if (b == std::string::npos || e == std::string::npos || e < b)
    return MakeError(path + " has no route-manager markers");
  return WriteFileAtomic(path, doc->substr(0, b + begin.size()) + text + doc->substr(e));
}

// "opensm-ENGINE", "manage-ENGINE[:PERIOD]", "manage-file-ENGINE[:PERIOD]"; by default OpenSM's updn and ftree, and
// `fabricctl manage` with updn when the fabricctl next to the bench has it.
Result<std::vector<Manager>> ParseManagers(const std::vector<std::string>& args) {
  std::vector<std::string> names = args;
  if (names.empty()) {
    names = {"opensm-updn", "opensm-ftree"};
    if (RunShellCommand(SelfDir() + "/fabricctl manage --help >/dev/null 2>&1").exit_code == 0)
      names.push_back("manage-updn");
  }
  std::vector<Manager> managers;
  for (const std::string& a : names) {
    const size_t dash = a.starts_with("manage-file-") ? 11 : a.find('-');
    const std::string name = a.substr(0, dash);
    if (dash == std::string::npos || (name != "opensm" && name != "manage" && name != "manage-file"))
      return MakeError(
          fmt::format("manage bench: unknown manager '{}' (opensm-ENGINE, manage-ENGINE, manage-file-ENGINE)", a));
    const std::string rest = a.substr(dash + 1);
    const size_t colon = rest.find(':');
    if (colon != std::string::npos && name == "opensm")
      return MakeError(fmt::format("manage bench: '{}': OpenSM takes no :PERIOD", a));
    managers.push_back(Manager{.name = name,
                               .engine = rest.substr(0, colon),
                               .period = colon == std::string::npos ? "" : rest.substr(colon + 1)});
  }
  return managers;
}

}  // namespace

int RunManageBench(const Options& options) {
  if (!std::filesystem::exists(kUmad2Sim)) {
    std::fprintf(stderr, "manage bench: needs ibsim-utils, libumad2sim0 and opensm\n");
    return 2;
  }
  auto managers = ParseManagers(options.args);
  if (!managers) {
    std::fprintf(stderr, "%s\n", managers.error().Format().c_str());
    return 2;
  }
  std::vector<FabricCase> cases = {{"fat-tree k=16 tiers=3", "fat-tree", {{"k", "16"}, {"tiers", "3"}}}};
  if (!options.quick)
    cases.push_back(
        {"fat-tree k=144 tiers=2 endpoints=10000", "fat-tree", {{"k", "144"}, {"tiers", "2"}, {"endpoints", "10000"}}});
  char tmpl[] = "/tmp/fabricctl-manage-bench.XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::string table =
      "| fabric | endpoints | manager | engine | failure | detect + repair s | deadlock-free | sound | LFT blocks "
      "changed |\n|---|---|---|---|---|---|---|---|---|\n";
  std::printf("%s", table.c_str());
  int rc = 0, run = 0;
  for (const FabricCase& c : cases) {
    auto fabric = Generate(c.generator, c.params);
    if (!fabric) {
      std::fprintf(stderr, "manage bench: %s\n", fabric.error().Format().c_str());
      return 2;
    }
    for (const Manager& m : *managers)
      for (const char* fail : {"link", "switch"}) {
        nlohmann::json r = RunOne(*fabric, fmt::format("{}/run{}", dir, run++), m, fail);
        if (r.contains("error")) rc = 2;
        const std::string row = FormatRow(c.label, r);
        std::printf("%s", row.c_str());
        std::fflush(stdout);
        table += row;
      }
  }
  if (rc == 0 && std::getenv("FABRICCTL_BENCH_KEEP") == nullptr)
    std::filesystem::remove_all(dir);
  else
    std::fprintf(stderr, "manage bench: runs kept in %s\n", dir.c_str());
  if (options.write && rc == 0) {
    if (auto w = WriteSection(table); !w) {
      std::fprintf(stderr, "manage bench: %s\n", w.error().Format().c_str());
      return 2;
    }
    std::printf("wrote docs/performance.md\n");
  }
  return rc;
}

}  // namespace fabricctl::bench
