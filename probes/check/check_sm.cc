#include "probes/check/check_sm.h"

#include <fmt/format.h>

#include "probes/check/places.h"

namespace fabricctl::check {
namespace {

constexpr uint8_t kNotActive = 0, kDiscovering = 1, kStandby = 2, kMaster = 3;

std::string_view StateName(uint8_t state) {
  switch (state) {
    case kNotActive:
      return "not-active";
    case kDiscovering:
      return "discovering";
    case kStandby:
      return "standby";
    case kMaster:
      return "master";
  }
  return "invalid";
}

nlohmann::json SmJson(const SmReading& sm) {
  return {{"where", sm.where},       {"guid", GuidText(sm.guid)},    {"lid", sm.lid},
          {"priority", sm.priority}, {"state", StateName(sm.state)}, {"activity_count", sm.activity_count}};
}

void Add(CheckReport& report, Severity severity, Scope scope, std::string where, std::string summary,
         nlohmann::json evidence) {
  report.findings.push_back(Finding{.kind = "sm",
                                    .severity = severity,
                                    .scope = scope,
                                    .where = std::move(where),
                                    .summary = std::move(summary),
                                    .evidence = std::move(evidence)});
}

}  // namespace

void CheckSubnetManagers(const Snapshot& s, CheckReport& report) {
  if (!s.sms) {
    report.checks_skipped.push_back("sm: subnet managers are asked only on a live subnet");
    return;
  }
  report.checks_run.push_back("sm");
  const std::vector<SmReading>& sms = *s.sms;
  nlohmann::json all = nlohmann::json::array();
  std::vector<const SmReading*> masters;
  for (const SmReading& sm : sms) {
    all.push_back(SmJson(sm));
    if (sm.state == kMaster) masters.push_back(&sm);
  }
  if (masters.empty())
    Add(report, Severity::kError, Scope::kFabric, "subnet",
        sms.empty() ? "no subnet manager answers SMInfo" : "no subnet manager is master", {{"sms", all}});
  if (masters.size() > 1)
    Add(report, Severity::kError, Scope::kFabric, "subnet",
        fmt::format("{} subnet managers claim to be master", masters.size()), {{"sms", all}});
  for (const SmReading& sm : sms) {
    if (sm.state == kNotActive || sm.state == kDiscovering || sm.state > kMaster)
      Add(report, Severity::kWarning, Scope::kPort, sm.where,
          fmt::format("subnet manager is {}, not master or standby", StateName(sm.state)), SmJson(sm));
    if (masters.size() == 1 && sm.state == kStandby && sm.priority > masters.front()->priority)
      Add(report, Severity::kWarning, Scope::kPort, sm.where,
          fmt::format("standby subnet manager has priority {}, above the master's {} ({}): it should have taken over",
                      sm.priority, masters.front()->priority, masters.front()->where),
          {{"standby", SmJson(sm)}, {"master", SmJson(*masters.front())}});
  }
}

}  // namespace fabricctl::check
