#include "probes/sweep/agent_runner.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <sstream>
#include <thread>

#include "probes/probe_client.h"

namespace fabricctl::sweep {
namespace {

// Moves the calling thread into a named network namespace (ip netns). Only this thread:
// sockets it creates afterwards live in that namespace.
Result<void> EnterNetns(const std::string& name) {
  std::string path = "/var/run/netns/" + name;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return MakeError(fmt::format("netns {}: {}", name, std::strerror(errno)));
  int rc = ::setns(fd, CLONE_NEWNET);
  int err = errno;
  ::close(fd);
  if (rc != 0) return MakeError(fmt::format("netns {}: {}", name, std::strerror(err)));
  return {};
}

}  // namespace

Result<AgentMap> ParseAgentsFile(const Fabric& fabric, std::string_view text, std::string_view filename) {
  AgentMap map;
  map.by_node.resize(fabric.num_nodes());
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  const std::string where(filename);
  while (std::getline(in, line)) {
    ++number;
    size_t hash = line.find('#');
    std::string body = hash == std::string::npos ? line : line.substr(0, hash);
    std::istringstream words(body);
    std::string desc, address, extra, more;
    if (!(words >> desc)) continue;
    if (!(words >> address)) return MakeInputError(where, number, "expected 'DESC ADDR[:PORT] [netns=NAME]'", line);
    AgentEntry e{.address = address};
    if (words >> extra) {
      if (!extra.starts_with("netns=") || extra.size() == 6)
        return MakeInputError(where, number, "expected netns=NAME after the address", line);
      e.netns = extra.substr(6);
      if (e.netns.find('/') != std::string::npos)
        return MakeInputError(where, number, "a namespace name has no '/'", line);
    }
    if (words >> more) return MakeInputError(where, number, "unexpected text after the agent entry", line);
    auto node = fabric.FindByDescription(desc);
    if (!node) return MakeInputError(where, number, fmt::format("no node has the description '{}'", desc), line);
    if (fabric.is_switch(*node))
      return MakeInputError(where, number, fmt::format("'{}' is a switch, not an endpoint", desc), line);
    if (!map.by_node[*node].address.empty())
      return MakeInputError(where, number, fmt::format("'{}' is listed twice", desc), line);
    e.node = *node;
    map.by_node[*node] = std::move(e);
  }
  return map;
}

RunnerResult RunSweepOnAgents(const Fabric& fabric, const SweepPlan& plan, const AgentMap& agents,
                              probes::ClientTransport& transport, const RunnerOptions& options,
                              const std::function<void(const RunnerProgress&)>& progress) {
  RunnerResult out;
  out.measurements.resize(plan.probes.size());
  std::mutex mu;  // guards failures and progress
  std::vector<std::vector<size_t>> rounds(plan.num_rounds);
  for (size_t i = 0; i < plan.probes.size(); ++i) rounds[plan.probes[i].round].push_back(i);
  RunnerProgress state{.total = plan.probes.size(), .rounds = plan.num_rounds};

  auto fail = [&](size_t i, std::string reason) {
    std::lock_guard lock(mu);
    out.failures.push_back({.probe = i, .reason = std::move(reason)});
  };
  auto run_one = [&](size_t i) {
    const PlannedProbe& p = plan.probes[i];
    const AgentEntry& src = agents.by_node[fabric.port(p.src).node];
    const AgentEntry& dst = agents.by_node[fabric.port(p.dst).node];
    Measurement& m = out.measurements[i];
    m.status = ProbeStatus::kUnmeasured;
    if (dst.address.empty())
      return fail(i, fmt::format("no agent for {}", fabric.description(fabric.port(p.dst).node)));
    if (src.address.empty())
      return fail(i, fmt::format("no agent for {}", fabric.description(fabric.port(p.src).node)));
    probes::ProbeOptions lat{.peer = dst.address,
                             .tests = {probes::TestKind::kLatency},
                             .sizes = {64},
                             .iterations = options.latency_iterations,
                             .timeout = options.timeout,
                             .token = options.token};
    auto l = probes::RunProbe(lat, transport);
    if (!l || l->latency.empty()) return fail(i, l ? "no latency result" : l.error().Format());
    probes::ProbeOptions bw{.peer = dst.address,
                            .tests = {probes::TestKind::kBandwidth},
                            .sizes = {options.message_size},
                            .duration = options.bandwidth_duration,
                            .timeout = options.timeout,
                            .token = options.token};
    auto b = probes::RunProbe(bw, transport);
    if (!b || b->bandwidth.empty()) return fail(i, b ? "no bandwidth result" : b.error().Format());
    m.status = ProbeStatus::kMeasured;
    m.latency_us = l->latency.front().p50_us;
    m.gbps = b->bandwidth.front().gbps;
  };

  for (uint32_t r = 0; r < rounds.size(); ++r) {
    std::atomic<size_t> next{0};
    const std::vector<size_t>& work = rounds[r];
    unsigned n_threads = std::max(1u, std::min<unsigned>(options.parallel, static_cast<unsigned>(work.size())));
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < n_threads; ++t) {
      threads.emplace_back([&] {
        // Each probe may come from another namespace; a worker moves to the source's
        // namespace and stays there for its next probes from the same one.
        std::string current;
        int home = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        for (size_t k = next++; k < work.size(); k = next++) {
          size_t i = work[k];
          const AgentEntry& src = agents.by_node[fabric.port(plan.probes[i].src).node];
          bool ready = true;
          if (!src.netns.empty() && src.netns != current) {
            if (auto e = EnterNetns(src.netns); !e) {
              fail(i, e.error().message);
              ready = false;
            } else {
              current = src.netns;
            }
          } else if (src.netns.empty() && !current.empty()) {
            if (home < 0 || ::setns(home, CLONE_NEWNET) != 0) {
              fail(i, "cannot return to the sweep's own network namespace");
              ready = false;
            } else {
              current.clear();
            }
          }
          if (ready) run_one(i);
          std::lock_guard lock(mu);
          ++state.done;
          state.round = r + 1;
          if (progress) progress(state);
        }
        if (home >= 0) ::close(home);
      });
    }
    for (std::thread& t : threads) t.join();
  }
  std::sort(out.failures.begin(), out.failures.end(),
            [](const ProbeFailure& a, const ProbeFailure& b) { return a.probe < b.probe; });
  return out;
}

}  // namespace fabricctl::sweep
