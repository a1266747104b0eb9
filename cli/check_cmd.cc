// fabricctl check: one health report of a fabric, read live from the subnet through the
// local HCA (SMPs and PMA MADs, like discover) or from its files (a topology, optionally a
// plan, the installed forwarding tables, counter readings): links below their expected
// rate, duplicate identities, subnet managers, route faults, counters that rose.
#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "cli/node_names.h"
#include "cli/progress.h"
#include "fabric/file_io.h"
#include "fabric/node_name_map.h"
#include "fabric/topology_io.h"
#include "probes/check/check_identity.h"
#include "probes/check/counter_file.h"
#include "probes/check/live_snapshot.h"
#include "probes/check/report_html.h"
#include "probes/check/report_json.h"
#include "probes/check/report_prometheus.h"
#include "probes/check/report_text.h"
#include "probes/check/run_checks.h"
#include "routing/route_io.h"

namespace fabricctl::cli {
namespace {

struct LiveFlags {
  std::string ca;
  int port = 0;
  int timeout_ms = 200;
  int retries = 3;
  unsigned inflight = 64;
  bool skip_routes = false;
  bool quiet = false;
};

constexpr double kLiveIntervalSeconds = 1;

struct CheckCmd {
  LiveFlags live;
  std::string topology;
  std::string format = "auto";
  std::string plan;
  std::string routes;
  std::string intended;
  std::vector<std::string> counters;
  double interval = 0;
  std::string thresholds;
  double max_ber = 1e-12;
  bool json = false;
  std::string html;
  std::string prom;
  std::string node_name_map;
};

// Everything the snapshot points at, kept in one place so the pointers stay valid.
struct Inputs {
  std::optional<check::LiveSnapshot> live;  // set when read from the subnet
  Fabric fabric;
  std::optional<Fabric> plan;
  std::optional<RouteSet> installed;
  std::optional<RouteSet> intended;
  std::optional<NodeNameMap> node_names;  // --node-name-map
  check::Snapshot snapshot;
};

Result<Fabric> ReadTopology(const std::string& path, const std::string& format_name) {
  auto format = ParseTopoFormat(format_name);
  if (format_name == "auto") format = TopoFormat::kAuto;
  if (!format)
    return MakeError(fmt::format("unknown topology format '{}' (auto, ibnetdiscover, json, ibsim)", format_name));
  return ReadTopologyFile(path, *format);
}

Result<void> LoadCounters(const CheckCmd& c, Inputs& in) {
  if (c.counters.empty()) return {};
  if (c.counters.size() > 2) return MakeError("--counters takes one reading, or two taken --interval seconds apart");
  std::vector<CounterReport> readings;
  for (const std::string& path : c.counters) {
    auto r = check::ReadCounterFile(in.fabric, path);
    if (!r) return std::unexpected(r.error());
    readings.push_back(std::move(*r));
  }
  check::CounterInterval interval;
  interval.after = std::move(readings.back());
  if (readings.size() == 2) {
    interval.before = std::move(readings.front());
    interval.interval_seconds = c.interval;
  }
  in.snapshot.counters = std::move(interval);
  return {};
}

// The plan and the intended routes, read against whichever fabric the snapshot holds.
Result<void> LoadReferences(const CheckCmd& c, Inputs& in) {
  check::Snapshot& s = in.snapshot;
  if (!c.plan.empty()) {
    auto plan = ReadTopology(c.plan, "auto");
    if (!plan) return std::unexpected(plan.error());
    in.plan = std::move(*plan);
    s.plan = &*in.plan;
  }
  if (!c.intended.empty()) {
    auto routes = ReadRoutes(*s.fabric, c.intended);
    if (!routes) return std::unexpected(routes.error());
    in.intended = std::move(*routes);
    s.intended_routes = &*in.intended;
  }
  return {};
}

Result<void> LoadFiles(const CheckCmd& c, Inputs& in) {
  auto fabric = ReadTopology(c.topology, c.format);
  if (fabric && in.node_names) fabric = RenameNodes(*fabric, *in.node_names);
  if (!fabric) return std::unexpected(fabric.error());
  in.fabric = std::move(*fabric);
  check::Snapshot& s = in.snapshot;
  s.fabric = &in.fabric;
  s.source = c.topology;
  s.identities = check::IdentitiesFromFabric(in.fabric);
  if (!c.routes.empty()) {
    auto routes = ReadRoutes(in.fabric, c.routes);
    if (!routes) return std::unexpected(routes.error());
    in.installed = std::move(*routes);
    s.installed_routes = &*in.installed;
  }
  return LoadCounters(c, in);
}

void AddProgress(check::LiveOptions& o, Progress& progress) {
  o.discovery.progress = [&progress](const DiscoveryProgress& p) {
    progress.Update(fmt::format("discovery: {} nodes ({} switches), {} MADs", p.nodes, p.switches, p.mads));
  };
  o.stage = [&progress](std::string_view stage) { progress.Stage(stage); };
}

Result<void> CollectFromSubnet(const CheckCmd& c, const Thresholds& thresholds, Inputs& in) {
  const LiveFlags& f = c.live;
  auto transport = mad::OpenUmadTransport(f.ca, f.port, f.timeout_ms);
  if (!transport) return std::unexpected(transport.error());
  check::LiveOptions o{.discovery = {.rpc = {.inflight = f.inflight, .timeout_ms = f.timeout_ms, .retries = f.retries}},
                       .interval_seconds = c.interval > 0 ? c.interval : kLiveIntervalSeconds,
                       .thresholds = thresholds,
                       .routes = f.skip_routes ? check::LiveRoutes::kSkip : check::LiveRoutes::kRead,
                       .node_names = in.node_names ? &*in.node_names : nullptr};
  Progress progress("check", f.quiet || c.json ? ProgressWanted::kNo : ProgressWanted::kYes);
  if (progress.shown()) AddProgress(o, progress);
  auto live = check::CollectLive(**transport, o);
  progress.Done();
  if (!live) return std::unexpected(live.error());
  in.live = std::move(*live);
  in.snapshot = std::move(in.live->snapshot);
  return {};
}

Result<std::unique_ptr<Inputs>> Load(const CheckCmd& c, const check::CheckOptions& options) {
  auto in = std::make_unique<Inputs>();
  if (!c.node_name_map.empty()) {
    auto names = ReadNodeNameMap(c.node_name_map);
    if (!names) return std::unexpected(names.error());
    in->node_names = std::move(*names);
  }
  if (c.topology.empty()) {
    if (!c.routes.empty() || !c.counters.empty())
      return MakeError("--routes and --counters judge files: give --topology too (without it the subnet is read live)");
    if (auto r = CollectFromSubnet(c, options.thresholds, *in); !r) return std::unexpected(r.error());
  } else if (auto r = LoadFiles(c, *in); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = LoadReferences(c, *in); !r) return std::unexpected(r.error());
  if (in->node_names) in->snapshot.node_names = &*in->node_names;
  return in;
}

Result<check::CheckOptions> Options(const CheckCmd& c) {
  check::CheckOptions o{.max_bit_error_rate = c.max_ber};
  if (c.thresholds.empty()) return o;
  auto text = ReadTextFile(c.thresholds);
  if (!text) return std::unexpected(text.error());
  auto t = ParseThresholds(*text, c.thresholds);
  if (!t) return std::unexpected(t.error());
  o.thresholds = *t;
  return o;
}

Result<void> WriteReports(const CheckCmd& c, const check::Snapshot& s, const check::CheckOptions& options,
                          const check::CheckReport& report) {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  if (!c.html.empty()) {
    char started[64];
    std::strftime(started, sizeof started, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&t));
    if (auto w = WriteFileAtomic(c.html, check::HtmlCheckReport(s, report, started)); !w) return w;
  }
  if (!c.prom.empty())
    if (auto w = WriteFileAtomic(c.prom, check::PrometheusCheckMetrics(s, report, options, static_cast<long>(t))); !w)
      return w;
  return {};
}

int RunCheck(const CheckCmd& c) {
  auto options = Options(c);
  if (!options) return ReportError(options.error());
  auto in = Load(c, *options);
  if (!in) return ReportError(in.error());
  const check::Snapshot& s = (*in)->snapshot;
  check::CheckReport report = check::RunChecks(s, *options);
  if (auto w = WriteReports(c, s, *options, report); !w) return ReportError(w.error());
  if (c.json)
    PrintJson(check::ReportJson(report, s.source));
  else
    std::cout << check::ReportText(report, s.source);
  return check::Healthy(report) ? kExitOk : kExitFindings;
}

}  // namespace

