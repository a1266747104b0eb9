// fabricctl probe serve | probe run: the probe agent and the client that measures against it.
#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "probes/agent.h"
#include "probes/control_protocol.h"
#include "probes/peer_list.h"
#include "probes/probe_client.h"
#include "probes/tcp_transport.h"
#include "probes/verbs_transport.h"

namespace fabricctl::cli {
namespace {

using probes::Bytes;

struct VerbsFlags {
  std::string device;                   // -d, as perftest's --ib-dev
  int port = 1;                         // -i, as perftest's --ib-port
  int gid_index = -1;                   // -x, as perftest's --gid-index; -1 = pick one
  std::string latency_method = "send";  // --verbs-lat: send (SEND/RECV) or write (RDMA WRITE + polling)
  std::uint32_t window = 64;            // -t, as perftest's --tx-depth
};

struct ServeOptions {
  std::vector<std::string> listen = {"127.0.0.1:" + std::to_string(probes::kDefaultAgentPort)};
  std::string token_file;
  std::string peers_file;
  int max_sessions = 0;  // 0: 4, or with --peers room for each address to probe and be probed
  unsigned busy_poll_us = 0;
  VerbsFlags verbs;
};

struct RunOptions {
  std::string peer;
  std::string test = "all";
  std::string transport = "tcp";
  std::uint32_t size = 0;
  std::string sizes;
  std::uint64_t iters = 0;
  double duration_s = 0;
  double timeout_s = 10;
  std::string token_file;
  bool json = false;
  unsigned busy_poll_us = 0;
  VerbsFlags verbs;
};

std::string DefaultTokenFile() {
  if (const char* env = std::getenv("FABRICCTL_PROBE_TOKEN_FILE"); env && *env) return env;
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.config/fabricctl/probe-token";
  return "probe-token";
}

Result<Bytes> LoadToken(const std::string& flag) {
  std::string path = flag.empty() ? DefaultTokenFile() : flag;
  auto token = probes::ReadTokenFile(path);
  if (!token && flag.empty()) token.error().message += " (give --token-file, or set FABRICCTL_PROBE_TOKEN_FILE)";
  return token;
}

void AddVerbsFlags(CLI::App* cmd, VerbsFlags& v) {
  cmd->add_option("-d,--ib-dev", v.device, "verbs: RDMA device (default: the first one)");
  cmd->add_option("-i,--ib-port", v.port, "verbs: port number")->check(CLI::Range(1, 255));
  cmd->add_option("-x,--gid-index", v.gid_index, "verbs: GID index (RoCE needs one; default: pick a RoCE v2 IPv4 GID)");
}

void AddVerbsClientFlags(CLI::App* cmd, VerbsFlags& v) {
  cmd->add_option("--verbs-lat", v.latency_method, "verbs: latency by SEND/RECV ping-pong or RDMA WRITE with polling")
      ->check(CLI::IsMember({"send", "write"}))
      ->capture_default_str();
  cmd->add_option("-t,--tx-depth", v.window, "verbs: outstanding RDMA WRITEs in bandwidth tests")
      ->check(CLI::Range(1u, 4096u))
      ->capture_default_str();
}

probes::VerbsOptions ToVerbsOptions(const VerbsFlags& f) {
  probes::VerbsOptions v;
  v.device = f.device;
  v.port = f.port;
  v.gid_index = f.gid_index;
  v.latency_method =
      f.latency_method == "write" ? probes::VerbsLatencyMethod::kWritePoll : probes::VerbsLatencyMethod::kSendRecv;
  v.window = f.window;
  return v;
}

Result<std::unique_ptr<probes::ClientTransport>> MakeClientTransport(const RunOptions& o) {
  if (o.transport == "tcp")
    return probes::MakeTcpClientTransport({.busy_poll = std::chrono::microseconds(o.busy_poll_us)});
  return probes::MakeVerbsClientTransport(ToVerbsOptions(o.verbs));
}

std::string Timestamp() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  ::gmtime_r(&ts.tv_sec, &t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour,
                     t.tm_min, t.tm_sec);
}

std::atomic<bool> g_stop{false};  // set by SIGINT/SIGTERM only; signal handlers need a global
extern "C" void OnStopSignal(int) { g_stop.store(true); }

// Every held connection is a descriptor: take what the hard limit allows, so the agent's
// room for unauthenticated connections is not the 1024 of a default soft limit.
void RaiseDescriptorLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  (void)::setrlimit(RLIMIT_NOFILE, &limit);
}

