#pragma once
// Typed results of latency and bandwidth probes, their statistics and their JSON form.
// Latency is one-way, i.e. half the measured round trip, in microseconds, as perftest,
// qperf (tcp_lat) and sockperf report it. Bandwidth is payload bits per second in Gb/s
// (1 Gb/s = 1e9 bit/s), as iperf3 and perftest (--report_gbits) report it.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fabric/error.h"

namespace fabricctl::probes {

enum class TestKind : std::uint8_t { kLatency = 1, kBandwidth = 2 };
std::string_view TestKindName(TestKind kind);  // "lat", "bw"

struct LatencyStats {
  std::uint32_t message_size = 0;  // payload bytes per message
  std::uint64_t iterations = 0;    // round trips measured (warm-up excluded)
  double min_us = 0;
  double p50_us = 0;
  double avg_us = 0;
  double p99_us = 0;
  double p999_us = 0;
  double max_us = 0;
  double stdev_us = 0;  // population standard deviation
};

struct BandwidthStats {
  std::uint32_t message_size = 0;  // bytes per send (write size)
  std::uint64_t messages = 0;      // messages received by the receiver
  std::uint64_t bytes = 0;         // payload bytes received by the receiver
  double seconds = 0;              // receiver's time from first to last byte
  double gbps = 0;                 // bytes * 8 / seconds / 1e9
  double msg_rate_mps = 0;         // messages per second, in millions
};

// Statistics over one-way latency samples in microseconds (sorts a copy). Percentiles use
// the nearest-rank method, so p99.9 of fewer than 1000 samples is the maximum.
LatencyStats ComputeLatencyStats(std::uint32_t message_size, std::span<const double> one_way_us);

// Receiver-side bandwidth from bytes and elapsed seconds; seconds <= 0 gives gbps 0.
BandwidthStats ComputeBandwidthStats(std::uint32_t message_size, std::uint64_t messages, std::uint64_t bytes,
                                     double seconds);

// Everything one `probe run` measured against one peer.
struct ProbeReport {
  std::string peer;                       // as given on the command line, "host:port"
  std::string transport;                  // "tcp", "verbs"
  std::vector<LatencyStats> latency;      // one per message size, in the order run
  std::vector<BandwidthStats> bandwidth;  // one per message size, in the order run
};

// Stable JSON (documented in docs/probes.md, "schema": "fabricctl.probe.v1").
nlohmann::json ToJson(const LatencyStats& s);
nlohmann::json ToJson(const BandwidthStats& s);
nlohmann::json ToJson(const ProbeReport& r);

}  // namespace fabricctl::probes
