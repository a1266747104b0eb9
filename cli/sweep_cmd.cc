// fabricctl sweep plan | run: nightly link-health sweeps.
#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "cli/progress.h"
#include "fabric/display_text.h"
#include "fabric/file_io.h"
#include "fabric/topology_io.h"
#include "probes/control_protocol.h"
#include "probes/sweep/analysis.h"
#include "probes/sweep/faults.h"
#include "probes/sweep/history.h"
#include "probes/sweep/mad_counters.h"
#include "probes/sweep/sweep_driver.h"
#include "probes/sweep/sweep_plan.h"
#include "probes/sweep/sweep_plan_io.h"
#include "probes/sweep/sweep_publish.h"
#include "probes/sweep/sweep_report.h"
#include "probes/sweep/sweep_setup.h"
#include "routing/route_io.h"

namespace fabricctl::cli {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct PlanOptionsCli {
  std::string topology, routes, output;
  uint32_t coverage = 2;
  uint64_t seed = 1;
  bool json = false;
};

struct RunOptionsCli {
  sweep::SweepSetupOptions setup;  // inputs and where probes run
  std::string output, html, prom, history;
  double bw_fraction = 0.75;
  uint32_t reprobe = 8;  // extra probes through each suspect link (0: none)
  bool json = false;
};

struct HistoryOptionsCli {
  std::string database;
  size_t limit = 20;
  size_t window = 7;
  bool json = false;
};

void PrintPlanSummary(const sweep::SweepPlan& plan) {
  std::cout << fmt::format(
      "plan: {} probes in {} rounds (lower bound {}, {:.2f}x); busiest endpoint port in {} probes\n",
      plan.probes.size(), plan.num_rounds, plan.lower_bound,
      plan.lower_bound ? double(plan.num_rounds) / plan.lower_bound : 0.0, plan.max_probes_per_endpoint);
  std::cout << fmt::format("coverage: {} channels, {} covered, {} at target", plan.channels, plan.channels_covered,
                           plan.channels_at_target);
  if (plan.channels_limited)
    std::cout << fmt::format(", {} below target (routing offers no other pair)", plan.channels_limited);
  std::cout << "\n";
}

int RunPlan(const PlanOptionsCli& o) {
  Progress progress("sweep plan", o.json ? ProgressWanted::kNo : ProgressWanted::kYes);
  progress.Stage("reading the topology and the routes");
  auto loaded = sweep::LoadFabric(o.topology, o.routes);
  if (!loaded) return ReportError(loaded.error());
  progress.Stage("planning");
  auto t0 = Clock::now();
  auto plan = sweep::PlanSweep(loaded->fabric, loaded->routes, {.coverage = o.coverage, .seed = o.seed});
  if (!plan) return ReportError(plan.error());
  double seconds = Since(t0);
  progress.Done();
  nlohmann::json j = sweep::PlanToJson(loaded->fabric, *plan, sweep::PlanDetail::kSchedule);
  if (auto w = WriteFileAtomic(o.output, j.dump(1) + "\n"); !w) return ReportError(w.error());
  if (o.json) {
    nlohmann::json summary = sweep::PlanToJson(loaded->fabric, *plan, sweep::PlanDetail::kSummary);
    summary["seconds"] = seconds;
    summary["output"] = o.output;
    PrintJson(summary);
  } else {
    PrintPlanSummary(*plan);
    std::cout << fmt::format("wrote {} ({:.2f} s)\n", o.output, seconds);
  }
  return kExitOk;
}

std::string NowIso() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

void ShowProgress(Progress& progress, const sweep::DriverProgress& p) {
  int width = 40, filled = p.total ? static_cast<int>(width * p.done / p.total) : width;
  progress.Update(fmt::format("round {}/{} [{}{}] {}/{} probes", p.round, p.rounds, std::string(filled, '#'),
                              std::string(width - filled, '.'), p.done, p.total));
}

// What the counters said, for the report: the source, ports with errors during the sweep,
// and (PMA reads) the ports the sweep could not see.
nlohmann::json CountersJson(const Fabric& fabric, const sweep::SweepRun& run, const sweep::Executor& e) {
  nlohmann::json j = {{"source", sweep::ToString(e.choice.counters)}};
  if (!e.counters) return j;
  nlohmann::json errors = nlohmann::json::array();
  for (PortId p = 0; p < run.port_errors.size(); ++p)
    if (run.port_errors[p] > 0) errors.push_back({{"port", fabric.PortName(p)}, {"errors", run.port_errors[p]}});
  j["ports_with_errors"] = errors.size();
  j["errors"] = std::move(errors);
  if (e.mad_counters) {
    nlohmann::json unread = nlohmann::json::array();
    for (const sweep::UnreadPort& u : e.mad_counters->unread())
      unread.push_back({{"port", fabric.PortName(u.port)}, {"message", u.message}});
    j["ports_read"] = e.mad_counters->ports_read();
    j["unread"] = std::move(unread);
  }
  return j;
}

void PrintCountersText(const nlohmann::json& c) {
  if (c.at("source") == "none") return;
  std::string line = fmt::format("counters: {}, {} ports with errors", c.at("source").get<std::string>(),
                                 c.at("ports_with_errors").get<size_t>());
  if (!c.contains("unread")) {
    std::cout << line << "\n";
    return;
  }
  const nlohmann::json& unread = c.at("unread");
  std::cout << line << fmt::format(", {} ports read, {} unread\n", c.at("ports_read").get<size_t>(), unread.size());
  for (size_t k = 0; k < unread.size() && k < 10; ++k)
    std::cout << fmt::format("counters unread: {}: {}\n", PrintableText(unread[k].at("port").get<std::string>()),
                             PrintableText(unread[k].at("message").get<std::string>()));
  if (unread.size() > 10) std::cout << fmt::format("counters unread: ... and {} more\n", unread.size() - 10);
}

// Why a sweep without findings is still not healthy.
std::string NotHealthyReason(const sweep::SweepAnalysis& analysis) {
  std::vector<std::string> reasons;
  if (analysis.unmeasured) reasons.push_back(fmt::format("{} probes unmeasured", analysis.unmeasured));
  if (analysis.uncovered_channels)
    reasons.push_back(fmt::format("{} channels crossed by no probe", analysis.uncovered_channels));
  return fmt::format("not healthy: no findings, but {}\n", fmt::join(reasons, " and "));
}

void PrintSweepText(const RunOptionsCli& o, const sweep::ReportInputs& in, const sweep::SweepRun& run,
                    const std::vector<sweep::LinkTrend>& trends) {
  const Fabric& fabric = in.fabric;
  const sweep::SweepAnalysis& analysis = in.analysis;
  PrintPlanSummary(in.plan);
  std::cout << fmt::format("probes: {} measured, {} failed, {} unmeasured, {} degraded\n", analysis.measured,
                           analysis.failed, analysis.unmeasured, analysis.degraded);
  if (run.suspects)
    std::cout << fmt::format("re-probed: {} suspect links with {} probes\n", run.suspects, run.reprobes);
  for (const sweep::Fault& f : in.injected) std::cout << "injected: " << sweep::FaultToJson(fabric, f).dump() << "\n";
  const auto& failures = run.failures;
  for (size_t k = 0; k < failures.size() && k < 10; ++k)
    std::cout << fmt::format("unmeasured: {} -> {}: {}\n", fabric.PortName(in.plan.probes[failures[k].probe].src),
                             fabric.PortName(in.plan.probes[failures[k].probe].dst), PrintableText(failures[k].reason));
  if (failures.size() > 10) std::cout << fmt::format("unmeasured: ... and {} more\n", failures.size() - 10);
  if (analysis.healthy())
    std::cout << "healthy: no findings\n";
  else if (analysis.findings.empty())
    std::cout << NotHealthyReason(analysis);
  for (const sweep::Finding& f : analysis.findings) {
    std::string what = f.link != kNone ? fabric.LinkName(f.link) : "endpoint " + fabric.description(f.endpoint);
    std::cout << fmt::format("finding: {:<9} score {:.2f}  {}  ({} of {} probes failed, worst {:.2f} of baseline{})\n",
                             sweep::ToString(f.kind), f.score, what, f.failing_probes, f.probes, f.worst_ratio,
                             f.port_errors ? fmt::format(", {} port errors", f.port_errors) : "");
  }
  for (const sweep::LinkTrend& t : trends)
    std::cout << fmt::format("trend: {} bandwidth falling {:.3f}/sweep over {} sweeps ({:.2f} -> {:.2f})\n",
                             PrintableText(t.link), t.slope, t.bw_ratio.size(), t.bw_ratio.front(), t.bw_ratio.back());
  std::cout << fmt::format("report: {}  ({:.2f} s plan, {:.2f} s run, {:.2f} s analysis)\n", o.output,
                           in.timings.plan_seconds, in.timings.run_seconds, in.timings.analyse_seconds);
  if (!o.html.empty()) std::cout << "html: " << o.html << "\n";
  if (!o.prom.empty()) std::cout << "metrics: " << o.prom << "\n";
  if (!o.history.empty()) std::cout << "history: " << o.history << "\n";
}

int RunSweep(const RunOptionsCli& o) {
  Progress progress("sweep run", o.json ? ProgressWanted::kNo : ProgressWanted::kYes);
  std::string started = NowIso();
  auto prepared = sweep::PrepareSweep(o.setup, [&](std::string_view stage) { progress.Stage(stage); });
  if (!prepared) return ReportError(prepared.error());
  const Fabric& fabric = (*prepared)->loaded.fabric;
  sweep::Executor& executor = *(*prepared)->executor;
  // mpi: ranks other than 0 run their share of each round; rank 0 reports.
  if (auto& job = executor.job) {
    if (!job->coordinator()) return job->Serve() ? kExitOk : kExitError;
    // Reported while the job lives: the other ranks wait for rank 0 before they leave.
    if (!job->start_problem().empty()) return ReportError(Error{.message = job->start_problem()});
    if (!job->notice().empty()) (o.json ? std::cerr : std::cout) << "note: " << job->notice() << "\n";
  }
  progress.Stage("probing");
  auto run = sweep::DriveSweep(fabric, (*prepared)->loaded.routes, std::move((*prepared)->plan), executor.Probes(),
                               executor.counters.get(),
                               {.analysis = {.bw_fraction = o.bw_fraction}, .reprobe = o.reprobe, .seed = o.setup.seed},
                               [&](const sweep::DriverProgress& p) { ShowProgress(progress, p); });
  progress.Done();
  if (!run) return ReportError(run.error());

  sweep::ReportInputs in{.fabric = fabric,
                         .plan = run->plan,
                         .measurements = run->measurements,
                         .analysis = run->analysis,
                         .injected = (*prepared)->faults.faults,
                         .mode = o.setup.fabric,
                         .topology = o.setup.topology,
                         .started = started,
                         .timings = {.plan_seconds = (*prepared)->plan_seconds,
                                     .run_seconds = run->run_seconds,
                                     .analyse_seconds = run->analyse_seconds}};
  auto published = sweep::PublishSweep(in, {.output = o.output,
                                            .html = o.html,
                                            .prom = o.prom,
                                            .history = o.history,
                                            .counters = CountersJson(fabric, *run, executor)});
  if (!published) return ReportError(published.error());
  if (o.json) {
    PrintJson(published->report);
  } else {
    PrintSweepText(o, in, *run, published->trends);
    PrintCountersText(published->report["counters"]);
  }
  return run->analysis.healthy() ? kExitOk : kExitFindings;
}

int RunHistory(const HistoryOptionsCli& o) {
  if (!std::filesystem::exists(o.database))
    return ReportError(Error{.message = "no such history database", .where = o.database});
  auto h = sweep::History::Open(o.database);
  if (!h) return ReportError(h.error());
  auto sweeps = h->Sweeps(o.limit);
  if (!sweeps) return ReportError(sweeps.error());
  auto trends = h->Trends({.window = o.window});
  if (!trends) return ReportError(trends.error());
  if (o.json) {
    nlohmann::json j;
    j["sweeps"] = nlohmann::json::array();
    for (const auto& s : *sweeps)
      j["sweeps"].push_back({{"id", s.id},
                             {"started", s.started},
                             {"mode", s.mode},
                             {"topology", s.topology},
                             {"probes", s.probes},
                             {"findings", s.findings},
                             {"healthy", s.healthy}});
    j["trends"] = nlohmann::json::array();
    for (const auto& t : *trends)
      j["trends"].push_back({{"link", t.link}, {"slope", t.slope}, {"drop", t.drop}, {"bw_ratio", t.bw_ratio}});
    PrintJson(j);
  } else {
    std::cout << fmt::format("{:>5}  {:<20}  {:<5}  {:>8}  {:>8}  {}\n", "id", "started", "mode", "probes", "findings",
                             "topology");
    for (const auto& s : *sweeps)
      std::cout << fmt::format("{:>5}  {:<20}  {:<5}  {:>8}  {:>8}  {}\n", s.id, PrintableText(s.started),
                               PrintableText(s.mode), s.probes, s.findings, PrintableText(s.topology));
    if (trends->empty()) std::cout << "no link shows a falling bandwidth trend\n";
    for (const auto& t : *trends)
      std::cout << fmt::format("trend: {} bandwidth falling {:.3f}/sweep ({:.2f} -> {:.2f})\n", PrintableText(t.link),
                               t.slope, t.bw_ratio.front(), t.bw_ratio.back());
  }
  return kExitOk;
}

void AddSweepPlan(CLI::App& sweep, Runner& run) {
  auto plan = std::make_shared<PlanOptionsCli>();
  CLI::App* p = sweep.add_subcommand("plan", "Choose probe pairs that cover every link and schedule them in rounds");
  p->add_option("TOPO", plan->topology, "Topology file (ibnetdiscover or JSON)")->required();
  p->add_option("ROUTES", plan->routes, "Route directory or opensm-lfts.dump")->required();
  p->add_option("-o,--output", plan->output, "Plan file to write (JSON)")->required();
  p->add_option("--coverage", plan->coverage, "Probes wanted through every channel")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  p->add_option("--seed", plan->seed, "Seed for tie-breaking")->capture_default_str();
  p->add_flag("--json", plan->json, "Print the summary as JSON");
  p->callback([&run, plan] { run = [plan] { return RunPlan(*plan); }; });
}

void AddSweepRun(CLI::App& sweep, Runner& run) {
  auto opts = std::make_shared<RunOptionsCli>();
  CLI::App* r = sweep.add_subcommand(
      "run", "Run a sweep, localise degraded links, write a report (exit 0 healthy, 1 findings, 2 error)");
  r->add_option("TOPO", opts->setup.topology, "Topology file (ibnetdiscover or JSON)")->required();
  r->add_option("ROUTES", opts->setup.routes, "Route directory or opensm-lfts.dump")->required();
  r->add_option(
       "--fabric", opts->setup.fabric,
       "Where probes run: sim (flow-level model of the routed fabric), tcp or verbs (probe agents, host to host), "
       "mpi (the ranks of an MPI job, one per host: mpirun or srun)")
      ->check(CLI::IsMember({"sim", "tcp", "verbs", "mpi"}))
      ->capture_default_str();
  r->add_option("--plan", opts->setup.plan, "Plan file from 'sweep plan' (default: plan now)");
  r->add_option("--inject", opts->setup.inject,
                "Fault for the simulated fabric: desc[port]:bw=F|latency=US|loss=F|down, endpoint:DESC:bw=F, random:K");
  r->add_option("--seed", opts->setup.seed, "Seed for planning, random faults and noise")->capture_default_str();
  r->add_option("--noise", opts->setup.noise, "Relative measurement noise of the simulated fabric")
      ->check(CLI::Range(0.0, 0.5))
      ->capture_default_str();
  r->add_option("--coverage", opts->setup.coverage, "Probes wanted through every channel when planning")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  r->add_option("--bw-fraction", opts->bw_fraction, "Bandwidth below this share of its baseline is degraded")
      ->check(CLI::Range(0.05, 0.99))
      ->capture_default_str();
  r->add_option("--reprobe", opts->reprobe, "Extra probes through each suspect link after a first analysis (0: none)")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  r->add_option("-o,--output", opts->output, "Report file to write (JSON)")->required();
  r->add_option("--html", opts->html, "Also write a self-contained HTML report");
  r->add_option("--prom", opts->prom, "Also write Prometheus textfile metrics");
  r->add_option("--history", opts->history, "SQLite history to append to (created if missing); reports trends");
  r->add_option("--agents", opts->setup.agents,
                "tcp/verbs: agents file, 'DESC[PORT] DATA_ADDR[:PORT] [control=ADDR[:PORT]] [dev=IFNAME] "
                "[rdma=DEVICE:PORT]' lines");
  r->add_option("--token-file", opts->setup.token_file, "tcp/verbs: shared token of the probe agents");
  r->add_option("--parallel", opts->setup.parallel, "tcp/verbs: agents working on an order at once")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  r->add_option("--probe-seconds", opts->setup.probe_seconds, "tcp/verbs: bandwidth test length per probe")
      ->check(CLI::Range(0.05, 60.0))
      ->capture_default_str();
  r->add_option("--timeout", opts->setup.timeout_seconds, "tcp/verbs: bound on every wait of a probe, seconds")
      ->check(CLI::Range(0.1, 600.0))
      ->capture_default_str();
  r->add_option("-d,--ib-dev", opts->setup.rdma_device,
                "mpi with --probe-transport verbs: RDMA device (default: the first one)");
  r->add_option("--counters", opts->setup.counters,
                "Port error counters read before and after the sweep: sim (the simulated fabric's; default with "
                "--fabric sim), mad (the live fabric's PMAs over umad), none (default otherwise)")
      ->check(CLI::IsMember({"sim", "mad", "none"}));
  r->add_option("-C,--ca", opts->setup.ca,
                "--counters mad: local RDMA device to send from (default: the first with an IB port)");
  r->add_option("-P,--port", opts->setup.ca_port, "--counters mad: local port number (default: the first active port)")
      ->check(CLI::Range(0, 255));
  r->add_option("--probe-transport", opts->setup.probe_transport, "mpi: how ranks probe each other")
      ->check(CLI::IsMember({"tcp", "verbs"}))
      ->capture_default_str();
  r->add_flag("--allow-idle-ranks", opts->setup.allow_idle_ranks, "mpi: a rank that owns no endpoint port idles");
  r->add_flag("--json", opts->json, "Print the report as JSON");
  r->callback([&run, opts] { run = [opts] { return RunSweep(*opts); }; });
}

void AddSweepHistory(CLI::App& sweep, Runner& run) {
  auto hist = std::make_shared<HistoryOptionsCli>();
  CLI::App* h = sweep.add_subcommand("history", "Show past sweeps and links whose bandwidth keeps falling");
  h->add_option("DB", hist->database, "SQLite history written by 'sweep run --history'")->required();
  h->add_option("--limit", hist->limit, "Sweeps to list")->capture_default_str();
  h->add_option("--window", hist->window, "Sweeps to look back for trends")->capture_default_str();
  h->add_flag("--json", hist->json, "Print as JSON");
  h->callback([&run, hist] { run = [hist] { return RunHistory(*hist); }; });
}

}  // namespace

void AddSweepCommands(CLI::App& sweep, Runner& run) {
  AddSweepPlan(sweep, run);
  AddSweepRun(sweep, run);
  AddSweepHistory(sweep, run);
  AddSweepServe(sweep, run);
}

}  // namespace fabricctl::cli
