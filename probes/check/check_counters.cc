#include "probes/check/check_counters.h"

#include <fmt/format.h>

#include <unordered_map>

#include "fabric/expected_rate.h"

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
    uint64_t now = after.value[i];
    if (now == CounterMax(c, after.extended)) d.saturated.push_back(c);
    if (!before) {
      d.delta[i] = now;
    } else if (now < before->value[i]) {
      d.reset = true;  // counted from the reset: at least `now` happened
      d.delta[i] = now;
    } else {
      d.delta[i] = now - before->value[i];
    }
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

void JudgePort(const Fabric& f, const Places& places, const CheckOptions& o, double seconds,
               const PortCounterReading* before, const PortCounterReading& after, CheckReport& report) {
  PortDelta d = Deltas(before, after);
  nlohmann::json over = nlohmann::json::object();
  std::vector<std::string> names;
  bool link_down = false;
  for (size_t i = 0; i < kNumErrorCounters; ++i) {
    auto c = static_cast<Counter>(i);
    if (!Judged(c, o.thresholds) || d.delta[i] <= o.thresholds.limit[i]) continue;
    nlohmann::json x = {{"delta", d.delta[i]}, {"threshold", o.thresholds.limit[i]}, {"value", after.value[i]}};
    if (before) x["before"] = before->value[i];
    if (seconds > 0) x["per_second"] = double(d.delta[i]) / seconds;
    over[std::string(CounterName(c))] = std::move(x);
    names.push_back(before ? fmt::format("{} +{}", CounterName(c), d.delta[i])
                           : fmt::format("{} {} (above {})", CounterName(c), d.delta[i], o.thresholds.limit[i]));
    link_down |= c == Counter::kLinkDownedCounter;
  }
  if (names.empty() && !d.reset) return;
  nlohmann::json evidence = {{"port", places.PortJson(after.port)}, {"lid", after.lid}, {"over_threshold", over}};
  if (before) evidence["interval_seconds"] = seconds;
  if (d.reset) evidence["reset"] = true;
  nlohmann::json saturated = nlohmann::json::array();
  for (Counter c : d.saturated) saturated.push_back(CounterName(c));
  if (!saturated.empty()) evidence["saturated"] = saturated;
  if (f.port(after.port).link != kNone) evidence["link"] = places.Link(f.port(after.port).link);
  std::string summary =
      names.empty() ? "counters were reset or wrapped between the readings" : fmt::format("{}", fmt::join(names, ", "));
  if (before && seconds > 0) {
    auto ber = BitErrorRate(f, after.port, d.delta[size_t(Counter::kSymbolErrorCounter)], seconds);
    if (ber && d.delta[size_t(Counter::kSymbolErrorCounter)] > 0) {
      evidence["bit_error_rate"] = *ber;
      summary += fmt::format(" in {:g} s; bit error rate about {:.1e}{}", seconds, *ber,
                             *ber > o.max_bit_error_rate ? fmt::format(" (above {:.0e})", o.max_bit_error_rate) : "");
    } else if (!names.empty()) {
      summary += fmt::format(" in {:g} s", seconds);
    }
  }
  if (!names.empty() && d.reset) summary += " (counters reset in between: increases counted from the reset)";
  if (!saturated.empty()) summary += " (saturated: increases are lower bounds)";
  report.findings.push_back(Finding{
      .kind = "counters",
      .severity = link_down       ? Severity::kError
                  : names.empty() ? Severity::kInfo
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