void AddCheck(CLI::App& app, Runner& run) {
  auto c = std::make_shared<CheckCmd>();
  CLI::App* cmd = app.add_subcommand(
      "check",
      "Is the fabric healthy? One report of findings, worst first: links below the rate they should run\n"
      "at (from the plan, parallel links, links of the same kind, or what both ends enable), duplicate\n"
      "GUIDs and LIDs, subnet managers (none, several masters, odd state), faults of the installed\n"
      "forwarding tables (unreachable pairs, loops, credit loops), error counters that rose.\n"
      "Without --topology the subnet is read live through the local HCA (-C/-P): discovery, two counter\n"
      "readings --interval apart, SMInfo, every switch's LFT and SL->VL tables. Needs LIDs (a subnet\n"
      "manager has run). With --topology, files are judged instead.\n"
      "Exit 0 healthy, 1 findings (errors or warnings), 2 on errors. See docs/check.md.");
  cmd->add_option("-C,--ca", c->live.ca, "Live: local RDMA device to send from (default: the first with an IB port)");
  cmd->add_option("-P,--port", c->live.port, "Live: local port number (default: the first active port)")
      ->check(CLI::Range(0, 255));
  cmd->add_option("--timeout", c->live.timeout_ms, "Live: milliseconds to wait for each MAD before retrying")
      ->check(CLI::Range(1, 60000))
      ->capture_default_str();
  cmd->add_option("--retries", c->live.retries, "Live: retransmissions of an unanswered MAD")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  cmd->add_option("--inflight", c->live.inflight, "Live: MADs outstanding at once")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_flag("--no-routes", c->live.skip_routes, "Live: do not read the forwarding tables back");
  cmd->add_flag("-q,--quiet", c->live.quiet, "Live: no progress on stderr");
  cmd->add_option("--topology", c->topology,
                  "Judge files instead of the live subnet: ibnetdiscover output, ibsim topology or JSON");
  cmd->add_option("--format", c->format, "Topology format: auto, ibnetdiscover, json, ibsim")->capture_default_str();
  cmd->add_option("--plan", c->plan, "Planned topology: link rates are expected as planned");
  cmd->add_option("--routes", c->routes,
                  "Installed forwarding tables: an OpenSM LFT dump (dump_fts, opensm-lfts.dump), routes.json or a "
                  "route directory");
  cmd->add_option("--intended", c->intended, "Intended routes to compare the installed tables with (as --routes)");
  cmd->add_option("--counters", c->counters,
                  "Counter readings (`fabricctl counters --json`): one is judged as ibqueryerrors judges it; two "
                  "(repeat the flag, earlier first) are judged by what rose between them")
      ->allow_extra_args(false);
  cmd->add_option("--interval", c->interval,
                  fmt::format("Seconds between the two counter readings: live (default {}), or the two "
                              "--counters files (rates, bit error rate)",
                              kLiveIntervalSeconds))
      ->check(Seconds(86400));
  cmd->add_option("--thresholds", c->thresholds,
                  "ibqueryerrors threshold file (Name=value lines, plus PortXmitWaitShare and "
                  "PortXmitWaitTickSymbols); default: any increase of an error counter, waiting over 5%")
      ->check(CLI::ExistingFile);
  cmd->add_option("--max-ber", c->max_ber, "Bit error rate above which symbol errors are called out")
      ->capture_default_str();
  cmd->add_flag("--json", c->json, "Print the report as JSON: {\"findings\": [...], ...}");
  cmd->add_option("--html", c->html, "Also write a self-contained HTML report to FILE");
  cmd->add_option("--prom", c->prom, "Also write Prometheus textfile-collector metrics to FILE");
  AddNodeNameMapOption(*cmd, c->node_name_map);
  cmd->callback([c, &run] { run = [c] { return RunCheck(*c); }; });
}

}  // namespace fabricctl::cli
