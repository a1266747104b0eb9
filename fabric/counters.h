#pragma once
// Port counters through the Performance Management agent (PortCounters, and
// PortCountersExtended where ClassPortInfo says so), checked against thresholds named as
// ibqueryerrors names them.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "fabric/mad/rpc.h"
#include "fabric/mad/transport.h"

namespace fabricctl {

// Error counters first (the ones thresholds apply to), then traffic counters.
enum class Counter : uint8_t {
  kSymbolErrorCounter,
  kLinkErrorRecoveryCounter,
  kLinkDownedCounter,
  kPortRcvErrors,
  kPortRcvRemotePhysicalErrors,
  kPortRcvSwitchRelayErrors,
  kPortXmitDiscards,
  kPortXmitConstraintErrors,
  kPortRcvConstraintErrors,
  kLocalLinkIntegrityErrors,
  kExcessiveBufferOverrunErrors,
  kVL15Dropped,
  kPortXmitWait,
  kPortXmitData,  // 32-bit in PortCounters, 64-bit in PortCountersExtended; in 4-byte words
  kPortRcvData,
  kPortXmitPkts,
  kPortRcvPkts,
};
inline constexpr size_t kNumCounters = 17;
inline constexpr size_t kNumErrorCounters = 13;  // up to and including kPortXmitWait

std::string_view CounterName(Counter c);  // "SymbolErrorCounter", as ibqueryerrors prints it
std::optional<Counter> ParseCounterName(std::string_view name);

// A counter is over its threshold when value > threshold (ibqueryerrors: default 0).
struct Thresholds {
  std::array<uint64_t, kNumErrorCounters> limit{};
  // A port that spent more than this share of an interval with data to send and sending
  // none (PortXmitWait ticks times the tick's length) is congested. 1 turns it off.
  double xmit_wait_share = 0.05;
  // Symbol times per PortXmitWait tick (PortSamplesControl.Tick + 1). Not read from the
  // device: 1 unless the file says otherwise (NVIDIA Quantum switches count 8).
  uint32_t xmit_wait_tick_symbols = 1;
};
// The ibqueryerrors threshold file: "Name=value" lines, '#' comments, plus fabricctl's
// PortXmitWaitShare (0 to 1) and PortXmitWaitTickSymbols (1 to 256). Strict: unknown
// names and malformed values are errors with file:line.
Result<Thresholds> ParseThresholds(std::string_view text, std::string_view filename);

struct PortCounterReading {
  PortId port = kNone;
  uint32_t lid = 0;
  bool extended = false;  // traffic counters came from PortCountersExtended
  std::array<uint64_t, kNumCounters> value{};
  std::vector<Counter> over;  // error counters above their threshold
};

struct CounterProblem {
  PortId port = kNone;
  std::string message;
};

// Whether each PMA (by LID) answers PortCountersExtended, as its ClassPortInfo said.
using PmaCapabilities = std::unordered_map<uint32_t, bool>;

struct CounterReport {
  std::vector<PortCounterReading> ports;  // in PortId order
  std::vector<CounterProblem> problems;
  PmaCapabilities capabilities;  // of the PMAs that answered ClassPortInfo
  mad::RpcStats stats;
};

enum class ResetMode : uint8_t { kKeep, kResetAfterRead };

struct CounterOptions {
  mad::RpcOptions rpc;
  Thresholds thresholds;
  ResetMode reset = ResetMode::kKeep;
  // From an earlier reading of the same fabric: PMAs listed here are not asked for their
  // ClassPortInfo again (a second reading then costs one or two MADs a port).
  const PmaCapabilities* known = nullptr;
};

// Reads every connected physical port of `fabric` (as discovered: ports need LIDs).
Result<CounterReport> ReadCounters(mad::Transport& transport, const Fabric& fabric, const CounterOptions& options);

}  // namespace fabricctl
