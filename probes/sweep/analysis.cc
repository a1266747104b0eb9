#include "probes/sweep/analysis.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <span>
#include <unordered_map>

namespace fabricctl::sweep {
namespace {

double Median(std::vector<double>& v) {
  if (v.empty()) return 0;
  auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

// Links crossed by each probe and probes crossing each link (CSR both ways).
struct Incidence {
  std::vector<uint32_t> link_start;  // size links + 1
  std::vector<uint32_t> link_probes;

  std::span<const uint32_t> probes_of(LinkId l) const {
    return std::span<const uint32_t>(link_probes.data() + link_start[l], link_start[l + 1] - link_start[l]);
  }
};

// Symptoms a probe can show; the analysis keeps one flag per probe and symptom.
enum Symptom { kBw, kLat, kLoss, kDown, kSymptoms };

Incidence BuildIncidence(const Fabric& fabric, const SweepPlan& plan) {
  Incidence inc;
  inc.link_start.assign(fabric.num_links() + 1, 0);
  for (PortId c : plan.path_channels) ++inc.link_start[fabric.port(c).link + 1];
  for (size_t l = 0; l < fabric.num_links(); ++l) inc.link_start[l + 1] += inc.link_start[l];
  inc.link_probes.resize(plan.path_channels.size());
  std::vector<uint32_t> fill(inc.link_start.begin(), inc.link_start.end() - 1);
  for (uint32_t i = 0; i < plan.probes.size(); ++i)
    for (PortId c : plan.path(plan.probes[i])) inc.link_probes[fill[fabric.port(c).link]++] = i;
  return inc;
}

// Baselines: bandwidth per nominal bottleneck (Gb/s x 100), latency per hop count, both
// the median of what was measured, so the same analysis serves the model and real agents.
struct Baselines {
  std::vector<double> nominal;  // per probe: the slowest link rate on its path
  std::map<long, double> bandwidth, latency;
};

Baselines MedianBaselines(const Fabric& fabric, const SweepPlan& plan, const std::vector<Measurement>& measured) {
  const size_t n = plan.probes.size();
  std::vector<double> nominal(n, 0);
  std::map<long, std::vector<double>> bw_groups, lat_groups;
  for (size_t i = 0; i < n; ++i) {
    double bottleneck = 1e18;
    for (PortId c : plan.path(plan.probes[i]))
      bottleneck = std::min(bottleneck, LinkDataGbps(fabric.port(c).width_active, fabric.port(c).speed_active));
    nominal[i] = bottleneck;
    if (measured[i].status != ProbeStatus::kMeasured) continue;
    bw_groups[std::lround(bottleneck * 100)].push_back(measured[i].gbps);
    lat_groups[static_cast<long>(plan.probes[i].path_end - plan.probes[i].path_begin)].push_back(
        measured[i].latency_us);
  }
  Baselines base{.nominal = std::move(nominal)};
  for (auto& [k, v] : bw_groups) base.bandwidth[k] = Median(v);
  for (auto& [k, v] : lat_groups) base.latency[k] = Median(v);

  return base;
}

// Per link: the share of measured probes through it that passed, and the best
// measured/baseline bandwidth among them.
void MeasureLinkHealth(const Incidence& inc, const std::vector<Measurement>& measured, const std::vector<uint8_t>& bad,
                       SweepAnalysis& out) {
  const size_t n_links = inc.link_start.size() - 1;
  out.link_health.assign(n_links, -1.0f);
  out.link_bw_ratio.assign(n_links, -1.0f);
  std::vector<double> ratios;
  for (LinkId l = 0; l < n_links; ++l) {
    uint32_t total = 0, pass = 0;
    ratios.clear();
    for (uint32_t i : inc.probes_of(l)) {
      if (measured[i].status == ProbeStatus::kUnmeasured) continue;
      if (measured[i].status == ProbeStatus::kMeasured && out.verdicts[i].bw_baseline > 0)
        ratios.push_back(measured[i].gbps / out.verdicts[i].bw_baseline);
      ++total;
      pass += !(bad[i * kSymptoms + kBw] || bad[i * kSymptoms + kLat] || bad[i * kSymptoms + kLoss] ||
                bad[i * kSymptoms + kDown]);
    }
    if (total > 0) out.link_health[l] = static_cast<float>(pass) / static_cast<float>(total);
    // Capped at 1: above the baseline is only noise, and letting it through made noisy
    // healthy links look like falling trends in the history.
    if (!ratios.empty())
      out.link_bw_ratio[l] = static_cast<float>(std::min(1.0, *std::max_element(ratios.begin(), ratios.end())));
  }
}

// One finding per link: keep the most specific symptom (down, then loss, which also costs
// bandwidth, then bandwidth, then latency) and list the others.
void MergeFindingsPerLink(std::vector<Finding>& links_found) {
  auto rank = [](FindingKind k) {
    switch (k) {
      case FindingKind::kDown:
        return 0;
      case FindingKind::kLoss:
        return 1;
      case FindingKind::kBandwidth:
        return 2;
      case FindingKind::kLatency:
        return 3;
      default:
        return 4;
    }
  };
  std::stable_sort(links_found.begin(), links_found.end(),
                   [&](const Finding& a, const Finding& b) { return rank(a.kind) < rank(b.kind); });
  std::unordered_map<LinkId, size_t> first;
  std::vector<Finding> merged;
  for (const Finding& f : links_found) {
    auto [it, inserted] = first.emplace(f.link, merged.size());
    if (inserted)
      merged.push_back(f);
    else
      merged[it->second].also.push_back(f.kind);
  }
  links_found.swap(merged);
}

// Port error counters: raise the score of a found link; a link with errors and no
// probe symptom becomes an `errors` finding of its own.
void AddPortErrorFindings(const Fabric& fabric, const std::vector<uint64_t>& port_errors,
                          const AnalysisOptions& options, std::vector<Finding>& links_found) {
  if (port_errors.empty()) return;
  const size_t n_links = fabric.num_links();
  std::unordered_map<LinkId, size_t> at;
  for (size_t k = 0; k < links_found.size(); ++k) at.emplace(links_found[k].link, k);
  for (LinkId l = 0; l < n_links; ++l) {
    const Link& link = fabric.link(l);
    uint64_t errors = port_errors[link.a] + port_errors[link.b];
    if (errors <= options.error_threshold) continue;
    auto it = at.find(l);
    if (it != at.end()) {
      Finding& f = links_found[it->second];
      f.port_errors = errors;
      f.score = std::min(1.0, f.score + 0.5 * (1.0 - f.score));
    } else {
      links_found.push_back(Finding{.link = l,
                                    .kind = FindingKind::kErrors,
                                    .symptom = FindingKind::kErrors,
                                    .score = 0.5,
                                    .port_errors = errors});
    }
  }
}

// Endpoint faults: when every cabled port of an endpoint with two or more ports shows the
// same symptom on its access link, the endpoint is the culprit, not its cables. Moves the
// link findings that are left, and the endpoint findings, to `findings`.
void MoveEndpointFaults(const Fabric& fabric, const std::vector<Finding>& links_found, std::vector<Finding>& findings) {
  std::unordered_map<NodeId, std::vector<size_t>> access;  // endpoint -> findings on its access links
  for (size_t k = 0; k < links_found.size(); ++k) {
    const Link& link = fabric.link(links_found[k].link);
    for (PortId p : {link.a, link.b})
      if (!fabric.is_switch(fabric.port(p).node)) access[fabric.port(p).node].push_back(k);
  }
  std::vector<uint8_t> drop(links_found.size(), 0);
  for (auto& [node, ks] : access) {
    size_t cabled = fabric.neighbors(node).size();
    if (cabled < 2 || ks.size() < cabled) continue;
    FindingKind symptom = links_found[ks.front()].symptom;
    bool same = std::all_of(ks.begin(), ks.end(), [&](size_t k) { return links_found[k].symptom == symptom; });
    if (!same || symptom == FindingKind::kErrors) continue;
    Finding e{.endpoint = node, .kind = FindingKind::kEndpoint, .symptom = symptom, .score = 0};
    for (size_t k : ks) {
      drop[k] = 1;
      e.failing_probes += links_found[k].failing_probes;
      e.probes += links_found[k].probes;
      e.worst_ratio = std::min(e.worst_ratio, links_found[k].worst_ratio);
    }
    e.score = e.probes ? static_cast<double>(e.failing_probes) / e.probes : 0;
    findings.push_back(e);
  }
  for (size_t k = 0; k < links_found.size(); ++k)
    if (!drop[k]) findings.push_back(links_found[k]);
}

}  // namespace

std::string_view ToString(FindingKind k) {
  switch (k) {
    case FindingKind::kBandwidth:
      return "bandwidth";
    case FindingKind::kLatency:
      return "latency";
    case FindingKind::kLoss:
      return "loss";
    case FindingKind::kDown:
      return "down";
    case FindingKind::kErrors:
      return "errors";
    case FindingKind::kEndpoint:
      return "endpoint";
  }
  return "unknown";
}

SweepAnalysis AnalyzeSweep(const Fabric& fabric, const SweepPlan& plan, const std::vector<Measurement>& measured,
                           const std::vector<uint64_t>& port_errors, const AnalysisOptions& options) {
  SweepAnalysis out;
  const size_t n = plan.probes.size();
  out.probes = n;
  out.verdicts.resize(n);
  out.uncovered_channels = plan.channels - std::min(plan.channels, plan.channels_covered);

  const Baselines base = MedianBaselines(fabric, plan, measured);

  std::vector<uint8_t> bad(n * kSymptoms, 0);
  for (size_t i = 0; i < n; ++i) {
    const Measurement& m = measured[i];
    ProbeVerdict& v = out.verdicts[i];
    if (m.status == ProbeStatus::kUnmeasured) {
      ++out.unmeasured;
      continue;
    }
    if (m.status == ProbeStatus::kFailed) {
      ++out.failed;
      bad[i * kSymptoms + kDown] = 1;
      continue;
    }
    ++out.measured;
    v.bw_baseline = base.bandwidth.at(std::lround(base.nominal[i] * 100));
    v.latency_baseline = base.latency.at(static_cast<long>(plan.probes[i].path_end - plan.probes[i].path_begin));
    v.bandwidth_bad = m.gbps < options.bw_fraction * v.bw_baseline;
    v.latency_bad = m.latency_us > v.latency_baseline * (1 + options.latency_margin) + options.latency_floor_us;
    v.loss_bad = m.loss > options.loss_threshold;
    bad[i * kSymptoms + kBw] = v.bandwidth_bad;
    bad[i * kSymptoms + kLat] = v.latency_bad;
    bad[i * kSymptoms + kLoss] = v.loss_bad;
    out.degraded += v.bandwidth_bad || v.latency_bad || v.loss_bad;
  }

  Incidence inc = BuildIncidence(fabric, plan);
  const size_t n_links = fabric.num_links();
  auto probes_of = [&](LinkId l) { return inc.probes_of(l); };

  MeasureLinkHealth(inc, measured, bad, out);

  const FindingKind kind_of[kSymptoms] = {FindingKind::kBandwidth, FindingKind::kLatency, FindingKind::kLoss,
                                          FindingKind::kDown};
  std::vector<uint8_t> cleared(n_links), explained(n);
  std::vector<Finding> links_found;
  for (int s = 0; s < kSymptoms; ++s) {
    // A link is cleared of a symptom when a probe through it ran without that symptom.
    std::fill(cleared.begin(), cleared.end(), 0);
    std::fill(explained.begin(), explained.end(), 0);
    std::vector<LinkId> suspects;
    for (LinkId l = 0; l < n_links; ++l) {
      bool any_bad = false;
      for (uint32_t i : probes_of(l)) {
        if (measured[i].status == ProbeStatus::kUnmeasured) continue;
        bool b = bad[i * kSymptoms + s];
        bool ran = s == kDown || measured[i].status == ProbeStatus::kMeasured;
        if (!b && ran) cleared[l] = 1;
        any_bad |= b;
      }
      if (any_bad && !cleared[l]) suspects.push_back(l);
    }
    for (;;) {
      LinkId best = kNone;
      uint32_t best_count = 0, best_total = 1;
      for (LinkId l : suspects) {
        uint32_t count = 0, total = 0;
        for (uint32_t i : probes_of(l)) {
          if (measured[i].status == ProbeStatus::kUnmeasured) continue;
          ++total;
          count += bad[i * kSymptoms + s] && !explained[i];
        }
        // More unexplained failures first; then the larger failing share.
        if (count > best_count ||
            (count == best_count && count > 0 && uint64_t(count) * best_total > uint64_t(best_count) * total)) {
          best = l, best_count = count, best_total = total;
        }
      }
      if (best == kNone || best_count == 0) break;
      Finding f{.link = best, .kind = kind_of[s], .symptom = kind_of[s]};
      for (uint32_t i : probes_of(best)) {
        if (measured[i].status == ProbeStatus::kUnmeasured) continue;
        ++f.probes;
        if (!bad[i * kSymptoms + s]) continue;
        ++f.failing_probes;
        explained[i] = 1;
        const Measurement& m = measured[i];
        const ProbeVerdict& v = out.verdicts[i];
        double ratio = s == kBw     ? m.gbps / std::max(1e-9, v.bw_baseline)
                       : s == kLat  ? v.latency_baseline / std::max(1e-9, m.latency_us)
                       : s == kLoss ? 1.0 - m.loss
                                    : 0.0;
        f.worst_ratio = std::min(f.worst_ratio, ratio);
      }
      f.score = f.probes ? static_cast<double>(f.failing_probes) / f.probes : 0;
      links_found.push_back(f);
    }
    for (size_t i = 0; i < n; ++i) out.unexplained += bad[i * kSymptoms + s] && !explained[i];
  }

  MergeFindingsPerLink(links_found);
  AddPortErrorFindings(fabric, port_errors, options, links_found);
  MoveEndpointFaults(fabric, links_found, out.findings);
  std::stable_sort(out.findings.begin(), out.findings.end(),
                   [](const Finding& a, const Finding& b) { return a.score > b.score; });
  return out;
}

}  // namespace fabricctl::sweep
