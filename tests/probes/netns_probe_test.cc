// Probes across two network namespaces joined by a veth pair shaped with tbf
// (tools/netns/). Needs root; label netns. Each case builds its own pair and removes it
// whatever happens (RAII), and every child process is waited for with a time limit.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/scratch_dir.h"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kSource = FABRICCTL_SOURCE_DIR;
const std::string kBinary = FABRICCTL_BINARY;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Starts argv with stdout/stderr redirected to files; returns the pid (or -1).
pid_t Spawn(const std::vector<std::string>& argv, const std::string& out, const std::string& err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

// Exit code, or nullopt when it did not exit within `limit` (then it is killed).
std::optional<int> WaitExit(pid_t pid, std::chrono::milliseconds limit) {
  auto end = Clock::now() + limit;
  int status = 0;
  while (Clock::now() < end) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(20ms);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return std::nullopt;
}

bool WaitForText(const std::string& path, const std::string& text, std::chrono::milliseconds limit) {
  auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (Slurp(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// A namespace pair, an agent in namespace a and a scratch directory; all removed at exit.
class NetnsFixture {
 public:
  explicit NetnsFixture(const std::string& rate) {
    prefix_ = "fcp5t" + std::to_string(getpid() % 100000);
    up_ = geteuid() == 0 && std::system(("bash " + kSource + "/tools/netns/netns-up.sh " + prefix_ + " " + rate +
                                         " 7 >" + scratch_.dir + "/up.log 2>&1")
                                            .c_str()) == 0;
    if (!up_) return;
    Token("token", "netns-probe-test-token-0123456789");
    Token("other", "some-other-token-abcdefghijklmn");
  }
  ~NetnsFixture() {
    if (agent_ > 0) {
      kill(agent_, SIGTERM);
      if (!WaitExit(agent_, 3000ms)) MESSAGE("agent needed SIGKILL");
    }
    std::system(("bash " + kSource + "/tools/netns/netns-down.sh " + prefix_).c_str());
  }
  bool up() const { return up_; }
  std::string path(const std::string& name) const { return scratch_.dir + "/" + name; }
  std::string ns(char side) const { return prefix_ + side; }
  std::string dev(char side) const { return prefix_ + "-" + side; }

  void StartAgent() {
    agent_ = Spawn({"ip", "netns", "exec", ns('a'), kBinary, "probe", "serve", "--listen", "198.18.7.1:18520",
                    "--token-file", path("token")},
                   path("agent.out"), path("agent.log"));
    REQUIRE(agent_ > 0);
    REQUIRE_MESSAGE(WaitForText(path("agent.log"), "listening on 198.18.7.1:18520", 5000ms), Slurp(path("agent.log")));
  }
  pid_t agent() const { return agent_; }

  // Runs `fabricctl probe run` in namespace b; returns the exit code and fills out/err.
  std::optional<int> Client(std::vector<std::string> extra, std::string& out, std::string& err,
                            std::chrono::milliseconds limit = 30000ms, const std::string& token = "token") {
    std::vector<std::string> argv = {"ip",    "netns", "exec",       ns('b'),        kBinary,
                                     "probe", "run",   "198.18.7.1", "--token-file", path(token)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    pid_t pid = Spawn(argv, path("client.out"), path("client.err"));
    REQUIRE(pid > 0);
    auto rc = WaitExit(pid, limit);
    out = Slurp(path("client.out"));
    err = Slurp(path("client.err"));
    return rc;
  }

 private:
  void Token(const std::string& name, const std::string& value) {
    std::ofstream(path(name)) << value << "\n";
    chmod(path(name).c_str(), 0600);
  }
  std::string prefix_;
  fabricctl::testing::ScratchDir scratch_{"netns"};
  bool up_ = false;
  pid_t agent_ = -1;
};

#define REQUIRE_NETNS(f)                                                                  \
  if (!(f).up()) {                                                                        \
    FAIL_CHECK("cannot create network namespaces (needs root and ip netns): see up.log"); \
    return;                                                                               \
  }

TEST_SUITE("netns_probes") {
  TEST_CASE("netns: bandwidth over a tbf-shaped 200 Mbit/s veth is within 10% of the rate") {
    NetnsFixture f("200mbit");
    REQUIRE_NETNS(f);
    f.StartAgent();
    std::string out, err;
    auto rc = f.Client({"--test", "all", "--sizes", "64,131072", "--duration", "3", "--json"}, out, err);
    REQUIRE_MESSAGE(rc == 0, err);
    auto j = nlohmann::json::parse(out);
    CHECK(j["transport"] == "tcp");
    REQUIRE(j["latency"].size() == 2);
    for (const auto& lat : j["latency"]) {
      CHECK(lat["iterations"].get<int>() > 100);
      CHECK(lat["p50_us"].get<double>() > 0);
    }
    // 64-byte writes are limited by system calls, not by the link: only the large size
    // must fill it. tbf counts Ethernet frames, so TCP payload tops out near 191 Mbit/s.
    double gbps = j["bandwidth"][1]["gbps"].get<double>();
    MESSAGE("shaped 200 Mbit/s, measured ", gbps * 1000, " Mbit/s");
    CHECK(gbps >= 0.180);
    CHECK(gbps <= 0.220);
  }

  TEST_CASE("netns: a killed agent gives the client an error within the timeout") {
    NetnsFixture f("200mbit");
    REQUIRE_NETNS(f);
    f.StartAgent();
    pid_t client = Spawn({"ip", "netns", "exec", f.ns('b'), kBinary, "probe", "run", "198.18.7.1", "--test", "bw",
                          "--duration", "20", "--timeout", "2", "--token-file", f.path("token")},
                         f.path("client.out"), f.path("client.err"));
    REQUIRE(client > 0);
    REQUIRE(WaitForText(f.path("agent.log"), "tcp session", 5000ms));
    std::this_thread::sleep_for(500ms);
    // `ip netns exec` execs, so the pid is fabricctl itself.
    kill(f.agent(), SIGKILL);
    auto start = Clock::now();
    auto rc = WaitExit(client, 5000ms);
    auto took = Clock::now() - start;
    REQUIRE_MESSAGE(rc.has_value(), "client still running 5 s after its peer was killed");
    CHECK(*rc == 2);
    CHECK(took < 3000ms);
    std::string err = Slurp(f.path("client.err"));
    CHECK_MESSAGE(err.find("fabricctl: 198.18.7.1: tcp bw 131072 B:") != std::string::npos, err);
  }

  TEST_CASE("netns: a peer that vanishes from the link gives an error within the timeout") {
    NetnsFixture f("none");
    REQUIRE_NETNS(f);
    f.StartAgent();
    pid_t client = Spawn({"ip", "netns", "exec", f.ns('b'), kBinary, "probe", "run", "198.18.7.1", "--test", "lat",
                          "--duration", "20", "--timeout", "2", "--token-file", f.path("token")},
                         f.path("client.out"), f.path("client.err"));
    REQUIRE(client > 0);
    REQUIRE(WaitForText(f.path("agent.log"), "tcp session", 5000ms));
    std::this_thread::sleep_for(300ms);
    // No RST, no FIN: packets simply stop, as when a cable or host dies.
    REQUIRE(std::system(("ip -n " + f.ns('a') + " link set dev " + f.dev('a') + " down").c_str()) == 0);
    auto start = Clock::now();
    auto rc = WaitExit(client, 6000ms);
    auto took = Clock::now() - start;
    REQUIRE_MESSAGE(rc.has_value(), "client still running 6 s after the link went down");
    CHECK(*rc == 2);
    CHECK(took < 3500ms);
    std::string err = Slurp(f.path("client.err"));
    CHECK_MESSAGE(err.find("timed out") != std::string::npos, err);
  }

  TEST_CASE("netns: a wrong token and a malformed message are refused; the agent keeps serving") {
    NetnsFixture f("none");
    REQUIRE_NETNS(f);
    f.StartAgent();
    std::string out, err;
    auto rc = f.Client({"--test", "lat", "--iters", "100"}, out, err, 10000ms, "other");
    CHECK(rc == 2);
    CHECK(err == "fabricctl: 198.18.7.1: agent's reply failed authentication: the agent uses a different token\n");
    CHECK(WaitForText(f.path("agent.log"), "198.18.7.2", 2000ms));
    CHECK(Slurp(f.path("agent.log")).find("closed before authenticating: connection closed by peer") !=
          std::string::npos);

    std::string garbage = "ip netns exec " + f.ns('b') +
                          " bash -c 'trap \"\" PIPE; exec 3<>/dev/tcp/198.18.7.1/18520;"
                          " printf \"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\" >&3 2>/dev/null;"
                          " timeout 5 cat <&3 >/dev/null; test $? -ne 124'";
    auto start = Clock::now();
    CHECK(std::system(garbage.c_str()) == 0);  // cat ends at the agent's close (EOF or reset), not at 5 s
    CHECK(Clock::now() - start < 4000ms);
    CHECK(WaitForText(f.path("agent.log"), "closed before authenticating: not a fabricctl probe frame (bad magic)",
                      2000ms));

    rc = f.Client({"--test", "lat", "--iters", "100", "--json"}, out, err);
    CHECK_MESSAGE(rc == 0, err);
    CHECK(nlohmann::json::parse(out)["latency"][0]["iterations"] == 100);
  }
}

}  // namespace
