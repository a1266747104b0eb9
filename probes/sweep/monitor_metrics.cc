#include "probes/sweep/monitor_metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <string_view>

#include "probes/sweep/prometheus.h"

namespace fabricctl::sweep {
namespace {

std::string TierPair(int32_t a, int32_t b) {
  if (a > b) std::swap(a, b);
  if (a < 0) return "unknown";
  return fmt::format("{}-{}", a, b);
}

// Metric families in the text exposition format: HELP and TYPE once, then the samples.
class Exposition {
 public:
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(text_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void Sample(std::string_view name, std::string_view labels, double value) {
    if (labels.empty())
      fmt::format_to(std::back_inserter(text_), "{} {}\n", name, value);
    else
      fmt::format_to(std::back_inserter(text_), "{}{{{}}} {}\n", name, labels, value);
  }
  void Single(std::string_view name, std::string_view type, std::string_view help, double value) {
    Family(name, type, help);
    Sample(name, "", value);
  }
  std::string Take() { return std::move(text_); }

 private:
  std::string text_;
};

void LinkFamilies(Exposition& out, const std::vector<MonitoredLink>& links, const MonitorSnapshot& s) {
  auto state = [&](const MonitoredLink& m) { return m.link < s.links.size() ? s.links[m.link] : LinkState{}; };
  out.Family("fabricctl_link_measured", "gauge", "1 when probes across the link gave verdicts within the window.");
  for (const MonitoredLink& m : links) out.Sample("fabricctl_link_measured", m.labels, state(m).verdicts > 0 ? 1 : 0);
  out.Family("fabricctl_link_health", "gauge",
             "Share of probe verdicts across the link within the window that passed (0..1); measured links only.");
  for (const MonitoredLink& m : links)
    if (state(m).health >= 0) out.Sample("fabricctl_link_health", m.labels, state(m).health);
  out.Family("fabricctl_link_bandwidth_ratio", "gauge",
             "Best measured/baseline bandwidth of the latest probes across the link, capped at 1.");
  const std::vector<float>& ratio = s.analysis.link_bw_ratio;
  for (const MonitoredLink& m : links)
    if (m.link < ratio.size() && ratio[m.link] >= 0)
      out.Sample("fabricctl_link_bandwidth_ratio", m.labels, ratio[m.link]);
  out.Family("fabricctl_link_last_probe_timestamp_seconds", "gauge",
             "Unix time of the last probe across the link that ran.");
  for (const MonitoredLink& m : links)
    if (state(m).last_probe_time > 0)
      out.Sample("fabricctl_link_last_probe_timestamp_seconds", m.labels, state(m).last_probe_time);
}

void FindingFamilies(Exposition& out, const Fabric& fabric, const std::vector<MonitoredLink>& links,
                     const MonitorSnapshot& s) {
  std::vector<const MonitoredLink*> by_link(fabric.num_links(), nullptr);
  for (const MonitoredLink& m : links) by_link[m.link] = &m;
  out.Family("fabricctl_link_finding", "gauge",
             "1 while the latest analysis names the link a culprit; kind is its most specific symptom.");
  for (const Finding& f : s.analysis.findings)
    if (f.link != kNone && by_link[f.link])
      out.Sample("fabricctl_link_finding", fmt::format("{},kind=\"{}\"", by_link[f.link]->labels, ToString(f.kind)), 1);
  out.Family("fabricctl_endpoint_finding", "gauge",
             "1 while the latest analysis finds every port of the endpoint degraded; kind is the symptom.");
  for (const Finding& f : s.analysis.findings)
    if (f.link == kNone && f.endpoint != kNone)
      out.Sample("fabricctl_endpoint_finding",
                 fmt::format("endpoint=\"{}\",kind=\"{}\"", EscapeLabelValue(fabric.description(f.endpoint)),
                             ToString(f.symptom)),
                 1);
}

void MonitorFamilies(Exposition& out, const std::vector<MonitoredLink>& links, const MonitorSnapshot& s,
                     const MonitorOptions& o) {
  size_t unmeasured_links = 0;
  for (const MonitoredLink& m : links) unmeasured_links += m.link >= s.links.size() || s.links[m.link].verdicts == 0;
  const SweepAnalysis& a = s.analysis;
  out.Single("fabricctl_monitor_passes_total", "counter", "Passes of the plan completed.", double(s.passes));
  out.Single("fabricctl_monitor_rounds_total", "counter", "Rounds run.", double(s.rounds));
  out.Single("fabricctl_monitor_probes_total", "counter", "Probes run.", double(s.probes_run));
  out.Single("fabricctl_monitor_probes_unmeasured", "gauge", "Probes whose latest run could not measure.",
             double(a.unmeasured));
  out.Single("fabricctl_monitor_links_unmeasured", "gauge", "Routed links with no probe verdict within the window.",
             double(unmeasured_links));
  out.Single("fabricctl_monitor_channels_uncovered", "gauge", "Channels no probe of the plan crosses.",
             double(a.uncovered_channels));
  out.Single("fabricctl_monitor_findings", "gauge", "Findings of the latest analysis.", double(a.findings.size()));
  out.Single("fabricctl_monitor_round_duration_seconds", "gauge", "Wall time of the last round.", s.round_seconds);
  out.Single("fabricctl_monitor_pass_duration_seconds", "gauge", "Wall time of the last completed pass.",
             s.pass_seconds);
  out.Single("fabricctl_monitor_analysis_duration_seconds", "gauge", "Wall time of the last analysis.",
             s.analyse_seconds);
  out.Single("fabricctl_monitor_load_ratio", "gauge",
             "Share of the busiest channel's capacity taken by probes over the last pass.", s.load);
  out.Single("fabricctl_monitor_max_load_ratio", "gauge", "Configured limit of fabricctl_monitor_load_ratio.",
             o.max_load);
  out.Single("fabricctl_monitor_period_seconds", "gauge", "Every channel is probed at least once per period.",
             o.period_seconds);
  out.Single("fabricctl_monitor_window_periods", "gauge", "Periods of verdicts a link's health counts.",
             double(o.window));
  out.Single("fabricctl_monitor_last_update_timestamp_seconds", "gauge", "Unix time of this snapshot.", s.time);
}

}  // namespace

std::vector<int32_t> NodeTiers(const Fabric& fabric) {
  std::vector<int32_t> hops(fabric.num_nodes(), -1);
  std::deque<NodeId> queue;
  for (NodeId n = 0; n < fabric.num_nodes(); ++n)
    if (!fabric.is_switch(n)) {
      hops[n] = 0;
      queue.push_back(n);
    }
  for (; !queue.empty(); queue.pop_front())
    for (const Adjacency& adj : fabric.neighbors(queue.front()))
      if (hops[adj.peer_node] < 0) {
        hops[adj.peer_node] = hops[queue.front()] + 1;
        queue.push_back(adj.peer_node);
      }
  for (NodeId n = 0; n < fabric.num_nodes(); ++n)
    if (fabric.node(n).labels.tier >= 0) hops[n] = fabric.node(n).labels.tier;
  return hops;
}

std::vector<MonitoredLink> MonitoredLinks(const Fabric& fabric, const RouteSet& routes) {
  std::vector<uint8_t> routed(fabric.subnets().size(), 0);
  for (const SubnetRoutes& r : routes.subnets)
    if (r.subnet < routed.size()) routed[r.subnet] = 1;
  std::vector<int32_t> tiers = NodeTiers(fabric);
  std::vector<MonitoredLink> out;
  for (LinkId l = 0; l < fabric.num_links(); ++l) {
    const Link& link = fabric.link(l);
    SubnetId subnet = fabric.subnet_of(link.a) != kNone ? fabric.subnet_of(link.a) : fabric.subnet_of(link.b);
    if (subnet == kNone || subnet >= routed.size() || !routed[subnet]) continue;
    NodeId a = fabric.port(link.a).node, b = fabric.port(link.b).node;
    out.push_back(
        {.link = l,
         .labels = fmt::format("link=\"{}\",subnet=\"{}\",tier=\"{}\"", EscapeLabelValue(fabric.LinkName(l)),
                               EscapeLabelValue(fabric.subnets()[subnet].name), TierPair(tiers[a], tiers[b]))});
  }
  return out;
}

std::string MonitorMetrics(const Fabric& fabric, const std::vector<MonitoredLink>& links,
                           const MonitorSnapshot& snapshot, const MonitorOptions& options) {
  Exposition out;
  LinkFamilies(out, links, snapshot);
  FindingFamilies(out, fabric, links, snapshot);
  MonitorFamilies(out, links, snapshot, options);
  return out.Take();
}

}  // namespace fabricctl::sweep