// The client transport of one ordered probe: TCP bound to the item's source and device,
// or verbs on the item's DEVICE:PORT (the serve flags' device when the item names none).
probes::OrderTransportFactory MakeOrderTransportFactory(const ServeOptions& o) {
  return [busy_poll = o.busy_poll_us, verbs_flags = o.verbs](
             std::string_view transport,
             const probes::OrderItem& item) -> Result<std::unique_ptr<probes::ClientTransport>> {
    if (transport == "tcp")
      return probes::MakeTcpClientTransport({.busy_poll = std::chrono::microseconds(busy_poll),
                                             .bind_source = !item.source.empty(),
                                             .device = item.device});
    if (transport == "verbs") {
      probes::VerbsOptions v = ToVerbsOptions(verbs_flags);
      if (!item.rdma.empty()) {
        std::size_t colon = item.rdma.rfind(':');
        int port = 0;
        std::string_view digits = std::string_view(item.rdma).substr(colon == std::string::npos ? 0 : colon + 1);
        auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
        if (colon == std::string::npos || colon == 0 || ec != std::errc() || ptr != digits.data() + digits.size() ||
            port < 1 || port > 255)
          return MakeError(fmt::format("rdma '{}' is not DEVICE:PORT", item.rdma));
        v.device = item.rdma.substr(0, colon);
        v.port = port;
      }
      return probes::MakeVerbsClientTransport(v);
    }
    return MakeError(fmt::format("transport '{}' is not available for orders on this agent", transport));
  };
}

// Every --listen address, the first as the agent's main one.
Result<probes::AgentOptions> ListenOptions(const ServeOptions& o) {
  if (o.listen.empty()) return MakeError("--listen: give at least one address");
  probes::AgentOptions options;
  for (std::size_t i = 0; i < o.listen.size(); ++i) {
    auto listen = probes::ParseHostPort(o.listen[i], probes::kDefaultAgentPort, "127.0.0.1");
    if (!listen) return std::unexpected(Error{.message = listen.error().message, .where = "--listen"});
    if (i == 0)
      options.listen = *listen;
    else
      options.also_listen.push_back(*listen);
  }
  return options;
}

int RunServe(const ServeOptions& o) {
  auto token = LoadToken(o.token_file);
  if (!token) return ReportError(token.error());
  auto options = ListenOptions(o);
  if (!options) return ReportError(options.error());
  options->token = *token;
  if (!o.peers_file.empty()) {
    auto peers = probes::ReadPeerList(o.peers_file);
    if (!peers) return ReportError(peers.error());
    options->peers = std::move(*peers);
    options->order_transport = MakeOrderTransportFactory(o);
  }
  // With orders each address may probe and be probed at once, next to the coordinator's
  // session.
  int listens = static_cast<int>(o.listen.size());
  options->max_sessions =
      o.max_sessions != 0 ? o.max_sessions : (o.peers_file.empty() ? 4 : std::max(4, 2 * listens + 2));
  std::vector<std::unique_ptr<probes::ServerTransport>> transports;
  transports.push_back(probes::MakeTcpServerTransport({.busy_poll = std::chrono::microseconds(o.busy_poll_us)}));
  if (auto verbs = probes::MakeVerbsServerTransport(ToVerbsOptions(o.verbs)); verbs)
    transports.push_back(std::move(*verbs));
  else if (!o.verbs.device.empty())  // asked for by name: say why it is not served
    std::cerr << "fabricctl probe serve: verbs transport unavailable: " << verbs.error().Format() << "\n";
  else  // no RDMA here: a plain note, TCP-only agents are the normal case on such hosts
    std::cerr << "fabricctl probe serve: serving tcp only (no RDMA device for verbs)\n";
  auto log_mu = std::make_shared<std::mutex>();
  probes::Agent agent(std::move(*options), std::move(transports), [log_mu](std::string_view line) {
    std::lock_guard lock(*log_mu);
    std::cerr << Timestamp() << " probe-agent: " << line << std::endl;
  });
  RaiseDescriptorLimit();
  if (auto r = agent.Listen(); !r) return ReportError(r.error());
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  if (auto r = agent.Run(g_stop); !r) return ReportError(r.error());
  return kExitOk;
}

