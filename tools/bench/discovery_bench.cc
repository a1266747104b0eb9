#include "tools/bench/discovery_bench.h"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/ibsim_fabrics.h"
#include "tests/ibsim_routes.h"

namespace fabricctl::bench {
namespace {

constexpr const char* kUmad2Sim = "/usr/lib/x86_64-linux-gnu/umad2sim/libumad2sim.so";

using Run = ShellRun;
Run Shell(const std::string& command) { return RunShellCommand(command); }

std::string SelfDir() { return std::filesystem::read_symlink("/proc/self/exe").parent_path().string(); }

// MADs a program sends, counted as writes to the simulator socket (strace), so fabricctl
// and ibnetdiscover are counted the same way.
uint64_t CountWrites(const std::string& env, const std::string& command, const std::string& dir) {
  std::string trace = dir + "/strace.out";
  Shell(fmt::format("{} timeout 600 strace -f -qq -e trace=write -o {} {} >/dev/null 2>&1", env, trace, command));
  std::ifstream in(trace);
  std::string line;
  uint64_t n = 0;
  while (std::getline(in, line))
    if (line.find("write(") != std::string::npos && line.find("write(2,") == std::string::npos &&
        line.find("write(1,") == std::string::npos)
      ++n;
  return n;
}

struct Size {
  unsigned leaves, spines, hosts;
};

int Case(const Size& s, const std::string& source_dir, const std::string& fabricctl) {
  char tmpl[] = "/tmp/fabricctl-bench.XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string net = dir + "/ft.net";
  std::ofstream(net) << testing::FatTree2(s.leaves, s.spines, s.hosts);
  unsigned nodes = s.leaves + s.spines + s.leaves * s.hosts;
  unsigned ports = s.leaves * (s.hosts + s.spines) * 2 + s.leaves * s.hosts + s.spines + s.leaves;
  std::string sock = fmt::format("fbench{}", getpid());
  auto started = Shell(fmt::format("{}/tools/ibsim/start-ibsim.sh -s {} -d {} -t 300 {} -N {} -S {} -P {}", source_dir,
                                   sock, dir + "/sim", net, nodes + 16, s.leaves + s.spines + 16, ports + 64));
  if (started.exit_code != 0) {
    std::fprintf(stderr, "discovery bench: ibsim did not start (%s)\n", dir.c_str());
    return 2;
  }
  std::string pid = started.out.substr(0, started.out.find('\n'));
  std::string env = fmt::format("IBSIM_SOCKNAME={} LD_PRELOAD={}", sock, kUmad2Sim);
  std::printf("fat tree %u leaves x %u spines x %u hosts: %u endpoints, %u switches, %u links\n", s.leaves, s.spines,
              s.hosts, s.leaves * s.hosts, s.leaves + s.spines, s.leaves * s.hosts + s.leaves * s.spines);

  // Best of five for each, so a busy neighbour on the shared machine counts less.
  auto best = [&](const std::string& cmd) {
    Run b;
    for (int i = 0; i < 5; ++i) {
      Run r = Shell(fmt::format("{} {} 2>/dev/null >/dev/null", env, cmd));
      if (i == 0 || r.seconds < b.seconds) b = r;
    }
    return b;
  };
  int rc = 0;
  for (unsigned inflight : {1u, 4u, 16u}) {
    // Timed in text mode: the JSON of every port would be measured too.
    Run r = best(fmt::format("{} discover -q --inflight {}", fabricctl, inflight));
    if (r.exit_code != 0) rc = 2;
    Run counted = Shell(fmt::format("{} {} discover --json -q --inflight {} 2>/dev/null", env, fabricctl, inflight));
    auto j = nlohmann::json::parse(counted.out, nullptr, false);
    uint64_t mads = j.is_discarded() ? 0 : j["stats"]["mads"].get<uint64_t>();
    std::printf("  fabricctl discover --inflight %-3u %7.3f s  %7llu MADs\n", inflight, r.seconds,
                static_cast<unsigned long long>(mads));
  }
  Run ibnd = best("ibnetdiscover");
  if (ibnd.exit_code != 0) rc = 2;
  std::printf("  ibnetdiscover                    %7.3f s\n", ibnd.seconds);
  uint64_t ours = CountWrites(env, fabricctl + " discover -q --inflight 16", dir);
  uint64_t theirs = CountWrites(env, "ibnetdiscover", dir);
  std::printf("  writes to the simulator (MADs sent): fabricctl %llu, ibnetdiscover %llu\n",
              static_cast<unsigned long long>(ours), static_cast<unsigned long long>(theirs));

  // Deployment: a full d-mod-k table set on a fabric without LIDs, then one link rerouted.
  auto live_json = Shell(fmt::format("{} {} discover --json -q 2>/dev/null", env, fabricctl));
  testing::Live live = testing::ParseLive(live_json.out);
  testing::Plan full = testing::MakeRoutes(live, s.leaves, s.spines, s.hosts, 1, 0);
  testing::Plan reroute = testing::AvoidLink(full, live, 0, 0, s.spines, s.hosts);
  std::ofstream(dir + "/full.dump") << full.dump;
  std::ofstream(dir + "/reroute.dump") << reroute.dump;
  for (auto [name, file] : {std::pair{"full table set", "full.dump"}, std::pair{"one-link reroute", "reroute.dump"}}) {
    if (std::string(file) == "reroute.dump")
      Shell(fmt::format("echo 'Unlink \"leaf0\"[{}]' > {}/sim/console", s.hosts + 1, dir));
    usleep(300 * 1000);
    Run r = Shell(fmt::format("{} {} deploy --json {}/{} 2>/dev/null", env, fabricctl, dir, file));
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (r.exit_code != 0 || j.is_discarded()) {
      std::printf("  deploy %s failed (exit %d)\n", name, r.exit_code);
      rc = 2;
      continue;
    }
    std::printf("  deploy %-16s %7.3f s (%.3f s programming)  %5llu LFT blocks, %4zu LIDs, %7llu MADs\n", name,
                r.seconds, j["stats"]["seconds"].get<double>(),
                static_cast<unsigned long long>(j["blocks_changed"].get<uint64_t>()), j["lids"].size(),
                static_cast<unsigned long long>(j["stats"]["mads"].get<uint64_t>()));
  }
  Shell(fmt::format("{}/tools/ibsim/stop-ibsim.sh {}", source_dir, pid));
  std::filesystem::remove_all(dir);
  return rc;
}

}  // namespace

int RunDiscoveryBench(const Options& options) {
  if (!std::filesystem::exists(kUmad2Sim)) {
    std::fprintf(stderr, "discovery bench: needs ibsim-utils and libumad2sim0\n");
    return 2;
  }
  std::string self = SelfDir();
  std::string fabricctl = self + "/fabricctl";
  std::string source = FABRICCTL_SOURCE_DIR;
  std::printf("discovery: fabricctl vs ibnetdiscover against ibsim (wall time, best of 5)\n");
  int rc = Case({.leaves = 56, .spines = 18, .hosts = 18}, source, fabricctl);  // 1,008 endpoints
  if (!options.quick) rc = std::max(rc, Case({.leaves = 250, .spines = 20, .hosts = 20}, source, fabricctl));  // 5,000
  if (!options.quick) rc = std::max(rc, Case({.leaves = 250, .spines = 40, .hosts = 40}, source, fabricctl));  // 10,000
  return rc;
}

}  // namespace fabricctl::bench
