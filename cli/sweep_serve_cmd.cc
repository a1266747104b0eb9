// fabricctl sweep serve: always-on link-health monitoring with Prometheus metrics.
#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <iostream>
#include <memory>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "fabric/display_text.h"
#include "fabric/file_io.h"
#include "probes/socket_util.h"
#include "probes/sweep/continuous.h"
#include "probes/sweep/metrics_server.h"
#include "probes/sweep/monitor_metrics.h"
#include "probes/sweep/sweep_setup.h"

namespace fabricctl::cli {
namespace {

struct ServeOptionsCli {
  sweep::SweepSetupOptions setup;  // inputs and executor settings, as `sweep run` takes them
  double bw_fraction = 0.75;
  bool json = false;
  double period = 300;
  double max_load = 0.01;
  uint32_t window = 3;
  std::string metrics_listen, metrics_file;
  double run_for = 0;
};

constexpr double kShortestRealProbe = 0.05;  // seconds: shorter TCP/verbs tests measure start-up, not bandwidth

std::atomic<bool> g_stop{false};  // set by SIGINT/SIGTERM only; signal handlers need a global
extern "C" void OnMonitorStopSignal(int) { g_stop.store(true); }

void CatchStopSignals() {
  struct sigaction sa {};
  sa.sa_handler = OnMonitorStopSignal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

// The rate of the monitor: the probe length given or derived from --max-load.
Result<sweep::RatePlan> ChooseRate(ServeOptionsCli& o, const sweep::SweepPlan& plan, sweep::MonitorOptions& mo,
                                   bool probe_seconds_given) {
  mo.probe_seconds = probe_seconds_given ? o.setup.probe_seconds : 0;
  auto rate = sweep::PlanRate(plan, mo);
  if (!rate) return rate;
  if (o.setup.fabric != "sim" && rate->probe_seconds < kShortestRealProbe)
    return MakeError(fmt::format(
        "--max-load {} with --period {} s leaves probes of {:.3f} s ({} cross the busiest channel per pass); "
        "at least {} s are needed: raise --period or --max-load",
        o.max_load, o.period, rate->probe_seconds, rate->busiest_channel_probes, kShortestRealProbe));
  mo.probe_seconds = rate->probe_seconds;
  o.setup.probe_seconds = rate->probe_seconds;
  return rate;
}

void LogStart(const sweep::SweepPlan& plan, const sweep::RatePlan& rate, const ServeOptionsCli& o,
              const std::string& listening) {
  std::cerr << fmt::format(
      "sweep serve: {} probes in {} rounds per pass, one pass per {} s (a round every {:.3f} s), probes of {:.3f} s; "
      "busiest channel crossed by {} probes per pass: load {:.3f}% (limit {:.3f}%), window {} passes\n",
      plan.probes.size(), rate.rounds, o.period, rate.round_interval, rate.probe_seconds, rate.busiest_channel_probes,
      rate.load * 100, o.max_load * 100, o.window);
  if (!listening.empty()) std::cerr << "sweep serve: metrics on http://" << listening << "/metrics\n";
}

// One line per pass on stderr (and a JSON line on stdout with --json).
void LogPass(const Fabric& fabric, const sweep::MonitorSnapshot& s, bool json) {
  size_t unhealthy = 0;
  for (const sweep::LinkState& l : s.links) unhealthy += l.health >= 0 && l.health < 1;
  const sweep::SweepAnalysis& a = s.analysis;
  std::vector<std::string> findings;
  for (const sweep::Finding& f : a.findings)
    findings.push_back(fmt::format(
        "{} {}", sweep::ToString(f.kind),
        PrintableText(f.link != kNone ? fabric.LinkName(f.link) : "endpoint " + fabric.description(f.endpoint))));
  std::cerr << fmt::format("pass {}: {:.1f} s, {} probes, {} unmeasured, {} links below full health, {} findings{}{}\n",
                           s.passes, s.pass_seconds, a.probes, a.unmeasured, unhealthy, a.findings.size(),
                           findings.empty() ? "" : ": ", fmt::join(findings, "; "));
  if (json)
    std::cout << nlohmann::json{{"pass", s.passes},
                                {"seconds", s.pass_seconds},
                                {"probes", a.probes},
                                {"unmeasured", a.unmeasured},
                                {"superseded", s.superseded},
                                {"held", s.held},
                                {"unhealthy_links", unhealthy},
                                {"findings", findings},
                                {"load", s.load}}
                     .dump()
              << std::endl;
}

int RunServe(ServeOptionsCli& o, bool probe_seconds_given) {
  if (auto choice = sweep::ChooseExecutor(o.setup); !choice) return ReportError(choice.error());
  if (o.metrics_listen.empty() && o.metrics_file.empty())
    return ReportError(
        Error{.message = "nothing would see the link health: give --metrics-listen and/or --metrics-file"});
  auto loaded = sweep::LoadFabric(o.setup.topology, o.setup.routes);
  if (!loaded) return ReportError(loaded.error());
  const Fabric& fabric = loaded->fabric;
  auto plan = sweep::LoadOrPlan(o.setup, *loaded);
  if (!plan) return ReportError(plan.error());
  auto faults = sweep::ParseFaults(o.setup, fabric);
  if (!faults) return ReportError(faults.error());
  sweep::MonitorOptions mo{.period_seconds = o.period,
                           .max_load = o.max_load,
                           .window = o.window,
                           .analysis = {.bw_fraction = o.bw_fraction},
                           .run_seconds = o.run_for};
  auto rate = ChooseRate(o, *plan, mo, probe_seconds_given);
  if (!rate) return ReportError(rate.error());
  auto executor = sweep::MakeExecutor(o.setup, fabric, *faults);
  if (!executor) return ReportError(executor.error());

  sweep::MetricsPage page;
  std::unique_ptr<sweep::MetricsServer> server;
  if (!o.metrics_listen.empty()) {
    auto address = probes::ParseHostPort(o.metrics_listen, 0, "127.0.0.1");
    if (!address) return ReportError(Error{.message = address.error().message, .where = "--metrics-listen"});
    auto started = sweep::MetricsServer::Start(*address, page);
    if (!started) return ReportError(started.error());
    server = std::move(*started);
  }
  CatchStopSignals();
  LogStart(*plan, *rate, o, server ? server->address() : "");
  const std::vector<sweep::MonitoredLink> links = sweep::MonitoredLinks(fabric, loaded->routes);
  std::string last_text;
  auto publish = [&](const sweep::MonitorSnapshot& s) {
    last_text = sweep::MonitorMetrics(fabric, links, s, mo);
    page.Set(last_text);
    if (!s.pass_completed) return;
    LogPass(fabric, s, o.json);
    if (!o.metrics_file.empty())
      if (auto w = WriteFileAtomic(o.metrics_file, last_text); !w)
        std::cerr << "sweep serve: " << w.error().Format() << "\n";  // the next pass tries again
  };
  auto clock = sweep::MakeSystemMonitorClock();
  auto ran = sweep::RunContinuous(fabric, *plan, (*executor)->Probes(), *clock, mo, g_stop, publish);
  if (!ran) return ReportError(ran.error());
  if (!o.metrics_file.empty() && !last_text.empty())
    if (auto w = WriteFileAtomic(o.metrics_file, last_text); !w) return ReportError(w.error());
  std::cerr << fmt::format("sweep serve: stopped after {} passes, {} rounds, {} probes\n", ran->passes, ran->rounds,
                           ran->probes_run);
  return kExitOk;
}

}  // namespace

void AddSweepServe(CLI::App& sweep, Runner& run) {
  auto o = std::make_shared<ServeOptionsCli>();
  CLI::App* s = sweep.add_subcommand(
      "serve", "Monitor links continuously at a low probe rate and export their health as Prometheus metrics");
  s->add_option("TOPO", o->setup.topology, "Topology file (ibnetdiscover or JSON)")->required();
  s->add_option("ROUTES", o->setup.routes, "Route directory or opensm-lfts.dump")->required();
  s->add_option("--fabric", o->setup.fabric, "Where probes run: sim, tcp or verbs (probe agents)")
      ->check(CLI::IsMember({"sim", "tcp", "verbs"}))
      ->capture_default_str();
  s->add_option("--plan", o->setup.plan, "Plan file from 'sweep plan' (default: plan now)");
  s->add_option("--coverage", o->setup.coverage, "Probes wanted through every channel when planning")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  s->add_option("--seed", o->setup.seed, "Seed for planning, random faults and noise")->capture_default_str();
  s->add_option("--inject", o->setup.inject, "sim: fault of the simulated fabric (as 'sweep run --inject')");
  s->add_option("--noise", o->setup.noise, "sim: relative measurement noise")->check(CLI::Range(0.0, 0.5));
  s->add_option("--bw-fraction", o->bw_fraction, "Bandwidth below this share of its baseline is degraded")
      ->check(CLI::Range(0.05, 0.99))
      ->capture_default_str();
  s->add_option("--period", o->period, "Seconds in which every channel is probed at least once")
      ->check(CLI::Range(0.01, 7.0 * 86400))
      ->capture_default_str();
  s->add_option("--max-load", o->max_load, "Share of any channel's capacity probes may take")
      ->check(CLI::Range(0.0001, 1.0))
      ->capture_default_str();
  s->add_option("--window", o->window, "Periods of probe verdicts a link's health counts")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  s->add_option("--metrics-listen", o->metrics_listen, "ADDR:PORT or PORT (on 127.0.0.1) to serve GET /metrics on");
  s->add_option("--metrics-file", o->metrics_file, "Textfile for node-exporter, rewritten atomically every pass");
  s->add_option("--for", o->run_for, "Stop after this many seconds (default: until SIGTERM/SIGINT)")
      ->check(CLI::Range(0.0, 1e9));
  s->add_option("--agents", o->setup.agents, "tcp/verbs: the agents file");
  s->add_option("--token-file", o->setup.token_file, "tcp/verbs: shared token of the probe agents");
  s->add_option("--parallel", o->setup.parallel, "tcp/verbs: probes at once within a round")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  CLI::Option* probe_seconds =
      s->add_option("--probe-seconds", o->setup.probe_seconds,
                    "tcp/verbs: bandwidth test length (default: the longest within --max-load, at most 0.5)")
          ->check(CLI::Range(0.001, 60.0));
  s->add_option("--timeout", o->setup.timeout_seconds, "tcp/verbs: bound on every wait of a probe, seconds")
      ->check(CLI::Range(0.1, 600.0))
      ->capture_default_str();
  s->add_option("-d,--ib-dev", o->setup.rdma_device, "verbs: RDMA device (default: the first one)");
  s->add_flag("--json", o->json, "Also print one JSON line per pass on stdout");
  s->callback([&run, o, probe_seconds] {
    bool given = probe_seconds->count() > 0;
    run = [o, given] { return RunServe(*o, given); };
  });
}

}  // namespace fabricctl::cli
