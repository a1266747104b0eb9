#include "probes/order_item.h"

#include "probes/probe_client.h"

namespace fabricctl::probes {

namespace {

ProbeOptions LatencyOptions(const OrderItem& item, const OrderSettings& settings, const Bytes& token) {
  return {.peer = item.target,
          .tests = {TestKind::kLatency},
          .sizes = {kOrderLatencyMessageSize},
          .iterations = settings.latency_iterations,
          .timeout = settings.timeout,
          .token = token,
          .source = item.source,
          .device = item.device};
}

Result<double> RunOrderLatency(const OrderItem& item, const OrderSettings& settings, const Bytes& token,
                               ClientTransport& transport) {
  auto lat = RunProbe(LatencyOptions(item, settings, token), transport);
  if (!lat) return std::unexpected(lat.error());
  if (lat->latency.empty()) return MakeError("latency test gave no result");
  return lat->latency.front().p50_us;
}

Result<double> RunOrderBandwidth(const OrderItem& item, const OrderSettings& settings, const Bytes& token,
                                 ClientTransport& transport) {
  ProbeOptions bandwidth = LatencyOptions(item, settings, token);
  bandwidth.tests = {TestKind::kBandwidth};
  bandwidth.sizes = {settings.message_size};
  bandwidth.iterations = 0;
  bandwidth.duration = settings.bandwidth_duration;
  auto bw = RunProbe(bandwidth, transport);
  if (!bw) return std::unexpected(bw.error());
  if (bw->bandwidth.empty()) return MakeError("bandwidth test gave no result");
  return bw->bandwidth.front().gbps;
}

}  // namespace

Result<OrderResult> RunOrderItem(const OrderItem& item, const OrderSettings& settings, const Bytes& token,
                                 ClientTransport& transport) {
  OrderResult result{.ok = true};
  const auto tests = static_cast<std::uint8_t>(settings.tests);
  if (tests & static_cast<std::uint8_t>(OrderTests::kLatency)) {
    auto latency = RunOrderLatency(item, settings, token, transport);
    if (!latency) return std::unexpected(latency.error());
    result.latency_us = *latency;
  }
  if (tests & static_cast<std::uint8_t>(OrderTests::kBandwidth)) {
    auto gbps = RunOrderBandwidth(item, settings, token, transport);
    if (!gbps) return std::unexpected(gbps.error());
    result.gbps = *gbps;
  }
  return result;
}

}  // namespace fabricctl::probes
