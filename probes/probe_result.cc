#include "probes/probe_result.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace fabricctl::probes {
namespace {

// Nearest rank: the smallest sample with at least p of the samples at or below it.
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  double rank = std::ceil(p * static_cast<double>(sorted.size()));
  size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted[std::min(index, sorted.size() - 1)];
}

// Three decimals are nanosecond resolution for microseconds; more is noise in the JSON.
double Round3(double v) { return std::round(v * 1000.0) / 1000.0; }

}  // namespace

std::string_view TestKindName(TestKind kind) { return kind == TestKind::kLatency ? "lat" : "bw"; }

LatencyStats ComputeLatencyStats(std::uint32_t message_size, std::span<const double> one_way_us) {
  LatencyStats s;
  s.message_size = message_size;
  s.iterations = one_way_us.size();
  if (one_way_us.empty()) return s;
  std::vector<double> sorted(one_way_us.begin(), one_way_us.end());
  std::sort(sorted.begin(), sorted.end());
  double sum = 0;
  for (double v : sorted) sum += v;
  double mean = sum / static_cast<double>(sorted.size());
  double sq = 0;
  for (double v : sorted) sq += (v - mean) * (v - mean);
  s.min_us = sorted.front();
  s.max_us = sorted.back();
  s.avg_us = mean;
  s.p50_us = Percentile(sorted, 0.50);
  s.p99_us = Percentile(sorted, 0.99);
  s.p999_us = Percentile(sorted, 0.999);
  s.stdev_us = std::sqrt(sq / static_cast<double>(sorted.size()));
  return s;
}

BandwidthStats ComputeBandwidthStats(std::uint32_t message_size, std::uint64_t messages, std::uint64_t bytes,
                                     double seconds) {
  BandwidthStats s;
  s.message_size = message_size;
  s.messages = messages;
  s.bytes = bytes;
  s.seconds = seconds;
  if (seconds > 0) {
    s.gbps = static_cast<double>(bytes) * 8.0 / seconds / 1e9;
    s.msg_rate_mps = static_cast<double>(messages) / seconds / 1e6;
  }
  return s;
}

nlohmann::json ToJson(const LatencyStats& s) {
  return {{"message_size", s.message_size}, {"iterations", s.iterations}, {"min_us", Round3(s.min_us)},
          {"p50_us", Round3(s.p50_us)},     {"avg_us", Round3(s.avg_us)}, {"p99_us", Round3(s.p99_us)},
          {"p99_9_us", Round3(s.p999_us)},  {"max_us", Round3(s.max_us)}, {"stdev_us", Round3(s.stdev_us)}};
}

nlohmann::json ToJson(const BandwidthStats& s) {
  return {{"message_size", s.message_size},
          {"messages", s.messages},
          {"bytes", s.bytes},
          {"seconds", std::round(s.seconds * 1e6) / 1e6},
          {"gbps", Round3(s.gbps)},
          {"msg_rate_mps", Round3(s.msg_rate_mps)}};
}

nlohmann::json ToJson(const ProbeReport& r) {
  nlohmann::json lat = nlohmann::json::array();
  for (const auto& s : r.latency) lat.push_back(ToJson(s));
  nlohmann::json bw = nlohmann::json::array();
  for (const auto& s : r.bandwidth) bw.push_back(ToJson(s));
  return {{"schema", "fabricctl.probe.v1"},
          {"peer", r.peer},
          {"transport", r.transport},
          {"latency", lat},
          {"bandwidth", bw}};
}

}  // namespace fabricctl::probes
