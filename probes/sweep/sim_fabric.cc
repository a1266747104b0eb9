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

// Whether intermittent fault `k` hits probe `probe`: its own draw, apart from the noise
// stream, so adding a fault leaves every other probe's noise as it was.
bool Hits(const Fault& fault, uint32_t k, uint64_t seed, uint64_t probe) {
  uint64_t draw = ProbeSeed(ProbeSeed(seed, k) ^ 0x5bd1e995ULL, probe);
  return static_cast<double>(draw >> 11) * 0x1.0p-53 < fault.probability;
}

// The path's sums and bottleneck before endpoints, goodput and noise.
struct PathState {
  double gbps = 1e18, latency = 0, pass = 1.0;
  bool down = false;
  void Add(FaultKind kind, double value) {
    switch (kind) {
      case FaultKind::kBandwidth:
        break;  // applied against the channel's own rate by the caller
      case FaultKind::kLatency:
        latency += value;
        break;
      case FaultKind::kLoss:
        pass *= 1.0 - value;
        break;
      case FaultKind::kDown:
        down = true;
        break;
    }
  }
};

PathState WalkPath(const Fabric& fabric, std::span<const PortId> path, const FaultSet& faults,
                   const SimOptions& options, uint64_t probe) {
  PathState s;
  for (PortId c : path) {
    const Port& port = fabric.port(c);
    double rate = LinkDataGbps(port.width_active, port.speed_active);
    double factor = faults.channel_bw_factor[c];
    s.latency += options.cable_latency_us + faults.channel_latency_us[c];
    if (fabric.is_switch(port.node)) s.latency += options.switch_latency_us;
    s.pass *= 1.0 - faults.channel_loss[c];
    s.down |= faults.channel_down[c] != 0;
    for (uint32_t k : faults.intermittent_of(c)) {
      const Fault& f = faults.faults[k];
      if (!Hits(f, k, options.seed, probe)) continue;
      if (f.kind == FaultKind::kBandwidth) factor = std::min(factor, f.value);
      s.Add(f.kind, f.value);
    }
    s.gbps = std::min(s.gbps, rate * factor);
  }
  return s;
}

}  // namespace

Measurement SimulateProbe(const Fabric& fabric, std::span<const PortId> path, PortId src, PortId dst,
                          const FaultSet& faults, const SimOptions& options, uint64_t probe) {
  Measurement m;
  std::mt19937_64 rng(ProbeSeed(options.seed, probe));
  std::normal_distribution<double> gauss(0.0, 1.0);
  auto noisy = [&](double v) { return std::max(0.0, v * (1.0 + options.noise * gauss(rng))); };
  PathState s = WalkPath(fabric, path, faults, options, probe);
  s.latency += 2 * options.endpoint_latency_us;
  for (PortId e : {src, dst}) {
    NodeId n = fabric.port(e).node;
    s.gbps = std::min(s.gbps, s.gbps * faults.node_bw_factor[n]);
    s.latency += faults.node_latency_us[n];
  }
  if (s.down) {
    m.status = ProbeStatus::kFailed;
    return m;
  }
  double loss = 1.0 - s.pass;
  // Retransmissions eat goodput roughly in proportion to the loss.
  double gbps = s.gbps * options.goodput * std::max(0.05, 1.0 - 10.0 * loss);
  m.status = ProbeStatus::kMeasured;
  m.gbps = noisy(gbps);
  m.latency_us = noisy(s.latency);
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
    // Steady loss in either direction; both ends count symbol errors.
    double loss = std::max(faults.channel_loss[fabric.link(l).a], faults.channel_loss[fabric.link(l).b]);
    if (loss <= 0) continue;
    auto count = static_cast<uint64_t>(std::ceil(loss * 1e6));
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