Result<std::vector<std::uint32_t>> ParseSizes(const std::string& text) {
  std::vector<std::uint32_t> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view item(text.data() + start, (comma == std::string::npos ? text.size() : comma) - start);
    std::uint64_t mult = 1;
    std::string_view digits = item;
    if (!digits.empty() && (digits.back() == 'K' || digits.back() == 'k')) {
      mult = 1024;
      digits.remove_suffix(1);
    } else if (!digits.empty() && (digits.back() == 'M' || digits.back() == 'm')) {
      mult = 1024 * 1024;
      digits.remove_suffix(1);
    }
    std::uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || v == 0 ||
        v * mult > probes::kMaxMessageSize)
      return MakeError(fmt::format("--sizes: '{}' is not a message size in 1..{} (suffix K or M allowed)", item,
                                   probes::kMaxMessageSize));
    out.push_back(static_cast<std::uint32_t>(v * mult));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void PrintText(const probes::ProbeReport& r) {
  if (!r.latency.empty()) {
    std::cout << fmt::format("latency (one-way, us) to {} over {}\n", r.peer, r.transport);
    std::cout << fmt::format("{:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "bytes", "iters", "min",
                             "p50", "avg", "p99", "p99.9", "max", "stdev");
    for (const auto& s : r.latency)
      std::cout << fmt::format("{:>10} {:>10} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f}\n",
                               s.message_size, s.iterations, s.min_us, s.p50_us, s.avg_us, s.p99_us, s.p999_us,
                               s.max_us, s.stdev_us);
  }
  if (!r.bandwidth.empty()) {
    std::cout << fmt::format("bandwidth (measured at the receiver) to {} over {}\n", r.peer, r.transport);
    std::cout << fmt::format("{:>10} {:>12} {:>14} {:>9} {:>10} {:>12}\n", "bytes", "messages", "total bytes",
                             "seconds", "Gb/s", "msg/s");
    for (const auto& s : r.bandwidth)
      std::cout << fmt::format("{:>10} {:>12} {:>14} {:>9.3f} {:>10.3f} {:>12.0f}\n", s.message_size, s.messages,
                               s.bytes, s.seconds, s.gbps, s.msg_rate_mps * 1e6);
  }
}

int RunProbeCmd(const RunOptions& o) {
  probes::ProbeOptions p;
  p.peer = o.peer;
  if (o.test == "lat" || o.test == "all") p.tests.push_back(probes::TestKind::kLatency);
  if (o.test == "bw" || o.test == "all") p.tests.push_back(probes::TestKind::kBandwidth);
  if (!o.sizes.empty()) {
    auto sizes = ParseSizes(o.sizes);
    if (!sizes) return ReportError(sizes.error());
    p.sizes = *sizes;
  }
  if (o.size != 0) p.sizes = {o.size};
  // Written so that NaN fails too, before the cast to milliseconds.
  if (!(o.timeout_s >= 0.001 && o.timeout_s <= probes::kMaxTimeoutMs / 1000))
    return ReportError(
        Error{.message = fmt::format("--timeout must be in [0.001, {}] seconds", probes::kMaxTimeoutMs / 1000)});
  p.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(o.timeout_s * 1000));
  // 0 is "not given"; NaN, negative and over-long durations fail before the cast.
  if (o.duration_s != 0 && !(o.duration_s >= 0.001 && o.duration_s <= probes::kMaxDurationMs / 1000))
    return ReportError(
        Error{.message = fmt::format("--duration must be in [0.001, {}] seconds", probes::kMaxDurationMs / 1000)});
  if (o.iters != 0) {
    p.iterations = o.iters;
  } else if (o.duration_s > 0) {
    p.duration = std::chrono::milliseconds(static_cast<std::int64_t>(o.duration_s * 1000));
  }
  auto token = LoadToken(o.token_file);
  if (!token) return ReportError(token.error());
  p.token = *token;
  auto transport = MakeClientTransport(o);
  if (!transport) return ReportError(transport.error());
  ::signal(SIGPIPE, SIG_IGN);

  probes::ProbeReport report{.peer = o.peer, .transport = o.transport};
  // Defaults follow the peers: perftest's ib_send_lat (small message, many round trips)
  // and iperf3 (128 KiB writes for a few seconds).
  for (probes::TestKind kind : p.tests) {
    probes::ProbeOptions one = p;
    one.tests = {kind};
    if (one.sizes.empty()) one.sizes = {kind == probes::TestKind::kLatency ? 8u : 131072u};
    if (one.iterations == 0 && one.duration.count() == 0) {
      if (kind == probes::TestKind::kLatency)
        one.iterations = 10000;
      else
        one.duration = std::chrono::seconds(3);
    }
    auto progress = [&](std::string_view line) {
      if (StderrIsTerminal() && !o.json) std::cerr << line << "\n";
    };
    auto r = probes::RunProbe(one, **transport, progress);
    if (!r) return ReportError(r.error());
    report.latency.insert(report.latency.end(), r->latency.begin(), r->latency.end());
    report.bandwidth.insert(report.bandwidth.end(), r->bandwidth.begin(), r->bandwidth.end());
  }
  if (o.json)
    PrintJson(probes::ToJson(report));
  else
    PrintText(report);
  return kExitOk;
}

}  // namespace

