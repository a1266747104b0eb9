#pragma once
// Sweep analysis: judge every probe against a baseline, then localise culprit links by
// tomography over the known paths: a link is suspect when failing probes cross it and no
// passing probe clears it; suspects are chosen greedily by how many failing probes they
// explain. Endpoint faults (every port of a node looks bad) are told apart from link faults,
// and port error counters are folded in where the fabric provides them.
#include <cstdint>
#include <string_view>
#include <vector>

#include "fabric/fabric.h"
#include "probes/sweep/measurement.h"
#include "probes/sweep/sweep_plan.h"

namespace fabricctl::sweep {

struct AnalysisOptions {
  double bw_fraction = 0.75;    // bandwidth below this share of its baseline is degraded
  double latency_margin = 0.3;  // latency above baseline * (1 + margin) + floor is slow
  double latency_floor_us = 0.5;
  double loss_threshold = 1e-3;  // lost message share above which a probe is lossy
  uint64_t error_threshold = 0;  // port error counts above this make a link suspect
};

enum class FindingKind : uint8_t { kBandwidth, kLatency, kLoss, kDown, kErrors, kEndpoint };
std::string_view ToString(FindingKind k);

struct Finding {
  LinkId link = kNone;      // the culprit link, or
  NodeId endpoint = kNone;  // the culprit endpoint (kEndpoint)
  FindingKind kind = FindingKind::kBandwidth;
  FindingKind symptom = FindingKind::kBandwidth;  // for kEndpoint: what its probes showed
  double score = 0;  // 0..1: share of the probes through it that failed, raised by counters
  uint32_t failing_probes = 0;
  uint32_t probes = 0;       // measured probes through it
  double worst_ratio = 1;    // worst measured/baseline among its failing probes (latency: baseline/measured)
  uint64_t port_errors = 0;  // error counter total of both ends
  // Other symptoms the same link showed (a lossy link also loses bandwidth): one finding
  // per link, its kind the most specific symptom.
  std::vector<FindingKind> also;
};

struct ProbeVerdict {
  bool bandwidth_bad = false, latency_bad = false, loss_bad = false;
  double bw_baseline = 0, latency_baseline = 0;
};

struct SweepAnalysis {
  std::vector<Finding> findings;  // by score, highest first
  std::vector<ProbeVerdict> verdicts;
  size_t probes = 0, measured = 0, failed = 0, unmeasured = 0, degraded = 0;
  size_t unexplained = 0;  // failing probes no suspect explains (noise, or faults hidden by coverage)
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
