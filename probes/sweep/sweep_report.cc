#include "probes/sweep/sweep_report.h"

#include "probes/sweep/sweep_plan_io.h"

namespace fabricctl::sweep {

namespace {

// What a fault or finding is about: {"link": name} or {"endpoint": description}, and its kind.
template <typename T>
nlohmann::json Subject(const Fabric& fabric, const T& f) {
  nlohmann::json j;
  if (f.link != kNone)
    j["link"] = fabric.LinkName(f.link);
  else
    j["endpoint"] = fabric.description(f.endpoint);
  j["kind"] = ToString(f.kind);
  // One direction of the link: the channel its port transmits.
  if (f.channel != kNone)
    j["direction"] = fabric.PortName(f.channel) + " -> " + fabric.PortName(fabric.port(f.channel).peer);
  return j;
}

}  // namespace

nlohmann::json FaultToJson(const Fabric& fabric, const Fault& f) {
  nlohmann::json j = Subject(fabric, f);
  if (f.kind != FaultKind::kDown) j["value"] = f.value;
  if (f.probability < 1) j["probability"] = f.probability;
  return j;
}

nlohmann::json FindingToJson(const Fabric& fabric, const Finding& f) {
  nlohmann::json j = Subject(fabric, f);
  j["score"] = f.score;
  nlohmann::json ev;
  ev["symptom"] = ToString(f.symptom);
  ev["failing_probes"] = f.failing_probes;
  ev["probes"] = f.probes;
  ev["worst_ratio"] = f.worst_ratio;
  ev["port_errors"] = f.port_errors;
  ev["sigmas"] = f.sigmas;
  nlohmann::json also = nlohmann::json::array();
  for (FindingKind k : f.also) also.push_back(ToString(k));
  ev["also"] = std::move(also);
  j["evidence"] = std::move(ev);
  return j;
}

nlohmann::json ReportToJson(const ReportInputs& in) {
  nlohmann::json j;
  j["format"] = "fabricctl-sweep-report";
  j["version"] = 1;
  j["started"] = in.started;
  j["mode"] = in.mode;
  j["topology"] = in.topology;
  j["healthy"] = in.analysis.healthy();
  j["seconds"] = {
      {"plan", in.timings.plan_seconds}, {"run", in.timings.run_seconds}, {"analyse", in.timings.analyse_seconds}};
  j["plan"] = PlanToJson(in.fabric, in.plan, PlanDetail::kSummary);
  const SweepAnalysis& a = in.analysis;
  j["probes"] = {{"total", a.probes},          {"measured", a.measured}, {"failed", a.failed},
                 {"unmeasured", a.unmeasured}, {"degraded", a.degraded}, {"unexplained", a.unexplained},
                 {"reprobes", a.reprobes}};
  j["noise"] = {{"bandwidth", a.bw_noise}, {"latency", a.latency_noise}};
  nlohmann::json injected = nlohmann::json::array();
  for (const Fault& f : in.injected) injected.push_back(FaultToJson(in.fabric, f));
  j["injected"] = std::move(injected);
  nlohmann::json findings = nlohmann::json::array();
  for (const Finding& f : a.findings) findings.push_back(FindingToJson(in.fabric, f));
  j["findings"] = std::move(findings);
  return j;
}

}  // namespace fabricctl::sweep
