#pragma once
// What one probe of a sweep measured: the shared currency of the simulated fabric, the
// real agents and the analysis.
#include <cstdint>
#include <string_view>

namespace fabricctl::sweep {

enum class ProbeStatus : uint8_t {
  kMeasured,    // numbers below are valid
  kFailed,      // the path carried nothing (link down, unreachable, peer reset mid-test)
  kUnmeasured,  // the probe did not run (agent missing or not answering): never "healthy"
};

inline std::string_view ToString(ProbeStatus s) {
  switch (s) {
    case ProbeStatus::kMeasured:
      return "measured";
    case ProbeStatus::kFailed:
      return "failed";
    case ProbeStatus::kUnmeasured:
      return "unmeasured";
  }
  return "unknown";
}

struct Measurement {
  ProbeStatus status = ProbeStatus::kUnmeasured;
  double gbps = 0;        // bandwidth, uncontended
  double latency_us = 0;  // median one-way latency
  double loss = 0;        // fraction of messages lost
};

}  // namespace fabricctl::sweep
