#include "probes/check/report_json.h"

#include <doctest/doctest.h>

#include "probes/check/report_text.h"

namespace fabricctl::check {
namespace {

CheckReport Sample() {
  CheckReport r;
  r.findings.push_back(Finding{.kind = "duplicate-lid",
                               .severity = Severity::kError,
                               .scope = Scope::kPort,
                               .where = "h1[1] (0,1)",
                               .summary = "LID 5 is answered by 2 ports",
                               .evidence = {{"lid", 5}}});
  r.findings.push_back(Finding{.kind = "link-rate",
                               .severity = Severity::kWarning,
                               .scope = Scope::kLink,
                               .where = "leaf[3] -- spine[1]",
                               .summary = "runs at 4xDDR",
                               .evidence = {{"active", "4xDDR"}}});
  r.checks_run = {"link-rate", "identity"};
  r.checks_skipped = {"sm: not asked"};
  return r;
}

TEST_CASE("check report JSON: findings with kind, severity, place under its scope, evidence") {
  nlohmann::json j = ReportJson(Sample(), "f.ibnd");
  CHECK(j["healthy"] == false);
  CHECK(j["counts"] == nlohmann::json{{"error", 1}, {"warning", 1}, {"info", 0}});
  CHECK(j["findings"][0] == nlohmann::json{{"kind", "duplicate-lid"},
                                           {"severity", "error"},
                                           {"port", "h1[1] (0,1)"},
                                           {"summary", "LID 5 is answered by 2 ports"},
                                           {"evidence", {{"lid", 5}}}});
  CHECK(j["findings"][1]["link"] == "leaf[3] -- spine[1]");
  CHECK(j["checks_skipped"][0] == "sm: not asked");
}

TEST_CASE("check report text: grouped by severity and kind, worst first") {
  CHECK(ReportText(Sample(), "f.ibnd") ==
        "check of f.ibnd\n"
        "\nerror (1)\n  duplicate-lid\n    h1[1] (0,1): LID 5 is answered by 2 ports\n"
        "\nwarning (1)\n  link-rate\n    leaf[3] -- spine[1]: runs at 4xDDR\n"
        "\nchecked: link-rate, identity\nskipped: sm: not asked\n1 errors, 1 warnings, 0 info\n");
  CheckReport info;
  info.findings.push_back(Finding{.kind = "counters", .severity = Severity::kInfo, .where = "p", .summary = "reset"});
  CHECK(Healthy(info));
  CHECK(ReportText(info, "x").ends_with("healthy: no errors or warnings (1 info)\n"));
}

}  // namespace
}  // namespace fabricctl::check