void AddProbeCommands(CLI::App& probe, Runner& run) {
  auto serve_opts = std::make_shared<ServeOptions>();
  CLI::App* serve =
      probe.add_subcommand("serve",
                           "Run the probe agent: answers `probe run` clients that hold the shared token, and with\n"
                           "--peers runs a coordinator's probe orders to the agents of that file.\n"
                           "Listens only on --listen; measures only against the host that connects; logs to stderr.");
  serve
      ->add_option("--listen", serve_opts->listen,
                   "ADDR:PORT, [IPV6]:PORT, ADDR (port 18520) or PORT (on 127.0.0.1) to listen on; repeat for "
                   "several addresses (one per NIC)")
      ->capture_default_str();
  serve->add_option("--peers", serve_opts->peers_file,
                    "agents file (version 2, docs/sweeps.md): take probe orders, to its DATA_ADDR agents only; "
                    "without it every order is refused");
  serve->add_option("--token-file", serve_opts->token_file,
                    "shared secret (mode 600, >= 16 bytes); default $FABRICCTL_PROBE_TOKEN_FILE or "
                    "~/.config/fabricctl/probe-token");
  serve
      ->add_option("--max-sessions", serve_opts->max_sessions,
                   "clients served at once; more are refused (default 4; with --peers 2 per --listen address + 2)")
      ->check(CLI::Range(1, 256));
  serve
      ->add_option("--busy-poll", serve_opts->busy_poll_us,
                   "tcp: microseconds to spin before blocking in recv (only on dedicated cores)")
      ->check(CLI::Range(0u, 100000u));
  AddVerbsFlags(serve, serve_opts->verbs);
  serve->callback([&run, serve_opts] { run = [serve_opts] { return RunServe(*serve_opts); }; });

  auto run_opts = std::make_shared<RunOptions>();
  CLI::App* r = probe.add_subcommand(
      "run",
      "Measure latency (ping-pong, one-way = RTT/2, microseconds) and bandwidth (streaming, Gb/s at the\n"
      "receiver) against a `probe serve` agent. Exit 0 ok, 2 error.");
  r->add_option("peer", run_opts->peer, "agent as HOST[:PORT] (default port 18520)")->required();
  r->add_option("--test", run_opts->test, "lat, bw or all")
      ->check(CLI::IsMember({"lat", "bw", "all"}))
      ->capture_default_str();
  r->add_option("--transport", run_opts->transport, "tcp or verbs")
      ->check(CLI::IsMember({"tcp", "verbs"}))
      ->capture_default_str();
  auto* size = r->add_option("--size", run_opts->size, "message size in bytes (default: 8 for lat, 131072 for bw)")
                   ->check(CLI::Range(1u, probes::kMaxMessageSize));
  r->add_option("--sizes", run_opts->sizes, "comma-separated message sizes, e.g. 8,4K,64K,1M")->excludes(size);
  auto* iters =
      r->add_option("--iters", run_opts->iters, "round trips (lat) or messages (bw) per size (default: 10000 lat)")
          ->check(CLI::Range(std::uint64_t{1}, probes::kMaxIterations));
  r->add_option("--duration", run_opts->duration_s, "seconds per size instead of --iters (default: 3 bw)")
      ->check(CLI::Range(0.001, 3600.0))
      ->excludes(iters);
  r->add_option("--timeout", run_opts->timeout_s, "seconds any wait may last before the run fails")
      ->capture_default_str();
  r->add_option("--token-file", run_opts->token_file, "shared secret, as for probe serve");
  r->add_flag("--json", run_opts->json, "machine-readable output (schema fabricctl.probe.v1, docs/probes.md)");
  r->add_option("--busy-poll", run_opts->busy_poll_us,
                "tcp: microseconds to spin before blocking in recv (only on dedicated cores)")
      ->check(CLI::Range(0u, 100000u));
  AddVerbsFlags(r, run_opts->verbs);
  AddVerbsClientFlags(r, run_opts->verbs);
  r->callback([&run, run_opts] { run = [run_opts] { return RunProbeCmd(*run_opts); }; });
}

}  // namespace fabricctl::cli
