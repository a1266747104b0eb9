#include "probes/sweep/agent_runner.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include "fabric/display_text.h"
#include "fabric/text_lines.h"
#include "probes/probe_client.h"
#include "probes/socket_util.h"

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

namespace {

// Longer than any node description, host name or namespace name this file can hold.
constexpr size_t kMaxAgentWord = 255;

// Blank-separated words of a line, comment cut.
std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> words;
  line = line.substr(0, line.find('#'));
  size_t pos = 0;
  while (true) {
    size_t start = line.find_first_not_of(" \t", pos);
    if (start == std::string_view::npos) return words;
    size_t end = line.find_first_of(" \t", start);
    words.push_back(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return words;
    pos = end;
  }
}

// One `DESC ADDR[:PORT] [netns=NAME]` line (already split into 2 or 3 words).
Result<AgentEntry> ReadAgentLine(const Fabric& fabric, const std::vector<std::string_view>& words,
                                 const AgentMap& map) {
  for (std::string_view word : words)
    if (word.size() > kMaxAgentWord)
      return MakeError(fmt::format("a word of {} bytes, expected at most {}", word.size(), kMaxAgentWord));
  std::string_view desc = words[0];
  AgentEntry e{.address = std::string(words[1])};
  if (std::string problem = probes::HostPortProblem(words[1]); !problem.empty())
    return MakeError(fmt::format("address '{}': {}", ShownValue(words[1]), problem));
  if (words.size() == 3) {
    std::string_view extra = words[2];
    if (!extra.starts_with("netns=") || extra.size() == 6) return MakeError("expected netns=NAME after the address");
    e.netns = std::string(extra.substr(6));
    if (e.netns.find('/') != std::string::npos || e.netns == "." || e.netns == "..")
      return MakeError("a namespace name has no '/' and is not '.' or '..'");
  }
  auto node = fabric.FindByDescription(desc);
  if (!node) return MakeError(fmt::format("no node has the description '{}'", ShownValue(desc)));
  if (fabric.is_switch(*node)) return MakeError(fmt::format("'{}' is a switch, not an endpoint", ShownValue(desc)));
  if (!map.by_node[*node].address.empty()) return MakeError(fmt::format("'{}' is listed twice", ShownValue(desc)));
  e.node = *node;
  return e;
}

}  // namespace

Result<AgentMap> ParseAgentsFile(const Fabric& fabric, std::string_view text, std::string_view filename) {
  AgentMap map;
  map.by_node.resize(fabric.num_nodes());
  const std::string where(filename);
  TextLines lines(text);
  size_t listed = 0;
  while (lines.Next()) {
    std::vector<std::string_view> words = Words(lines.line());
    if (words.empty()) continue;
    auto fail = [&](std::string message) {
      return MakeInputError(where, lines.number(), std::move(message), std::string(lines.line()));
    };
    if (words.size() == 1) return fail("expected 'DESC ADDR[:PORT] [netns=NAME]'");
    if (words.size() > 3) return fail("unexpected text after the agent entry");
    auto entry = ReadAgentLine(fabric, words, map);
    if (!entry) return fail(std::move(entry.error().message));
    NodeId node = entry->node;
    map.by_node[node] = std::move(*entry);
    ++listed;
  }
  // Every probe would go unmeasured: an empty file is the wrong file, not a sweep to run.
  if (listed == 0) return MakeInputError(where, 0, "lists no agent; expected 'DESC ADDR[:PORT] [netns=NAME]' lines");
  return map;
}

ProbeOutcome DirectAgentExecutor::RunOne(const ProbeTask& task) {
  const AgentEntry& src = agents_.by_node[fabric_.port(task.src).node];
  const AgentEntry& dst = agents_.by_node[fabric_.port(task.dst).node];
  auto fail = [](std::string reason) { return ProbeOutcome{.failure = std::move(reason)}; };
  if (dst.address.empty())
    return fail(fmt::format("no agent for {}", fabric_.description(fabric_.port(task.dst).node)));
  if (src.address.empty())
    return fail(fmt::format("no agent for {}", fabric_.description(fabric_.port(task.src).node)));
  probes::ProbeOptions lat{.peer = dst.address,
                           .tests = {probes::TestKind::kLatency},
                           .sizes = {64},
                           .iterations = options_.latency_iterations,
                           .timeout = options_.timeout,
                           .token = options_.token};
  auto l = probes::RunProbe(lat, transport_);
  if (!l || l->latency.empty()) return fail(l ? "no latency result" : l.error().Format());
  probes::ProbeOptions bw{.peer = dst.address,
                          .tests = {probes::TestKind::kBandwidth},
                          .sizes = {options_.message_size},
                          .duration = options_.bandwidth_duration,
                          .timeout = options_.timeout,
                          .token = options_.token};
  auto b = probes::RunProbe(bw, transport_);
  if (!b || b->bandwidth.empty()) return fail(b ? "no bandwidth result" : b.error().Format());
  ProbeOutcome out;
  out.measurement = {
      .status = ProbeStatus::kMeasured, .gbps = b->bandwidth.front().gbps, .latency_us = l->latency.front().p50_us};
  return out;
}

std::vector<ProbeOutcome> DirectAgentExecutor::RunRound(std::span<const ProbeTask> tasks) {
  std::vector<ProbeOutcome> out(tasks.size());
  std::atomic<size_t> next{0};
  unsigned n_threads = std::max(1u, std::min<unsigned>(options_.parallel, static_cast<unsigned>(tasks.size())));
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < n_threads; ++t) {
    threads.emplace_back([&] {
      // Each probe may come from another namespace; a worker moves to the source's
      // namespace and stays there for its next probes from the same one.
      std::string current;
      int home = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
      for (size_t k = next++; k < tasks.size(); k = next++) {
        const AgentEntry& src = agents_.by_node[fabric_.port(tasks[k].src).node];
        if (!src.netns.empty() && src.netns != current) {
          if (auto e = EnterNetns(src.netns); !e) {
            out[k].failure = e.error().message;
            continue;
          }
          current = src.netns;
        } else if (src.netns.empty() && !current.empty()) {
          if (home < 0 || ::setns(home, CLONE_NEWNET) != 0) {
            out[k].failure = "cannot return to the sweep's own network namespace";
            continue;
          }
          current.clear();
        }
        out[k] = RunOne(tasks[k]);
      }
      if (home >= 0) ::close(home);
    });
  }
  for (std::thread& t : threads) t.join();
  return out;
}

}  // namespace fabricctl::sweep
