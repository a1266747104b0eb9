#include "probes/sweep/prometheus.h"

#include <fmt/format.h>

namespace fabricctl::sweep {
std::string EscapeLabelValue(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string PrometheusMetrics(const Fabric& fabric, const SweepPlan& plan, const SweepAnalysis& a, double seconds,
                              long timestamp) {
  std::string out;
  auto gauge = [&](const char* name, const char* help, double v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name, v);
  };
  gauge("fabricctl_sweep_last_run_timestamp_seconds", "Unix time the last sweep finished.", double(timestamp));
  gauge("fabricctl_sweep_duration_seconds", "Wall time of the last sweep.", seconds);
  gauge("fabricctl_sweep_healthy", "1 when the last sweep found nothing.", a.healthy() ? 1 : 0);
  gauge("fabricctl_sweep_probes", "Probes planned.", double(a.probes));
  gauge("fabricctl_sweep_probes_unmeasured", "Probes that did not run (agent missing).", double(a.unmeasured));
  gauge("fabricctl_sweep_probes_degraded", "Probes below their baseline.", double(a.degraded));
  gauge("fabricctl_sweep_rounds", "Rounds of the plan.", double(plan.num_rounds));
  gauge("fabricctl_sweep_channels_uncovered", "Channels no probe crossed.",
        double(plan.channels - plan.channels_covered));
  gauge("fabricctl_sweep_findings", "Findings of the last sweep.", double(a.findings.size()));
  out +=
      "# HELP fabricctl_sweep_finding_score Score of each finding (0..1).\n# TYPE fabricctl_sweep_finding_score "
      "gauge\n";
  for (const Finding& f : a.findings) {
    std::string target = f.link != kNone ? fabric.LinkName(f.link) : fabric.description(f.endpoint);
    out += fmt::format("fabricctl_sweep_finding_score{{{}=\"{}\",kind=\"{}\"}} {:.4f}\n",
                       f.link != kNone ? "link" : "endpoint", EscapeLabelValue(target), ToString(f.kind), f.score);
  }
  return out;
}

}  // namespace fabricctl::sweep
