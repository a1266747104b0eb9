#include "probes/sweep/remote_executor.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <unordered_map>

namespace fabricctl::sweep {
namespace {

ProbeOutcome Unmeasured(std::string reason) { return ProbeOutcome{.failure = std::move(reason)}; }

ProbeOutcome OutcomeOf(const probes::OrderResult& result) {
  if (!result.ok) return Unmeasured(result.error.empty() ? "the agent gave no reason" : result.error);
  return ProbeOutcome{
      .measurement = {.status = ProbeStatus::kMeasured, .gbps = result.gbps, .latency_us = result.latency_us}};
}

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
                                                               const std::vector<probes::OrderItem>& items) {
  const bool kept = agent.link != nullptr;
  auto attempt = [&]() -> Result<std::vector<probes::OrderResult>> {
    if (!agent.link) {
      auto link = links_(agent.control);
      if (!link) return std::unexpected(link.error());
      agent.link = std::move(*link);
    }
    auto results = agent.link->Run(items, options_.settings);
    if (!results) agent.link.reset();
    return results;
  };
  auto results = attempt();
  // A session kept from an earlier round may have been closed by the agent (restart, idle
  // limit): reopened once. A fresh session that fails says the agent itself is at fault.
  if (!results && kept) results = attempt();
  return results;
}

void RemoteExecutor::RunAgent(Agent& agent, std::span<const ProbeTask> round, const std::vector<size_t>& tasks,
                              std::vector<ProbeOutcome>& out) {
  std::vector<probes::OrderItem> items;
  for (size_t begin = 0; begin < tasks.size(); begin += probes::kMaxOrderItems) {
    const size_t end = std::min(tasks.size(), begin + probes::kMaxOrderItems);
    items.clear();
    for (size_t i = begin; i < end; ++i) items.push_back(ItemFor(round[tasks[i]]));
    auto results = Order(agent, items);
    if (results && results->size() != items.size())
      results = MakeError(fmt::format("answered {} results for {} probes", results->size(), items.size()));
    for (size_t i = begin; i < end; ++i)
      out[tasks[i]] = results ? OutcomeOf((*results)[i - begin])
                              : Unmeasured(fmt::format("agent at {}: {}", agent.control, results.error().Format()));
  }
}

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
  std::vector<uint32_t> busy;
  for (uint32_t a = 0; a < by_agent.size(); ++a)
    if (!by_agent[a].empty()) busy.push_back(a);
  // Each agent is served by one worker at a time, so its session needs no lock.
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < busy.size(); i = next++) RunAgent(agents_[busy[i]], tasks, by_agent[busy[i]], out);
  };
  const size_t workers = std::clamp<size_t>(busy.size(), 1, std::max(1u, options_.parallel));
  std::vector<std::thread> threads;
  for (size_t t = 1; t < workers; ++t) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
  return out;
}

}  // namespace fabricctl::sweep
