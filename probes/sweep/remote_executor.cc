#include "probes/sweep/remote_executor.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <unordered_map>

namespace fabricctl::sweep {
namespace {

ProbeOutcome Unmeasured(std::string reason) { return ProbeOutcome{.failure = std::move(reason)}; }

}  // namespace

RemoteExecutor::RemoteExecutor(const Fabric& fabric, const AgentsFile& agents, AgentLinkFactory links,
                               RemoteOptions options)
    : fabric_(fabric), file_(agents), links_(std::move(links)), options_(std::move(options)) {
  // One agent per control address, however many lines (ports) it serves.
  std::unordered_map<std::string_view, uint32_t> by_control;
  agents_.reserve(agents.entries().size());
  for (const PortAgent& entry : agents.entries()) {
    auto [it, fresh] = by_control.emplace(entry.control, static_cast<uint32_t>(agents_.size()));
    if (fresh) agents_.push_back({.control = entry.control});
    agent_of_entry_.push_back(it->second);
  }
}

RemoteExecutor::~RemoteExecutor() = default;

probes::OrderItem RemoteExecutor::ItemFor(const ProbeTask& task) const {
  const PortAgent& src = *file_.Find(task.src);
  const PortAgent& dst = *file_.Find(task.dst);
  return {.source = src.host, .device = src.device, .rdma = src.rdma, .target = dst.data};
}

Result<std::vector<probes::OrderResult>> RemoteExecutor::Order(Agent& agent,
                                                               const std::vector<probes::OrderItem>& items,
                                                               const probes::OrderSettings& settings) {
  const bool kept = agent.link != nullptr;
  auto attempt = [&]() -> Result<std::vector<probes::OrderResult>> {
    if (!agent.link) {
      auto link = links_(agent.control);
      if (!link) return std::unexpected(link.error());
      agent.link = std::move(*link);
    }
    auto results = agent.link->Run(items, settings);
    if (!results) agent.link.reset();
    return results;
  };
  auto results = attempt();
  // A session kept from an earlier round may have been closed by the agent (restart, idle
  // limit): reopened once. A fresh session that fails says the agent itself is at fault.
  if (!results && kept) results = attempt();
  return results;
}

// One agent's part of a phase: its results land in `out` (the phase's measurement, or why
// the probe went unmeasured).
void RemoteExecutor::RunAgent(Agent& agent, std::span<const ProbeTask> round, const std::vector<size_t>& tasks,
                              const probes::OrderSettings& settings, std::vector<ProbeOutcome>& out) {
  std::vector<probes::OrderItem> items;
  for (size_t begin = 0; begin < tasks.size(); begin += probes::kMaxOrderItems) {
    const size_t end = std::min(tasks.size(), begin + probes::kMaxOrderItems);
    items.clear();
    for (size_t i = begin; i < end; ++i) items.push_back(ItemFor(round[tasks[i]]));
    auto results = Order(agent, items, settings);
    if (results && results->size() != items.size())
      results = MakeError(fmt::format("answered {} results for {} probes", results->size(), items.size()));
    for (size_t i = begin; i < end; ++i) {
      ProbeOutcome& o = out[tasks[i]];
      if (!results) {
        o = Unmeasured(fmt::format("agent at {}: {}", agent.control, results.error().Format()));
        continue;
      }
      const probes::OrderResult& r = (*results)[i - begin];
      if (!r.ok) {
        o = Unmeasured(r.error.empty() ? "the agent gave no reason" : r.error);
      } else if (settings.tests == probes::OrderTests::kLatency) {
        o.measurement.latency_us = r.latency_us;
      } else {
        o.measurement.gbps = r.gbps;
        o.measurement.status = ProbeStatus::kMeasured;
      }
    }
  }
}

// Every busy agent's order of one phase, at most `parallel` agents at once; each agent is
// served by one worker at a time, so its session needs no lock.
void RemoteExecutor::RunPhase(std::span<const ProbeTask> round, const std::vector<std::vector<size_t>>& by_agent,
                              probes::OrderTests tests, std::vector<ProbeOutcome>& out) {
  probes::OrderSettings settings = options_.settings;
  settings.tests = tests;
  std::vector<uint32_t> busy;
  for (uint32_t a = 0; a < by_agent.size(); ++a)
    if (!by_agent[a].empty()) busy.push_back(a);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < busy.size(); i = next++)
      RunAgent(agents_[busy[i]], round, by_agent[busy[i]], settings, out);
  };
  const size_t workers = std::clamp<size_t>(busy.size(), 1, std::max(1u, options_.parallel));
  std::vector<std::thread> threads;
  for (size_t t = 1; t < workers; ++t) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
}

// Two phases: every agent's latency tests, then, once all have answered, the bandwidth
// tests of the probes whose latency test worked.
std::vector<ProbeOutcome> RemoteExecutor::RunRound(std::span<const ProbeTask> tasks) {
  std::vector<ProbeOutcome> out(tasks.size());
  std::vector<std::vector<size_t>> by_agent(agents_.size());
  for (size_t k = 0; k < tasks.size(); ++k) {
    const PortAgent* src = file_.Find(tasks[k].src);
    const PortAgent* dst = file_.Find(tasks[k].dst);
    if (!src || !dst) {
      out[k] = Unmeasured(fmt::format("no agent for {}", fabric_.PortName(src ? tasks[k].dst : tasks[k].src)));
      continue;
    }
    by_agent[agent_of_entry_[src - file_.entries().data()]].push_back(k);
  }
  RunPhase(tasks, by_agent, probes::OrderTests::kLatency, out);
  for (std::vector<size_t>& list : by_agent) std::erase_if(list, [&](size_t k) { return !out[k].failure.empty(); });
  RunPhase(tasks, by_agent, probes::OrderTests::kBandwidth, out);
  return out;
}

}  // namespace fabricctl::sweep
