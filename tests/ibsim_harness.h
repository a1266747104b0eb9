#pragma once
// Test helper: one ibsim per test, on its own IBSIM_SOCKNAME, and child processes
// (fabricctl, infiniband-diags) that run against it with libumad2sim preloaded for them
// only. Every command runs under `timeout`, and the simulator is stopped on destruction.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "tests/scratch_dir.h"

namespace fabricctl::testing {

inline constexpr const char* kUmad2Sim = "/usr/lib/x86_64-linux-gnu/umad2sim/libumad2sim.so";

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `command` through sh with a time limit; stdout and stderr captured.
inline CommandResult RunShell(const std::string& command, const std::string& dir, int timeout_s = 60) {
  static std::atomic<int> counter{0};
  std::string err_file = dir + "/stderr." + std::to_string(counter++);
  std::string full = "timeout -k 2 " + std::to_string(timeout_s) + " sh -c " + ShellQuote(command) + " 2>" + err_file;
  CommandResult r;
  FILE* p = popen(full.c_str(), "r");
  if (p == nullptr) return r;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  r.err = Slurp(err_file);
  return r;
}

inline bool IbsimAvailable() {
  return std::filesystem::exists(kUmad2Sim) && std::system("command -v ibsim >/dev/null 2>&1") == 0;
}

class Ibsim {
 public:
  // Starts ibsim on `netfile`; check ok() and error().
  explicit Ibsim(const std::string& netfile, const std::string& extra_args = "") {
    static std::atomic<int> counter{0};
    sockname_ = "fctl" + std::to_string(getpid()) + "x" + std::to_string(counter++);
    std::string script = std::string(FABRICCTL_SOURCE_DIR) + "/tools/ibsim/start-ibsim.sh";
    auto r = RunShell(
        script + " -s " + sockname_ + " -d " + scratch_.dir + " -t 30 " + ShellQuote(netfile) + " " + extra_args,
        scratch_.dir, 40);
    if (r.exit_code == 0) pid_ = std::atoi(r.out.c_str());
    error_ = r.err;
  }
  ~Ibsim() {
    Thaw();  // a stopped simulator would not see the SIGTERM
    if (pid_ > 0)
      RunShell(std::string(FABRICCTL_SOURCE_DIR) + "/tools/ibsim/stop-ibsim.sh " + std::to_string(pid_), scratch_.dir,
               15);
  }
  Ibsim(const Ibsim&) = delete;
  Ibsim& operator=(const Ibsim&) = delete;

  bool ok() const { return pid_ > 0; }
  const std::string& error() const { return error_; }
  const std::string& dir() const { return scratch_.dir; }
  const std::string& sockname() const { return sockname_; }

  // A command line (fabricctl or a diag tool) run against this simulator.
  CommandResult Run(const std::string& command, int timeout_s = 60) const {
    return RunShell("IBSIM_SOCKNAME=" + sockname_ + " LD_PRELOAD=" + kUmad2Sim + " " + command, scratch_.dir,
                    timeout_s);
  }
  CommandResult Fabricctl(const std::string& args, int timeout_s = 60) const {
    return Run(std::string(FABRICCTL_BINARY) + " " + args, timeout_s);
  }
  // One line to ibsim's console; waits until ibsim has read it.
  void Console(const std::string& line) const {
    std::ofstream(scratch_.dir + "/console") << line << "\n" << std::flush;
    // The console has no acknowledgement; a short pause lets ibsim apply it.
    usleep(300 * 1000);
  }
  std::string Log() const { return Slurp(scratch_.dir + "/ibsim.log"); }

  // SIGSTOP / SIGCONT: a simulator that stops answering mid-conversation, then goes on.
  void Freeze() const {
    if (pid_ > 0) kill(pid_, SIGSTOP);
  }
  void Thaw() const {
    if (pid_ > 0) kill(pid_, SIGCONT);
  }

  // Runs `fabricctl args` and freezes the simulator `delay_ms` after the command has
  // attached to it (libumad2sim starts its receiver thread once attached), then waits for
  // the command. `timeout_s` only catches a hang.
  CommandResult FabricctlFrozenDuring(const std::string& args, int delay_ms, int timeout_s = 60) const {
    std::string command =
        "IBSIM_SOCKNAME=" + sockname_ + " LD_PRELOAD=" + kUmad2Sim + " " + FABRICCTL_BINARY + " " + args +
        " & pid=$!; " + "while [ \"$(ls /proc/$pid/task 2>/dev/null | wc -l)\" -lt 2 ] && kill -0 $pid 2>/dev/null; " +
        "do sleep 0.01; done; sleep " + std::to_string(delay_ms / 1000.0) + "; kill -STOP " + std::to_string(pid_) +
        "; wait $pid";
    return RunShell(command, scratch_.dir, timeout_s);
  }

 private:
  fabricctl::testing::ScratchDir scratch_{"ibsim"};
  std::string sockname_;
  std::string error_;
  int pid_ = -1;
};

// Links as ibnetdiscover prints them: (guid, port) -> (peer guid, peer port), from both
// ends, plus every node's GUID -> description.
struct IbnetdiscoverView {
  std::map<std::pair<uint64_t, unsigned>, std::pair<uint64_t, unsigned>> links;
  std::map<uint64_t, std::string> descriptions;
  std::map<std::pair<uint64_t, unsigned>, std::string> rates;  // "4xSDR"
};

inline IbnetdiscoverView ParseIbnetdiscoverLinks(const std::string& text) {
  IbnetdiscoverView v;
  std::istringstream in(text);
  std::string line;
  uint64_t current = 0;
  while (std::getline(in, line)) {
    if (line.rfind("switchguid=", 0) == 0 || line.rfind("caguid=", 0) == 0 || line.rfind("rtguid=", 0) == 0) {
      current = std::stoull(line.substr(line.find('=') + 1), nullptr, 16);
    } else if (line.rfind("Switch", 0) == 0 || line.rfind("Ca", 0) == 0 || line.rfind("Rt", 0) == 0) {
      size_t hash = line.find('#');
      size_t q1 = line.find('"', hash);
      size_t q2 = line.find('"', q1 + 1);
      if (hash != std::string::npos && q1 != std::string::npos)
        v.descriptions[current] = line.substr(q1 + 1, q2 - q1 - 1);
    } else if (!line.empty() && line[0] == '[') {
      unsigned port = std::stoul(line.substr(1));
      size_t q1 = line.find('"');
      size_t q2 = line.find('"', q1 + 1);
      std::string id = line.substr(q1 + 1, q2 - q1 - 1);  // "S-0000000000200001"
      uint64_t peer = std::stoull(id.substr(2), nullptr, 16);
      unsigned peer_port = std::stoul(line.substr(line.find('[', q2) + 1));
      v.links[{current, port}] = {peer, peer_port};
      size_t sp = line.find_last_of(" \t");
      v.rates[{current, port}] = line.substr(sp + 1);
    }
  }
  return v;
}

}  // namespace fabricctl::testing
