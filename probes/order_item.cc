#include "probes/order_item.h"

#include "probes/probe_client.h"

namespace fabricctl::probes {

Result<OrderResult> RunOrderItem(const OrderItem& item, const OrderSettings& settings, const Bytes& token,
                                 ClientTransport& transport) {
  ProbeOptions latency{.peer = item.target,
                       .tests = {TestKind::kLatency},
                       .sizes = {kOrderLatencyMessageSize},
                       .iterations = settings.latency_iterations,
                       .timeout = settings.timeout,
                       .token = token,
                       .source = item.source,
                       .device = item.device};
  auto lat = RunProbe(latency, transport);
  if (!lat) return std::unexpected(lat.error());
  if (lat->latency.empty()) return MakeError("latency test gave no result");
  ProbeOptions bandwidth = latency;
  bandwidth.tests = {TestKind::kBandwidth};
  bandwidth.sizes = {settings.message_size};
  bandwidth.iterations = 0;
  bandwidth.duration = settings.bandwidth_duration;
  auto bw = RunProbe(bandwidth, transport);
  if (!bw) return std::unexpected(bw.error());
  if (bw->bandwidth.empty()) return MakeError("bandwidth test gave no result");
  return OrderResult{.ok = true, .latency_us = lat->latency.front().p50_us, .gbps = bw->bandwidth.front().gbps};
}

}  // namespace fabricctl::probes
