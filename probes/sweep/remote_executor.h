#pragma once
// Runs sweep probes host to host: the coordinator gives each probe agent (`fabricctl probe
// serve`) two orders per round holding every probe sourced at its endpoint ports (their
// latency tests, then, once every agent has answered, their bandwidth tests); the agent
// runs them from its own NICs against the destinations' agents and answers with the
// results. Probe traffic never passes through the coordinator.
//
// One session per agent (control address) stays open for the whole sweep and is reopened
// once when it broke. Agents get their orders side by side, at most `parallel` at once,
// each order bounded by the session's own deadline. A probe whose source or destination
// has no agent, or whose agent fails or does not answer, is unmeasured with the reason.
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "probes/order_client.h"
#include "probes/sweep/agents_file.h"
#include "probes/sweep/probe_executor.h"

namespace fabricctl::sweep {

// The coordinator's connection to one agent. An interface so tests and benches can answer
// orders in-process.
class AgentLink {
 public:
  virtual ~AgentLink() = default;
  // One result per item, in order, or why the whole order failed (the session is then
  // considered broken). Every wait is bounded.
  virtual Result<std::vector<probes::OrderResult>> Run(const std::vector<probes::OrderItem>& items,
                                                       const probes::OrderSettings& settings) = 0;
};

// Opens a link to the agent at a control address (HOST:PORT). Called from several threads
// at once.
using AgentLinkFactory = std::function<Result<std::unique_ptr<AgentLink>>(const std::string& control)>;

struct RemoteOptions {
  probes::OrderSettings settings;
  unsigned parallel = 64;  // agents working on an order at once
};

class RemoteExecutor final : public ProbeExecutor {
 public:
  RemoteExecutor(const Fabric& fabric, const AgentsFile& agents, AgentLinkFactory links, RemoteOptions options);
  ~RemoteExecutor() override;
  std::vector<ProbeOutcome> RunRound(std::span<const ProbeTask> tasks) override;
  // Agents the file names (distinct control addresses).
  size_t num_agents() const { return agents_.size(); }

 private:
  struct Agent {
    std::string control;
    std::unique_ptr<AgentLink> link;  // open session; null until needed or after it broke
  };
  // Runs one agent's part of a phase of a round: `tasks` indices into `round`.
  void RunAgent(Agent& agent, std::span<const ProbeTask> round, const std::vector<size_t>& tasks,
                const probes::OrderSettings& settings, std::vector<ProbeOutcome>& out);
  void RunPhase(std::span<const ProbeTask> round, const std::vector<std::vector<size_t>>& by_agent,
                probes::OrderTests tests, std::vector<ProbeOutcome>& out);
  Result<std::vector<probes::OrderResult>> Order(Agent& agent, const std::vector<probes::OrderItem>& items,
                                                 const probes::OrderSettings& settings);
  probes::OrderItem ItemFor(const ProbeTask& task) const;

  const Fabric& fabric_;
  const AgentsFile& file_;
  AgentLinkFactory links_;
  RemoteOptions options_;
  std::vector<Agent> agents_;
  std::vector<uint32_t> agent_of_entry_;  // by AgentsFile entry
};

}  // namespace fabricctl::sweep
