#include "probes/sweep/sim_fabric.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace fabricctl::sweep {

std::vector<Measurement> SimulateSweep(const Fabric& fabric, const SweepPlan& plan, const FaultSet& faults,
                                       const SimOptions& options) {
  std::vector<Measurement> out(plan.probes.size());
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  auto noisy = [&](double v) { return std::max(0.0, v * (1.0 + options.noise * gauss(rng))); };
  for (size_t i = 0; i < plan.probes.size(); ++i) {
    const PlannedProbe& p = plan.probes[i];
    Measurement& m = out[i];
    double gbps = 1e18, latency = 2 * options.endpoint_latency_us, pass = 1.0;
    bool down = false;
    for (PortId c : plan.path(p)) {
      const Port& port = fabric.port(c);
      LinkId l = port.link;
      gbps = std::min(gbps, LinkDataGbps(port.width_active, port.speed_active) * faults.link_bw_factor[l]);
      latency += options.cable_latency_us + faults.link_latency_us[l];
      if (fabric.is_switch(port.node)) latency += options.switch_latency_us;
      pass *= 1.0 - faults.link_loss[l];
      down |= faults.link_down[l] != 0;
    }
    for (PortId e : {p.src, p.dst}) {
      NodeId n = fabric.port(e).node;
      gbps = std::min(gbps, gbps * faults.node_bw_factor[n]);
      latency += faults.node_latency_us[n];
    }
    if (down) {
      m.status = ProbeStatus::kFailed;
      continue;
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

}  // namespace fabricctl::sweep
