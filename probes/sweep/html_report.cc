#include "probes/sweep/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace fabricctl::sweep {
namespace {

std::string Esc(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string GroupOf(const Fabric& f, LinkId l) {
  const Link& link = f.link(l);
  NodeId a = f.port(link.a).node, b = f.port(link.b).node;
  NodeId sw = f.is_switch(a) ? a : b;
  const Labels& lab = f.node(sw).labels;
  if (lab.level == FabricLevel::kScaleUp)
    return lab.super_node >= 0 ? fmt::format("scale-up sn{:02}", lab.super_node) : "scale-up";
  if (lab.level == FabricLevel::kScaleOut)
    return lab.plane >= 0 ? fmt::format("scale-out p{}", lab.plane) : "scale-out";
  SubnetId s = f.subnet_of(link.a);
  return s != kNone ? f.subnets()[s].name : "unrouted";
}

std::string TierOf(const Fabric& f, LinkId l) {
  const Link& link = f.link(l);
  NodeId a = f.port(link.a).node, b = f.port(link.b).node;
  if (!f.is_switch(a) || !f.is_switch(b)) return "endpoint-leaf";
  int ta = f.node(a).labels.tier, tb = f.node(b).labels.tier;
  if (ta < 0 || tb < 0) return "switch-switch";
  return fmt::format("tier {}-{}", std::min(ta, tb), std::max(ta, tb));
}

std::string Histogram(const std::vector<double>& values, std::string_view unit, std::string_view colour) {
  if (values.empty()) return "<p>no measurements</p>";
  double lo = *std::min_element(values.begin(), values.end());
  double hi = *std::max_element(values.begin(), values.end());
  if (hi - lo < 1e-9) hi = lo + 1;
  constexpr int kBins = 40;
  std::vector<size_t> bins(kBins, 0);
  for (double v : values) bins[std::min(kBins - 1, static_cast<int>((v - lo) / (hi - lo) * kBins))]++;
  size_t top = *std::max_element(bins.begin(), bins.end());
  const int w = 640, h = 160, bw = w / kBins;
  std::string svg = fmt::format("<svg width='{}' height='{}' role='img'>", w, h + 30);
  for (int i = 0; i < kBins; ++i) {
    // Log scale: a handful of degraded probes must stay visible next to thousands of good ones.
    double frac = bins[i] ? std::log1p(double(bins[i])) / std::log1p(double(top)) : 0;
    int bh = static_cast<int>(frac * h);
    svg += fmt::format(
        "<rect x='{}' y='{}' width='{}' height='{}' fill='{}'><title>{:.3g}-{:.3g} {}: {}</title></rect>", i * bw,
        h - bh, bw - 1, bh, colour, lo + (hi - lo) * i / kBins, lo + (hi - lo) * (i + 1) / kBins, unit, bins[i]);
  }
  svg += fmt::format("<text x='0' y='{}' font-size='12'>{:.3g} {}</text>", h + 20, lo, unit);
  svg += fmt::format("<text x='{}' y='{}' font-size='12' text-anchor='end'>{:.3g} {}</text>", w, h + 20, hi, unit);
  svg += "</svg>";
  return svg;
}

std::string FindingsSection(const Fabric& f, const SweepAnalysis& a) {
  std::string html = "<h2>Findings</h2>";
  if (a.findings.empty()) return html + "<p class='ok'>No degraded link or endpoint found.</p>";
  html +=
      "<table><tr><th>link or endpoint</th><th>kind</th><th>score</th><th>failing / probes</th><th>worst ratio</th>"
      "<th>port errors</th></tr>";
  for (const Finding& x : a.findings)
    html += fmt::format("<tr><td>{}</td><td>{}</td><td>{:.2f}</td><td>{} / {}</td><td>{:.2f}</td><td>{}</td></tr>",
                        Esc(x.link != kNone ? f.LinkName(x.link) : "endpoint " + f.description(x.endpoint)),
                        ToString(x.kind), x.score, x.failing_probes, x.probes, x.worst_ratio, x.port_errors);
  return html + "</table>";
}

std::string InjectedSection(const Fabric& f, const std::vector<Fault>& injected) {
  if (injected.empty()) return {};
  std::string html =
      "<h2>Injected faults (simulated fabric)</h2><table><tr><th>link or "
      "endpoint</th><th>kind</th><th>value</th></tr>";
  for (const Fault& x : injected)
    html += fmt::format("<tr><td>{}</td><td>{}</td><td>{:.3g}</td></tr>",
                        Esc(x.link != kNone ? f.LinkName(x.link) : "endpoint " + f.description(x.endpoint)),
                        ToString(x.kind), x.value);
  return html + "</table>";
}

// One cell of the heat map: the links of one (group, tier) by what the sweep made of them.
struct HeatCell {
  size_t links = 0, found = 0, suspicious = 0, unmeasured = 0;
};
// grid[group][tier].
using HeatGrid = std::map<std::string, std::map<std::string, HeatCell>>;

HeatGrid LinkHeat(const Fabric& f, const SweepAnalysis& a, std::map<std::string, int>& tiers) {
  std::vector<uint8_t> is_finding(f.num_links(), 0);
  for (const Finding& x : a.findings)
    if (x.link != kNone) is_finding[x.link] = 1;
  HeatGrid grid;
  for (LinkId l = 0; l < f.num_links(); ++l) {
    if (f.subnet_of(f.link(l).a) == kNone) continue;
    HeatCell& c = grid[GroupOf(f, l)][TierOf(f, l)];
    tiers[TierOf(f, l)] = 1;
    ++c.links;
    float h = l < a.link_health.size() ? a.link_health[l] : -1;
    if (h < 0)
      ++c.unmeasured;
    else if (is_finding[l])
      ++c.found;
    else if (h < 1)
      ++c.suspicious;
  }
  return grid;
}

// Heat map per (group, tier): red where a link is a finding, amber where probes failed
// but every link was cleared by others (noise, or a fault elsewhere on the path), green
// where every probe passed, grey where nothing was measured.
std::string HeatMapSection(const Fabric& f, const SweepAnalysis& a) {
  std::map<std::string, int> tiers;
  const HeatGrid grid = LinkHeat(f, a, tiers);
  std::string html =
      "<h2>Link health by fabric group and tier</h2><p>Cells: links found degraded / links. "
      "<span style='background:#dc3c40;padding:0 4px'>red</span> a finding, "
      "<span style='background:#e0c040;padding:0 4px'>amber</span> some probes failed but every link was "
      "cleared by other probes, <span style='background:#3cc840;padding:0 4px'>green</span> every probe "
      "passed, grey not measured.</p><table><tr><th>group</th>";
  for (auto& [t, _] : tiers) html += "<th>" + Esc(t) + "</th>";
  html += "</tr>";
  for (auto& [g, row] : grid) {
    html += "<tr><th>" + Esc(g) + "</th>";
    for (auto& [t, _] : tiers) {
      auto it = row.find(t);
      if (it == row.end()) {
        html += "<td class='cell'></td>";
        continue;
      }
      const HeatCell& c = it->second;
      std::string colour = c.found                   ? "#dc3c40"
                           : c.suspicious            ? "#e0c040"
                           : c.unmeasured == c.links ? "#cccccc"
                                                     : "#3cc840";
      html += fmt::format("<td class='cell' style='background:{}'>{} / {}{}</td>", colour, c.found, c.links,
                          c.unmeasured ? fmt::format(" ({} unmeasured)", c.unmeasured) : "");
    }
    html += "</tr>";
  }
  return html + "</table>";
}

std::string HistogramSections(const std::vector<Measurement>& measurements) {
  std::vector<double> lat, bw;
  for (const Measurement& m : measurements)
    if (m.status == ProbeStatus::kMeasured) {
      lat.push_back(m.latency_us);
      bw.push_back(m.gbps);
    }
  return "<h2>Latency of probes</h2>" + Histogram(lat, "us", "#3b6fb6") + "<h2>Bandwidth of probes</h2>" +
         Histogram(bw, "Gb/s", "#4c9a52");
}

}  // namespace

std::string HtmlReport(const HtmlInputs& in) {
  const SweepAnalysis& a = in.analysis;
  std::string html;
  html += "<!DOCTYPE html><html><head><meta charset='utf-8'><title>" + Esc(in.title) + "</title><style>";
  html +=
      "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
      "td,th{border:1px solid #bbb;padding:3px 8px;font-size:13px}th{background:#eee}"
      ".ok{color:#1a7f37}.bad{color:#c62828}.cell{width:90px;text-align:center}";
  html += "</style></head><body>";
  html += "<h1>" + Esc(in.title) + "</h1>";
  html += fmt::format(
      "<p>Started {}. <b class='{}'>{}</b>: {} probes in {} rounds (lower bound {}), {} measured, {} "
      "failed, {} unmeasured, {} degraded; {} findings.</p>",
      Esc(in.started), a.healthy() ? "ok" : "bad", a.healthy() ? "Healthy" : "Findings", a.probes, in.plan.num_rounds,
      in.plan.lower_bound, a.measured, a.failed, a.unmeasured, a.degraded, a.findings.size());
  html += FindingsSection(in.fabric, a);
  html += InjectedSection(in.fabric, in.injected);
  html += HeatMapSection(in.fabric, a);
  html += HistogramSections(in.measurements);
  html +=
      "<p style='font-size:11px;color:#777'>Histogram heights are logarithmic so rare slow probes stay visible. "
      "Generated by fabricctl.</p></body></html>\n";
  return html;
}

}  // namespace fabricctl::sweep
