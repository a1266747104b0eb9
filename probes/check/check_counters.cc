#include "probes/check/check_counters.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "fabric/expected_rate.h"
#include "fabric/link_rate.h"

namespace fabricctl::check {
namespace {

constexpr std::array<uint8_t, kNumCounters> kBits = {16, 8, 8, 16, 16, 16, 16, 8, 8, 4, 4, 16, 32, 32, 32, 32, 32};

struct PortDelta {
  std::array<uint64_t, kNumCounters> delta{};
  bool reset = false;
  std::vector<Counter> saturated;
};

PortDelta Deltas(const PortCounterReading* before, const PortCounterReading& after) {
  PortDelta d;
  for (size_t i = 0; i < kNumCounters; ++i) {
    auto c = static_cast<Counter>(i);
    if (after.value[i] == CounterMax(c, after.extended)) d.saturated.push_back(c);
    if (before && after.value[i] < before->value[i]) d.reset = true;
    d.delta[i] = CounterDelta(before, after, c);
  }
  return d;
}

bool Judged(Counter c, const Thresholds& t) {
  return c != Counter::kPortXmitWait || t.limit[static_cast<size_t>(c)] != 0;
}

// Symbol errors per bit carried at the link's data rate over the interval.
std::optional<double> BitErrorRate(const Fabric& f, PortId p, uint64_t symbol_errors, double seconds) {
  const Port& port = f.port(p);
  if (port.link == kNone || seconds <= 0) return std::nullopt;
  WidthSpeed r = LinkActiveRate(f, port.link);
  double gbps = LinkDataGbps(r.width, r.speed);
  if (gbps <= 0) return std::nullopt;
  return double(symbol_errors) / (gbps * 1e9 * seconds);
}

// The error counters of one port that rose above their thresholds.
struct OverThreshold {
  nlohmann::json counters = nlohmann::json::object();
  std::vector<std::string> names;  // "SymbolErrorCounter +20", for the summary
  bool link_down = false;
};

OverThreshold CountersOver(const Thresholds& t, double seconds, const PortCounterReading* before,
                           const PortCounterReading& after, const PortDelta& d) {
  OverThreshold out;
  for (size_t i = 0; i < kNumErrorCounters; ++i) {
    auto c = static_cast<Counter>(i);
    if (!Judged(c, t) || d.delta[i] <= t.limit[i]) continue;
    nlohmann::json x = {{"delta", d.delta[i]}, {"threshold", t.limit[i]}, {"value", after.value[i]}};
    if (before) x["before"] = before->value[i];
    if (seconds > 0) x["per_second"] = double(d.delta[i]) / seconds;
    out.counters[std::string(CounterName(c))] = std::move(x);
    out.names.push_back(before ? fmt::format("{} +{}", CounterName(c), d.delta[i])
                               : fmt::format("{} {} (above {})", CounterName(c), d.delta[i], t.limit[i]));
    out.link_down |= c == Counter::kLinkDownedCounter;
  }
  return out;
}

// "; bit error rate about 2.0e-10 (above 1e-12)" when symbol errors rose over an interval.
std::string BitErrorText(const Fabric& f, const CheckOptions& o, double seconds, const PortCounterReading& after,
                         const PortDelta& d, nlohmann::json& evidence) {
  uint64_t symbol_errors = d.delta[size_t(Counter::kSymbolErrorCounter)];
  auto ber = BitErrorRate(f, after.port, symbol_errors, seconds);
  if (!ber || symbol_errors == 0) return "";
  evidence["bit_error_rate"] = *ber;
  return fmt::format("; bit error rate about {:.1e}{}", *ber,
                     *ber > o.max_bit_error_rate ? fmt::format(" (above {:.0e})", o.max_bit_error_rate) : "");
}

void JudgePort(const Fabric& f, const Places& places, const CheckOptions& o, double seconds,
               const PortCounterReading* before, const PortCounterReading& after, CheckReport& report) {
  const Thresholds& t = o.thresholds;
  PortDelta d = Deltas(before, after);
  OverThreshold over = CountersOver(t, seconds, before, after, d);
  auto share = PortXmitWaitShare(f, before, after, t.xmit_wait_tick_symbols, seconds);
  bool congested = share && *share > t.xmit_wait_share;
  if (congested)
    over.names.push_back(fmt::format("congested: PortXmitWait +{}, waiting to send {:.1f}% of the time (above {:g}%)",
                                     d.delta[size_t(Counter::kPortXmitWait)], *share * 100, t.xmit_wait_share * 100));
  if (over.names.empty() && !d.reset) return;
  nlohmann::json evidence = {
      {"port", places.PortJson(after.port)}, {"lid", after.lid}, {"over_threshold", over.counters}};
  if (before) evidence["interval_seconds"] = seconds;
  if (share) evidence["xmit_wait_share"] = *share;
  if (congested) {
    evidence["xmit_wait_share_threshold"] = t.xmit_wait_share;
    evidence["xmit_wait_tick_symbols"] = t.xmit_wait_tick_symbols;
    evidence["xmit_wait_delta"] = d.delta[size_t(Counter::kPortXmitWait)];
  }
  if (d.reset) evidence["reset"] = true;
  nlohmann::json saturated = nlohmann::json::array();
  for (Counter c : d.saturated) saturated.push_back(CounterName(c));
  if (!saturated.empty()) evidence["saturated"] = saturated;
  if (f.port(after.port).link != kNone) evidence["link"] = places.Link(f.port(after.port).link);
  std::string summary = over.names.empty() ? "counters were reset or wrapped between the readings"
                                           : fmt::format("{}", fmt::join(over.names, ", "));
  if (before && seconds > 0) {
    std::string ber = BitErrorText(f, o, seconds, after, d, evidence);
    if (!ber.empty() || !over.names.empty()) summary += fmt::format(" in {:g} s{}", seconds, ber);
  }
  if (!over.names.empty() && d.reset) summary += " (counters reset in between: increases counted from the reset)";
  if (!saturated.empty()) summary += " (saturated: increases are lower bounds)";
  report.findings.push_back(Finding{
      .kind = "counters",
      .severity = over.link_down       ? Severity::kError
                  : over.names.empty() ? Severity::kInfo
                                       : Severity::kWarning,
      .scope = Scope::kPort,
      .where = places.Port(after.port),
      .summary = std::move(summary),
      .evidence = std::move(evidence),
  });
}

}  // namespace

uint64_t CounterMax(Counter c, bool extended) {
  unsigned bits = kBits[static_cast<size_t>(c)];
  if (extended && c >= Counter::kPortXmitData) bits = 64;
  return bits == 64 ? UINT64_MAX : (uint64_t{1} << bits) - 1;
}

uint64_t CounterDelta(const PortCounterReading* before, const PortCounterReading& after, Counter c) {
  uint64_t now = after.value[static_cast<size_t>(c)];
  if (!before || now < before->value[static_cast<size_t>(c)]) return now;  // at least `now` since the reset
  return now - before->value[static_cast<size_t>(c)];
}

std::optional<double> XmitWaitShare(uint64_t ticks, LinkSpeed speed, uint32_t tick_symbols, double seconds) {
  double lane_gbps = LaneDataGbps(speed);
  if (lane_gbps <= 0 || seconds <= 0) return std::nullopt;
  double symbol_seconds = 8 / (lane_gbps * 1e9);  // one byte on one lane
  return std::clamp(double(ticks) * tick_symbols * symbol_seconds / seconds, 0.0, 1.0);
}

std::optional<double> PortXmitWaitShare(const Fabric& f, const PortCounterReading* before,
                                        const PortCounterReading& after, uint32_t tick_symbols, double seconds) {
  const Port& port = f.port(after.port);
  if (!before || port.link == kNone) return std::nullopt;
  const size_t wait = size_t(Counter::kPortXmitWait);
  if (before->value[wait] == CounterMax(Counter::kPortXmitWait, before->extended)) return std::nullopt;
  return XmitWaitShare(CounterDelta(before, after, Counter::kPortXmitWait), LinkActiveRate(f, port.link).speed,
                       tick_symbols, seconds);
}

void CheckCounters(const Snapshot& s, const CheckOptions& o, const Places& places, CheckReport& report) {
  if (!s.counters) {
    report.checks_skipped.push_back("counters: no counter readings (give --counters)");
    return;
  }
  report.checks_run.push_back("counters");
  const CounterInterval& c = *s.counters;
  bool interval = !c.before.ports.empty();
  std::unordered_map<PortId, const PortCounterReading*> before;
  for (const PortCounterReading& r : c.before.ports) before.emplace(r.port, &r);
  for (const PortCounterReading& r : c.after.ports) {
    const PortCounterReading* b = nullptr;
    if (interval) {
      auto it = before.find(r.port);
      if (it == before.end()) continue;  // read only once: nothing to compare
      b = it->second;
    }
    JudgePort(*s.fabric, places, o, c.interval_seconds, b, r, report);
  }
  for (const CounterProblem& p : c.after.problems)
    report.findings.push_back(Finding{.kind = "counters",
                                      .severity = Severity::kWarning,
                                      .scope = Scope::kPort,
                                      .where = places.Port(p.port),
                                      .summary = "counters could not be read: " + p.message,
                                      .evidence = {{"port", places.PortJson(p.port)}, {"message", p.message}}});
}

}  // namespace fabricctl::check
