#include "probes/check/report_json.h"

namespace fabricctl::check {

bool Healthy(const CheckReport& report) {
  for (const Finding& f : report.findings)
    if (f.severity != Severity::kInfo) return false;
  return true;
}

nlohmann::json ReportJson(const CheckReport& report, std::string_view source) {
  nlohmann::json findings = nlohmann::json::array();
  nlohmann::json counts = {{"error", 0}, {"warning", 0}, {"info", 0}};
  for (const Finding& f : report.findings) {
    findings.push_back({{"kind", f.kind},
                        {"severity", ToString(f.severity)},
                        {std::string(ToString(f.scope)), f.where},
                        {"summary", f.summary},
                        {"evidence", f.evidence}});
    counts[std::string(ToString(f.severity))] = counts[std::string(ToString(f.severity))].get<int>() + 1;
  }
  return {{"source", source},
          {"healthy", Healthy(report)},
          {"counts", std::move(counts)},
          {"findings", std::move(findings)},
          {"checks_run", report.checks_run},
          {"checks_skipped", report.checks_skipped}};
}

}  // namespace fabricctl::check
