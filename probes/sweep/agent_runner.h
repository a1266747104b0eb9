#pragma once
// Runs sweep probes against real probe agents (`fabricctl probe serve`): each probe is a
// latency and a bandwidth test from its source endpoint to the agent of its destination.
// Probes of one round run side by side (the plan made them share no channel), with bounded
// concurrency; every wait has a timeout; a probe whose agent does not answer is
// `unmeasured`, never healthy.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "probes/sweep/measurement.h"
#include "probes/sweep/probe_executor.h"
#include "probes/sweep/sweep_plan.h"
#include "probes/transport.h"

namespace fabricctl::sweep {

// One line of the agents file: `DESC ADDR[:PORT] [netns=NAME]`. With netns, probes from
// this endpoint are sent from inside that network namespace (test fabrics built from
// namespaces on one machine); without it they are sent from the host running the sweep,
// which must then be that endpoint.
struct AgentEntry {
  NodeId node = kNone;
  std::string address;
  std::string netns;
};

struct AgentMap {
  std::vector<AgentEntry> by_node;  // indexed by NodeId; address empty when none
};

Result<AgentMap> ParseAgentsFile(const Fabric& fabric, std::string_view text, std::string_view filename);

struct RunnerOptions {
  probes::Bytes token;
  unsigned parallel = 8;               // probes at once within a round
  std::uint32_t message_size = 65536;  // bandwidth message size
  std::uint64_t latency_iterations = 1000;
  std::chrono::milliseconds bandwidth_duration{500};
  std::chrono::milliseconds timeout{5000};  // bound on every wait of one probe
};

// Runs each probe from this host (or from inside the source's network namespace) to the
// agent of its destination, a latency test then a bandwidth test, with bounded concurrency.
class DirectAgentExecutor final : public ProbeExecutor {
 public:
  DirectAgentExecutor(const Fabric& fabric, const AgentMap& agents, probes::ClientTransport& transport,
                      RunnerOptions options)
      : fabric_(fabric), agents_(agents), transport_(transport), options_(std::move(options)) {}
  std::vector<ProbeOutcome> RunRound(std::span<const ProbeTask> tasks) override;

 private:
  ProbeOutcome RunOne(const ProbeTask& task);
  const Fabric& fabric_;
  const AgentMap& agents_;
  probes::ClientTransport& transport_;
  RunnerOptions options_;
};

}  // namespace fabricctl::sweep
