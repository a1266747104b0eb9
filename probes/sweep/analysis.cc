#include "probes/sweep/analysis.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <queue>
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

// The z a standard normal exceeds with probability `p` (bisection on the tail; no closed form).
double UpperQuantile(double p) {
  double lo = 0, hi = 40;
  for (int k = 0; k < 100; ++k) {
    double mid = (lo + hi) / 2;
    (0.5 * std::erfc(mid / std::sqrt(2.0)) > p ? lo : hi) = mid;
  }
  return hi;
}

// P(X >= k) for X binomial(n, p): the chance noise alone puts k outliers among n probes.
double BinomialTail(uint32_t n, uint32_t k, double p) {
  if (k == 0) return 1;
  if (k > n) return 0;
  double tail = 0;
  for (uint32_t j = k; j <= n; ++j)
    tail += std::exp(std::lgamma(n + 1.0) - std::lgamma(j + 1.0) - std::lgamma(n - j + 1.0) + j * std::log(p) +
                     (n - j) * std::log1p(-p));
  return std::min(1.0, tail);
}

// Probes crossing each channel (CSR by PortId); a link's probes are its two channels'.
struct Incidence {
  const Fabric* fabric = nullptr;
  std::vector<uint32_t> start;  // size num_port_slots + 1
  std::vector<uint32_t> probes;

  std::span<const uint32_t> probes_of_channel(PortId c) const {
    return std::span<const uint32_t>(probes.data() + start[c], start[c + 1] - start[c]);
  }
  template <typename Visit>
  void ForEachProbe(LinkId l, Visit&& visit) const {
    for (PortId c : {fabric->link(l).a, fabric->link(l).b})
      for (uint32_t i : probes_of_channel(c)) visit(i);
  }
};

// Symptoms a probe can show; the analysis keeps one flag per probe and symptom.
enum Symptom { kBw, kLat, kLoss, kDown, kSymptoms };

Incidence BuildIncidence(const Fabric& fabric, const SweepPlan& plan) {
  Incidence inc{.fabric = &fabric};
  inc.start.assign(fabric.num_port_slots() + 1, 0);
  for (PortId c : plan.path_channels) ++inc.start[c + 1];
  for (size_t c = 0; c < fabric.num_port_slots(); ++c) inc.start[c + 1] += inc.start[c];
  inc.probes.resize(plan.path_channels.size());
  std::vector<uint32_t> fill(inc.start.begin(), inc.start.end() - 1);
  for (uint32_t i = 0; i < plan.probes.size(); ++i)
    for (PortId c : plan.path(plan.probes[i])) inc.probes[fill[c]++] = i;
  return inc;
}

// Baselines: bandwidth per nominal bottleneck (Gb/s x 100), latency per hop count, both
// the median of what was measured, so the same analysis serves the model and real agents.
struct Baselines {
  std::vector<double> nominal;  // per probe: the slowest link rate on its path
  std::map<long, double> bandwidth, latency;
};

// Groups seen only among re-probes take their median from all probes of the group.
Baselines MedianBaselines(const Fabric& fabric, const SweepPlan& plan, const std::vector<Measurement>& measured,
                          size_t baseline_probes) {
  const size_t n = plan.probes.size();
  std::vector<double> nominal(n, 0);
  std::map<long, std::vector<double>> bw_groups, lat_groups, bw_late, lat_late;
  for (size_t i = 0; i < n; ++i) {
    double bottleneck = 1e18;
    for (PortId c : plan.path(plan.probes[i]))
      bottleneck = std::min(bottleneck, LinkDataGbps(fabric.port(c).width_active, fabric.port(c).speed_active));
    nominal[i] = bottleneck;
    if (measured[i].status != ProbeStatus::kMeasured) continue;
    const bool fair = i < baseline_probes;
    (fair ? bw_groups : bw_late)[std::lround(bottleneck * 100)].push_back(measured[i].gbps);
    (fair ? lat_groups : lat_late)[static_cast<long>(plan.probes[i].path_end - plan.probes[i].path_begin)].push_back(
        measured[i].latency_us);
  }
  Baselines base{.nominal = std::move(nominal)};
  for (auto& [k, v] : bw_groups) base.bandwidth[k] = Median(v);
  for (auto& [k, v] : lat_groups) base.latency[k] = Median(v);
  for (auto& [k, v] : bw_late)
    if (!base.bandwidth.contains(k)) base.bandwidth[k] = Median(v);
  for (auto& [k, v] : lat_late)
    if (!base.latency.contains(k)) base.latency[k] = Median(v);
  return base;
}

