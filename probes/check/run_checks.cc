#include "probes/check/run_checks.h"

#include <algorithm>

#include "probes/check/check_counters.h"
#include "probes/check/check_identity.h"
#include "probes/check/check_link_rate.h"
#include "probes/check/check_routes.h"
#include "probes/check/check_sm.h"
#include "probes/check/places.h"

namespace fabricctl::check {

CheckReport RunChecks(const Snapshot& s, const CheckOptions& o) {
  CheckReport report;
  if (!s.fabric) return report;
  Places places(*s.fabric);
  for (const std::string& problem : s.collection_problems)
    report.findings.push_back(Finding{.kind = "collection",
                                      .severity = Severity::kWarning,
                                      .scope = Scope::kFabric,
                                      .where = s.source,
                                      .summary = problem,
                                      .evidence = {{"problem", problem}}});
  CheckLinkRates(s, places, report);
  CheckIdentity(s, report);
  CheckSubnetManagers(s, report);
  CheckCounters(s, o, places, report);
  CheckRoutes(s, o, places, report);
  std::stable_sort(report.findings.begin(), report.findings.end(), [](const Finding& a, const Finding& b) {
    return std::tie(a.severity, a.kind, a.where) < std::tie(b.severity, b.kind, b.where);
  });
  return report;
}

}  // namespace fabricctl::check
