#include "tools/bench/probe_bench.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "probes/agent.h"
#include "probes/probe_client.h"
#include "probes/tcp_transport.h"

extern char** environ;

namespace fabricctl::bench {
namespace {

using namespace std::chrono_literals;

// Runs a shell command and returns its standard output (nullopt when it fails).
std::optional<std::string> Capture(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return std::nullopt;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  if (rc != 0) return std::nullopt;
  return out;
}

pid_t SpawnQuiet(const std::vector<std::string>& argv) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

void Stop(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  int status;
  ::waitpid(pid, &status, 0);
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::optional<double> SockperfP50(int port, int msg, int seconds) {
  auto out = Capture("sockperf pp --tcp -i 127.0.0.1 -p " + std::to_string(port) + " -m " + std::to_string(msg) +
                     " -t " + std::to_string(seconds) + " 2>&1");
  if (!out) return std::nullopt;
  auto at = out->find("percentile 50.000 =");
  if (at == std::string::npos) return std::nullopt;
  return std::stod(out->substr(at + 19));
}

std::optional<double> QperfLatency(int port, int msg, int seconds) {
  auto out = Capture("qperf -lp " + std::to_string(port) + " 127.0.0.1 -m " + std::to_string(msg) + " -t " +
                     std::to_string(seconds) + " -v tcp_lat 2>&1");
  if (!out) return std::nullopt;
  auto at = out->find("latency");
  if (at == std::string::npos) return std::nullopt;
  at = out->find('=', at);
  double v = std::stod(out->substr(at + 1));
  if (out->find(" ns", at) < out->find('\n', at)) v /= 1000;
  if (out->find(" ms", at) < out->find('\n', at)) v *= 1000;
  return v;
}

std::optional<double> Iperf3Gbps(int port, int write_size, int seconds) {
  auto out = Capture("iperf3 -c 127.0.0.1 -p " + std::to_string(port) + " -l " + std::to_string(write_size) + " -t " +
                     std::to_string(seconds) + " -J");
  if (!out) return std::nullopt;
  auto j = nlohmann::json::parse(*out, nullptr, false);
  if (j.is_discarded() || !j.contains("end")) return std::nullopt;
  return j["end"]["sum_received"]["bits_per_second"].get<double>() / 1e9;
}

// The bench's fixed settings: message sizes and the loopback ports of the peer servers.
constexpr int kLatencySize = 64;
constexpr int kBandwidthSize = 128 * 1024;
constexpr int kIperfPort = 19870, kSockperfPort = 19871, kQperfPort = 19872;

// The peers' servers (iperf3, sockperf, qperf) on loopback, stopped when this goes.
class PeerServers {
 public:
  PeerServers()
      : iperf_(SpawnQuiet({"iperf3", "-s", "-p", std::to_string(kIperfPort)})),
        sockperf_(SpawnQuiet({"sockperf", "sr", "--tcp", "-i", "127.0.0.1", "-p", std::to_string(kSockperfPort)})),
        qperf_(SpawnQuiet({"qperf", "--listen_port", std::to_string(kQperfPort)})) {
    std::this_thread::sleep_for(500ms);
  }
  ~PeerServers() {
    Stop(iperf_);
    Stop(sockperf_);
    Stop(qperf_);
  }
  PeerServers(const PeerServers&) = delete;
  PeerServers& operator=(const PeerServers&) = delete;

 private:
  pid_t iperf_, sockperf_, qperf_;
};

// fabricctl's own probe agent on a loopback port, served by a thread until this goes.
class LoopbackAgent {
 public:
  explicit LoopbackAgent(const probes::Bytes& token) : agent_(MakeAgent(token)) {}
  ~LoopbackAgent() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  LoopbackAgent(const LoopbackAgent&) = delete;
  LoopbackAgent& operator=(const LoopbackAgent&) = delete;

  // Listens and starts serving; returns the address to probe, or nullopt (reported).
  std::optional<std::string> Start() {
    if (auto r = agent_.Listen(); !r) {
      std::fprintf(stderr, "probe bench: %s\n", r.error().Format().c_str());
      return std::nullopt;
    }
    thread_ = std::thread([this] { (void)agent_.Run(stop_); });
    return probes::AddressText(agent_.bound_address().addr, agent_.bound_address().len);
  }

 private:
  static probes::Agent MakeAgent(const probes::Bytes& token) {
    std::vector<std::unique_ptr<probes::ServerTransport>> transports;
    transports.push_back(probes::MakeTcpServerTransport());
    auto listen = probes::ParseHostPort("127.0.0.1:0", 1);
    return probes::Agent(probes::AgentOptions{.listen = *listen, .token = token}, std::move(transports),
                         [](std::string_view) {});
  }

  probes::Agent agent_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// What the rounds measured, each side's figure per round, and the per-round ratios of
// back-to-back runs: on a shared host the load drifts between rounds far more than within
// one, so pairs compare like with like.
struct Samples {
  std::vector<double> ours_bw, iperf_bw, ours_p50, sockperf_p50, qperf_avg, ours_avg;
  std::vector<double> bw_ratio, p50_ratio;
};

// One interleaved round (so that load from other work on the machine hits both sides
// alike): our bandwidth, then iperf3's, our latency, sockperf's and qperf's.
void RunRound(int round, int seconds, const std::string& peer, const probes::Bytes& token,
              probes::ClientTransport& client, Samples& s) {
  auto run = [&](probes::TestKind kind, int size) -> std::optional<probes::ProbeReport> {
    probes::ProbeOptions o{.peer = peer,
                           .tests = {kind},
                           .sizes = {static_cast<std::uint32_t>(size)},
                           .duration = std::chrono::seconds(seconds),
                           .token = token};
    auto r = probes::RunProbe(o, client);
    if (!r) {
      std::fprintf(stderr, "probe bench: %s\n", r.error().Format().c_str());
      return std::nullopt;
    }
    return *r;
  };
  auto ours = run(probes::TestKind::kBandwidth, kBandwidthSize);
  auto peer_bw = Iperf3Gbps(kIperfPort, kBandwidthSize, seconds);
  if (ours) s.ours_bw.push_back(ours->bandwidth[0].gbps);
  if (peer_bw) s.iperf_bw.push_back(*peer_bw);
  if (ours && peer_bw && *peer_bw > 0) s.bw_ratio.push_back(ours->bandwidth[0].gbps / *peer_bw);
  auto lat = run(probes::TestKind::kLatency, kLatencySize);
  auto peer_p50 = SockperfP50(kSockperfPort, kLatencySize, seconds);
  if (lat) {
    s.ours_p50.push_back(lat->latency[0].p50_us);
    s.ours_avg.push_back(lat->latency[0].avg_us);
  }
  if (peer_p50) s.sockperf_p50.push_back(*peer_p50);
  if (lat && peer_p50 && *peer_p50 > 0) s.p50_ratio.push_back(lat->latency[0].p50_us / *peer_p50);
  if (auto q = QperfLatency(kQperfPort, kLatencySize, seconds)) s.qperf_avg.push_back(*q);
  auto last = [](const std::vector<double>& v) { return v.empty() ? 0 : v.back(); };
  std::printf("round %d: bw %.2f vs iperf3 %.2f Gb/s; p50 %.2f vs sockperf %.2f us; avg %.2f vs qperf %.2f us\n",
              round + 1, last(s.ours_bw), last(s.iperf_bw), last(s.ours_p50), last(s.sockperf_p50), last(s.ours_avg),
              last(s.qperf_avg));
  std::fflush(stdout);
}

// The medians and the verdict on the targets; true when both are met.
bool PrintSummary(const Samples& s, int seconds, int rounds) {
  const double bw_r = Median(s.bw_ratio), p50_r = Median(s.p50_ratio);
  std::printf("\nprobe bench (loopback, %d s per run, %d interleaved rounds; medians)\n", seconds, rounds);
  std::printf(
      "  bandwidth %d B writes: fabricctl %.2f Gb/s, iperf3 %.2f Gb/s; per-round ratio %.0f%% (target >= 90%%)\n",
      kBandwidthSize, Median(s.ours_bw), Median(s.iperf_bw), 100 * bw_r);
  std::printf("  latency %d B p50: fabricctl %.2f us, sockperf %.2f us; per-round ratio %.0f%% (target <= 110%%)\n",
              kLatencySize, Median(s.ours_p50), Median(s.sockperf_p50), 100 * p50_r);
  std::printf("  latency %d B avg: fabricctl %.2f us, qperf tcp_lat %.2f us (qperf reports the mean only)\n",
              kLatencySize, Median(s.ours_avg), Median(s.qperf_avg));
  const bool ok = !s.bw_ratio.empty() && !s.p50_ratio.empty() && bw_r >= 0.9 && p50_r <= 1.1;
  std::printf("  targets: %s\n", ok ? "met" : "NOT met");
  return ok;
}

}  // namespace

int RunProbeBench(const Options& options) {
  const int seconds = options.quick ? 1 : 3;
  const int rounds = options.quick ? 1 : 7;
  ::signal(SIGPIPE, SIG_IGN);
  const probes::Bytes token(32, 'b');
  LoopbackAgent agent(token);
  const auto peer = agent.Start();
  if (!peer) return 2;
  Samples samples;
  {
    PeerServers servers;
    auto client = probes::MakeTcpClientTransport();
    for (int round = 0; round < rounds; ++round) RunRound(round, seconds, *peer, token, *client, samples);
  }
  return PrintSummary(samples, seconds, rounds) ? 0 : 1;
}

}  // namespace fabricctl::bench