// Per link: the share of measured probes through it that passed, and the best
// measured/baseline bandwidth among them.
void MeasureLinkHealth(const Incidence& inc, const std::vector<Measurement>& measured, const std::vector<uint8_t>& bad,
                       SweepAnalysis& out) {
  const size_t n_links = inc.fabric->num_links();
  out.link_health.assign(n_links, -1.0f);
  out.link_bw_ratio.assign(n_links, -1.0f);
  std::vector<double> ratios;
  for (LinkId l = 0; l < n_links; ++l) {
    uint32_t total = 0, pass = 0;
    ratios.clear();
    inc.ForEachProbe(l, [&](uint32_t i) {
      if (measured[i].status == ProbeStatus::kUnmeasured) return;
      if (measured[i].status == ProbeStatus::kMeasured && out.verdicts[i].bw_baseline > 0)
        ratios.push_back(measured[i].gbps / out.verdicts[i].bw_baseline);
      ++total;
      pass += !(bad[i * kSymptoms + kBw] || bad[i * kSymptoms + kLat] || bad[i * kSymptoms + kLoss] ||
                bad[i * kSymptoms + kDown]);
    });
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

// log(measured / baseline) of a probe, for bandwidth or latency: real paths' bandwidth and
// latency vary by factors, and a link shaped to a tenth must stand out however wide that
// variation (measured / baseline - 1 could never lie more than 1 / noise out).
double LogRatio(double value, double baseline) {
  if (baseline <= 0) return 0;
  return std::log(std::max(value, 1e-9 * baseline) / baseline);
}

// The q-quantile of `x` (reorders it).
double Quantile(std::vector<double>& x, double q) {
  auto at = x.begin() + static_cast<std::ptrdiff_t>(q * static_cast<double>(x.size() - 1));
  std::nth_element(x.begin(), at, x.end());
  return *at;
}

// Robust standard deviation of `x` (log ratios, oriented so faults make them smaller), at
// least `floor`. Faults pull probes to one side only, so the spread of the upper half (62.5th
// to 87.5th percentile: 0.831 standard deviations of a normal) stays the healthy probes'
// even when a fault slows nearly half of all probes, where the median absolute deviation
// takes the fault for noise; on clean data the two agree, and their geometric mean has
// less scatter than the upper half alone.
double NoiseSigma(std::vector<double> x, double floor) {
  if (x.size() < 4) return floor;
  const double upper = (Quantile(x, 0.875) - Quantile(x, 0.625)) / 0.8314;
  const double centre = Quantile(x, 0.5);
  for (double& v : x) v = std::abs(v - centre);
  const double mad = 1.4826 * Quantile(x, 0.5);
  return std::max(floor, std::sqrt(std::max(0.0, upper) * mad));
}

// The spread of the slow side of bandwidth log ratios (12.5th to 37.5th percentile), within
// [sigma, 1.25 sigma]. Noise that is a share of the rate, as much up as down, is longer on
// the slow side in the log (5%: 3 sigmas slow become 3.25), and judging slow probes by the
// fast side's spread turned that into false findings on healthy fabrics. Faults widen this
// side too, hence the cap: where they slow many probes the fast side's spread rules.
double SlowSideSigma(std::vector<double> x, double sigma) {
  if (x.size() < 8) return sigma;
  const double lower = (Quantile(x, 0.375) - Quantile(x, 0.125)) / 0.8314;
  return std::clamp(lower, sigma, 1.25 * sigma);
}

// Per probe: baselines, deviations in noise sigmas and the symptom flags. Fills `bad`
// (kSymptoms flags per probe) and the counts of `out`.
void JudgeProbes(const SweepPlan& plan, const std::vector<Measurement>& measured, const Baselines& base,
                 const AnalysisOptions& options, std::vector<uint8_t>& bad, SweepAnalysis& out) {
  const size_t n = plan.probes.size();
  std::vector<double> bw_log(n, 0), lat_log(n, 0), bw_fair, lat_fair;
  for (size_t i = 0; i < n; ++i) {
    const Measurement& m = measured[i];
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
    ProbeVerdict& v = out.verdicts[i];
    v.bw_baseline = base.bandwidth.at(std::lround(base.nominal[i] * 100));
    v.latency_baseline = base.latency.at(static_cast<long>(plan.probes[i].path_end - plan.probes[i].path_begin));
    bw_log[i] = LogRatio(m.gbps, v.bw_baseline);
    lat_log[i] = LogRatio(m.latency_us, v.latency_baseline);
    if (i < options.baseline_probes) {
      bw_fair.push_back(bw_log[i]);
      lat_fair.push_back(-lat_log[i]);
    }
  }
  out.bw_noise = NoiseSigma(bw_fair, options.min_noise);
  const double bw_slow_noise = SlowSideSigma(std::move(bw_fair), out.bw_noise);
  out.latency_noise = NoiseSigma(std::move(lat_fair), options.min_noise);
  for (size_t i = 0; i < n; ++i) {
    const Measurement& m = measured[i];
    if (m.status != ProbeStatus::kMeasured) continue;
    ProbeVerdict& v = out.verdicts[i];
    v.bw_sigmas = static_cast<float>(-bw_log[i] / (bw_log[i] < 0 ? bw_slow_noise : out.bw_noise));
    v.latency_sigmas = static_cast<float>(lat_log[i] / out.latency_noise);
    v.bandwidth_bad = v.bw_sigmas >= options.probe_sigmas || m.gbps < options.bw_fraction * v.bw_baseline;
    v.latency_bad = v.latency_sigmas >= options.probe_sigmas;
    v.loss_bad = m.loss > options.loss_threshold;
    bad[i * kSymptoms + kBw] = v.bandwidth_bad;
    bad[i * kSymptoms + kLat] = v.latency_bad;
    bad[i * kSymptoms + kLoss] = v.loss_bad;
    out.degraded += v.bandwidth_bad || v.latency_bad || v.loss_bad;
  }
}

// Statistical tomography of one metric (bandwidth or latency). A hypothesis is a link both
// ways or one of its channels; its evidence is the sum of the deviations (in sigmas,
// positive = bad) of the probes crossing it that are not yet explained, over the root of
// their number. The strongest qualifying hypothesis is taken; the probes it explains are set
// aside (bandwidth: a probe measures the minimum over its path, so a slow link hides the
// rest) or lose the latency it adds (latency adds up along the path), and the rest is judged
// again. A hypothesis qualifies on all its probes against a level set by the number of
// hypotheses tested, or, for a re-probed suspect, on its re-probes alone (the first
// analysis chose it on the others, so they prove nothing more) against a level set by the
// number of suspects. Either way its probes must also fail more often than the sweep's
// other probes do (Beyond): noise with a longer bad side than its estimate (probes that
// share busy CPUs come out slow at random) makes many probes fail everywhere, and a link
// whose probes fail no more often than the rest has nothing to show.
class Tomography {
 public:
  Tomography(const Fabric& fabric, const Incidence& inc, const std::vector<Measurement>& measured,
             const SweepAnalysis& out, Symptom symptom, const AnalysisOptions& options)
      : fabric_(fabric), inc_(inc), measured_(measured), out_(out), symptom_(symptom), options_(options) {
    const size_t n = measured.size();
    z_.assign(n, 0);
    active_.assign(n, 0);
    latency_.assign(n, 0);
    size_t plan_outliers = 0;
    for (size_t i = 0; i < n; ++i) {
      if (measured[i].status != ProbeStatus::kMeasured) continue;
      active_[i] = 1;
      z_[i] = RawSigmas(i);
      latency_[i] = measured[i].latency_us;
      Reckon(i, true);
      plan_outliers += i < options.baseline_probes && z_[i] >= options.outlier_sigmas;
    }
    // One more than seen: a sweep that showed none has not shown the rate is zero.
    outlier_rate_ = std::min(1.0, double(plan_outliers + 1) / double(background_n_ + 1));
    reprobed_.assign(fabric.num_links(), 0);
    for (const Suspect& s : options.reprobed)
      if (s.link < reprobed_.size()) reprobed_[s.link] = 1;
  }

  // Findings of this metric; `suspects` gets every hypothesis at suspect_sigmas or more, or
  // with an outlier probe.
  std::vector<Finding> Run(std::vector<Suspect>& suspects, std::vector<uint8_t>& explained);

 private:
  struct Tally {
    double sum = 0, strongest = 0;
    uint32_t n = 0, consistent = 0, degraded = 0, outliers = 0;
    double sigmas() const { return n ? sum / std::sqrt(double(n)) : 0; }
    // The evidence without its strongest probe.
    double rest() const { return n > 1 ? (sum - strongest) / std::sqrt(double(n - 1)) : 0; }
    void Add(double z, const AnalysisOptions& options) {
      sum += z;
      strongest = n == 0 ? z : std::max(strongest, z);
      ++n;
      consistent += z >= options.consistent_sigmas;
      degraded += z >= options.probe_sigmas;
      outliers += z >= options.outlier_sigmas;
    }
  };
  struct Evidence {
    Tally all, fresh;  // fresh: the re-probes among them
  };
  // Hypothesis h: link h / 3, both ways (h % 3 == 0) or its channel a (1) or b (2).
  static LinkId LinkOf(uint32_t h) { return h / 3; }
  PortId ChannelOf(uint32_t h) const {
    const Link& l = fabric_.link(LinkOf(h));
    return h % 3 == 0 ? kNone : h % 3 == 1 ? l.a : l.b;
  }
  template <typename Visit>
  void ForEachProbe(uint32_t h, Visit&& visit) const {
    PortId c = ChannelOf(h);
    if (c == kNone)
      inc_.ForEachProbe(LinkOf(h), visit);
    else
      for (uint32_t i : inc_.probes_of_channel(c)) visit(i);
  }
  double RawSigmas(size_t i) const {
    const ProbeVerdict& v = out_.verdicts[i];
    return symptom_ == kBw ? v.bw_sigmas : v.latency_sigmas;
  }
  Evidence Count(uint32_t h) const {
    Evidence e;
    ForEachProbe(h, [&](uint32_t i) {
      if (!active_[i]) return;
      e.all.Add(z_[i], options_);
      if (i >= options_.baseline_probes) e.fresh.Add(z_[i], options_);
    });
    return e;
  }
  void SetLevels(uint32_t tested);
  // Consistent evidence: `level` reached, enough probes well out, and still suspect without
  // the strongest one, so a single wild probe cannot carry a finding however far off it is.
  bool Consistent(const Tally& t, double level) const {
    return t.sigmas() >= level && t.consistent >= options_.min_consistent_probes && t.rest() >= options_.suspect_sigmas;
  }
  // Two or more outliers, more than the plan's outlier rate lets noise put there.
  bool Outlying(const Tally& t) const {
    return t.outliers >= 2 && BinomialTail(t.n, t.outliers, outlier_rate_) <= outlier_level_;
  }
  // A re-probed suspect: its re-probes must show it too, and the plan's probes count only
  // beyond what chose it: their p-value given that they reached suspect_sigmas (uniform
  // when the link is healthy) joins the re-probes' in a weighted Stouffer sum.
  double StagedSigmas(const Evidence& e) const {
    const uint32_t n_plan = e.all.n - e.fresh.n;
    double plan_z = 0;
    if (n_plan > 0) {
      const double z = (e.all.sum - e.fresh.sum) / std::sqrt(double(n_plan));
      const double p =
          0.5 * std::erfc(z / std::sqrt(2.0)) / (0.5 * std::erfc(options_.suspect_sigmas / std::sqrt(2.0)));
      plan_z = p < 0.5 ? UpperQuantile(p) : 0;
    }
    return (plan_z * std::sqrt(double(n_plan)) + e.fresh.sum) / std::sqrt(double(e.all.n));
  }
  bool Staged(uint32_t h, const Evidence& e) const {
    return reprobed_[LinkOf(h)] && e.fresh.n >= options_.min_fresh_probes;
  }
  // Its probes fail more often than a healthy link's would, taking the share of the plan's
  // other unexplained probes that fail as a healthy link's chance: failing at 2 sigmas
  // (consistent), where a subtle fault's probes mostly are, or at 3 (degraded), where
  // Gaussian noise puts one probe in 740, so a link that fails only a third of its probes
  // (an intermittent fault) stands out. The level is the false-finding rate without
  // Bonferroni's share per hypothesis: the sigmas above already hold that level.
  bool Beyond(uint32_t h, const Evidence& e) const {
    if (Staged(h, e) && Outlying(e.fresh)) return true;  // judged against the outlier rate instead
    const uint32_t plan_n = e.all.n - e.fresh.n;
    auto beyond = [&](uint32_t failing, uint32_t fresh_failing, uint32_t background_failing) {
      const double rate =
          double(background_failing - (failing - fresh_failing) + 1) / double(background_n_ - plan_n + 1);
      return BinomialTail(e.all.n, failing, std::min(rate, 1 - 1e-9)) <= options_.false_finding_rate;
    };
    return beyond(e.all.consistent, e.fresh.consistent, background_consistent_) ||
           beyond(e.all.degraded, e.fresh.degraded, background_degraded_);
  }
  // Enough sigmas (or outliers) for a finding; Beyond decides on the background as well.
  bool Evident(uint32_t h, const Evidence& e) const {
    if (Staged(h, e)) {
      if (Outlying(e.fresh)) return true;
      return e.fresh.sigmas() >= options_.consistent_sigmas && StagedSigmas(e) >= confirm_level_ &&
             Consistent(e.all, options_.suspect_sigmas);
    }
    return Consistent(e.all, link_level_);
  }
  // The plan's active probes, and how many of them fail (the background Beyond judges
  // against): probe i counted in (add) or out, as Explain sets it aside or lowers it.
  void Reckon(size_t i, bool add) {
    if (i >= options_.baseline_probes || !active_[i]) return;
    const uint32_t consistent = z_[i] >= options_.consistent_sigmas, degraded = z_[i] >= options_.probe_sigmas;
    background_n_ = add ? background_n_ + 1 : background_n_ - 1;
    background_consistent_ = add ? background_consistent_ + consistent : background_consistent_ - consistent;
    background_degraded_ = add ? background_degraded_ + degraded : background_degraded_ - degraded;
  }
  Finding Describe(uint32_t h, const Tally& t) const;
  void Explain(uint32_t h, std::vector<uint8_t>& explained);

  const Fabric& fabric_;
  const Incidence& inc_;
  const std::vector<Measurement>& measured_;
  const SweepAnalysis& out_;
  Symptom symptom_;
  const AnalysisOptions& options_;
  std::vector<double> z_, latency_;  // current deviation and latency (found links' share taken out)
  std::vector<uint8_t> active_;
  std::vector<uint8_t> reprobed_;  // per link: a suspect the re-probes aimed at
  double outlier_rate_ = 0;        // share of the plan's probes that are outliers (upper estimate)
  uint32_t background_n_ = 0, background_consistent_ = 0, background_degraded_ = 0;  // see Reckon
  // Levels: sigmas on all probes, sigmas on re-probes, outlier tail probability on re-probes.
  double link_level_ = 0, confirm_level_ = 0, outlier_level_ = 0;
};

// Bonferroni: `tested` hypotheses share false_finding_rate, and so do the re-probed
// suspects' three hypotheses each.
void Tomography::SetLevels(uint32_t tested) {
  const double rate = options_.false_finding_rate;
  link_level_ = std::max(options_.link_sigmas, UpperQuantile(rate / std::max(1u, tested)));
  const double suspects = 3.0 * double(std::max<size_t>(1, options_.reprobed.size()));
  confirm_level_ = std::max(options_.suspect_sigmas, UpperQuantile(rate / suspects));
  outlier_level_ = rate / suspects;
}

std::vector<Finding> Tomography::Run(std::vector<Suspect>& suspects, std::vector<uint8_t>& explained) {
  const uint32_t hypotheses = static_cast<uint32_t>(fabric_.num_links() * 3);
  std::vector<std::pair<Suspect, uint32_t>> suspected;
  uint32_t tested = 0;
  std::vector<Evidence> evidence(hypotheses);
  for (uint32_t h = 0; h < hypotheses; ++h) {
    evidence[h] = Count(h);
    tested += evidence[h].all.n > 0;
  }
  SetLevels(tested);
  std::priority_queue<std::pair<double, uint32_t>> heap;
  for (uint32_t h = 0; h < hypotheses; ++h) {
    const Tally& t = evidence[h].all;
    if (t.sigmas() >= options_.suspect_sigmas || t.outliers > 0)
      suspected.push_back({{.link = LinkOf(h), .channel = ChannelOf(h), .sigmas = t.sigmas()}, h});
    if (Evident(h, evidence[h])) heap.emplace(t.sigmas(), h);
  }
  evidence.clear();
  std::vector<uint8_t> taken(fabric_.num_links(), 0);
  std::vector<Finding> found;
  std::vector<uint32_t> deferred;  // evident, but not beyond the background as it stood
  while (!heap.empty()) {
    auto [was, h] = heap.top();
    heap.pop();
    if (taken[LinkOf(h)]) continue;
    Evidence e = Count(h);
    if (!Evident(h, e)) continue;
    if (e.all.sigmas() < was - 1e-9) {  // weakened by what was explained since: judge again in turn
      heap.emplace(e.all.sigmas(), h);
      continue;
    }
    if (!Beyond(h, e)) {  // the next finding may lower the background: judge it again then
      deferred.push_back(h);
      continue;
    }
    // One direction only when the other shows nothing worth a second look; else the link.
    if (h % 3 != 0) {
      uint32_t other = h % 3 == 1 ? h + 1 : h - 1;
      if (Count(other).all.sigmas() >= options_.suspect_sigmas) {
        h -= h % 3;
        e = Count(h);
      }
    }
    taken[LinkOf(h)] = 1;
    found.push_back(Describe(h, e.all));
    Explain(h, explained);
    for (uint32_t d : deferred) heap.emplace(Count(d).all.sigmas(), d);
    deferred.clear();
  }
  // Outliers the findings did not explain: an intermittent fault may hide behind them.
  for (auto& [suspect, h] : suspected) {
    suspect.intermittent = !taken[suspect.link] && Count(h).all.outliers > 0;
    if (suspect.sigmas >= options_.suspect_sigmas || suspect.intermittent) suspects.push_back(suspect);
  }
  return found;
}

Finding Tomography::Describe(uint32_t h, const Tally& t) const {
  const FindingKind kind = symptom_ == kBw ? FindingKind::kBandwidth : FindingKind::kLatency;
  Finding f{.link = LinkOf(h), .kind = kind, .symptom = kind, .channel = ChannelOf(h), .sigmas = t.sigmas()};
  ForEachProbe(h, [&](uint32_t i) {
    if (measured_[i].status != ProbeStatus::kMeasured) return;
    ++f.probes;
    // Failing: well out in sigmas, or degraded by the probe's own verdict (below
    // --bw-fraction), which counts even where the sweep's noise is wide.
    const ProbeVerdict& v = out_.verdicts[i];
    bool verdict = symptom_ == kBw ? v.bandwidth_bad : v.latency_bad;
    if (RawSigmas(i) < options_.consistent_sigmas && !verdict) return;
    ++f.failing_probes;
    const Measurement& m = measured_[i];
    f.worst_ratio = std::min(f.worst_ratio, symptom_ == kBw ? m.gbps / std::max(1e-9, v.bw_baseline)
                                                            : v.latency_baseline / std::max(1e-9, m.latency_us));
  });
  f.score = f.probes ? static_cast<double>(f.failing_probes) / f.probes : 0;
  return f;
}

void Tomography::Explain(uint32_t h, std::vector<uint8_t>& explained) {
  std::vector<uint32_t> hit;  // its probes on the bad side
  std::vector<double> added;
  ForEachProbe(h, [&](uint32_t i) {
    if (measured_[i].status == ProbeStatus::kMeasured) explained[i] = 1;
    if (!active_[i] || z_[i] < 1.0) return;
    hit.push_back(i);
    added.push_back(latency_[i] - out_.verdicts[i].latency_baseline);
  });
  for (uint32_t i : hit) Reckon(i, false);
  if (symptom_ == kBw) {
    for (uint32_t i : hit) active_[i] = 0;
    return;
  }
  const double delay = Median(added);
  for (uint32_t i : hit) {
    latency_[i] -= delay;
    z_[i] = LogRatio(latency_[i], out_.verdicts[i].latency_baseline) / out_.latency_noise;
    Reckon(i, true);
  }
}

// Links down or lossy, by clearing: a link is cleared of a symptom when a probe crossed it
// without that symptom; suspects are taken greedily by the failing probes they explain.
// These symptoms do not drown in noise (a probe carries nothing, or loses messages).
void ClearingTomography(const Fabric& fabric, const Incidence& inc, const std::vector<Measurement>& measured,
                        const std::vector<uint8_t>& bad, Symptom s, std::vector<uint8_t>& explained,
                        std::vector<Finding>& links_found) {
  const FindingKind kind = s == kLoss ? FindingKind::kLoss : FindingKind::kDown;
  const size_t n_links = fabric.num_links();
  std::vector<LinkId> suspects;
  for (LinkId l = 0; l < n_links; ++l) {
    bool any_bad = false, cleared = false;
    inc.ForEachProbe(l, [&](uint32_t i) {
      if (measured[i].status == ProbeStatus::kUnmeasured) return;
      bool b = bad[i * kSymptoms + s];
      bool ran = s == kDown || measured[i].status == ProbeStatus::kMeasured;
      cleared |= !b && ran;
      any_bad |= b;
    });
    if (any_bad && !cleared) suspects.push_back(l);
  }
  for (;;) {
    LinkId best = kNone;
    uint32_t best_count = 0, best_total = 1;
    for (LinkId l : suspects) {
      uint32_t count = 0, total = 0;
      inc.ForEachProbe(l, [&](uint32_t i) {
        if (measured[i].status == ProbeStatus::kUnmeasured) return;
        ++total;
        count += bad[i * kSymptoms + s] && !explained[i];
      });
      // More unexplained failures first; then the larger failing share.
      if (count > best_count ||
          (count == best_count && count > 0 && uint64_t(count) * best_total > uint64_t(best_count) * total)) {
        best = l;
        best_count = count;
        best_total = total;
      }
    }
    if (best == kNone || best_count == 0) break;
    Finding f{.link = best, .kind = kind, .symptom = kind};
    inc.ForEachProbe(best, [&](uint32_t i) {
      if (measured[i].status == ProbeStatus::kUnmeasured) return;
      ++f.probes;
      if (!bad[i * kSymptoms + s]) return;
      ++f.failing_probes;
      explained[i] = 1;
      f.worst_ratio = std::min(f.worst_ratio, s == kLoss ? 1.0 - measured[i].loss : 0.0);
    });
    f.score = f.probes ? static_cast<double>(f.failing_probes) / f.probes : 0;
    links_found.push_back(f);
  }
}

// The strongest hypothesis per link, strongest link first; a link is intermittent when any
// of its hypotheses is.
std::vector<Suspect> StrongestPerLink(std::vector<Suspect> all) {
  std::sort(all.begin(), all.end(), [](const Suspect& a, const Suspect& b) { return a.sigmas > b.sigmas; });
  std::unordered_map<LinkId, size_t> at;
  std::vector<Suspect> out;
  for (const Suspect& s : all) {
    auto [it, inserted] = at.emplace(s.link, out.size());
    if (inserted)
      out.push_back(s);
    else
      out[it->second].intermittent |= s.intermittent;
  }
  return out;
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
  out.reprobes = n - std::min(n, options.baseline_probes);
  out.verdicts.resize(n);
  out.uncovered_channels = plan.channels - std::min(plan.channels, plan.channels_covered);

  const Baselines base = MedianBaselines(fabric, plan, measured, options.baseline_probes);
  std::vector<uint8_t> bad(n * kSymptoms, 0);
  JudgeProbes(plan, measured, base, options, bad, out);

  Incidence inc = BuildIncidence(fabric, plan);
  MeasureLinkHealth(inc, measured, bad, out);

  std::vector<Finding> links_found;
  std::vector<Suspect> suspects;
  std::vector<uint8_t> explained(n);
  for (Symptom s : {kBw, kLat, kLoss, kDown}) {
    std::fill(explained.begin(), explained.end(), 0);
    if (s == kBw || s == kLat) {
      std::vector<Finding> found = Tomography(fabric, inc, measured, out, s, options).Run(suspects, explained);
      links_found.insert(links_found.end(), found.begin(), found.end());
    } else {
      ClearingTomography(fabric, inc, measured, bad, s, explained, links_found);
    }
    for (size_t i = 0; i < n; ++i) out.unexplained += bad[i * kSymptoms + s] && !explained[i];
  }
  out.suspects = StrongestPerLink(std::move(suspects));

  MergeFindingsPerLink(links_found);
  AddPortErrorFindings(fabric, port_errors, options, links_found);
  MoveEndpointFaults(fabric, links_found, out.findings);
  std::stable_sort(out.findings.begin(), out.findings.end(),
                   [](const Finding& a, const Finding& b) { return a.score > b.score; });
  return out;
}

}  // namespace fabricctl::sweep
