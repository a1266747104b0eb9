#include "probes/sweep/sweep_publish.h"

#include <ctime>

#include "fabric/file_io.h"
#include "probes/sweep/html_report.h"
#include "probes/sweep/prometheus.h"

namespace fabricctl::sweep {
namespace {

Result<void> WriteReports(const ReportInputs& in, const PublishOptions& o, const nlohmann::json& report) {
  if (auto w = WriteFileAtomic(o.output, report.dump(1) + "\n"); !w) return w;
  if (!o.html.empty()) {
    std::string html = HtmlReport({.fabric = in.fabric,
                                   .plan = in.plan,
                                   .measurements = in.measurements,
                                   .analysis = in.analysis,
                                   .injected = in.injected,
                                   .title = "fabricctl link-health sweep: " + in.topology,
                                   .started = in.started});
    if (auto w = WriteFileAtomic(o.html, html); !w) return w;
  }
  if (!o.prom.empty()) {
    const SweepTimings& t = in.timings;
    double total = t.plan_seconds + t.run_seconds + t.analyse_seconds;
    std::string metrics =
        PrometheusMetrics(in.fabric, in.plan, in.analysis, total, static_cast<long>(std::time(nullptr)));
    if (auto w = WriteFileAtomic(o.prom, metrics); !w) return w;
  }
  return {};
}

Result<std::vector<LinkTrend>> RecordHistory(const ReportInputs& in, const std::string& database) {
  if (database.empty()) return std::vector<LinkTrend>{};
  auto h = History::Open(database);
  if (!h) return std::unexpected(h.error());
  auto id = h->Record(in.fabric,
                      {.started = in.started,
                       .mode = in.mode,
                       .topology = in.topology,
                       .probes = static_cast<int64_t>(in.analysis.probes),
                       .findings = static_cast<int64_t>(in.analysis.findings.size()),
                       .healthy = in.analysis.healthy()},
                      in.analysis);
  if (!id) return std::unexpected(id.error());
  return h->Trends({});
}

}  // namespace

Result<Published> PublishSweep(const ReportInputs& in, const PublishOptions& options) {
  Published out{.report = ReportToJson(in)};
  out.report["counters"] = options.counters;
  if (auto w = WriteReports(in, options, out.report); !w) return std::unexpected(w.error());
  auto trends = RecordHistory(in, options.history);
  if (!trends) return std::unexpected(trends.error());
  out.trends = std::move(*trends);
  return out;
}

}  // namespace fabricctl::sweep
