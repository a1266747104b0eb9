#include "probes/sweep/sim_fabric.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace fabricctl::sweep {
namespace {

// A well-mixed seed per probe (splitmix64), so neighbouring probes draw unrelated noise.
uint64_t ProbeSeed(uint64_t seed, uint64_t probe) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (probe + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

Measurement SimulateProbe(const Fabric& fabric, std::span<const PortId> path, PortId src, PortId dst,
                          const FaultSet& faults, const SimOptions& options, uint64_t probe) {
  Measurement m;
  std::mt19937_64 rng(ProbeSeed(options.seed, probe));
  std::normal_distribution<double> gauss(0.0, 1.0);
  auto noisy = [&](double v) { return std::max(0.0, v * (1.0 + options.noise * gauss(rng))); };
  double gbps = 1e18, latency = 2 * options.endpoint_latency_us, pass = 1.0;
  bool down = false;
  for (PortId c : path) {
    const Port& port = fabric.port(c);
    LinkId l = port.link;
    gbps = std::min(gbps, LinkDataGbps(port.width_active, port.speed_active) * faults.link_bw_factor[l]);
    latency += options.cable_latency_us + faults.link_latency_us[l];
    if (fabric.is_switch(port.node)) latency += options.switch_latency_us;
    pass *= 1.0 - faults.link_loss[l];
    down |= faults.link_down[l] != 0;
  }
  for (PortId e : {src, dst}) {
    NodeId n = fabric.port(e).node;
    gbps = std::min(gbps, gbps * faults.node_bw_factor[n]);
    latency += faults.node_latency_us[n];
  }
  if (down) {
    m.status = ProbeStatus::kFailed;
    return m;
  }
  double loss = 1.0 - pass;
  // Retransmissions eat goodput roughly in proportion to the loss.
  gbps *= options.goodput * std::max(0.05, 1.0 - 10.0 * loss);
  m.status = ProbeStatus::kMeasured;
  m.gbps = noisy(gbps);
  m.latency_us = noisy(latency);
  if (loss > 0) {
    std::binomial_distribution<uint32_t> lost(options.loss_messages, loss);
    m.loss = static_cast<double>(lost(rng)) / options.loss_messages;
  }
  return m;
}

std::vector<Measurement> SimulateSweep(const Fabric& fabric, const SweepPlan& plan, const FaultSet& faults,
                                       const SimOptions& options) {
  std::vector<Measurement> out(plan.probes.size());
  for (size_t i = 0; i < plan.probes.size(); ++i) {
    const PlannedProbe& p = plan.probes[i];
    out[i] = SimulateProbe(fabric, plan.path(p), p.src, p.dst, faults, options, i);
  }
  return out;
}

std::vector<uint64_t> SimulatedErrorCounters(const Fabric& fabric, const FaultSet& faults) {
  std::vector<uint64_t> errors(fabric.num_port_slots(), 0);
  for (LinkId l = 0; l < fabric.num_links(); ++l) {
    if (faults.link_loss[l] <= 0) continue;
    auto count = static_cast<uint64_t>(std::ceil(faults.link_loss[l] * 1e6));
    errors[fabric.link(l).a] += count;
    errors[fabric.link(l).b] += count;
  }
  return errors;
}

std::vector<ProbeOutcome> SimExecutor::RunRound(std::span<const ProbeTask> tasks) {
  std::vector<ProbeOutcome> out(tasks.size());
  for (size_t k = 0; k < tasks.size(); ++k)
    out[k].measurement =
        SimulateProbe(fabric_, tasks[k].path, tasks[k].src, tasks[k].dst, faults_, options_, tasks[k].probe);
  return out;
}

Result<std::vector<uint64_t>> SimCounterSource::Read() {
  if (!read_before_) {
    read_before_ = true;
    return std::vector<uint64_t>(fabric_.num_port_slots(), 0);
  }
  return SimulatedErrorCounters(fabric_, faults_);
}

}  // namespace fabricctl::sweep
