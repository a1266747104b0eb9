#pragma once
// The client side of `fabricctl probe run`: connects to an agent, authenticates, sets up
// the transport's data path, and runs each requested test at each message size.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "fabric/error.h"
#include "probes/probe_result.h"
#include "probes/transport.h"

namespace fabricctl::probes {

struct ProbeOptions {
  std::string peer;                  // "host[:port]"; port defaults to kDefaultAgentPort
  std::vector<TestKind> tests;       // in the order to run
  std::vector<std::uint32_t> sizes;  // message sizes, each test runs all of them
  std::uint64_t iterations = 0;      // per test and size; 0 = use duration
  std::chrono::milliseconds duration{0};
  std::chrono::milliseconds timeout{10000};  // bound on every wait
  Bytes token;
  // Where the probe leaves from: a local numeric address the control connection binds to
  // (refused unless it is this host's), and an interface (SO_BINDTODEVICE). The
  // transport's data path follows the control connection (see TcpOptions::bind_source).
  std::string source;  // "" = the kernel's choice
  std::string device;  // "" = none
};

// Called after each finished test, e.g. for progress lines.
using ProgressFn = std::function<void(std::string_view)>;

Result<ProbeReport> RunProbe(const ProbeOptions& options, ClientTransport& transport, const ProgressFn& progress = {});

// Warm-up round trips before latency samples are kept: enough to fault in buffers and
// settle the scheduler, small next to the measured run.
std::uint64_t LatencyWarmup(std::uint64_t iterations);

}  // namespace fabricctl::probes
