#pragma once
// Sweep analysis: judge every probe against a baseline in units of the sweep's own
// measurement noise (estimated robustly from the probes), then localise culprit links by
// tomography over the known paths: the evidence of a link, or of one direction of it, is
// the noise-scaled deviation of the probes crossing it combined (Stouffer); the strongest
// hypothesis above the decision level is taken and the probes it explains are set aside,
// repeatedly. Links down and lossy are localised by clearing (a probe that crossed a link
// without the symptom clears it). Endpoint faults (every port of a node looks bad) are told
// apart from link faults, and port error counters are folded in where the fabric gives them.
#include <cstdint>
#include <string_view>
#include <vector>

#include "fabric/fabric.h"
#include "probes/sweep/measurement.h"
#include "probes/sweep/sweep_plan.h"

namespace fabricctl::sweep {

// A link, or one direction of it, whose evidence calls for more probes.
struct Suspect {
  LinkId link = kNone;
  PortId channel = kNone;  // one direction; kNone: both
  double sigmas = 0;
  // Its evidence includes outlier probes nothing else explains, among normal ones: the
  // mark of an intermittent fault, which needs more probes to show again.
  bool intermittent = false;
};

struct AnalysisOptions {
  // A probe below this share of its baseline bandwidth is degraded even when the sweep's
  // noise is so large that this lies within `probe_sigmas`.
  double bw_fraction = 0.75;
  double probe_sigmas = 3.0;  // a probe this many noise sigmas on the bad side is degraded
  // Combined evidence a link (or one direction) needs for a finding: at least this, and at
  // least the level that keeps the chance of any false finding among all the hypotheses
  // tested at `false_finding_rate` (Bonferroni on the Stouffer z).
  double link_sigmas = 5.5;
  // Chance a healthy fabric's sweep shows a false finding, per family of tests (the plan's
  // hypotheses; the re-probed suspects), if noise is as Gaussian as its estimate assumes.
  double false_finding_rate = 0.002;
  // A probe this many sigmas out is an outlier: Gaussian noise gives one in 10^9, an
  // intermittent fault one in each probe it hits.
  double outlier_sigmas = 6.0;
  double suspect_sigmas = 3.0;  // combined evidence that makes a link worth re-probing
  // A finding also needs this many of its probes at least `consistent_sigmas` on the bad
  // side, so one wild probe never makes a finding however far off it is.
  double consistent_sigmas = 2.0;
  uint32_t min_consistent_probes = 2;
  double min_noise = 0.01;       // floor of the noise estimate (relative): exact data is not infinitely sure
  double loss_threshold = 1e-3;  // lost message share above which a probe is lossy
  uint64_t error_threshold = 0;  // port error counts above this make a link suspect
  // Baselines and noise come from the first `baseline_probes` probes (the plan's own):
  // re-probes aim at suspects, so they are no fair sample of the healthy fabric.
  size_t baseline_probes = SIZE_MAX;
  // The suspects the re-probes (probes from `baseline_probes` on) were aimed at. Each is
  // judged on fresh evidence the choice of suspects did not see: its re-probes, with the
  // plan's probes counted only beyond the suspect level that chose it, at the level
  // `false_finding_rate` sets for this many suspects, in noise sigmas (steady faults), or
  // its re-probes' outliers against the plan's outlier rate (intermittent ones).
  std::vector<Suspect> reprobed;
  uint32_t min_fresh_probes = 4;  // fewer re-probes through a hypothesis: judged on all its probes
};

enum class FindingKind : uint8_t { kBandwidth, kLatency, kLoss, kDown, kErrors, kEndpoint };
std::string_view ToString(FindingKind k);

struct Finding {
  LinkId link = kNone;      // the culprit link, or
  NodeId endpoint = kNone;  // the culprit endpoint (kEndpoint)
  FindingKind kind = FindingKind::kBandwidth;
  FindingKind symptom = FindingKind::kBandwidth;  // for kEndpoint: what its probes showed
  // One direction only: the channel this port transmits; kNone: the link both ways.
  PortId channel = kNone;
  double score = 0;  // 0..1: share of the probes through it that failed, raised by counters
  uint32_t failing_probes = 0;
  uint32_t probes = 0;       // measured probes through it
  double worst_ratio = 1;    // worst measured/baseline among its failing probes (latency: baseline/measured)
  uint64_t port_errors = 0;  // error counter total of both ends
  double sigmas = 0;         // combined evidence in noise standard deviations (0 for down, loss, errors)
  // Other symptoms the same link showed (a lossy link also loses bandwidth): one finding
  // per link, its kind the most specific symptom.
  std::vector<FindingKind> also;
};

struct ProbeVerdict {
  bool bandwidth_bad = false, latency_bad = false, loss_bad = false;
  double bw_baseline = 0, latency_baseline = 0;
  // How far the probe lies from its baselines in noise sigmas, positive on the bad side
  // (slower, later); 0 when not measured.
  float bw_sigmas = 0, latency_sigmas = 0;
};

struct SweepAnalysis {
  std::vector<Finding> findings;  // by score, highest first
  std::vector<ProbeVerdict> verdicts;
  size_t probes = 0, measured = 0, failed = 0, unmeasured = 0, degraded = 0;
  size_t reprobes = 0;     // probes after the first AnalysisOptions::baseline_probes: re-probes of suspects
  size_t unexplained = 0;  // failing probes no suspect explains (noise, or faults hidden by coverage)
  // Measurement noise the sweep showed: a robust standard deviation of log(measured /
  // baseline) over the plan's probes (docs/sweeps.md, Analysis), floored at
  // AnalysisOptions::min_noise.
  double bw_noise = 0, latency_noise = 0;
  // Links whose bandwidth or latency evidence reached suspect_sigmas, strongest first.
  std::vector<Suspect> suspects;
  // Channels of the routed subnets no probe of the plan crosses: a fault there cannot
  // show, so a sweep that leaves any is not a clean bill of health.
  size_t uncovered_channels = 0;
  // Per link: share of measured probes through it that passed; -1 when no probe measured it.
  std::vector<float> link_health;
  // Per link: the best measured/baseline bandwidth among probes through it (a link is at
  // least as good as the best path across it), capped at 1; -1 when none.
  std::vector<float> link_bw_ratio;
  bool healthy() const { return findings.empty() && unmeasured == 0 && uncovered_channels == 0; }
};

// port_errors: error counter deltas per PortId, or empty when the fabric gives none.
SweepAnalysis AnalyzeSweep(const Fabric& fabric, const SweepPlan& plan, const std::vector<Measurement>& measured,
                           const std::vector<uint64_t>& port_errors, const AnalysisOptions& options);

}  // namespace fabricctl::sweep
