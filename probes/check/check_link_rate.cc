#include "probes/check/check_link_rate.h"

#include <fmt/format.h>

#include "fabric/expected_rate.h"

namespace fabricctl::check {
namespace {

std::string RateWithGbps(const WidthSpeed& r) {
  return fmt::format("{} ({} Gb/s)", RateName(r.width, r.speed), FormatDataGbps(r.width, r.speed));
}

}  // namespace

void CheckLinkRates(const Snapshot& s, const Places& places, CheckReport& report) {
  report.checks_run.push_back("link-rate");
  const Fabric& f = *s.fabric;
  for (const SlowLink& slow : FindSlowLinks(f, s.plan)) {
    const WidthSpeed& want = slow.expected.rate;
    std::string basis = DescribeBasis(slow.expected);
    nlohmann::json evidence = {
        {"active", RateName(slow.active.width, slow.active.speed)},
        {"expected", RateName(want.width, want.speed)},
        {"active_gbps", DataGbpsJson(slow.active.width, slow.active.speed)},
        {"expected_gbps", DataGbpsJson(want.width, want.speed)},
        {"basis", basis},
        {"basis_kind", ToString(slow.expected.basis)},
        {"ends", {places.PortJson(f.link(slow.link).a), places.PortJson(f.link(slow.link).b)}},
    };
    report.findings.push_back(Finding{
        .kind = "link-rate",
        .severity = Severity::kWarning,
        .scope = Scope::kLink,
        .where = places.Link(slow.link),
        .summary = fmt::format("runs at {}, expected {}: {}", RateWithGbps(slow.active), RateWithGbps(want), basis),
        .evidence = std::move(evidence),
    });
  }
}

}  // namespace fabricctl::check
