#include "probes/check/report_prometheus.h"

#include <fmt/format.h>

#include <map>
#include <unordered_map>

#include "fabric/expected_rate.h"
#include "probes/check/check_counters.h"
#include "probes/check/places.h"
#include "probes/check/report_json.h"
#include "probes/sweep/prometheus.h"

namespace fabricctl::check {
namespace {

using sweep::EscapeLabelValue;

void Header(std::string& out, std::string_view name, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name, help, name);
}

// link, node, guid, port labels of one port of a link.
std::string PortLabels(const Fabric& f, const Places& places, PortId p) {
  const Port& port = f.port(p);
  std::string link = port.link != kNone ? places.Link(port.link) : "";
  return fmt::format("link=\"{}\",node=\"{}\",guid=\"{}\",port=\"{}\"", EscapeLabelValue(link),
                     EscapeLabelValue(f.description(port.node)), GuidText(f.node(port.node).guid), port.number);
}

void RateMetrics(const Fabric& f, const Fabric* plan, const Places& places, std::string& out) {
  std::vector<ExpectedRate> expected = ExpectedRates(f, plan);
  std::string active, want;
  for (LinkId l = 0; l < f.num_links(); ++l) {
    WidthSpeed r = LinkActiveRate(f, l);
    for (PortId p : {f.link(l).a, f.link(l).b}) {
      std::string labels = PortLabels(f, places, p);
      active += fmt::format("fabricctl_check_port_rate_gbps{{{}}} {:g}\n", labels, LinkDataGbps(r.width, r.speed));
      if (expected[l].basis == RateBasis::kUnset) continue;
      want += fmt::format("fabricctl_check_port_expected_rate_gbps{{{},basis=\"{}\"}} {:g}\n", labels,
                          ToString(expected[l].basis), LinkDataGbps(expected[l].rate.width, expected[l].rate.speed));
    }
  }
  Header(out, "fabricctl_check_port_rate_gbps", "Data rate the port's link runs at (0: not up or unknown).");
  out += active;
  Header(out, "fabricctl_check_port_expected_rate_gbps",
         "Data rate the port's link should run at, and where that expectation comes from.");
  out += want;
}

void CounterMetrics(const Fabric& f, const Places& places, const CounterInterval& c, uint32_t tick_symbols,
                    std::string& out) {
  std::unordered_map<PortId, const PortCounterReading*> before;
  for (const PortCounterReading& r : c.before.ports) before.emplace(r.port, &r);
  std::string values, rates, shares;
  for (const PortCounterReading& r : c.after.ports) {
    std::string labels = PortLabels(f, places, r.port);
    auto b = before.find(r.port);
    if (b != before.end())
      if (auto share = PortXmitWaitShare(f, b->second, r, tick_symbols, c.interval_seconds))
        shares += fmt::format("fabricctl_check_port_xmit_wait_share{{{}}} {:g}\n", labels, *share);
    for (size_t i = 0; i < kNumCounters; ++i) {
      std::string_view name = CounterName(static_cast<Counter>(i));
      values += fmt::format("fabricctl_check_port_pma_value{{{},counter=\"{}\"}} {}\n", labels, name, r.value[i]);
      if (b == before.end() || c.interval_seconds <= 0 || r.value[i] < b->second->value[i]) continue;
      rates += fmt::format("fabricctl_check_port_pma_rate{{{},counter=\"{}\"}} {:g}\n", labels, name,
                           double(r.value[i] - b->second->value[i]) / c.interval_seconds);
    }
  }
  Header(out, "fabricctl_check_port_pma_value", "Port counter as last read (PMA PortCounters, ibqueryerrors' names).");
  out += values;
  if (!rates.empty()) {
    Header(out, "fabricctl_check_port_pma_rate", "Increase per second of a port counter over the check's interval.");
    out += rates;
  }
  if (!shares.empty()) {
    Header(out, "fabricctl_check_port_xmit_wait_share",
           "Share of the check's interval the port had data to send and sent none (PortXmitWait).");
    out += shares;
  }
}

}  // namespace

std::string PrometheusCheckMetrics(const Snapshot& s, const CheckReport& report, const CheckOptions& options,
                                   long timestamp) {
  std::string out;
  Header(out, "fabricctl_check_last_run_timestamp_seconds", "Unix time the last check finished.");
  out += fmt::format("fabricctl_check_last_run_timestamp_seconds {}\n", timestamp);
  Header(out, "fabricctl_check_healthy", "1 when the last check found no error or warning.");
  out += fmt::format("fabricctl_check_healthy {}\n", Healthy(report) ? 1 : 0);
  std::map<std::pair<std::string, std::string_view>, size_t> counts;
  for (const Finding& f : report.findings) ++counts[{f.kind, ToString(f.severity)}];
  Header(out, "fabricctl_check_findings", "Findings of the last check by kind and severity.");
  for (const auto& [key, n] : counts)
    out += fmt::format("fabricctl_check_findings{{kind=\"{}\",severity=\"{}\"}} {}\n", EscapeLabelValue(key.first),
                       key.second, n);
  if (!s.fabric) return out;
  Places places(*s.fabric);
  RateMetrics(*s.fabric, s.plan, places, out);
  if (s.counters) CounterMetrics(*s.fabric, places, *s.counters, options.thresholds.xmit_wait_tick_symbols, out);
  return out;
}

}  // namespace fabricctl::check
