#include "probes/check/report_text.h"

#include <fmt/format.h>

#include "fabric/display_text.h"
#include "probes/check/report_json.h"

namespace fabricctl::check {

std::string ReportText(const CheckReport& report, std::string_view source) {
  std::string out = fmt::format("check of {}\n", PrintableText(source));
  std::array<size_t, 3> counts{};
  for (const Finding& f : report.findings) ++counts[static_cast<size_t>(f.severity)];
  const Finding* previous = nullptr;
  for (const Finding& f : report.findings) {
    if (!previous || previous->severity != f.severity)
      out += fmt::format("\n{} ({})\n", ToString(f.severity), counts[static_cast<size_t>(f.severity)]);
    if (!previous || previous->severity != f.severity || previous->kind != f.kind) out += fmt::format("  {}\n", f.kind);
    out += fmt::format("    {}: {}\n", PrintableText(f.where), PrintableText(f.summary));
    previous = &f;
  }
  out += fmt::format("\nchecked: {}\n", fmt::join(report.checks_run, ", "));
  for (const std::string& s : report.checks_skipped) out += fmt::format("skipped: {}\n", s);
  if (Healthy(report))
    out += fmt::format("healthy: no errors or warnings{}\n",
                       counts[2] ? fmt::format(" ({} info)", counts[2]) : std::string());
  else
    out += fmt::format("{} errors, {} warnings, {} info\n", counts[0], counts[1], counts[2]);
  return out;
}

}  // namespace fabricctl::check
